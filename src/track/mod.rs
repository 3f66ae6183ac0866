//! Conversation tracking: TCP streams (numbered exactly like Wireshark's `tcp.stream`),
//! relative sequence numbers, handshake verdicts, endpoint states and completeness; UDP
//! conversations (`udp.stream`) with request/reply pairing. Pure: time comes from packets.

pub mod analysis;
pub mod defrag;
pub mod facts;
pub mod flow;
pub mod follow;
pub mod seq;
pub mod state;
pub mod table;
pub mod tcp;
pub mod udp;

use std::net::IpAddr;

use crate::time::{Duration, Timestamp};
use crate::wire::tcp::TcpFixed;
use table::{Conv, FlowIndex, Graveyard, List, Table};

pub use facts::{DetachedFacts, Facts, L4};
use flow::Keep;
pub use flow::{ByRole, BySide, Exchange, FlowSummary, Role, Side, Step};
pub use seq::SeqNumber;
pub use state::TcpState;
pub use tcp::{Close, ConnSummary, Handshake, HandshakeNote, TcpConv};
pub use udp::UdpConv;

/// Both endpoints of a conversation in a canonical order, so either direction finds it.
/// Addresses are kept as big-endian bytes (a flow's two ends are of one family; an IPv4
/// address as its IPv4-mapped 16 bytes): comparing and hashing them is much cheaper than
/// `IpAddr`'s, and it is done for every packet. Bytes rather than `u128`s keep the key at 38
/// bytes instead of 80 (a `u128` is aligned to 16): the flow index's entries and every
/// conversation carry one, and an index twice the size missed the cache on every lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    v6: bool,
    lo: ([u8; 16], u16),
    hi: ([u8; 16], u16),
}

fn addr_bytes(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)).to_be_bytes(),
        IpAddr::V6(a) => a.octets(),
    }
}

impl FlowKey {
    /// The key and the side the sender is on (the lower address and port are `Lo`: big-endian
    /// bytes order as the numbers do).
    pub fn new(src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> (FlowKey, Side) {
        let a = (addr_bytes(src), sport);
        let b = (addr_bytes(dst), dport);
        let v6 = src.is_ipv6();
        if a <= b {
            (FlowKey { v6, lo: a, hi: b }, Side::Lo)
        } else {
            (FlowKey { v6, lo: b, hi: a }, Side::Hi)
        }
    }

    pub fn endpoint(&self, side: Side) -> (IpAddr, u16) {
        let (bytes, port) = match side {
            Side::Lo => self.lo,
            Side::Hi => self.hi,
        };
        let bits = u128::from_be_bytes(bytes);
        let ip = if self.v6 {
            IpAddr::V6(std::net::Ipv6Addr::from(bits))
        } else {
            IpAddr::V4(std::net::Ipv4Addr::from(bits as u32))
        };
        (ip, port)
    }
}

/// What the tracker says about one packet.
#[derive(Debug, Clone, Copy, Default)]
pub struct PacketInfo {
    /// `tcp.stream` or `udp.stream` of the frame's conversation (or the one an ICMP error quotes).
    pub stream: Option<u32>,
    /// The sender is the conversation's client.
    pub from_client: bool,
    pub rel_seq: Option<u32>,
    pub rel_ack: Option<u32>,
    /// The calculated window (`tcp.window_size`): the raw field shifted by the sender's
    /// window scale once the handshake agreed one.
    pub window: Option<u32>,
    pub step: Option<Step>,
    pub handshake: Option<HandshakeNote>,
    /// Client and server state after this packet.
    pub states: Option<(TcpState, TcpState)>,
    /// Expert verdicts, as tshark shows them (empty when tshark would not print them).
    pub analysis: analysis::Flags,
    /// Details behind the verdicts (retransmitted frame, duplicate-ACK number, …).
    pub verdict: analysis::Verdict,
    /// This data segment or datagram answers the request in `frame`, `rtt` seconds later.
    pub reply_to: Option<(u64, Duration)>,
    /// The `udp.stream` of the UDP flow a tunnel (VXLAN, Geneve, Teredo) carried this in.
    pub outer_stream: Option<u32>,
}

/// Running totals for the summary line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Totals {
    pub frames: u64,
    pub malformed: u64,
    pub handshakes_complete: u64,
    pub udp_datagrams: u64,
    /// Conversations summed up before they were over because the table was full.
    pub summed_up_early: u64,
}

/// Why a conversation's record was written (the contract's `ended`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ended {
    /// Over (FIN both ways and the last ACK, or RST) and quiet for the close delay.
    Closed,
    /// Silent longer than its idle timeout.
    Idle,
    /// Summed up to make room: the table held `max_conns` conversations.
    TableFull,
    #[default]
    EndOfInput,
}

impl Ended {
    pub fn as_str(self) -> &'static str {
        match self {
            Ended::Closed => "closed",
            Ended::Idle => "idle",
            Ended::TableFull => "table-full",
            Ended::EndOfInput => "end-of-input",
        }
    }
}

/// A finished conversation, ready for its `conn` line.
#[derive(Debug, Clone)]
pub enum Finished {
    Tcp(ConnSummary),
    Udp(FlowSummary),
}

impl Finished {
    pub fn first_frame(&self) -> u64 {
        self.flow().first_frame
    }

    /// What TCP and UDP records share.
    pub fn flow(&self) -> &FlowSummary {
        match self {
            Finished::Tcp(c) => &c.flow,
            Finished::Udp(u) => u,
        }
    }
}

/// How long conversations stay in memory, in packet time (never the wall clock, so reading
/// a file twice gives the same output). The defaults are Zeek's: `tcp_inactivity_timeout`
/// 5 min, `udp_inactivity_timeout` 1 min, `tcp_close_delay` / `tcp_reset_delay` 5 s.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub tcp_idle: Duration,
    pub udp_idle: Duration,
    /// How long an over TCP conversation waits for late segments (retransmitted FINs and
    /// ACKs, a RST after the close) before its record is written.
    pub close_delay: Duration,
    /// Conversations held at once; the longest idle is summed up to make room.
    pub max_conns: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            tcp_idle: Duration::from_secs(300),
            udp_idle: Duration::from_secs(60),
            close_delay: Duration::from_secs(5),
            max_conns: 10_000,
        }
    }
}

/// What is kept of a conversation after its state left memory, so that a flow that comes
/// back keeps Wireshark's stream number (Wireshark never forgets a conversation) and its
/// relative sequence numbers: the stream, the client's side, the TCP base sequence numbers.
#[derive(Debug, Clone)]
pub struct Tomb {
    pub stream: u32,
    /// Canonical side of the client.
    pub client: Side,
    pub bases: BySide<Option<SeqNumber>>,
    /// Which burial of the flow this is, so an older queue entry cannot remove it.
    pub burial: u32,
    /// TCP: what the analysis and the endpoint states need to go on exactly as Wireshark
    /// does when the connection speaks again (keep-alives after a long silence).
    pub tcp: Option<tcp::TcpTomb>,
}

/// All conversations of a capture, bounded: a conversation is summed up (its `conn` record
/// handed out) when it is over, idle, or the longest idle when the table is full.
pub struct Tracker {
    table: Table,
    /// Slot of the conversation each 4-tuple belongs to now.
    tcp_index: FlowIndex,
    udp_index: FlowIndex,
    /// Summed-up flows (TCP, UDP) by a 64-bit digest of their 4-tuple (a fifth of the key's
    /// size; a false match needs about 2^32 tombs).
    graves: [Graveyard; 2],
    burials: u32,
    /// Records handed out by the tracker itself (table full) before the current packet.
    ready: Vec<Finished>,
    /// Boxes of conversations that left, for the next ones.
    spare_tcp: Spares<TcpConv>,
    spare_udp: Spares<UdpConv>,
    next_tcp: u32,
    next_udp: u32,
    /// How much of each request and reply is kept for `exchanges`, and buffers for them.
    keep: Keep,
    limits: Limits,
    /// Packet time: robust to single damaged timestamps (see `advance`).
    clock: i128,
    recent: [i128; Tracker::CLOCK_WINDOW],
    newest: usize,
    /// Frame times seen (up to the window) and the length of the latest run in order.
    seen: usize,
    in_order: usize,
    /// Three frame times have been seen: the clock may expire conversations.
    clock_trusted: bool,
    /// No conversation is due before this time (a lower bound, exact after each check that
    /// found none due), so the check before and after every packet is one comparison.
    due_at_least: i128,
    pub totals: Totals,
}

/// Boxes of conversations that left, reused for new ones: a TCP conversation is a kilobyte,
/// above the allocator's per-thread cache sizes, so a fresh box per connection went through
/// its slow path twice (allocated here, freed here) and wrote to cold memory.
// The boxes themselves are what is kept: the table holds boxes, and a box taken from here
// goes into it without an allocation.
#[allow(clippy::vec_box)]
struct Spares<T>(Vec<Box<T>>);

impl<T> Default for Spares<T> {
    fn default() -> Self {
        Spares(Vec::new())
    }
}

impl<T> Spares<T> {
    /// Enough to cover a burst of conversations leaving; more would only hold memory.
    const KEEP: usize = 64;

    /// `conv` in a box, a spare one when there is one.
    fn boxed(&mut self, conv: T) -> Box<T> {
        match self.0.pop() {
            Some(mut b) => {
                *b = conv;
                b
            }
            None => Box::new(conv),
        }
    }

    fn keep(&mut self, b: Box<T>) {
        if self.0.len() < Self::KEEP {
            self.0.push(b);
        }
    }
}

/// A 64-bit digest of a flow key: XXH3 (deterministic, the same digests every run, and a
/// good 64-bit hash: a false match needs about 2^32 tombs). The key goes in as one 37-byte
/// write. SipHash gave the same guarantees at five times the cost, which a flood (a new
/// conversation, so two digests, per packet) paid on every packet.
fn digest(key: &FlowKey) -> u64 {
    let mut bytes = [0u8; 37];
    bytes[0] = u8::from(key.v6);
    // The addresses as little-endian numbers: the digests the key has always had.
    let le = |b: [u8; 16]| u128::from_be_bytes(b).to_le_bytes();
    bytes[1..17].copy_from_slice(&le(key.lo.0));
    bytes[17..19].copy_from_slice(&key.lo.1.to_le_bytes());
    bytes[19..35].copy_from_slice(&le(key.hi.0));
    bytes[35..37].copy_from_slice(&key.hi.1.to_le_bytes());
    xxhash_rust::xxh3::xxh3_64(&bytes)
}

impl Tracker {
    /// Frame times the clock takes its median of.
    const CLOCK_WINDOW: usize = 5;

    /// Tombs kept per place in the table: TCP and UDP each keep four small ones (about 60
    /// bytes: enough for Wireshark's stream numbers and port-reuse flags), and TCP one with
    /// the analysis state (about 400 bytes) for a connection that speaks again.
    fn graveyards(places: usize) -> [Graveyard; 2] {
        [
            Graveyard::new(places.saturating_mul(4), places),
            Graveyard::new(places.saturating_mul(4), 0),
        ]
    }

    pub fn new(keep_bytes: usize) -> Self {
        Tracker::with_limits(keep_bytes, Limits::default())
    }

    pub fn with_limits(keep_bytes: usize, limits: Limits) -> Self {
        Tracker {
            table: Table::new(),
            tcp_index: FlowIndex::default(),
            udp_index: FlowIndex::default(),
            graves: Tracker::graveyards(limits.max_conns.max(1)),
            burials: 0,
            ready: Vec::new(),
            spare_tcp: Spares::default(),
            spare_udp: Spares::default(),
            next_tcp: 0,
            next_udp: 0,
            keep: Keep::new(keep_bytes),
            limits: Limits {
                max_conns: limits.max_conns.max(1),
                ..limits
            },
            clock: i128::MIN,
            recent: [i128::MIN; Tracker::CLOCK_WINDOW],
            newest: 0,
            seen: 0,
            in_order: 0,
            clock_trusted: false,
            due_at_least: i128::MIN,
            totals: Totals::default(),
        }
    }

    /// Moves the packet clock with a frame's time. The clock is the running maximum of the
    /// median of the last five frame times, so damaged timestamps (a fuzzed year, a zero) do
    /// not expire every conversation: it takes three in a row. Until five frames have been
    /// seen there is no median, so nothing expires, and the conversations of those first
    /// frames count as active from the first trustworthy time on.
    pub fn advance(&mut self, ts: Timestamp) {
        const W: usize = Tracker::CLOCK_WINDOW;
        let t = ts.as_nanos();
        // The window is a ring (`newest` its latest place); `in_order` is how many frame times
        // up to this one never went back, so a full run means the window is sorted.
        self.in_order = if t >= self.recent[self.newest] {
            (self.in_order + 1).min(W)
        } else {
            1
        };
        self.newest = if self.newest + 1 == W {
            0
        } else {
            self.newest + 1
        };
        self.recent[self.newest] = t;
        if self.seen < W {
            self.seen += 1;
        }
        if self.seen < W {
            // Warming up: keep some time for the tables, but no expiry yet.
            self.clock = self.clock.max(t);
            return;
        }
        // Frame times mostly come in order: then the median is the one two places back.
        let median = if self.in_order == W {
            self.recent[(self.newest + W - W / 2) % W]
        } else {
            let mut sorted = self.recent;
            sorted.sort_unstable();
            sorted[W / 2]
        };
        self.clock = self.clock.max(median);
        if !self.clock_trusted {
            self.trust_clock();
        }
    }

    /// Moves the clock to `ts` directly (live capture: wall-clock time while no packet comes,
    /// the same clock the kernel stamps packets with).
    pub fn advance_to(&mut self, ts: Timestamp) {
        self.clock = self.clock.max(ts.as_nanos());
        if !self.clock_trusted {
            self.trust_clock();
        }
    }

    fn trust_clock(&mut self) {
        self.clock_trusted = true;
        self.table.restamp(self.clock);
        self.due_at_least = i128::MIN;
    }

    /// A conversation was put at the back of `list` now: it is due no earlier than this.
    fn active_on(&mut self, list: List) {
        let deadline = self.clock.saturating_add(self.timeout(list));
        self.due_at_least = self.due_at_least.min(deadline);
    }

    fn timeout(&self, list: List) -> i128 {
        match list {
            List::TcpOpen => self.limits.tcp_idle,
            List::TcpOver => self.limits.close_delay,
            List::Udp => self.limits.udp_idle,
        }
        .as_nanos()
    }

    /// Makes room for one more conversation: a connection that is over (the earliest to end),
    /// else the longest-idle conversation is summed up.
    fn make_room(&mut self) {
        while self.table.len() >= self.limits.max_conns {
            let (slot, ended) = match self.table.front(List::TcpOver) {
                Some((slot, _)) => (slot, Ended::Closed),
                None => {
                    let oldest = [List::TcpOpen, List::Udp]
                        .into_iter()
                        .filter_map(|l| self.table.front(l))
                        .min_by_key(|&(_, active)| active);
                    let Some((slot, _)) = oldest else { return };
                    self.totals.summed_up_early += 1;
                    (slot, Ended::TableFull)
                }
            };
            if let Some(f) = self.remove(slot, ended) {
                self.ready.push(f);
            }
        }
    }

    /// A record that was printed comes back: its buffers serve the next conversations
    /// (each conversation that pairs a request and a reply allocates two, and the thread
    /// that prints hands records back to be freed here anyway).
    pub fn recycle(&mut self, f: Finished) {
        let flow = match f {
            Finished::Tcp(t) => t.flow,
            Finished::Udp(u) => u,
        };
        self.keep.recycle(flow.exchanges, flow.text);
    }

    /// Takes a conversation out of memory: its record, and a tomb for its 4-tuple.
    fn remove(&mut self, slot: u32, ended: Ended) -> Option<Finished> {
        let (p, key, tomb, mut f) = match self.table.take(slot)? {
            Conv::Tcp(mut c) => {
                let key = c.key;
                if !self.tcp_index.holds(&key, slot) {
                    // A newer stream owns the 4-tuple now: nothing to bury.
                    let mut f = Finished::Tcp(c.summary());
                    self.spare_tcp.keep(c);
                    set_ended(&mut f, ended);
                    return Some(f);
                }
                self.tcp_index.remove(&key, slot);
                let tomb = c.bury();
                let f = Finished::Tcp(c.summary());
                self.spare_tcp.keep(c);
                (0, key, tomb, f)
            }
            Conv::Udp(mut c) => {
                let key = c.key;
                self.udp_index.remove(&key, slot);
                let tomb = c.tomb();
                let f = Finished::Udp(c.summary());
                self.spare_udp.keep(c);
                (1, key, tomb, f)
            }
        };
        set_ended(&mut f, ended);
        // TCP and UDP keep their tombs apart, so that a churn of short TCP connections does
        // not push out the UDP flows that come back (DNS, NTP, mDNS ports).
        self.burials = self.burials.wrapping_add(1);
        let burial = self.burials;
        self.graves[p].bury(digest(&key), Tomb { burial, ..tomb });
        Some(f)
    }

    /// The next conversation whose time is up at the current clock, if any. Call until None
    /// before each packet and when the clock moves without one.
    #[inline]
    pub fn pop_expired(&mut self) -> Option<Finished> {
        // Checked before and after every packet, and almost always nothing: no call then.
        if self.ready.is_empty() && (!self.clock_trusted || self.clock < self.due_at_least) {
            return None;
        }
        self.pop_due()
    }

    fn pop_due(&mut self) -> Option<Finished> {
        if let Some(f) = self.ready.pop() {
            return Some(f);
        }
        if !self.clock_trusted || self.clock < self.due_at_least {
            return None;
        }
        // Each list's front is its earliest deadline; the earliest of the three goes first.
        let earliest = [List::TcpOver, List::Udp, List::TcpOpen]
            .into_iter()
            .filter_map(|l| {
                let (slot, active) = self.table.front(l)?;
                Some((active.saturating_add(self.timeout(l)), slot, l))
            })
            .min_by_key(|&(deadline, _, _)| deadline);
        let due = match earliest {
            Some(e) if e.0 <= self.clock => e,
            other => {
                self.due_at_least = other.map_or(i128::MAX, |e| e.0);
                return None;
            }
        };
        let ended = if due.2 == List::TcpOver {
            Ended::Closed
        } else {
            Ended::Idle
        };
        self.remove(due.1, ended)
    }

    /// Feeds one decoded frame's facts through the conversation tables. Call `advance` with
    /// the frame's time and drain `pop_expired` first.
    pub fn packet(&mut self, frame: u64, ts: Timestamp, d: &Facts<'_>) -> PacketInfo {
        let mut info = PacketInfo::default();
        self.packet_into(frame, ts, d, &mut info);
        info
    }

    /// `packet`, filling in `info` (which starts as the default): what the tracking thread
    /// uses, to write each frame's `PacketInfo` (some 300 bytes) once, where it is kept.
    pub fn packet_into(&mut self, frame: u64, ts: Timestamp, d: &Facts<'_>, info: &mut PacketInfo) {
        self.totals.frames += 1;
        if d.malformed {
            self.totals.malformed += 1;
        }
        let Some((src, dst)) = d.ip else { return };
        // A tunnel's outer UDP flow is a conversation of its own in Wireshark's count, and it
        // is dissected (so numbered) before the inner one.
        if let Some(((osrc, sp), (odst, dp))) = d.outer_udp {
            let (slot, side) = self.udp_slot(osrc, sp, odst, dp, frame, ts);
            if let Some(c) = self.table.udp_mut(slot) {
                c.carries(frame, ts, side);
                info.outer_stream = Some(c.stream);
            }
            self.table.touch(slot, List::Udp, self.clock);
            self.active_on(List::Udp);
        }
        match &d.l4 {
            L4::Tcp(seg) => {
                let fixed = seg.fixed;
                let (key, side) = FlowKey::new(src, seg.sport, dst, seg.dport);
                let table = &self.table;
                let known = self.tcp_index.get(&key, |s| table.key(s, true));
                let slot = match known {
                    Some(slot)
                        if !self
                            .table
                            .tcp(slot)
                            .is_some_and(|c| c.starts_new_stream(side, fixed)) =>
                    {
                        slot
                    }
                    _ => self.new_tcp(key, side, fixed, known.is_some(), frame, ts),
                };
                let Some(conv) = self.table.tcp_mut(slot) else {
                    return;
                };
                let was_complete = conv.handshake() == Handshake::Complete;
                conv.segment(info, frame, ts, side, seg, &mut self.keep);
                if !was_complete && conv.handshake() == Handshake::Complete {
                    self.totals.handshakes_complete += 1;
                }
                let list = if conv.is_over() {
                    List::TcpOver
                } else {
                    List::TcpOpen
                };
                self.table.touch(slot, list, self.clock);
                self.active_on(list);
            }
            L4::Udp(dg) => {
                let (slot, side) = self.udp_slot(src, dg.sport, dst, dg.dport, frame, ts);
                self.totals.udp_datagrams += 1;
                if let Some(c) = self.table.udp_mut(slot) {
                    info.stream = Some(c.stream);
                    c.datagram(info, frame, ts, side, dg, &mut self.keep);
                }
                self.table.touch(slot, List::Udp, self.clock);
                self.active_on(List::Udp);
            }
            L4::IcmpQuotedUdp((qsrc, sp), (qdst, dp)) => {
                // An error quoting a UDP datagram belongs to that datagram's conversation
                // (created if unseen); a quoted TCP header creates no TCP conversation.
                let (slot, _) = self.udp_slot(*qsrc, *sp, *qdst, *dp, frame, ts);
                if let Some(c) = self.table.udp_mut(slot) {
                    info.stream = Some(c.stream);
                }
            }
            L4::None => {}
        }
    }

    /// A new TCP conversation on `key`, or one summed up earlier coming back: same stream,
    /// unless Wireshark's rule (a SYN with another ISN) starts a new one.
    fn new_tcp(
        &mut self,
        key: FlowKey,
        side: Side,
        fixed: TcpFixed,
        replaces: bool,
        frame: u64,
        ts: Timestamp,
    ) -> u32 {
        let tomb = if replaces {
            None
        } else {
            self.graves[0].exhume(digest(&key))
        };
        let conv = match tomb {
            Some(t) if !TcpConv::tomb_starts_new_stream(&t, side, fixed) => {
                TcpConv::resume(t, key, side, fixed.flags, frame, ts)
            }
            other => {
                let stream = self.next_tcp;
                self.next_tcp += 1;
                let mut c = TcpConv::new(stream, key, side, fixed.flags, frame, ts);
                c.reused = replaces || other.is_some();
                c
            }
        };
        self.make_room();
        let conv = self.spare_tcp.boxed(conv);
        let slot = self
            .table
            .insert(Conv::Tcp(conv), List::TcpOpen, self.clock);
        self.active_on(List::TcpOpen);
        let table = &self.table;
        self.tcp_index.insert(key, slot, |s| table.key(s, true));
        slot
    }

    /// The UDP conversation of a 4-tuple (created, or resumed from its tomb): slot and side.
    fn udp_slot(
        &mut self,
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        frame: u64,
        ts: Timestamp,
    ) -> (u32, Side) {
        let (key, side) = FlowKey::new(src, sport, dst, dport);
        let table = &self.table;
        if let Some(slot) = self.udp_index.get(&key, |s| table.key(s, false)) {
            return (slot, side);
        }
        let conv = match self.graves[1].exhume(digest(&key)) {
            Some(t) => UdpConv::resume(t, key, frame, ts),
            None => {
                let stream = self.next_udp;
                self.next_udp += 1;
                UdpConv::new(stream, key, side, frame, ts)
            }
        };
        self.make_room();
        let conv = self.spare_udp.boxed(conv);
        let slot = self.table.insert(Conv::Udp(conv), List::Udp, self.clock);
        self.active_on(List::Udp);
        let table = &self.table;
        self.udp_index.insert(key, slot, |s| table.key(s, false));
        (slot, side)
    }

    /// Takes every conversation still in memory out, in order of first frame, for the end
    /// of the input.
    pub fn finish(&mut self) -> Vec<Finished> {
        let mut out: Vec<Finished> = self.ready.drain(..).collect();
        let slots: Vec<u32> = self.table.slots().collect();
        for slot in slots {
            if let Some(f) = self.remove(slot, Ended::EndOfInput) {
                out.push(f);
            }
        }
        // Keys first: sorting the records themselves would move 300-byte values n log n times.
        out.sort_by_cached_key(|f| {
            (
                f.first_frame(),
                matches!(f, Finished::Udp(_)),
                f.flow().stream,
            )
        });
        self.table.clear();
        self.graves = Tracker::graveyards(self.limits.max_conns);
        out
    }

    /// Every TCP conversation still in memory has ended (both sides closed, or reset).
    pub fn tcp_all_over(&self) -> bool {
        self.table.front(List::TcpOpen).is_none()
    }

    /// UDP datagrams seen so far.
    pub fn udp_datagrams(&self) -> u64 {
        self.totals.udp_datagrams
    }

    pub fn tcp_streams(&self) -> u32 {
        self.next_tcp
    }

    pub fn udp_streams(&self) -> u32 {
        self.next_udp
    }
}

fn set_ended(f: &mut Finished, ended: Ended) {
    match f {
        Finished::Tcp(c) => c.flow.ended = ended,
        Finished::Udp(u) => u.ended = ended,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire;

    /// Ethernet/IPv4/UDP 10.0.0.1:1000 → 10.0.0.2:53 with a few payload bytes.
    fn udp_frame() -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 32, 0, 0, 0, 0, 64, 17, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(&[0x03, 0xe8, 0, 53, 0, 12, 0, 0, b'q', b'u', b'e', b'r']);
        f
    }

    /// Feeds the datagram at each time (seconds) through `t`; returns the records handed out.
    fn feed(t: &mut Tracker, times: &[f64]) -> Vec<Finished> {
        let f = udp_frame();
        let d = wire::decode(1, &f, f.len() as u32);
        let mut out = Vec::new();
        for (i, &secs) in times.iter().enumerate() {
            let ts = Timestamp {
                secs: secs.floor() as i64,
                nsecs: ((secs - secs.floor()) * 1e9) as i32,
            };
            t.advance(ts);
            out.extend(std::iter::from_fn(|| t.pop_expired()));
            let info = t.packet(i as u64 + 1, ts, &Facts::of(&d));
            assert_eq!(info.stream, Some(0));
            out.extend(std::iter::from_fn(|| t.pop_expired()));
        }
        out
    }

    #[test]
    fn test_damaged_times_do_not_expire_conversations() {
        // Two wild times in a row (a fuzzed year either way) among frames a millisecond
        // apart: the median of five ignores them, so the flow is never idle.
        let base = 1_700_000_000.0;
        let mut times: Vec<f64> = (0..12).map(|i| base + f64::from(i) * 0.001).collect();
        times[3] = base + 9e8;
        times[4] = base + 9e8;
        times[8] = 0.0;
        let mut t = Tracker::new(16);
        assert!(feed(&mut t, &times).is_empty());
        // The same flow silent for two minutes is summed up (UDP: 60 s), and comes back
        // under its stream number.
        let mut t = Tracker::new(16);
        let mut times: Vec<f64> = (0..6).map(|i| base + f64::from(i)).collect();
        times.extend((0..6).map(|i| base + 200.0 + f64::from(i)));
        let done = feed(&mut t, &times);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].flow().ended, Ended::Idle);
        assert_eq!(t.udp_streams(), 1);
    }

    #[test]
    fn test_tunnel_outer_flow_counts_its_datagrams() {
        // Ethernet/IPv4/UDP:4789/VXLAN carrying Ethernet/IPv4/UDP 1 → 2.
        let inner_udp = [0u8, 1, 0, 2, 0, 10, 0, 0, b'h', b'i'];
        let mut inner = vec![0u8; 12];
        inner.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 30, 0, 0, 0, 0, 64, 17, 0, 0]);
        inner.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1]);
        inner.extend_from_slice(&inner_udp);
        let mut vx = vec![0x08, 0, 0, 0, 0, 0, 100, 0];
        vx.extend_from_slice(&inner);
        let mut outer_udp = vec![0xc3, 0x50, 0x12, 0xb5];
        outer_udp.extend_from_slice(&((8 + vx.len()) as u16).to_be_bytes());
        outer_udp.extend_from_slice(&[0, 0]);
        outer_udp.extend_from_slice(&vx);
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
        f.extend_from_slice(&((20 + outer_udp.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(&outer_udp);
        let d = wire::decode(1, &f, f.len() as u32);
        assert_eq!(d.tunnel, Some(crate::wire::numbers::Tunnel::Vxlan));
        let mut t = Tracker::new(16);
        let info = t.packet(1, Timestamp::default(), &Facts::of(&d));
        assert_eq!(info.stream, Some(1), "the outer flow is numbered first");
        let done = t.finish();
        let packets: Vec<u64> = done
            .iter()
            .map(|c| match c {
                Finished::Udp(u) => u.packets,
                Finished::Tcp(t) => t.flow.packets,
            })
            .collect();
        assert_eq!(packets, [1, 1]);
    }
}
