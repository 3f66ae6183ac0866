//! Conversation tracking: TCP streams (numbered exactly like Wireshark's `tcp.stream`),
//! relative sequence numbers, handshake verdicts, endpoint states and completeness; UDP
//! conversations (`udp.stream`) with request/reply pairing. Pure: time comes from packets.

pub mod analysis;
pub mod defrag;
pub mod seq;
pub mod state;
pub mod tcp;
pub mod udp;

use std::net::IpAddr;

use rustc_hash::FxHashMap;

use crate::capture::Timestamp;
use crate::wire::{Decoded, Transport};

pub use seq::SeqNumber;
pub use state::TcpState;
pub use tcp::{Close, ConnSummary, Handshake, HandshakeNote, Step, TcpConv};
pub use udp::{FlowSummary, UdpConv};

/// Both endpoints of a conversation in a canonical order, so either direction finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub lo: (IpAddr, u16),
    pub hi: (IpAddr, u16),
}

impl FlowKey {
    /// The key and the side (0 = `lo`, 1 = `hi`) the sender is on.
    pub fn new(src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> (FlowKey, usize) {
        let a = (src, sport);
        let b = (dst, dport);
        if a <= b {
            (FlowKey { lo: a, hi: b }, 0)
        } else {
            (FlowKey { lo: b, hi: a }, 1)
        }
    }

    pub fn endpoint(&self, side: usize) -> (IpAddr, u16) {
        if side == 0 { self.lo } else { self.hi }
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
    pub step: Option<Step>,
    pub handshake: Option<HandshakeNote>,
    /// Client and server state after this packet.
    pub states: Option<(TcpState, TcpState)>,
    /// Expert verdicts, as tshark shows them (empty when tshark would not print them).
    pub analysis: analysis::Flags,
    /// Details behind the verdicts (retransmitted frame, duplicate-ACK number, …).
    pub verdict: analysis::Verdict,
    /// This data segment or datagram answers the request in `frame`, `rtt` seconds later.
    pub reply_to: Option<(u64, f64)>,
}

/// Running totals for the summary line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Totals {
    pub frames: u64,
    pub malformed: u64,
    pub handshakes_complete: u64,
}

/// A finished conversation, ready for its `conn` line.
#[derive(Debug, Clone)]
pub enum Finished {
    Tcp(ConnSummary),
    Udp(udp::FlowSummary),
}

impl Finished {
    pub fn first_frame(&self) -> u64 {
        match self {
            Finished::Tcp(c) => c.flow.first_frame,
            Finished::Udp(u) => u.first_frame,
        }
    }
}

/// All conversations of a capture.
pub struct Tracker {
    tcp_index: FxHashMap<FlowKey, u32>,
    /// Boxed so the table's growth moves pointers, not 700-byte conversations.
    tcp: FxHashMap<u32, Box<TcpConv>>,
    udp_index: FxHashMap<FlowKey, u32>,
    udp: FxHashMap<u32, Box<UdpConv>>,
    next_tcp: u32,
    next_udp: u32,
    /// Bytes of each request and reply kept for `exchanges` (0 keeps none).
    keep_bytes: usize,
    pub totals: Totals,
}

impl Tracker {
    pub fn new(keep_bytes: usize) -> Self {
        Tracker {
            tcp_index: FxHashMap::default(),
            tcp: FxHashMap::default(),
            udp_index: FxHashMap::default(),
            udp: FxHashMap::default(),
            next_tcp: 0,
            next_udp: 0,
            keep_bytes,
            totals: Totals::default(),
        }
    }

    /// Feeds one decoded frame through the conversation tables.
    pub fn packet(&mut self, frame: u64, ts: Timestamp, d: &Decoded<'_>) -> PacketInfo {
        self.totals.frames += 1;
        if d.malformed.is_some() {
            self.totals.malformed += 1;
        }
        let mut info = PacketInfo::default();
        let Some(ip) = d.ip else { return info };
        // A tunnel's outer UDP flow is a conversation of its own in Wireshark's count, and it
        // is dissected (so numbered) before the inner one.
        if let (Some(outer), Some((sp, dp))) = (d.outer, d.outer_udp_ports) {
            let (stream, side) = self.udp_stream(outer.src, sp, outer.dst, dp, frame, ts);
            if let Some(conv) = self.udp.get_mut(&stream) {
                conv.carries(frame, ts, side);
            }
        }
        match &d.transport {
            Transport::Tcp(seg) => {
                // Wireshark needs ports through window (16 bytes) before it finds a conversation.
                let Some(fixed) = seg.fixed else { return info };
                let (key, side) = FlowKey::new(ip.src, seg.sport, ip.dst, seg.dport);
                let reuse = self
                    .tcp_index
                    .get(&key)
                    .and_then(|s| self.tcp.get(s))
                    .map(|c| c.starts_new_stream(side, fixed))
                    .unwrap_or(true);
                if reuse {
                    let stream = self.next_tcp;
                    self.next_tcp += 1;
                    let replaced = self.tcp_index.insert(key, stream).is_some();
                    let mut conv = TcpConv::new(stream, key, side, fixed.flags, frame, ts);
                    conv.reused = replaced;
                    self.tcp.insert(stream, Box::new(conv));
                }
                let Some(&stream) = self.tcp_index.get(&key) else {
                    return info;
                };
                if let Some(conv) = self.tcp.get_mut(&stream) {
                    let was_complete = conv.handshake() == Handshake::Complete;
                    conv.segment(&mut info, frame, ts, side, seg, self.keep_bytes);
                    if !was_complete && conv.handshake() == Handshake::Complete {
                        self.totals.handshakes_complete += 1;
                    }
                }
            }
            Transport::Udp(dg) if !dg.bogus_length => {
                let (stream, side) = self.udp_stream(ip.src, dg.sport, ip.dst, dg.dport, frame, ts);
                info.stream = Some(stream);
                if let Some(conv) = self.udp.get_mut(&stream) {
                    conv.datagram(&mut info, frame, ts, side, dg, self.keep_bytes);
                }
            }
            Transport::Icmp(m) => {
                // An error quoting a UDP datagram belongs to that datagram's conversation
                // (created if unseen); a quoted TCP header creates no TCP conversation.
                if let Some(q) = m.quoted
                    && q.ip.protocol == 17
                    && let (Some(sp), Some(dp)) = (q.sport, q.dport)
                {
                    let (stream, _) = self.udp_stream(q.ip.src, sp, q.ip.dst, dp, frame, ts);
                    info.stream = Some(stream);
                }
            }
            _ => {}
        }
        info
    }

    fn udp_stream(
        &mut self,
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        frame: u64,
        ts: Timestamp,
    ) -> (u32, usize) {
        let (key, side) = FlowKey::new(src, sport, dst, dport);
        if let Some(&s) = self.udp_index.get(&key) {
            return (s, side);
        }
        let stream = self.next_udp;
        self.next_udp += 1;
        self.udp_index.insert(key, stream);
        self.udp
            .insert(stream, Box::new(UdpConv::new(stream, key, side, frame, ts)));
        (stream, side)
    }

    /// Takes every conversation out, in stream order (TCP first, then UDP), for the end of
    /// a capture.
    pub fn finish(&mut self) -> Vec<Finished> {
        let mut tcp: Vec<_> = self.tcp.drain().map(|(_, c)| c).collect();
        tcp.sort_by_key(|c| c.stream);
        let mut udp: Vec<_> = self.udp.drain().map(|(_, c)| c).collect();
        udp.sort_by_key(|c| c.stream);
        self.tcp_index.clear();
        self.udp_index.clear();
        let mut out: Vec<Finished> = tcp
            .into_iter()
            .map(|c| Finished::Tcp(c.summary()))
            .collect();
        out.extend(udp.into_iter().map(|c| Finished::Udp(c.summary())));
        out
    }

    /// Takes out conversations that are over (closed, or idle for `idle` seconds at `now`),
    /// so a long live capture keeps bounded tables. Their 4-tuples are forgotten, which is
    /// what a live observer wants: a new SYN on them starts a new stream anyway.
    pub fn evict(&mut self, now: Timestamp, idle: f64) -> Vec<Finished> {
        let mut out = Vec::new();
        let done: Vec<u32> = self
            .tcp
            .values()
            .filter(|c| c.is_over() || now.as_f64() - c.last_ts().as_f64() > idle)
            .map(|c| c.stream)
            .collect();
        for s in done {
            if let Some(c) = self.tcp.remove(&s) {
                if self.tcp_index.get(&c.key) == Some(&s) {
                    self.tcp_index.remove(&c.key);
                }
                out.push(Finished::Tcp(c.summary()));
            }
        }
        let done: Vec<u32> = self
            .udp
            .values()
            .filter(|c| now.as_f64() - c.last_ts.as_f64() > idle)
            .map(|c| c.stream)
            .collect();
        for s in done {
            if let Some(c) = self.udp.remove(&s) {
                self.udp_index.remove(&c.key);
                out.push(Finished::Udp(c.summary()));
            }
        }
        out
    }

    /// Every TCP conversation seen so far has ended (both sides closed, or reset).
    pub fn tcp_all_over(&self) -> bool {
        self.tcp.values().all(|c| c.is_over())
    }

    /// UDP datagrams seen so far.
    pub fn udp_datagrams(&self) -> u64 {
        self.udp.values().map(|u| u.packets()).sum()
    }

    pub fn tcp_streams(&self) -> u32 {
        self.next_tcp
    }

    pub fn udp_streams(&self) -> u32 {
        self.next_udp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire;

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
        assert_eq!(d.tunnel, Some("vxlan"));
        let mut t = Tracker::new(16);
        let info = t.packet(1, Timestamp::default(), &d);
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
