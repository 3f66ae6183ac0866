//! One TCP conversation: Wireshark's per-direction base sequence numbers and stream split
//! rule, `tcp.completeness` and `tcp.analysis.initial_rtt` as tshark 4.0 computes them, the
//! handshake verdict with j and k checked, endpoint states, byte counts and request/reply
//! exchanges.

use smallvec::SmallVec;

use super::analysis::{self, Flags, Flow, Verdict};
use super::facts::TcpFacts;
use super::flow::{ByRole, BySide, FlowSummary, MoreRequest, Pairing, Role, Side, Step};
use super::seq::{Coverage, SeqNumber, unwrap};
use super::state::{self, Event, TcpState};
use super::{FlowKey, PacketInfo};
use crate::time::Timestamp;
use crate::wire::tcp::{TcpFixed, TcpFlags};

/// `tcp.completeness` bits.
pub const C_SYN: u8 = 1;
pub const C_SYNACK: u8 = 2;
pub const C_ACK: u8 = 4;
pub const C_DATA: u8 = 8;
pub const C_FIN: u8 = 16;
pub const C_RST: u8 = 32;

/// The handshake facts one segment shows, for the lesson's annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeNote {
    /// Step 1/3: SYN seq=j. `again` when it repeats an earlier SYN.
    Syn { j: u32, again: bool },
    /// Step 2/3: SYN+ACK seq=k ack=j+1 (`expected` = j+1).
    SynAck {
        k: u32,
        ack: u32,
        expected: Option<u32>,
        again: bool,
    },
    /// Step 3/3: ACK ack=k+1.
    Ack { ack: u32, expected: u32 },
    /// The SYN was answered by RST: nobody listens on the port.
    Refused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake {
    Complete,
    Refused,
    Incomplete,
    NotSeen,
}

impl Handshake {
    pub fn as_str(self) -> &'static str {
        match self {
            Handshake::Complete => "complete",
            Handshake::Refused => "refused",
            Handshake::Incomplete => "incomplete",
            Handshake::NotSeen => "not-seen",
        }
    }

    /// The verdict in the classic tutorial's Chinese (printers and verify's checks).
    pub fn zh(self) -> &'static str {
        match self {
            Handshake::Complete => "完成",
            Handshake::Incomplete => "未完成",
            Handshake::Refused => "被拒绝",
            Handshake::NotSeen => "未抓到",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    Fin,
    HalfClosed,
    Rst,
    Open,
}

impl Close {
    pub fn as_str(self) -> &'static str {
        match self {
            Close::Fin => "fin",
            Close::HalfClosed => "half-closed",
            Close::Rst => "rst",
            Close::Open => "open",
        }
    }

    /// How it closed, in Chinese (printers and verify's checks).
    pub fn zh(self) -> &'static str {
        match self {
            Close::Fin => "双方 FIN",
            Close::HalfClosed => "半关闭",
            Close::Rst => "RST 重置",
            Close::Open => "未关闭",
        }
    }
}

/// Per-direction facts, indexed by the canonical side of the flow key.
#[derive(Debug, Clone, Default)]
struct Dir {
    /// Wireshark's base_seq: the ISN, or seq−1 when the first segment seen is not a SYN.
    base: SeqNumber,
    base_set: bool,
    /// Sequence number just after this side's SYN and FIN.
    syn_next: Option<SeqNumber>,
    fin_next: Option<SeqNumber>,
    /// Payload byte ranges seen, relative to the base (retransmissions count once).
    coverage: Coverage,
    /// Its FIN has been acknowledged / it has acknowledged the peer's FIN.
    fin_acked: bool,
    acked_peer_fin: bool,
    bytes: u64,
    packets: u64,
    /// Zeek history: once-letters recorded, last seq of S H F R, counts of T W G.
    history_seen: u16,
    history_seq: [Option<u32>; 4],
    history_count: [u32; 3],
    /// Zeek's view of this endpoint for `T`: its start and last sequence numbers (the
    /// highest one-past-the-segment seen), and whether it has sent a RST.
    zeek: Option<ZeekSeq>,
    zeek_reset: bool,
    /// The payload bytes the capture holds, once some were cut by the snaplen (until then
    /// they are `coverage`); and how far the peer's ACKs have been checked against them
    /// (relative; 0 before the first).
    delivered: Option<Coverage>,
    acked_to: u64,
    /// The furthest stream offset (64-bit, relative) this direction has reached.
    reach: u64,
}

/// Zeek writes a repeated letter (T, W, G) at the 1st, 10th, 100th… time.
fn is_power_of_ten(n: u32) -> bool {
    let mut m = n;
    while m >= 10 && m.is_multiple_of(10) {
        m /= 10;
    }
    m == 1
}

/// Zeek's `TCP_Endpoint` start and last sequence numbers.
#[derive(Debug, Clone, Copy)]
struct ZeekSeq {
    start: SeqNumber,
    last: SeqNumber,
}

/// Zeek's `TOO_LARGE_SEQ_DELTA`: a SYN or RST further than this from the last sequence
/// number is not believed.
const ZEEK_TOO_LARGE_SEQ_DELTA: i32 = 1_048_576;

#[derive(Debug, Clone, Copy, Default)]
struct HandshakeTrack {
    j: Option<u32>,
    k: Option<u32>,
    synack_ok: Option<bool>,
    ack_ok: Option<bool>,
    refused: bool,
}

#[derive(Debug, Clone)]
pub struct TcpConv {
    pub stream: u32,
    pub key: FlowKey,
    /// Canonical side of the client (the first SYN's sender).
    client: Side,
    dirs: BySide<Dir>,
    flows: BySide<Flow>,
    /// tshark printed a SEQ/ACK analysis on some frame, so it shows `initial_rtt`.
    irtt_visible: bool,
    retransmissions: u64,
    dup_acks: u64,
    zero_windows: u64,
    first_frame: u64,
    last_frame: u64,
    first_ts: Timestamp,
    last_ts: Timestamp,
    /// tshark's first-pass value, the OR of every frame's bits but the latest, and the latest's.
    comp_pass1: u8,
    comp_before_last: u8,
    comp_last: u8,
    mru_syn: Option<Timestamp>,
    /// Wireshark's `ts_first_rtt`, as its unnormalised time delta.
    irtt: Option<Timestamp>,
    hs: HandshakeTrack,
    /// Client and server states.
    states: ByRole<TcpState>,
    saw_rst: bool,
    compacted: bool,
    pub reused: bool,
    /// Picked up again after it was summed up (idle or table full).
    resumed: bool,
    pairing: Pairing,
    history: History,
}

/// Zeek's `history` letters (ASCII). Inline up to 24: the usual handshake, data and close
/// take about ten, so a conversation allocates nothing for them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History(SmallVec<[u8; 24]>);

impl History {
    fn push(&mut self, letter: u8) {
        if letter.is_ascii() {
            self.0.push(letter);
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters go in, so this is always the whole text.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    fn clear(&mut self) {
        self.0.clear();
    }

    fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }
}

impl std::fmt::Display for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for History {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The sequence facts of one direction that endpoint states follow.
#[derive(Debug, Clone, Copy)]
struct Ends {
    syn_next: Option<SeqNumber>,
    fin_next: Option<SeqNumber>,
    fin_acked: bool,
    acked_peer_fin: bool,
}

/// A buried connection's state that a later segment still needs (see `TcpConv::bury`).
#[derive(Debug, Clone)]
pub struct TcpTomb {
    flows: BySide<Flow>,
    states: ByRole<TcpState>,
    irtt: Option<Timestamp>,
    irtt_visible: bool,
    saw_rst: bool,
    ends: [Ends; 2],
}

/// Everything a `conn` line says about a TCP conversation.
#[derive(Debug, Clone)]
pub struct ConnSummary {
    /// Ends, frames, counts and exchanges, as for UDP.
    pub flow: FlowSummary,
    pub handshake: Handshake,
    pub j: Option<u32>,
    pub k: Option<u32>,
    /// `tcp.analysis.initial_rtt`, when tshark would show it.
    pub irtt: Option<Timestamp>,
    pub completeness: u8,
    pub history: History,
    pub close: Close,
    pub client_state: TcpState,
    pub server_state: TcpState,
    pub retransmissions: u64,
    pub dup_acks: u64,
    pub zero_windows: u64,
    pub reused: bool,
}

/// The bits one segment contributes to `tcp.completeness`, as tshark 4.0 sets them
/// (observed over every combination of SYN, FIN, RST, PSH and ACK, with and without data: a
/// FIN counts only with ACK, also on a SYN+ACK; a segment with ACK counts as DATA when it
/// carries data, else as ACK, unless it is a SYN+ACK; only a SYN without ACK counts its data).
fn completeness_bits(flags: TcpFlags, len: u32) -> u8 {
    let mut b = 0;
    if flags.syn() {
        if flags.ack() {
            b |= C_SYNACK;
        } else {
            b |= C_SYN;
            if len > 0 {
                b |= C_DATA;
            }
        }
    }
    if flags.ack() {
        if !flags.syn() {
            b |= if len > 0 { C_DATA } else { C_ACK };
        }
        if flags.fin() {
            b |= C_FIN;
        }
    }
    if flags.rst() {
        b |= C_RST;
    }
    b
}

impl TcpConv {
    /// A conversation whose first segment came from `side` with `flags`.
    pub fn new(
        stream: u32,
        key: FlowKey,
        side: Side,
        flags: TcpFlags,
        frame: u64,
        ts: Timestamp,
    ) -> Self {
        // A SYN+ACK seen first was sent by the server; anything else by the client.
        let client = if flags.syn() && flags.ack() {
            side.other()
        } else {
            side
        };
        let states = ByRole(if flags.syn() && !flags.ack() {
            [TcpState::Closed, TcpState::Listen]
        } else if flags.syn() {
            [TcpState::SynSent, TcpState::Listen]
        } else {
            // Joined mid-stream: the connection was already up.
            [TcpState::Established, TcpState::Established]
        });
        TcpConv {
            stream,
            key,
            client,
            dirs: BySide::default(),
            flows: BySide([Flow::new(), Flow::new()]),
            irtt_visible: false,
            retransmissions: 0,
            dup_acks: 0,
            zero_windows: 0,
            first_frame: frame,
            last_frame: frame,
            first_ts: ts,
            last_ts: ts,
            comp_pass1: 0,
            comp_before_last: 0,
            comp_last: 0,
            mru_syn: None,
            irtt: None,
            hs: HandshakeTrack::default(),
            states,
            saw_rst: false,
            compacted: false,
            reused: false,
            resumed: false,
            pairing: Pairing::default(),
            // Zeek marks a connection whose first packet came from the responder.
            history: {
                let mut h = History::default();
                if flags.syn() && flags.ack() {
                    h.push(b'^');
                }
                h
            },
        }
    }

    /// Wireshark's rule: a SYN (without ACK) whose sequence number differs from the base of
    /// its direction starts a new conversation on the same 4-tuple. The same ISN again is a
    /// retransmission, even after the connection closed.
    pub fn starts_new_stream(&self, side: Side, f: TcpFixed) -> bool {
        let d = &self.dirs[side];
        f.flags.syn() && !f.flags.ack() && d.base_set && f.seq != d.base
    }

    /// A conversation summed up earlier whose flow came back: Wireshark still knows it, so
    /// it keeps its stream number, client, base sequence numbers, and (when the tomb kept
    /// them) the analysis state and endpoint states.
    pub fn resume(
        t: super::Tomb,
        key: FlowKey,
        side: Side,
        flags: TcpFlags,
        frame: u64,
        ts: Timestamp,
    ) -> Self {
        let mut c = TcpConv::new(t.stream, key, side, flags, frame, ts);
        c.client = t.client;
        c.resumed = true;
        c.history.clear();
        for (d, b) in c.dirs.iter_mut().zip(t.bases.0) {
            if let Some(b) = b {
                d.base = b;
                d.base_set = true;
            }
        }
        if let Some(k) = t.tcp {
            c.flows = k.flows;
            c.states = k.states;
            c.irtt = k.irtt;
            c.irtt_visible = k.irtt_visible;
            c.saw_rst = k.saw_rst;
            for (d, e) in c.dirs.iter_mut().zip(k.ends) {
                d.syn_next = e.syn_next;
                d.fin_next = e.fin_next;
                d.fin_acked = e.fin_acked;
                d.acked_peer_fin = e.acked_peer_fin;
            }
        }
        c
    }

    /// What is kept of this conversation once it leaves memory (its analysis state moves
    /// into the tomb; call before `summary`).
    pub fn bury(&mut self) -> super::Tomb {
        let ends = Side::BOTH.map(|side| {
            let d = &self.dirs[side];
            Ends {
                syn_next: d.syn_next,
                fin_next: d.fin_next,
                fin_acked: d.fin_acked,
                acked_peer_fin: d.acked_peer_fin,
            }
        });
        super::Tomb {
            stream: self.stream,
            client: self.client,
            burial: 0,
            bases: BySide(Side::BOTH.map(|i| self.dirs[i].base_set.then_some(self.dirs[i].base))),
            tcp: Some(TcpTomb {
                flows: std::mem::take(&mut self.flows),
                states: self.states,
                irtt: self.irtt,
                irtt_visible: self.irtt_visible,
                saw_rst: self.saw_rst,
                ends,
            }),
        }
    }

    /// `starts_new_stream` for a conversation that only has its tomb left.
    pub fn tomb_starts_new_stream(t: &super::Tomb, side: Side, f: TcpFixed) -> bool {
        f.flags.syn() && !f.flags.ack() && t.bases[side].is_some_and(|b| b != f.seq)
    }

    fn role(&self, side: Side) -> Role {
        if side == self.client {
            Role::Client
        } else {
            Role::Server
        }
    }

    pub fn last_ts(&self) -> Timestamp {
        self.last_ts
    }

    /// Both endpoints are done (closed, or reset).
    pub fn is_over(&self) -> bool {
        self.saw_rst || self.states.0.iter().all(|s| s.is_final())
    }

    pub fn handshake(&self) -> Handshake {
        let hs = &self.hs;
        if hs.refused {
            Handshake::Refused
        } else if hs.j.is_some() && hs.synack_ok == Some(true) && hs.ack_ok == Some(true) {
            Handshake::Complete
        } else if hs.j.is_some() || hs.k.is_some() {
            Handshake::Incomplete
        } else {
            Handshake::NotSeen
        }
    }

    /// Takes one segment from `side`.
    pub fn segment(
        &mut self,
        info: &mut PacketInfo,
        frame: u64,
        ts: Timestamp,
        side: Side,
        seg: &TcpFacts<'_>,
        keep: &mut super::flow::Keep,
    ) {
        let f = seg.fixed;
        let first = self.dirs.0.iter().all(|d| d.packets == 0);
        self.dirs[side].packets += 1;
        self.last_frame = frame;
        self.last_ts = ts;
        info.stream = Some(self.stream);
        info.from_client = side == self.client;
        let flags = f.flags;

        // A SYN+ACK with another ISN than its direction's base: Wireshark flags the ports as
        // reused and counts that direction from the new ISN.
        let synack_reused =
            flags.syn() && flags.ack() && self.dirs[side].base_set && f.seq != self.dirs[side].base;
        if synack_reused {
            self.dirs[side].base = f.seq;
        }
        let reused = (first && self.reused) || synack_reused;
        match seg.len {
            Some(len) => self.sequence_analysis(info, frame, ts, side, seg, len, reused),
            None => {
                info.rel_seq = Some(f.seq.0);
                info.rel_ack = Some(f.ack.0);
            }
        }
        // The calculated window (`tcp.window_size`): the sender's agreed shift, never on a
        // SYN, none while the shift is unknown (Wireshark's default window-scaling guess is
        // "not known"), and none on a segment shorter than its header (tshark keeps the raw
        // value there); a header the snaplen cut is scaled (the window field is read before
        // the options run out).
        let shift = match self.flows[side].win_scale {
            Some(s) if s >= 0 && !flags.syn() && seg.len.is_some() => s as u32,
            _ => 0,
        };
        info.window = Some(u32::from(f.window) << shift);
        if f.bogus_offset() {
            // Wireshark stops after seq and length: no flags, ack or window to act on.
            info.rel_ack = None;
            return;
        }
        self.window_scaling(side, flags, seg.wscale, seg.analysis_shown);
        // Completeness and iRTT are updated after tshark's bogus-header bail-out, also for a
        // segment shorter than its header (its length then counts as 0).
        self.completeness_and_irtt(ts, flags, seg.len.unwrap_or(0), first);

        let len = seg.len.unwrap_or(seg.payload.len() as u32);
        let role = self.role(side);

        // New payload bytes: each byte once, however often it is sent.
        let d = &mut self.dirs[side];
        let data_start = unwrap(
            d.reach,
            (f.seq - d.base).wrapping_add(u32::from(flags.syn())),
        );
        d.reach = d.reach.max(data_start + u64::from(len));
        // Zeek delivers a segment's payload only whole, and never a RST's: a segment the
        // snaplen cut delivers none of its bytes.
        let captured = if seg.payload.len() as u32 >= len && !flags.rst() {
            len
        } else {
            0
        };
        if captured < len && d.delivered.is_none() {
            d.delivered = Some(d.coverage.clone());
        }
        if let Some(delivered) = &mut d.delivered {
            delivered.add(data_start, captured);
        }
        let new_bytes = d.coverage.add(data_start, len);
        d.bytes += new_bytes as u64;

        let corrupt = seg.bad_checksum;
        // A corrupt segment is dropped by Zeek before its sequence numbers are looked at.
        let rxmit = !corrupt && self.zeek_retransmission(side, f, len);
        self.history_letters(side, f, len, rxmit, corrupt);
        if !corrupt && flags.ack() && self.zeek_gap(side.other(), f.ack) {
            // The gap is the data sender's: `G` when it is the client.
            let orig = side.other() == self.client;
            let d = &mut self.dirs[side.other()];
            d.history_count[2] += 1;
            if is_power_of_ten(d.history_count[2]) {
                self.history.push(if orig { b'G' } else { b'g' });
            }
        }
        self.handshake_step(info, side, f);
        let (seq, ack) = (f.seq, f.ack);
        self.transitions(side, role, role.other(), flags, seq, ack, len);
        info.states = Some((self.states[Role::Client], self.states[Role::Server]));
        info.step = Some(self.step(info, flags, len));

        if len > 0 && new_bytes > 0 && !flags.syn() {
            if side == self.client {
                self.pairing
                    .request(frame, ts, seg.payload, keep, MoreRequest::Continues);
            } else if let Some(r) = self.pairing.reply(frame, ts, seg.payload, keep) {
                info.reply_to = Some(r);
            }
        }
        if self.is_over() && !self.compacted {
            self.compact();
        }
    }

    /// Window scaling as Wireshark learns it, after the segment's own window was shown (its
    /// options are dissected later): a window scale option sets its sender's shift wherever it
    /// appears (at most 14), and a SYN then checks the agreement (`verify_tcp_window_scaling`):
    /// a sender whose shift is still unknown uses none, nor does its peer; a SYN+ACK whose peer
    /// uses none uses none either. A SYN without the option after a shift was agreed changes
    /// nothing. A SYN whose header was cut or whose option dissection threw (`whole` false)
    /// checks nothing: tshark stops before that step, and the shifts stand as they are.
    fn window_scaling(&mut self, side: Side, flags: TcpFlags, wscale: Option<u8>, whole: bool) {
        if let Some(w) = wscale {
            self.flows[side].win_scale = Some(w.min(14) as i8);
        }
        if !flags.syn() || !whole {
            return;
        }
        let other = side.other();
        if self.flows[side].win_scale.is_none() {
            self.flows[side].win_scale = Some(-2);
            self.flows[other].win_scale = Some(-2);
        } else if flags.ack() && self.flows[other].win_scale == Some(-2) {
            self.flows[side].win_scale = Some(-2);
        }
    }

    /// Relative numbers (`tcp_analyze_sequence_number`) and the expert analysis of a segment
    /// whose length is known.
    #[allow(clippy::too_many_arguments)]
    fn sequence_analysis(
        &mut self,
        info: &mut PacketInfo,
        frame: u64,
        ts: Timestamp,
        side: Side,
        seg: &TcpFacts<'_>,
        len: u32,
        reused: bool,
    ) {
        let f = seg.fixed;
        let flags = f.flags;
        let other = side.other();
        let d = &mut self.dirs[side];
        if !d.base_set {
            d.base = if flags.syn() { f.seq } else { f.seq - 1 };
            d.base_set = true;
        }
        if !self.dirs[other].base_set && flags.ack() {
            self.dirs[other].base = f.ack - 1;
            self.dirs[other].base_set = true;
        }
        info.rel_seq = Some(f.seq - self.dirs[side].base);
        info.rel_ack = Some(if flags.ack() {
            f.ack - self.dirs[other].base
        } else {
            f.ack.0
        });

        // The verdict is made in place (it is 160 bytes: a copy per segment shows up).
        let verdict = &mut info.verdict;
        *verdict = Verdict::default();
        if reused {
            verdict.flags.0 |= Flags::REUSED_PORTS;
            verdict.exists = true;
        }
        let (fwd, rev) = self.flows.split_mut(side);
        analysis::analyze(
            fwd,
            rev,
            analysis::Segment {
                frame,
                ts,
                seq: f.seq,
                ack: f.ack,
                len,
                flags,
                window: f.window,
            },
            self.irtt.map(|d| d.as_nanos()),
            verdict,
        );
        let v = verdict.flags;
        if v.has(
            Flags::RETRANSMISSION | Flags::FAST_RETRANSMISSION | Flags::SPURIOUS_RETRANSMISSION,
        ) {
            self.retransmissions += 1;
        }
        if v.has(Flags::DUPLICATE_ACK) {
            self.dup_acks += 1;
        }
        if v.has(Flags::ZERO_WINDOW) {
            self.zero_windows += 1;
        }
        // tshark prints the analysis only after the whole header was dissected.
        if seg.analysis_shown && !f.bogus_offset() {
            info.analysis = v;
            self.irtt_visible |= verdict.exists;
        } else {
            *verdict = Verdict::default();
        }
    }

    /// `tcp.completeness` and the iRTT, as tshark computes them.
    fn completeness_and_irtt(&mut self, ts: Timestamp, flags: TcpFlags, len: u32, first: bool) {
        // iRTT, from the most recent SYN to the first ACK. Whether tshark shows it is
        // `irtt_visible`. Wireshark keeps these as times where zero means "not set".
        if flags.syn() && !flags.ack() {
            self.mru_syn = Some(ts).filter(|t| !t.is_zero());
        } else if flags.ack()
            && !flags.syn()
            && self.irtt.is_none_or(|d| d.is_zero())
            && let Some(syn_ts) = self.mru_syn
        {
            self.irtt = Some(Timestamp::delta(ts, syn_ts));
        }
        let mut bits = completeness_bits(flags, len);
        // A SYN counts only while nothing else has been counted (a SYN seen again after the
        // connection's other segments adds nothing, nor does its data).
        if bits & C_SYN != 0 && self.comp_pass1 != 0 {
            bits &= !(C_SYN | C_DATA);
        }
        // Nor does the data of the SYN that starts a new conversation on reused ports
        // (observed: its SYN counts, its data does not).
        if bits & C_SYN != 0 && first && self.reused {
            bits &= !C_DATA;
        }
        // tshark's first pass ignores the conversation's first frame unless it is a SYN; its
        // second pass applies every frame, printing each frame's value before applying that
        // frame.
        if !first || (flags.syn() && !flags.ack()) {
            self.comp_pass1 |= bits;
        }
        self.comp_before_last |= self.comp_last;
        self.comp_last = bits & !C_SYN;
    }

    /// Most connections of a long capture are over long before its end: their state stays
    /// (a late segment is still analysed) but not their spare capacity.
    fn compact(&mut self) {
        self.compacted = true;
        for f in self.flows.iter_mut() {
            f.compact();
        }
        for d in self.dirs.iter_mut() {
            d.coverage.compact();
        }
        self.pairing.compact();
        self.history.shrink_to_fit();
    }

    fn step(&self, info: &PacketInfo, flags: TcpFlags, len: u32) -> Step {
        if flags.rst() {
            Step::Rst
        } else if flags.syn() {
            if flags.ack() { Step::SynAck } else { Step::Syn }
        } else if flags.fin() {
            Step::Fin
        } else if matches!(info.handshake, Some(HandshakeNote::Ack { .. })) && len == 0 {
            Step::HandshakeAck
        } else if len > 0 {
            Step::Data
        } else {
            Step::Ack
        }
    }

    fn handshake_step(&mut self, info: &mut PacketInfo, side: Side, f: TcpFixed) {
        let flags = f.flags;
        // j and k are shown as the numbers they are.
        let (seq, ack) = (f.seq.0, f.ack.0);
        let from_client = side == self.client;
        let hs = &mut self.hs;
        if flags.syn() && !flags.ack() && from_client {
            let again = hs.j == Some(seq);
            hs.j = Some(seq);
            info.handshake = Some(HandshakeNote::Syn { j: seq, again });
        } else if flags.syn() && flags.ack() && !from_client {
            let again = hs.k == Some(seq);
            hs.k = Some(seq);
            let expected = hs.j.map(|j| j.wrapping_add(1));
            hs.synack_ok = Some(expected == Some(ack));
            info.handshake = Some(HandshakeNote::SynAck {
                k: seq,
                ack,
                expected,
                again,
            });
        } else if flags.rst() && !from_client && hs.j.is_some() && hs.k.is_none() {
            hs.refused = true;
            info.handshake = Some(HandshakeNote::Refused);
        } else if flags.ack()
            && !flags.syn()
            && !flags.rst()
            && from_client
            && hs.ack_ok.is_none()
            && let Some(k) = hs.k
        {
            let expected = k.wrapping_add(1);
            hs.ack_ok = Some(ack == expected);
            info.handshake = Some(HandshakeNote::Ack { ack, expected });
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn transitions(
        &mut self,
        side: Side,
        role: Role,
        peer: Role,
        flags: TcpFlags,
        seq: SeqNumber,
        ack: SeqNumber,
        len: u32,
    ) {
        let other = side.other();
        if flags.rst() {
            self.saw_rst = true;
            self.states = ByRole([
                state::next(self.states[Role::Client], Event::Reset),
                state::next(self.states[Role::Server], Event::Reset),
            ]);
            return;
        }
        if flags.syn() {
            self.dirs[side].syn_next = Some(seq + 1);
            let ev = if flags.ack() {
                Event::SendSynAck
            } else {
                Event::SendSyn
            };
            self.states[role] = state::next(self.states[role], ev);
        }
        if flags.ack() {
            if !flags.syn()
                && let Some(n) = self.dirs[other].syn_next
                && ack >= n
            {
                self.states[role] = state::next(self.states[role], Event::SendAckOfPeerSyn);
            }
            if let Some(n) = self.dirs[other].syn_next
                && ack >= n
            {
                self.states[peer] = state::next(self.states[peer], Event::RecvAckOfOwnSyn);
            }
            if let Some(n) = self.dirs[other].fin_next
                && ack >= n
            {
                if !self.dirs[side].acked_peer_fin {
                    self.dirs[side].acked_peer_fin = true;
                    self.states[role] = state::next(self.states[role], Event::SendAckOfPeerFin);
                }
                if !self.dirs[other].fin_acked {
                    self.dirs[other].fin_acked = true;
                    self.states[peer] = state::next(self.states[peer], Event::RecvAckOfOwnFin);
                }
            }
        }
        if flags.fin() && self.dirs[side].fin_next.is_none() {
            self.dirs[side].fin_next = Some(seq + len + u32::from(flags.syn()) + 1);
            self.states[role] = state::next(self.states[role], Event::SendFin);
        }
    }

    /// Zeek's conn `history`: upper case for the originator, lower for the responder.
    /// a d i q: once per side; s h f r: again only with a different sequence number;
    /// g t w: at the 1st, 10th, 100th… occurrence (Zeek's logarithmic repeats).
    /// Zeek's retransmission test (`init_endpoint`, `init_peer`, `update_last_seq` in its
    /// TCP analyzer): a segment with payload that does not reach past the highest sequence
    /// number its sender has reached is a retransmission, also when it fills a hole.
    fn zeek_retransmission(&mut self, side: Side, f: TcpFixed, len: u32) -> bool {
        let flags = f.flags;
        let seg_len = len + u32::from(flags.syn()) + u32::from(flags.fin());
        let one_past = f.seq + seg_len;
        let d = &mut self.dirs[side];
        let z = *d.zeek.get_or_insert(if flags.syn() {
            ZeekSeq {
                start: f.seq,
                last: one_past,
            }
        } else {
            // A connection joined late: numbered as if after a SYN, and its first segment
            // is not taken for a repeat.
            ZeekSeq {
                start: f.seq - 1,
                last: f.seq,
            }
        });
        let reset = d.zeek_reset;
        if flags.rst() {
            d.zeek_reset = true;
        }
        let peer = &mut self.dirs[side.other()];
        if flags.ack() && peer.zeek.is_none() {
            peer.zeek = Some(ZeekSeq {
                start: f.ack - 1,
                last: f.ack - 1,
            });
        }
        let delta = (one_past - z.last) as i32;
        let advance = |d: &mut Dir| {
            if let Some(z) = &mut d.zeek {
                z.last = one_past;
            }
        };
        if (flags.syn() || flags.rst())
            && !(-ZEEK_TOO_LARGE_SEQ_DELTA..=ZEEK_TOO_LARGE_SEQ_DELTA).contains(&delta)
        {
            false
        } else if flags.fin() && z.last == z.start + 1 {
            // Zeek's allowance for a > 2 GB connection of which only SYN and FIN were seen.
            advance(&mut self.dirs[side]);
            false
        } else if reset {
            false
        } else if delta > 0 {
            advance(&mut self.dirs[side]);
            false
        } else {
            len > 0
        }
    }

    /// Zeek's content gap (its reassembler's `AckReceived`): an ACK for bytes of `data`'s
    /// stream that the capture never delivered (a hole never filled, or payload the snaplen
    /// cut off). An ACK of `data`'s FIN counts up to the FIN.
    fn zeek_gap(&mut self, data: Side, ack: SeqNumber) -> bool {
        // Zeek ignores a "gap" of the first sequence numbers of a connection joined late.
        let partial = self.hs.j.is_none() && self.hs.k.is_none();
        let d = &mut self.dirs[data];
        if !d.base_set {
            return false;
        }
        let ack = match d.fin_next {
            Some(fin_next) if ack >= fin_next => fin_next - 1,
            _ => ack,
        };
        let upto = unwrap(d.reach, ack - d.base);
        let from = d.acked_to.max(1);
        // Only forward, and not absurdly far (a damaged ACK).
        let span = upto.saturating_sub(from);
        if span == 0 || span > i32::MAX as u64 {
            return false;
        }
        d.acked_to = upto;
        if upto <= 2 && partial {
            return false;
        }
        let have = d
            .delivered
            .as_ref()
            .unwrap_or(&d.coverage)
            .count_in(from, upto);
        have < span
    }

    fn history_letters(&mut self, side: Side, f: TcpFixed, len: u32, rxmit: bool, corrupt: bool) {
        let orig = side == self.client;
        let flags = f.flags;
        let d = &mut self.dirs[side];
        let h = &mut self.history;
        let mut put = |c: u8| h.push(if orig { c } else { c.to_ascii_lowercase() });
        let once = |bit: u16, d: &mut Dir, put: &mut dyn FnMut(u8), c: u8| {
            if d.history_seen & bit == 0 {
                d.history_seen |= bit;
                put(c);
            }
        };
        let by_seq = |slot: usize, d: &mut Dir, put: &mut dyn FnMut(u8), c: u8| {
            if d.history_seq[slot] != Some(f.seq.0) {
                d.history_seq[slot] = Some(f.seq.0);
                put(c);
            }
        };
        let log10 = |slot: usize, d: &mut Dir, put: &mut dyn FnMut(u8), c: u8| {
            d.history_count[slot] += 1;
            if is_power_of_ten(d.history_count[slot]) {
                put(c);
            }
        };
        // A bad checksum (offload is not bad): Zeek records `C` once and analyses the packet
        // no further, so it adds no other letter.
        if corrupt {
            once(1 << 5, d, &mut put, b'C');
            return;
        }
        if flags.syn() && flags.ack() {
            by_seq(1, d, &mut put, b'H');
        } else if flags.syn() {
            by_seq(0, d, &mut put, b'S');
        }
        if flags.syn() && (flags.fin() || flags.rst()) {
            once(1 << 3, d, &mut put, b'Q');
        } else if flags.fin() && flags.rst() {
            once(1 << 2, d, &mut put, b'I');
        }
        if flags.ack() && !flags.syn() && !flags.fin() && !flags.rst() && len == 0 {
            once(1, d, &mut put, b'A');
        }
        if len > 0 {
            once(1 << 1, d, &mut put, b'D');
        }
        if flags.fin() {
            by_seq(2, d, &mut put, b'F');
        }
        if flags.rst() {
            by_seq(3, d, &mut put, b'R');
        }
        // Zeek's order: the window (`update_window`) before the retransmission
        // (`update_last_seq`).
        if f.window == 0 && !flags.rst() && !flags.syn() {
            log10(1, d, &mut put, b'W');
        }
        if rxmit {
            log10(0, d, &mut put, b'T');
        }
    }

    /// The record; the conversation gives up its exchanges and history (taken in place, so
    /// that its box can be reused without moving a kilobyte out of it).
    pub fn summary(&mut self) -> ConnSummary {
        let c = self.client;
        let s = c.other();
        let close = if self.saw_rst {
            Close::Rst
        } else {
            match (self.dirs[Side::Lo].fin_next, self.dirs[Side::Hi].fin_next) {
                (Some(_), Some(_)) => Close::Fin,
                (Some(_), None) | (None, Some(_)) => Close::HalfClosed,
                (None, None) => Close::Open,
            }
        };
        let handshake = self.handshake();
        let (exchanges, text) = std::mem::take(&mut self.pairing).into_parts();
        ConnSummary {
            flow: FlowSummary {
                stream: self.stream,
                client: self.key.endpoint(c),
                server: self.key.endpoint(s),
                first_frame: self.first_frame,
                last_frame: self.last_frame,
                packets: self.dirs[c].packets + self.dirs[s].packets,
                packets_c2s: self.dirs[c].packets,
                packets_s2c: self.dirs[s].packets,
                bytes_c2s: self.dirs[c].bytes,
                bytes_s2c: self.dirs[s].bytes,
                duration: self.last_ts.since(self.first_ts),
                exchanges,
                text,
                ended: super::Ended::EndOfInput,
                resumed: self.resumed,
            },
            handshake,
            j: self.hs.j,
            k: self.hs.k,
            irtt: self.irtt.filter(|d| !d.is_zero() && self.irtt_visible),
            completeness: self.comp_pass1 | self.comp_before_last,
            history: std::mem::take(&mut self.history),
            close,
            client_state: self.states[Role::Client],
            server_state: self.states[Role::Server],
            retransmissions: self.retransmissions,
            dup_acks: self.dup_acks,
            zero_windows: self.zero_windows,
            reused: self.reused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::checksum::Checksum;
    use crate::wire::tcp::{ACK, FIN, PSH, RST, SYN};

    fn conv_from(segs: &[(usize, u16, u32, u32, u32, u16)]) -> TcpConv {
        conv_checked(segs, |_| Checksum::Unverified)
    }

    /// The tracker's facts of a whole segment with `flags`, `seq`, `ack`, window `win` and
    /// `len` bytes of which `payload` were captured.
    fn facts(flags: u16, seq: u32, ack: u32, win: u16, len: u32, payload: &[u8]) -> TcpFacts<'_> {
        TcpFacts {
            sport: 40000,
            dport: 12345,
            fixed: TcpFixed {
                seq: SeqNumber(seq),
                ack: SeqNumber(ack),
                header_len: 20,
                flags: TcpFlags(flags),
                window: win,
            },
            wscale: None,
            len: Some(len),
            payload,
            header_complete: true,
            analysis_shown: true,
            bad_checksum: false,
        }
    }

    /// A conversation from (side, flags, seq, ack, len, window) segments, the checksum
    /// verdict of segment i being `checksum(i)`.
    fn conv_checked(
        segs: &[(usize, u16, u32, u32, u32, u16)],
        checksum: impl Fn(usize) -> Checksum,
    ) -> TcpConv {
        let ip: std::net::IpAddr = "127.0.0.1".parse().expect("test data");
        let (key, _) = FlowKey::new(ip, 40000, ip, 12345);
        // Sides as 0 (the lower endpoint) and 1, to keep the segment tables short.
        let side_of = |n: usize| if n == 0 { Side::Lo } else { Side::Hi };
        let mut c = TcpConv::new(
            0,
            key,
            side_of(segs[0].0),
            TcpFlags(segs[0].1),
            1,
            Timestamp::default(),
        );
        for (i, &(side, fl, seq, ack, len, win)) in segs.iter().enumerate() {
            let payload = vec![b'x'; len as usize];
            let seg = TcpFacts {
                bad_checksum: checksum(i) == Checksum::Bad,
                ..facts(fl, seq, ack, win, len, &payload)
            };
            let ts = Timestamp {
                secs: 1,
                nsecs: i as i32 * 1000,
            };
            c.segment(
                &mut PacketInfo::default(),
                i as u64 + 1,
                ts,
                side_of(side),
                &seg,
                &mut crate::track::flow::Keep::new(64),
            );
        }
        c
    }

    #[test]
    fn test_zeek_history_letters_and_repeats() {
        // Handshake, data, a retransmission, zero windows, FINs.
        let mut segs = vec![
            (0, SYN, 100, 0, 0, 512),
            (1, SYN | ACK, 500, 101, 0, 512),
            (0, ACK, 101, 501, 0, 512),
            (0, PSH | ACK, 101, 501, 10, 512),
            (0, PSH | ACK, 101, 501, 10, 512),
        ];
        for _ in 0..10 {
            segs.push((1, ACK, 501, 111, 0, 0));
        }
        segs.push((0, FIN | ACK, 111, 501, 0, 512));
        segs.push((1, FIN | ACK, 501, 112, 0, 512));
        let c = conv_from(&segs).summary();
        // T once (1 retransmission); w at the 1st and 10th zero window.
        assert_eq!(c.history, "ShADTawwFf");
    }

    #[test]
    fn test_zeek_t_for_a_hole_filler_and_no_gap_once_filled() {
        // Data 1..11, then 21..31 (a hole at 11..21), then the filler: below the highest
        // sequence number sent, so Zeek's T, though its bytes are new. The receiver's ACK
        // comes after the filler: nothing was missing, no G.
        let c = conv_from(&[
            (0, SYN, 100, 0, 0, 512),
            (1, SYN | ACK, 500, 101, 0, 512),
            (0, ACK, 101, 501, 0, 512),
            (0, PSH | ACK, 101, 501, 10, 512),
            (0, PSH | ACK, 121, 501, 10, 512),
            (0, PSH | ACK, 111, 501, 10, 512),
            (1, ACK, 501, 131, 0, 512),
        ])
        .summary();
        assert_eq!(c.history, "ShADTa");
    }

    #[test]
    fn test_zeek_g_when_the_peer_acks_bytes_never_seen() {
        // The hole at 11..21 is never filled, but the receiver acknowledges past it: a
        // content gap of the client's stream (G); data reaching further is no T.
        let c = conv_from(&[
            (0, SYN, 100, 0, 0, 512),
            (1, SYN | ACK, 500, 101, 0, 512),
            (0, ACK, 101, 501, 0, 512),
            (0, PSH | ACK, 101, 501, 10, 512),
            (0, PSH | ACK, 121, 501, 10, 512),
            (1, ACK, 501, 131, 0, 512),
            (0, PSH | ACK, 131, 501, 10, 512),
            (1, ACK, 501, 141, 0, 512),
        ])
        .summary();
        assert_eq!(c.history, "ShADaG");
    }

    #[test]
    fn test_a_transfer_past_4_gib_counts_every_byte_once() {
        let ip: std::net::IpAddr = "127.0.0.1".parse().expect("test data");
        let (key, _) = FlowKey::new(ip, 40000, ip, 12345);
        let mut c = TcpConv::new(0, key, Side::Lo, TcpFlags(SYN), 1, Timestamp::default());
        // Segments of 1 GiB (headers only: the snaplen kept no payload), five of them, then
        // the last again (its sequence number has wrapped past 2^32 once): 5 GiB sent, the
        // copy adds nothing and is a retransmission.
        let gib = 1u32 << 30;
        let seg = |c: &mut TcpConv, i: u64, flags: u16, seq: u32, len: u32| {
            let ts = Timestamp {
                secs: 1,
                nsecs: i as i32,
            };
            let s = facts(flags, seq, 501, 512, len, &[]);
            c.segment(
                &mut PacketInfo::default(),
                i,
                ts,
                Side::Lo,
                &s,
                &mut crate::track::flow::Keep::new(0),
            );
        };
        seg(&mut c, 1, SYN, 100, 0);
        for k in 0..5u32 {
            seg(
                &mut c,
                2 + u64::from(k),
                ACK,
                101u32.wrapping_add(k.wrapping_mul(gib)),
                gib,
            );
        }
        seg(
            &mut c,
            7,
            ACK,
            101u32.wrapping_add(4u32.wrapping_mul(gib)),
            gib,
        );
        let s = c.summary();
        assert_eq!(s.flow.bytes_c2s, 5 * u64::from(gib));
        assert_eq!(s.history, "SDT", "one T, for the copy only");
    }

    #[test]
    fn test_bad_checksum_is_c_once_and_nothing_else() {
        let segs = [
            (0, SYN, 100, 0, 0, 512),
            (0, PSH | ACK, 101, 1, 4, 512),
            (0, PSH | ACK, 101, 1, 4, 512),
            (0, ACK, 101, 1, 0, 512),
        ];
        let mut c = conv_checked(&segs, |i| match i {
            1 | 2 => Checksum::Bad,
            _ => Checksum::Offload,
        });
        // No D for the corrupt data segments; offload is not corrupt.
        assert_eq!(c.summary().history, "SCA");
    }

    #[test]
    fn test_history_flipped_when_first_seen_is_syn_ack() {
        let c =
            conv_from(&[(1, SYN | ACK, 500, 101, 0, 512), (0, ACK, 101, 501, 0, 512)]).summary();
        assert_eq!(c.history, "^hA");
    }

    #[test]
    fn test_completeness_bits() {
        assert_eq!(completeness_bits(TcpFlags(SYN), 0), C_SYN);
        assert_eq!(completeness_bits(TcpFlags(SYN | ACK), 0), C_SYNACK);
        assert_eq!(completeness_bits(TcpFlags(ACK), 0), C_ACK);
        assert_eq!(completeness_bits(TcpFlags(ACK), 5), C_DATA);
        assert_eq!(completeness_bits(TcpFlags(FIN), 0), 0);
        assert_eq!(completeness_bits(TcpFlags(FIN | ACK), 0), C_ACK | C_FIN);
        assert_eq!(completeness_bits(TcpFlags(RST | ACK), 0), C_ACK | C_RST);
        assert_eq!(completeness_bits(TcpFlags(RST), 0), C_RST);
        assert_eq!(completeness_bits(TcpFlags(SYN), 3), C_SYN | C_DATA);
        assert_eq!(completeness_bits(TcpFlags(SYN | ACK), 3), C_SYNACK);
        assert_eq!(
            completeness_bits(TcpFlags(SYN | FIN | ACK), 3),
            C_SYNACK | C_FIN
        );
        assert_eq!(completeness_bits(TcpFlags(SYN | FIN), 0), C_SYN);
    }
}
