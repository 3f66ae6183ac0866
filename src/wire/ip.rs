//! IPv4 (options, fragments) and IPv6 (hop-by-hop, routing, fragment, destination options,
//! AH and mobility extension headers) → addresses, transport protocol and the payload span.

use std::net::IpAddr;

use pnet_packet::ipv4::Ipv4Packet;
use pnet_packet::ipv6::Ipv6Packet;

use super::{DecodeError, Parsed, Problem, Shortfall, Span};

/// Fragmentation of the datagram this header belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fragment {
    /// Offset in bytes; only offset 0 carries the transport header.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpHeader {
    pub version: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// The transport protocol after all extension headers.
    pub protocol: u8,
    pub ttl: u8,
    pub fragment: Fragment,
    /// Header length including options / extension headers.
    pub header_len: u16,
    /// Total length field (v4) or 40 + payload length (v6).
    pub total_len: u32,
    /// Identification (v4) or the fragment header's identification (v6): which fragments
    /// belong together.
    pub id: u32,
}

/// The header, and the payload when the header was whole.
pub type Datagram<'a> = (IpHeader, Option<Span<'a>>);

fn bad(field: &'static str, value: u32) -> Shortfall {
    Shortfall::Malformed(DecodeError {
        layer: "IPv4",
        problem: Problem::BadField { field, value },
    })
}

/// A length field claiming more than the frame holds (Wireshark: "total length exceeds
/// packet length"); the payload is then what the frame has.
fn too_long(layer: &'static str, total: usize, span: Span<'_>) -> Option<Shortfall> {
    (total > span.reported).then_some(Shortfall::Malformed(DecodeError {
        layer,
        problem: Problem::BadLength {
            field: "total length",
            value: total as u32,
            limit: span.reported as u32,
        },
    }))
}

pub fn parse_v4(span: Span<'_>) -> Parsed<Datagram<'_>> {
    if let Err(s) = span.need("IPv4", 20) {
        return (None, Some(s));
    }
    let Some(p) = Ipv4Packet::new(span.bytes) else {
        return (None, None);
    };
    let version = p.get_version();
    let ihl = p.get_header_length() as usize * 4;
    let mut hdr = IpHeader {
        version: 4,
        src: IpAddr::V4(p.get_source()),
        dst: IpAddr::V4(p.get_destination()),
        protocol: p.get_next_level_protocol().0,
        ttl: p.get_ttl(),
        fragment: Fragment {
            offset: p.get_fragment_offset() as u32 * 8,
            more: p.get_flags() & 0b001 != 0,
        },
        header_len: ihl as u16,
        total_len: p.get_total_length() as u32,
        id: p.get_identification() as u32,
    };
    if version != 4 {
        return (None, Some(bad("version", version as u32)));
    }
    if ihl < 20 {
        // Wireshark gives up before reading the addresses of such a header.
        return (None, Some(bad("header length", ihl as u32)));
    }
    // A total length of 0 is how TCP segmentation offload leaves packets the capturing
    // host sent: Wireshark then takes the length from the frame, and so do we.
    if hdr.total_len == 0 {
        hdr.total_len = span.reported as u32;
    }
    let total = hdr.total_len as usize;
    if total < ihl {
        // As with a bad IHL, Wireshark stops before the addresses.
        return (None, Some(bad("total length", total as u32)));
    }
    // The datagram ends where its total length says (trailers and padding are not payload).
    let dgram = span.limit(total);
    if let Err(s) = dgram.need("IPv4", ihl) {
        return (Some((hdr, None)), Some(s));
    }
    (
        Some((hdr, Some(dgram.after(ihl)))),
        too_long("IPv4", total, span),
    )
}

pub fn parse_v6(span: Span<'_>) -> Parsed<Datagram<'_>> {
    if let Err(s) = span.need("IPv6", 40) {
        return (None, Some(s));
    }
    let Some(p) = Ipv6Packet::new(span.bytes) else {
        return (None, None);
    };
    let mut hdr = IpHeader {
        version: 6,
        src: IpAddr::V6(p.get_source()),
        dst: IpAddr::V6(p.get_destination()),
        protocol: p.get_next_header().0,
        ttl: p.get_hop_limit(),
        fragment: Fragment::default(),
        header_len: 40,
        total_len: 40 + p.get_payload_length() as u32,
        id: 0,
    };
    if p.get_version() != 6 {
        return (
            None,
            Some(Shortfall::Malformed(DecodeError {
                layer: "IPv6",
                problem: Problem::BadField {
                    field: "version",
                    value: p.get_version() as u32,
                },
            })),
        );
    }
    let dgram = span.limit(hdr.total_len as usize);
    let mut at = 40usize;
    // Walk extension headers; a bounded loop so a crafted chain cannot spin.
    for _ in 0..16 {
        let rest = dgram.after(at);
        let len = match hdr.protocol {
            0 | 43 | 60 | 135 => {
                if let Err(s) = rest.need("IPv6 extension", 8) {
                    return (Some((hdr, None)), Some(s));
                }
                (rest.bytes[1] as usize + 1) * 8
            }
            // Authentication header counts 4-byte words, minus 2.
            51 => {
                if let Err(s) = rest.need("IPv6 authentication", 8) {
                    return (Some((hdr, None)), Some(s));
                }
                (rest.bytes[1] as usize + 2) * 4
            }
            44 => {
                if let Err(s) = rest.need("IPv6 fragment", 8) {
                    return (Some((hdr, None)), Some(s));
                }
                let off = u16::from_be_bytes([rest.bytes[2], rest.bytes[3]]);
                hdr.fragment = Fragment {
                    offset: (off >> 3) as u32 * 8,
                    more: off & 1 != 0,
                };
                hdr.id = u32::from_be_bytes([
                    rest.bytes[4],
                    rest.bytes[5],
                    rest.bytes[6],
                    rest.bytes[7],
                ]);
                8
            }
            _ => break,
        };
        if let Err(s) = rest.need("IPv6 extension", len) {
            return (Some((hdr, None)), Some(s));
        }
        hdr.protocol = rest.bytes[0];
        at += len;
    }
    hdr.header_len = at as u16;
    (
        Some((hdr, Some(dgram.after(at)))),
        too_long("IPv6", hdr.total_len as usize, span),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parse as (header, payload, problem).
    fn flat(p: Parsed<Datagram<'_>>) -> (Option<IpHeader>, Option<Span<'_>>, Option<Shortfall>) {
        let (v, e) = p;
        (v.map(|d| d.0), v.and_then(|d| d.1), e)
    }

    fn v4(ihl: u8, total: u16, flags_frag: u16) -> Vec<u8> {
        let mut b = vec![0x40 | ihl, 0];
        b.extend_from_slice(&total.to_be_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&flags_frag.to_be_bytes());
        b.extend_from_slice(&[64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 2]);
        b
    }

    #[test]
    fn test_bad_ihl() {
        let b = v4(4, 40, 0);
        let (h, p, e) = flat(parse_v4(Span::new(&b, b.len())));
        assert!(h.is_none() && p.is_none());
        assert!(matches!(e, Some(Shortfall::Malformed(_))));
    }

    #[test]
    fn test_total_length_limits_payload_and_keeps_trailer_out() {
        let mut b = v4(5, 24, 0);
        b.extend_from_slice(&[1, 2, 3, 4, 0xee, 0xee]);
        let (_, p, e) = flat(parse_v4(Span::new(&b, b.len())));
        assert_eq!(p.expect("test data").bytes, &[1, 2, 3, 4]);
        assert!(e.is_none());
    }

    #[test]
    fn test_total_length_beyond_the_frame_is_malformed_but_decoded() {
        let mut b = v4(5, 100, 0);
        b.extend_from_slice(&[1, 2, 3, 4]);
        let (h, p, e) = flat(parse_v4(Span::new(&b, b.len())));
        assert!(h.is_some());
        assert_eq!(p.expect("test data").bytes, &[1, 2, 3, 4]);
        assert!(matches!(e, Some(Shortfall::Malformed(_))));
        // Cut by the snaplen instead: not damage.
        let (_, _, e) = flat(parse_v4(Span::new(&b, 100)));
        assert!(e.is_none());
    }

    #[test]
    fn test_tso_total_length_zero_takes_the_frame_length() {
        let mut b = v4(5, 0, 0);
        b.extend_from_slice(&[9; 30]);
        let (h, p, e) = flat(parse_v4(Span::new(&b, b.len())));
        assert_eq!(h.expect("test data").total_len, 50);
        assert_eq!(p.expect("test data").bytes.len(), 30);
        assert!(e.is_none());
    }

    #[test]
    fn test_fragment_offset() {
        let b = v4(5, 20, 0x2000 | 3);
        let (h, _, _) = flat(parse_v4(Span::new(&b, b.len())));
        assert_eq!(
            h.expect("test data").fragment,
            Fragment {
                offset: 24,
                more: true
            }
        );
    }

    #[test]
    fn test_v6_extension_chain_and_fragment() {
        let mut b = vec![0x60, 0, 0, 0, 0, 24, 0, 64];
        b.extend_from_slice(&[0; 32]);
        // hop-by-hop (8 bytes) → fragment (8 bytes) → UDP
        b.extend_from_slice(&[44, 0, 0, 0, 0, 0, 0, 0]);
        b.extend_from_slice(&[17, 0, 0, 1, 0, 0, 0, 9]);
        b.extend_from_slice(&[0; 8]);
        let (h, p, e) = flat(parse_v6(Span::new(&b, b.len())));
        let h = h.expect("test data");
        assert_eq!(h.protocol, 17);
        assert_eq!(
            h.fragment,
            Fragment {
                offset: 0,
                more: true
            }
        );
        assert_eq!(p.expect("test data").bytes.len(), 8);
        assert!(e.is_none());
    }

    #[test]
    fn test_v6_extension_runs_past_payload() {
        let mut b = vec![0x60, 0, 0, 0, 0, 8, 60, 64];
        b.extend_from_slice(&[0; 32]);
        b.extend_from_slice(&[17, 4, 0, 0, 0, 0, 0, 0]);
        let (_, p, e) = flat(parse_v6(Span::new(&b, b.len())));
        assert!(p.is_none());
        assert!(matches!(e, Some(Shortfall::Malformed(_))));
    }
}
