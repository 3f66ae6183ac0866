//! What the tracker reads of a decoded frame, and nothing more. A `Decoded` is ~400 bytes; these
//! facts are a third of that, and detached from their bytes (to cross to the tracking thread
//! in a batch) a usual frame's are one cache line, its number and time included (moving the
//! whole decode between cores cost more than decoding it).

use std::net::IpAddr;

use super::seq::SeqNumber;
use crate::time::Timestamp;
use crate::wire::tcp::{TcpFixed, TcpFlags, TcpSegment};
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

/// A frame's facts kept whole, apart from the bytes their payload points into: what a
/// frame the compact form does not cover keeps (see `DetachedFacts`).
#[derive(Debug, Clone, Copy, Default)]
struct Whole {
    facts: Facts<'static>,
    /// Where the payload was in the buffer.
    payload: (usize, usize),
}

impl Whole {
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

    fn attach<'b>(&self, buf: &'b [u8]) -> Facts<'b> {
        // A copy with the payload set in place (the facts are `'static` with no payload, so
        // they are valid for any shorter life).
        let mut f: Facts<'b> = self.facts;
        let payload = payload_in(buf, self.payload);
        match &mut f.l4 {
            L4::Tcp(t) => t.payload = payload,
            L4::Udp(u) => u.payload = payload,
            L4::IcmpQuotedUdp(..) | L4::None => {}
        }
        f
    }
}

fn payload_in(buf: &[u8], (offset, len): (usize, usize)) -> &[u8] {
    buf.get(offset..offset.saturating_add(len))
        .unwrap_or_default()
}

/// What the compact facts of a batch point to: IPv6 address pairs, and the whole facts of
/// the rare frames the compact form does not cover (a tunnel, an ICMP error, a payload
/// beyond 4 GiB of batch).
#[derive(Debug, Default)]
pub struct FactsSide {
    v6: Vec<[u8; 32]>,
    whole: Vec<Whole>,
}

impl FactsSide {
    pub fn clear(&mut self) {
        self.v6.clear();
        self.whole.clear();
    }
}

/// One frame's facts for the tracker, with the frame's number and time, detached from the
/// bytes they were decoded from, to wait in a batch beside them (and cross to another
/// thread with them). One cache line for an IPv4 or IPv6 TCP or UDP frame: the tracking
/// thread reads this and nothing else of the frame but its payload (152 bytes of facts and
/// the frame's 88-byte record before, read on the other core from where they were written).
#[derive(Debug, Clone, Copy, Default)]
pub struct DetachedFacts {
    number: u64,
    secs: i64,
    nsecs: i32,
    /// IPv4: the addresses (big-endian). IPv6: `src` is the pair's place in
    /// `FactsSide::v6`. A frame of kind `WHOLE`: `src` is its place in `FactsSide::whole`.
    src: u32,
    dst: u32,
    payload_at: u32,
    payload_len: u32,
    seq: u32,
    ack: u32,
    /// `tcp.len` (when `LEN` is set) or the UDP payload length.
    len: u32,
    sport: u16,
    dport: u16,
    flags: u16,
    window: u16,
    header_len: u8,
    wscale: u8,
    kind: u8,
    bits: u8,
}

impl DetachedFacts {
    // `kind`: the transport, or the whole facts kept aside.
    const NONE: u8 = 0;
    const TCP: u8 = 1;
    const UDP: u8 = 2;
    const WHOLE: u8 = 3;
    // `bits`.
    const MALFORMED: u8 = 1;
    const IP: u8 = 2;
    const V6: u8 = 4;
    const HEADER_COMPLETE: u8 = 8;
    const ANALYSIS_SHOWN: u8 = 16;
    const BAD_CHECKSUM: u8 = 32;
    const LEN: u8 = 64;
    const WSCALE: u8 = 128;

    /// The facts of `d`, detached from `buf`, the bytes `d` was decoded from (a payload
    /// elsewhere becomes empty); the frame's number and time are set with `at`.
    pub fn of(d: &Decoded<'_>, buf: &[u8], side: &mut FactsSide) -> DetachedFacts {
        let mut at = (0, 0);
        let facts = Facts::mapped(d, &mut |p| Whole::find(p, buf, &mut at));
        if facts.outer_udp.is_some() {
            return DetachedFacts::whole(Whole { facts, payload: at }, side);
        }
        DetachedFacts::compact(facts.malformed, facts.ip, facts.l4, at, side)
    }

    /// `of` for a common frame (`wire::decode_common`, never malformed nor tunnelled),
    /// without its whole decode. Its usual transports go straight into the record: making
    /// the `L4` (an enum of an option) and taking it apart again cost a twentieth of the
    /// reading thread, for every frame.
    pub fn of_common(c: &Common<'_>, buf: &[u8], side: &mut FactsSide) -> DetachedFacts {
        let mut at = (0, 0);
        let ip = Some((c.ip.src, c.ip.dst));
        let plain = match &c.transport {
            Transport::Tcp(seg) if seg.fixed.is_some() => Some(seg.payload),
            Transport::Udp(dg) if !dg.bogus_length => Some(dg.payload),
            _ => None,
        };
        if let Some(payload) = plain {
            Whole::find(payload, buf, &mut at);
        }
        let fits = u32::try_from(at.0).is_ok() && u32::try_from(at.1).is_ok();
        if plain.is_none() || !fits {
            let l4 = L4::of(&c.transport, &mut |p| Whole::find(p, buf, &mut at));
            return DetachedFacts::compact(false, ip, l4, at, side);
        }
        // The addresses and payload as any frame's, then the transport in place.
        let mut f = DetachedFacts::compact(false, ip, L4::None, at, side);
        match &c.transport {
            Transport::Tcp(seg) => {
                if let Some(t) = TcpFacts::of(seg, &mut |_| &[]) {
                    f.set_tcp(&t);
                }
            }
            Transport::Udp(dg) => f.set_udp(dg.sport, dg.dport, dg.len),
            _ => {}
        }
        f
    }

    fn set_tcp(&mut self, t: &TcpFacts<'_>) {
        self.kind = Self::TCP;
        (self.sport, self.dport) = (t.sport, t.dport);
        let x = t.fixed;
        (self.seq, self.ack, self.header_len) = (x.seq.0, x.ack.0, x.header_len);
        (self.flags, self.window) = (x.flags.0, x.window);
        (self.wscale, self.len) = (t.wscale.unwrap_or(0), t.len.unwrap_or(0));
        let bit = |set: bool, b: u8| if set { b } else { 0 };
        self.bits |= bit(t.wscale.is_some(), Self::WSCALE)
            | bit(t.len.is_some(), Self::LEN)
            | bit(t.header_complete, Self::HEADER_COMPLETE)
            | bit(t.analysis_shown, Self::ANALYSIS_SHOWN)
            | bit(t.bad_checksum, Self::BAD_CHECKSUM);
    }

    fn set_udp(&mut self, sport: u16, dport: u16, len: u32) {
        self.kind = Self::UDP;
        (self.sport, self.dport, self.len) = (sport, dport, len);
    }

    /// The record as frame `number`, taken at `ts`.
    pub fn at(self, number: u64, ts: Timestamp) -> DetachedFacts {
        DetachedFacts {
            number,
            secs: ts.secs,
            nsecs: ts.nsecs,
            ..self
        }
    }

    /// The record of a frame without a tunnel's UDP: compact (written in place, field by
    /// field: it is made for every frame), or its whole facts aside.
    #[inline(always)]
    fn compact(
        malformed: bool,
        ip: Option<(IpAddr, IpAddr)>,
        l4: L4<'static>,
        payload: (usize, usize),
        side: &mut FactsSide,
    ) -> DetachedFacts {
        let whole = |side: &mut FactsSide| {
            let facts = Facts {
                malformed,
                ip,
                outer_udp: None,
                l4,
            };
            DetachedFacts::whole(Whole { facts, payload }, side)
        };
        let (Ok(payload_at), Ok(payload_len)) =
            (u32::try_from(payload.0), u32::try_from(payload.1))
        else {
            return whole(side);
        };
        let mut f = DetachedFacts {
            payload_at,
            payload_len,
            bits: if malformed { Self::MALFORMED } else { 0 },
            kind: Self::NONE,
            ..DetachedFacts::default()
        };
        match ip {
            None => {}
            Some((IpAddr::V4(s), IpAddr::V4(d))) => {
                (f.src, f.dst) = (u32::from(s), u32::from(d));
                f.bits |= Self::IP;
            }
            Some((IpAddr::V6(s), IpAddr::V6(d))) => {
                let Ok(place) = u32::try_from(side.v6.len()) else {
                    return whole(side);
                };
                let mut pair = [0u8; 32];
                pair[..16].copy_from_slice(&s.octets());
                pair[16..].copy_from_slice(&d.octets());
                side.v6.push(pair);
                f.src = place;
                f.bits |= Self::IP | Self::V6;
            }
            Some(_) => return whole(side),
        }
        match l4 {
            L4::None => {}
            L4::Tcp(t) => f.set_tcp(&t),
            L4::Udp(u) => f.set_udp(u.sport, u.dport, u.len),
            L4::IcmpQuotedUdp(..) => return whole(side),
        }
        f
    }

    /// `w` kept whole in `side`, a record pointing to it.
    fn whole(w: Whole, side: &mut FactsSide) -> DetachedFacts {
        // A batch of 4 billion frames is not made (batches hand over at 1024).
        let place = side.whole.len() as u32;
        side.whole.push(w);
        DetachedFacts {
            kind: Self::WHOLE,
            src: place,
            ..DetachedFacts::default()
        }
    }

    /// The frame's number.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The frame's time.
    pub fn ts(&self) -> Timestamp {
        Timestamp {
            secs: self.secs,
            nsecs: self.nsecs,
        }
    }

    /// The facts again, over `buf` (the buffer they were detached from) and `side` (their
    /// batch's).
    pub fn attach<'b>(&self, buf: &'b [u8], side: &FactsSide) -> Facts<'b> {
        if self.kind == Self::WHOLE {
            return side
                .whole
                .get(self.src as usize)
                .map(|w| w.attach(buf))
                .unwrap_or_default();
        }
        let has = |bit: u8| self.bits & bit != 0;
        let ip = if !has(Self::IP) {
            None
        } else if has(Self::V6) {
            let pair = side.v6.get(self.src as usize).copied().unwrap_or_default();
            let half = |h: &[u8]| IpAddr::from(<[u8; 16]>::try_from(h).unwrap_or_default());
            Some((half(&pair[..16]), half(&pair[16..])))
        } else {
            Some((
                IpAddr::from(self.src.to_be_bytes()),
                IpAddr::from(self.dst.to_be_bytes()),
            ))
        };
        let payload = payload_in(buf, (self.payload_at as usize, self.payload_len as usize));
        let l4 = match self.kind {
            Self::TCP => L4::Tcp(TcpFacts {
                sport: self.sport,
                dport: self.dport,
                fixed: TcpFixed {
                    seq: SeqNumber(self.seq),
                    ack: SeqNumber(self.ack),
                    header_len: self.header_len,
                    flags: TcpFlags(self.flags),
                    window: self.window,
                },
                wscale: has(Self::WSCALE).then_some(self.wscale),
                len: has(Self::LEN).then_some(self.len),
                payload,
                header_complete: has(Self::HEADER_COMPLETE),
                analysis_shown: has(Self::ANALYSIS_SHOWN),
                bad_checksum: has(Self::BAD_CHECKSUM),
            }),
            Self::UDP => L4::Udp(UdpFacts {
                sport: self.sport,
                dport: self.dport,
                len: self.len,
                payload,
            }),
            _ => L4::None,
        };
        Facts {
            malformed: has(Self::MALFORMED),
            ip,
            outer_udp: None,
            l4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timestamp = Timestamp {
        secs: 1_700_000_000,
        nsecs: 5,
    };

    #[test]
    fn test_detached_facts_find_their_payload_again() {
        let frame = crate::wire::tcp::tests::ipv4_tcp_frame(b"hello");
        let mut buf = vec![0u8; 7];
        buf.extend_from_slice(&frame);
        let d = crate::wire::decode(1, &buf[7..], frame.len() as u32);
        let mut side = FactsSide::default();
        let detached = DetachedFacts::of(&d, &buf, &mut side).at(9, T);
        assert_eq!((detached.number(), detached.ts()), (9, T));
        // A copy of the buffer elsewhere: the payload is found by its place, not its address.
        let copy = buf.clone();
        let f = detached.attach(&copy, &side);
        let L4::Tcp(t) = f.l4 else {
            panic!("not TCP: {f:?}")
        };
        assert_eq!(t.payload, b"hello");
        assert_eq!(t.payload.as_ptr(), copy[copy.len() - 5..].as_ptr());
        assert_eq!(t.len, Some(5));
        // Facts from other bytes than the buffer's keep no payload rather than a wrong one.
        let other = DetachedFacts::of(&d, &copy, &mut side).at(9, T);
        let L4::Tcp(t) = other.attach(&copy, &side).l4 else {
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
        // Options whose dissection throws (an MPTCP option two bytes long) are not common:
        // the general decoder makes their facts.
        let mut throws = tcp.clone();
        throws[54..66].copy_from_slice(&[30, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
        assert!(crate::wire::decode_common(1, &throws, throws.len() as u32).is_none());
        for frame in [tcp, bad] {
            let mut buf = vec![0u8; 3];
            buf.extend_from_slice(&frame);
            let bytes = &buf[3..];
            let c = crate::wire::decode_common(1, bytes, frame.len() as u32).expect("common");
            let d = crate::wire::decode(1, bytes, frame.len() as u32);
            let mut side = FactsSide::default();
            let (a, b) = (
                DetachedFacts::of_common(&c, &buf, &mut side),
                DetachedFacts::of(&d, &buf, &mut side),
            );
            assert_eq!(
                format!("{:?}", a.attach(&buf, &side)),
                format!("{:?}", b.attach(&buf, &side))
            );
            assert_eq!(c.transport.checksum(), d.checksum());
        }
    }

    /// Every frame of every capture (IPv4 and IPv6, TCP, UDP, ICMP errors, tunnels, damaged
    /// and cut frames, other link types): its compact facts, attached again, are its facts;
    /// and the usual frame's fit in one cache line.
    #[test]
    fn test_compact_facts_are_the_facts_of_every_capture_frame() {
        use crate::capture::file::FileReader;
        assert!(std::mem::size_of::<DetachedFacts>() <= 64);
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
        let mut kinds = [0usize; 4];
        let mut v6 = 0;
        let mut files = 0;
        let mut commons = 0;
        for entry in std::fs::read_dir(&dir).expect("captures/") {
            let path = entry.expect("entry").path();
            let name = path.to_string_lossy().to_string();
            if !(name.ends_with(".pcap") || name.ends_with(".pcapng")) {
                continue;
            }
            let Ok(file) = std::fs::File::open(&path) else {
                continue;
            };
            let Ok(mut reader) = FileReader::new(std::io::BufReader::new(file)) else {
                continue;
            };
            files += 1;
            let mut buf = Vec::new();
            let mut side = FactsSide::default();
            let mut made = Vec::new();
            while let Ok(Some(frame)) = reader.next_frame() {
                let m = frame.meta;
                // At a place in a shared buffer, as in a batch.
                buf.extend_from_slice(&[0xee; 5]);
                let start = buf.len();
                buf.extend_from_slice(frame.data);
                let bytes = &buf[start..];
                let d = crate::wire::decode(m.linktype, bytes, m.wirelen);
                let want = format!("{:?}", Facts::of(&d));
                let c = DetachedFacts::of(&d, &buf, &mut side).at(m.number, m.ts);
                kinds[usize::from(c.kind)] += 1;
                v6 += usize::from(c.bits & DetachedFacts::V6 != 0);
                made.push((c, want.clone(), m.number, m.ts));
                // A common frame's, made from its headers alone, are the same.
                if let Some(common) = crate::wire::decode_common(m.linktype, bytes, m.wirelen) {
                    let c = DetachedFacts::of_common(&common, &buf, &mut side).at(m.number, m.ts);
                    commons += 1;
                    made.push((c, want, m.number, m.ts));
                }
            }
            // Attached after the whole file, as the tracker does after the batch.
            for (c, want, number, ts) in &made {
                assert_eq!(format!("{:?}", c.attach(&buf, &side)), *want, "{name}");
                assert_eq!((c.number(), c.ts()), (*number, *ts), "{name}");
            }
        }
        // The captures hold every kind, IPv6 among them.
        assert!(files > 40, "{files} captures read");
        assert!(kinds.iter().all(|&k| k > 0), "{kinds:?}");
        assert!(
            v6 > 0 && commons > 1000,
            "{v6} IPv6, {commons} common frames"
        );
    }
}
