//! What the tracker reads of a decoded frame, and nothing more. A `Decoded` is ~400 bytes; these
//! facts are about a third of that, so a frame decoded on one thread reaches the tracking
//! thread in two or three cache lines (moving the whole decode between cores cost more than
//! decoding it).

use std::net::IpAddr;

use crate::wire::tcp::{TcpFixed, TcpSegment};
use crate::wire::{Common, Decoded, Transport};

/// An address and port.
pub type End = (IpAddr, u16);

#[derive(Debug, Clone, Copy, Default)]
pub struct Facts<'a> {
    pub malformed: bool,
    /// Source and destination of the IP header that carries the transport (None: no IP).
    pub ip: Option<(IpAddr, IpAddr)>,
    /// The outer UDP datagram (source, destination) of a tunnel that UDP carried.
    pub outer_udp: Option<(End, End)>,
    pub l4: L4<'a>,
}

/// The transport as the tracker sees it.
#[derive(Debug, Clone, Copy, Default)]
pub enum L4<'a> {
    /// Nothing the tracker follows: no transport, or one Wireshark finds no conversation for
    /// (TCP shorter than its window field, UDP with a bogus length).
    #[default]
    None,
    Tcp(TcpFacts<'a>),
    Udp(UdpFacts<'a>),
    /// An ICMP error quoting a UDP datagram (source, destination): it joins that conversation.
    IcmpQuotedUdp(End, End),
}

#[derive(Debug, Clone, Copy)]
pub struct TcpFacts<'a> {
    pub sport: u16,
    pub dport: u16,
    pub fixed: TcpFixed,
    /// The window scale option's shift.
    pub wscale: Option<u8>,
    /// `tcp.len`; None for fragments and segments shorter than their header.
    pub len: Option<u32>,
    /// The captured part of the payload.
    pub payload: &'a [u8],
    pub header_complete: bool,
    /// tshark shows the segment's analysis: its header was whole and no option's
    /// dissection threw (the analysis is added after the options).
    pub analysis_shown: bool,
    /// The checksum was checked and is wrong (Zeek's `C`).
    pub bad_checksum: bool,
}

impl<'p> TcpFacts<'p> {
    /// None when Wireshark would find no conversation (fewer than 16 header bytes). The
    /// payload is `payload`'s view of the segment's.
    fn of<'a>(
        seg: &TcpSegment<'a>,
        payload: &mut impl FnMut(&'a [u8]) -> &'p [u8],
    ) -> Option<Self> {
        Some(TcpFacts {
            sport: seg.sport,
            dport: seg.dport,
            fixed: seg.fixed?,
            wscale: seg.options.wscale,
            len: seg.len,
            payload: payload(seg.payload),
            header_complete: seg.header_complete,
            analysis_shown: seg.dissected_whole(),
            bad_checksum: seg.checksum == crate::wire::checksum::Checksum::Bad,
        })
    }
}

#[derive(Debug, Clone, Copy)]
pub struct UdpFacts<'a> {
    pub sport: u16,
    pub dport: u16,
    /// Payload bytes by the length field.
    pub len: u32,
    /// The captured part of the payload.
    pub payload: &'a [u8],
}

impl<'a> Facts<'a> {
    pub fn of(d: &Decoded<'a>) -> Facts<'a> {
        Facts::mapped(d, &mut |p| p)
    }
}

impl<'p> Facts<'p> {
    /// The facts of `d`, with the transport's payload as `payload` makes it (itself, or
    /// nothing when the facts are detached from the bytes).
    fn mapped<'a>(d: &Decoded<'a>, payload: &mut impl FnMut(&'a [u8]) -> &'p [u8]) -> Self {
        Facts {
            malformed: d.malformed.is_some(),
            ip: d.ip.map(|h| (h.src, h.dst)),
            outer_udp: match (d.outer, d.outer_udp_ports) {
                (Some(o), Some((sp, dp))) => Some(((o.src, sp), (o.dst, dp))),
                _ => None,
            },
            l4: L4::of(&d.transport, payload),
        }
    }

    /// The facts of a common frame (`wire::decode_common`): what `mapped` makes of its
    /// decode, which has no tunnel and nothing malformed.
    fn mapped_common<'a>(c: &Common<'a>, payload: &mut impl FnMut(&'a [u8]) -> &'p [u8]) -> Self {
        Facts {
            malformed: false,
            ip: Some((c.ip.src, c.ip.dst)),
            outer_udp: None,
            l4: L4::of(&c.transport, payload),
        }
    }
}

impl<'p> L4<'p> {
    fn of<'a>(t: &Transport<'a>, payload: &mut impl FnMut(&'a [u8]) -> &'p [u8]) -> Self {
        match t {
            Transport::Tcp(seg) => TcpFacts::of(seg, payload).map_or(L4::None, L4::Tcp),
            Transport::Udp(dg) if !dg.bogus_length => L4::Udp(UdpFacts {
                sport: dg.sport,
                dport: dg.dport,
                len: dg.len,
                payload: payload(dg.payload),
            }),
            Transport::Icmp(m) => match m.quoted {
                Some(q) if q.ip.protocol == 17 => match (q.sport, q.dport) {
                    (Some(sp), Some(dp)) => L4::IcmpQuotedUdp((q.ip.src, sp), (q.ip.dst, dp)),
                    _ => L4::None,
                },
                _ => L4::None,
            },
            _ => L4::None,
        }
    }
}

/// Facts kept apart from the bytes their payload points into, to wait in a batch beside
/// those bytes (and cross to another thread with them).
#[derive(Debug, Clone, Copy, Default)]
pub struct DetachedFacts {
    facts: Facts<'static>,
    /// Where the payload was in the buffer.
    payload: (usize, usize),
}

impl DetachedFacts {
    /// The facts of `d`, detached from `buf`, the bytes `d` was decoded from (a payload
    /// elsewhere becomes empty).
    pub fn of(d: &Decoded<'_>, buf: &[u8]) -> DetachedFacts {
        let mut at = (0, 0);
        let facts = Facts::mapped(d, &mut |p| Self::find(p, buf, &mut at));
        DetachedFacts { facts, payload: at }
    }

    /// `of` for a common frame (`wire::decode_common`), without its whole decode.
    pub fn of_common(c: &Common<'_>, buf: &[u8]) -> DetachedFacts {
        let mut at = (0, 0);
        let facts = Facts::mapped_common(c, &mut |p| Self::find(p, buf, &mut at));
        DetachedFacts { facts, payload: at }
    }

    /// Notes where payload `p` is in `buf` and gives back an empty one (detached facts hold
    /// no reference).
    fn find(p: &[u8], buf: &[u8], at: &mut (usize, usize)) -> &'static [u8] {
        // Pointer arithmetic only to find the offset; the payload is taken again by index.
        let offset = (p.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
        if offset <= buf.len() && p.len() <= buf.len() - offset {
            *at = (offset, p.len());
        }
        &[]
    }

    /// The facts again, over `buf` (the buffer they were detached from).
    pub fn attach<'b>(&self, buf: &'b [u8]) -> Facts<'b> {
        let (offset, len) = self.payload;
        let payload = buf
            .get(offset..offset.saturating_add(len))
            .unwrap_or_default();
        // A copy with the payload set in place (the facts are `'static` with no payload, so
        // they are valid for any shorter life).
        let mut f: Facts<'b> = self.facts;
        match &mut f.l4 {
            L4::Tcp(t) => t.payload = payload,
            L4::Udp(u) => u.payload = payload,
            L4::IcmpQuotedUdp(..) | L4::None => {}
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_detached_facts_find_their_payload_again() {
        let frame = crate::wire::tcp::tests::ipv4_tcp_frame(b"hello");
        let mut buf = vec![0u8; 7];
        buf.extend_from_slice(&frame);
        let d = crate::wire::decode(1, &buf[7..], frame.len() as u32);
        let detached = DetachedFacts::of(&d, &buf);
        // A copy of the buffer elsewhere: the payload is found by its place, not its address.
        let copy = buf.clone();
        let f = detached.attach(&copy);
        let L4::Tcp(t) = f.l4 else {
            panic!("not TCP: {f:?}")
        };
        assert_eq!(t.payload, b"hello");
        assert_eq!(t.payload.as_ptr(), copy[copy.len() - 5..].as_ptr());
        assert_eq!(t.len, Some(5));
        // Facts from other bytes than the buffer's keep no payload rather than a wrong one.
        let other = DetachedFacts::of(&d, &copy);
        let L4::Tcp(t) = other.attach(&copy).l4 else {
            panic!("not TCP")
        };
        assert_eq!(t.payload, b"");
    }

    /// A common frame's facts made from its headers are the facts of its whole decode.
    #[test]
    fn test_common_frame_facts_are_the_decodes() {
        let tcp = crate::wire::tcp::tests::ipv4_tcp_frame(b"hello");
        let mut bad = tcp.clone();
        if let Some(b) = bad.last_mut() {
            *b ^= 1;
        }
        for frame in [tcp, bad] {
            let mut buf = vec![0u8; 3];
            buf.extend_from_slice(&frame);
            let bytes = &buf[3..];
            let c = crate::wire::decode_common(1, bytes, frame.len() as u32).expect("common");
            let d = crate::wire::decode(1, bytes, frame.len() as u32);
            let (a, b) = (
                DetachedFacts::of_common(&c, &buf),
                DetachedFacts::of(&d, &buf),
            );
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
            assert_eq!(c.transport.checksum(), d.checksum());
        }
    }
}
