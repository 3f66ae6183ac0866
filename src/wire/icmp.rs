//! ICMP and ICMPv6: type and code, echo id/seq, and for error messages the IP and transport
//! header they quote, which names the connection the error refers to.

use super::ip::{self, IpHeader};
use super::numbers::IpProtocol;
use super::{Parsed, Span};

/// The datagram an ICMP error quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quoted {
    pub ip: IpHeader,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    /// The quoted TCP sequence number, when 8 bytes of TCP were quoted.
    pub tcp_seq: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpMessage {
    pub v6: bool,
    pub icmp_type: u8,
    pub code: u8,
    /// Identifier and sequence number of echo requests and replies.
    pub echo: Option<(u16, u16)>,
    pub quoted: Option<Quoted>,
}

impl IcmpMessage {
    pub fn is_error(&self) -> bool {
        if self.v6 {
            self.icmp_type < 128
        } else {
            matches!(self.icmp_type, 3 | 4 | 5 | 11 | 12)
        }
    }
}

pub fn parse(span: Span<'_>, v6: bool) -> Parsed<IcmpMessage> {
    let layer = if v6 { "ICMPv6" } else { "ICMP" };
    if let Err(s) = span.need(layer, 4) {
        return (None, Some(s));
    }
    let b = span.bytes;
    let mut m = IcmpMessage {
        v6,
        icmp_type: b[0],
        code: b[1],
        echo: None,
        quoted: None,
    };
    let echo = if v6 {
        matches!(m.icmp_type, 128 | 129)
    } else {
        matches!(m.icmp_type, 0 | 8)
    };
    if let Err(s) = span.need(layer, 8) {
        return (Some(m), Some(s));
    }
    if echo {
        m.echo = Some((
            u16::from_be_bytes([b[4], b[5]]),
            u16::from_be_bytes([b[6], b[7]]),
        ));
    }
    if m.is_error() {
        // The quote is cut by the sender's own limit; its lengths never make it malformed.
        let inner = Span::new(&b[8..], usize::MAX);
        let version = inner.bytes.first().map(|x| x >> 4);
        let (datagram, _) = match version {
            Some(4) => ip::parse_v4(inner),
            Some(6) => ip::parse_v6(inner),
            _ => (None, None),
        };
        if let Some((hdr, payload)) = datagram {
            let t = payload.map(|p| p.bytes).unwrap_or(&[]);
            let proto = IpProtocol::from(hdr.protocol);
            let ports = matches!(proto, IpProtocol::Tcp | IpProtocol::Udp)
                && t.len() >= 4
                && hdr.fragment.offset == 0;
            m.quoted = Some(Quoted {
                ip: hdr,
                sport: ports.then(|| u16::from_be_bytes([t[0], t[1]])),
                dport: ports.then(|| u16::from_be_bytes([t[2], t[3]])),
                tcp_seq: (proto == IpProtocol::Tcp && t.len() >= 8)
                    .then(|| u32::from_be_bytes([t[4], t[5], t[6], t[7]])),
            });
        }
    }
    (Some(m), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_port_unreachable_quotes_udp() {
        let mut b = vec![3, 3, 0, 0, 0, 0, 0, 0];
        b.extend_from_slice(&[0x45, 0, 0, 36, 0, 0, 0x40, 0, 64, 17, 0, 0]);
        b.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1]);
        b.extend_from_slice(&[0xc0, 0, 0x1f, 0x91, 0, 16, 0, 0]);
        let (m, e) = parse(Span::new(&b, b.len()), false);
        let m = m.expect("test data");
        assert!(e.is_none());
        assert_eq!((m.icmp_type, m.code), (3, 3));
        let q = m.quoted.expect("test data");
        assert_eq!(
            (q.ip.protocol, q.sport, q.dport),
            (17, Some(49152), Some(8081))
        );
    }

    #[test]
    fn test_truncated_quote_is_not_malformed() {
        let b = [3u8, 3, 0, 0, 0, 0, 0, 0, 0x45, 0];
        let (m, e) = parse(Span::new(&b, b.len()), false);
        assert!(m.expect("test data").quoted.is_none());
        assert!(e.is_none());
    }
}
