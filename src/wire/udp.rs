//! UDP header, and the tunnels carried over it (VXLAN on 4789, Geneve on 6081) whose inner
//! Ethernet frame Wireshark decodes as the frame's real traffic.

use pnet_packet::udp::UdpPacket;

use super::numbers::{EtherType, Tunnel};
use super::{DecodeError, Parsed, Problem, Shortfall, Span};

pub const VXLAN_PORT: u16 = 4789;
pub const GENEVE_PORT: u16 = 6081;

#[derive(Debug, Clone, Copy)]
pub struct UdpDatagram<'a> {
    pub sport: u16,
    pub dport: u16,
    /// The length field (`udp.length`), header included.
    pub length: u16,
    /// Payload bytes by the length field (`udp.length - 8`), 0 when the field is bogus.
    pub len: u32,
    /// The captured part of the payload.
    pub payload: &'a [u8],
    /// The length field is below 8: Wireshark stops before finding a conversation.
    pub bogus_length: bool,
    /// All 8 header bytes were there (else only the ports are known).
    pub header_complete: bool,
    /// Set by the caller, which knows the IP pseudo-header.
    pub checksum: super::checksum::Checksum,
    /// The captured payload with the length it should have, for tunnels.
    payload_span: Span<'a>,
}

/// Parses a UDP datagram. A bogus length field is reported as malformed and the payload is
/// then whatever the IP layer carried.
pub fn parse(span: Span<'_>, fragmented: bool) -> Parsed<UdpDatagram<'_>> {
    if let Err(s) = span.need("UDP", 8) {
        // The ports come first: Wireshark shows them even when the length is cut off.
        if span.bytes.len() >= 4 {
            let b = span.bytes;
            return (
                Some(UdpDatagram {
                    sport: u16::from_be_bytes([b[0], b[1]]),
                    dport: u16::from_be_bytes([b[2], b[3]]),
                    length: 0,
                    len: 0,
                    payload: &[],
                    bogus_length: true,
                    header_complete: false,
                    checksum: super::checksum::Checksum::Unverified,
                    payload_span: span.after(span.bytes.len()),
                }),
                Some(s),
            );
        }
        return (None, Some(s));
    }
    // Eight bytes are there, so pnet's view exists.
    let Some(p) = UdpPacket::new(span.bytes) else {
        return (None, None);
    };
    let length = p.get_length();
    let mut problem = None;
    let body = if length < 8 {
        problem = Some(Problem::BadField {
            field: "length",
            value: length as u32,
        });
        span.after(8)
    } else if (length as usize) > span.reported && !fragmented {
        problem = Some(Problem::BadLength {
            field: "length",
            value: length as u32,
            limit: span.reported as u32,
        });
        span.after(8)
    } else {
        span.limit(length as usize).after(8)
    };
    let dg = UdpDatagram {
        sport: p.get_source(),
        dport: p.get_destination(),
        length,
        len: (length as u32).saturating_sub(8),
        payload: body.bytes,
        bogus_length: length < 8,
        header_complete: true,
        checksum: super::checksum::Checksum::Unverified,
        payload_span: body,
    };
    (
        Some(dg),
        problem.map(|problem| {
            Shortfall::Malformed(DecodeError {
                layer: "UDP",
                problem,
            })
        }),
    )
}

/// Teredo's port (RFC 4380), where Wireshark decodes IPv6 over UDP by default.
const TEREDO_PORT: u16 = 3544;

/// The inner frame of a VXLAN or Geneve datagram (Ethernet) or of a Teredo one (IPv6), if
/// this is one.
pub fn tunnel_payload<'a>(dg: &UdpDatagram<'a>) -> Option<(Tunnel, Span<'a>)> {
    let b = dg.payload_span.bytes;
    if dg.dport == VXLAN_PORT || dg.sport == VXLAN_PORT {
        // Flags byte must have the I (valid VNI) bit; otherwise it is not VXLAN traffic.
        if b.len() >= 8 && b[0] & 0x08 != 0 {
            return Some((Tunnel::Vxlan, dg.payload_span.after(8)));
        }
    } else if (dg.dport == GENEVE_PORT || dg.sport == GENEVE_PORT) && b.len() >= 8 {
        let version = b[0] >> 6;
        let opt_len = (b[0] & 0x3f) as usize * 4;
        let proto = u16::from_be_bytes([b[2], b[3]]);
        if version == 0 && EtherType::from(proto) == EtherType::Bridged && b.len() >= 8 + opt_len {
            return Some((Tunnel::Geneve, dg.payload_span.after(8 + opt_len)));
        }
    } else if dg.dport == TEREDO_PORT || dg.sport == TEREDO_PORT {
        // An authentication header (indicator 1: client id and value lengths, the id, the
        // value, an 8-byte nonce, a confirmation byte), then an origin indication (indicator
        // 0, 8 bytes), each optional, then the IPv6 packet (Wireshark's order).
        let mut at = 0;
        if b.get(0..2) == Some(&[0, 1]) {
            let id = usize::from(*b.get(2)?);
            let value = usize::from(*b.get(3)?);
            at = 4 + id + value + 8 + 1;
        }
        if b.get(at..at + 2) == Some(&[0, 0]) {
            at += 8;
        }
        // Wireshark hands what follows to IPv6 whatever its version nibble says (and the
        // IPv6 dissector calls another version bogus: malformed).
        if b.len() > at {
            return Some((Tunnel::Teredo, dg.payload_span.after(at)));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_length_bounds_payload() {
        let b = [0x1f, 0x91, 0x30, 0x39, 0, 10, 0, 0, b'h', b'i', 0, 0];
        let (d, e) = parse(Span::new(&b, b.len()), false);
        let d = d.expect("test data");
        assert_eq!((d.sport, d.dport, d.len), (8081, 12345, 2));
        assert_eq!(d.payload, b"hi");
        assert!(e.is_none());
    }

    #[test]
    fn test_bad_length() {
        let b = [0, 1, 0, 2, 0, 4, 0, 0];
        let (_, e) = parse(Span::new(&b, b.len()), false);
        assert!(matches!(e, Some(Shortfall::Malformed(_))));
        let b = [0, 1, 0, 2, 0, 99, 0, 0];
        let (d, e) = parse(Span::new(&b, b.len()), false);
        let d = d.expect("test data");
        assert!(matches!(e, Some(Shortfall::Malformed(_))));
        assert_eq!(d.len, 91);
    }

    #[test]
    fn test_truncated() {
        let b = [0, 1, 0, 2];
        // Four bytes: the ports are known, the rest is missing.
        let (d, e) = parse(Span::new(&b, 20), false);
        let d = d.expect("test data");
        assert_eq!((d.sport, d.dport, d.header_complete), (1, 2, false));
        assert!(matches!(e, Some(Shortfall::Short(_))));
        let (_, e) = parse(Span::new(&b, 4), false);
        assert!(matches!(e, Some(Shortfall::Malformed(_))));
        let (none, e) = parse(Span::new(&b[..3], 4), false);
        assert!(none.is_none() && e.is_some());
    }
}
