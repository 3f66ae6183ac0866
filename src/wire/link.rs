//! The one link-type dispatch: Ethernet (802.1Q/QinQ), Linux cooked v1/v2, BSD null and
//! loopback, raw IP and LINKTYPE_IPV4/IPV6 → where the network header starts and what it is.
//!
//! This lives in `wire/` rather than `capture/` (as the architecture sketch first placed it)
//! because it is pure decoding over untrusted bytes and must be tested and fuzzed with the rest.

use pnet_packet::ethernet::EthernetPacket;

use super::{Shortfall, Span};

pub const LINKTYPE_NULL: u16 = 0;
pub const LINKTYPE_ETHERNET: u16 = 1;
pub const LINKTYPE_RAW_12: u16 = 12;
pub const LINKTYPE_RAW_14: u16 = 14;
pub const LINKTYPE_RAW: u16 = 101;
pub const LINKTYPE_LOOP: u16 = 108;
pub const LINKTYPE_LINUX_SLL: u16 = 113;
pub const LINKTYPE_IPV4: u16 = 228;
pub const LINKTYPE_IPV6: u16 = 229;
pub const LINKTYPE_LINUX_SLL2: u16 = 276;

/// The network protocols we decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    Ipv4,
    Ipv6,
    Arp,
}

/// Whether synack knows how to find the network header for this link type.
pub fn supported(linktype: u16) -> bool {
    matches!(
        linktype,
        LINKTYPE_NULL
            | LINKTYPE_ETHERNET
            | LINKTYPE_RAW_12
            | LINKTYPE_RAW_14
            | LINKTYPE_RAW
            | LINKTYPE_LOOP
            | LINKTYPE_LINUX_SLL
            | LINKTYPE_IPV4
            | LINKTYPE_IPV6
            | LINKTYPE_LINUX_SLL2
    )
}

pub fn linktype_name(linktype: u16) -> &'static str {
    match linktype {
        LINKTYPE_NULL => "BSD loopback (NULL)",
        LINKTYPE_ETHERNET => "Ethernet",
        LINKTYPE_RAW_12 | LINKTYPE_RAW_14 | LINKTYPE_RAW => "raw IP",
        LINKTYPE_LOOP => "OpenBSD loopback (LOOP)",
        LINKTYPE_LINUX_SLL => "Linux cooked v1 (SLL)",
        LINKTYPE_IPV4 => "raw IPv4",
        LINKTYPE_IPV6 => "raw IPv6",
        LINKTYPE_LINUX_SLL2 => "Linux cooked v2 (SLL2)",
        _ => "unknown",
    }
}

fn ethertype(t: u16) -> Option<Network> {
    match t {
        0x0800 => Some(Network::Ipv4),
        0x86dd => Some(Network::Ipv6),
        0x0806 => Some(Network::Arp),
        _ => None,
    }
}

/// Raw IP: the version nibble says which.
fn by_version(span: Span<'_>) -> Option<Network> {
    match span.bytes.first().map(|b| b >> 4) {
        Some(4) => Some(Network::Ipv4),
        Some(6) => Some(Network::Ipv6),
        _ => None,
    }
}

/// Finds the network layer; `Ok(None)` for frames that carry something we do not decode.
pub fn network_layer(
    linktype: u16,
    frame: Span<'_>,
) -> Result<Option<(Network, Span<'_>)>, Shortfall> {
    match linktype {
        LINKTYPE_ETHERNET => ethernet(frame),
        LINKTYPE_RAW_12 | LINKTYPE_RAW_14 | LINKTYPE_RAW => {
            Ok(by_version(frame).map(|n| (n, frame)))
        }
        LINKTYPE_IPV4 => Ok(Some((Network::Ipv4, frame))),
        LINKTYPE_IPV6 => Ok(Some((Network::Ipv6, frame))),
        LINKTYPE_NULL | LINKTYPE_LOOP => {
            frame.need("loopback", 4)?;
            let b = [
                frame.bytes[0],
                frame.bytes[1],
                frame.bytes[2],
                frame.bytes[3],
            ];
            let family = if linktype == LINKTYPE_LOOP {
                u32::from_be_bytes(b)
            } else {
                // DLT_NULL is in the capturing host's byte order; a value with high bits
                // set was written by a host of the other order (Wireshark's rule).
                let v = u32::from_le_bytes(b);
                if v & 0xffff_0000 != 0 {
                    v.swap_bytes()
                } else {
                    v
                }
            };
            let net = match family {
                2 => Some(Network::Ipv4),
                // AF_INET6 as the BSDs (24), FreeBSD (28) and Darwin (30) write it. Linux's
                // 10 never appears in DLT_NULL captures and Wireshark does not decode it.
                24 | 28 | 30 => Some(Network::Ipv6),
                // Some writers put an Ethernet type here instead of an address family.
                t if t > 1500 => ethertype(t as u16),
                _ => None,
            };
            Ok(net.map(|n| (n, frame.after(4))))
        }
        LINKTYPE_LINUX_SLL => {
            frame.need("Linux cooked", 16)?;
            let proto = u16::from_be_bytes([frame.bytes[14], frame.bytes[15]]);
            Ok(ethertype(proto).map(|n| (n, frame.after(16))))
        }
        LINKTYPE_LINUX_SLL2 => {
            frame.need("Linux cooked v2", 20)?;
            let proto = u16::from_be_bytes([frame.bytes[0], frame.bytes[1]]);
            Ok(ethertype(proto).map(|n| (n, frame.after(20))))
        }
        _ => Ok(None),
    }
}

/// Ethernet II with any number of 802.1Q / 802.1ad / QinQ tags.
pub fn ethernet(frame: Span<'_>) -> Result<Option<(Network, Span<'_>)>, Shortfall> {
    frame.need("Ethernet", 14)?;
    let Some(eth) = EthernetPacket::new(frame.bytes) else {
        return Ok(None);
    };
    let mut t = eth.get_ethertype().0;
    let mut at = 14;
    while matches!(t, 0x8100 | 0x88a8 | 0x9100) {
        let rest = frame.after(at);
        rest.need("802.1Q", 4)?;
        t = u16::from_be_bytes([rest.bytes[2], rest.bytes[3]]);
        at += 4;
    }
    Ok(ethertype(t).map(|n| (n, frame.after(at))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_null_both_byte_orders_and_families() {
        for (hdr, want) in [
            ([2u8, 0, 0, 0], Some(Network::Ipv4)),
            ([0, 0, 0, 2], Some(Network::Ipv4)),
            ([30, 0, 0, 0], Some(Network::Ipv6)),
            ([0, 0, 0, 24], Some(Network::Ipv6)),
            ([28, 0, 0, 0], Some(Network::Ipv6)),
            ([10, 0, 0, 0], None),
            ([99, 0, 0, 0], None),
        ] {
            let mut f = hdr.to_vec();
            f.push(0x45);
            let got = network_layer(LINKTYPE_NULL, Span::new(&f, f.len()))
                .expect("test data")
                .map(|(n, s)| (n, s.bytes.len()));
            assert_eq!(got.map(|g| g.0), want, "{hdr:?}");
        }
    }

    #[test]
    fn test_qinq_tags() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0xa8, 0, 1, 0x81, 0x00, 0, 2, 0x86, 0xdd, 0x60]);
        let (n, s) = network_layer(LINKTYPE_ETHERNET, Span::new(&f, f.len()))
            .expect("test data")
            .expect("test data");
        assert_eq!(n, Network::Ipv6);
        assert_eq!(s.bytes, &[0x60]);
    }

    #[test]
    fn test_truncated_vlan_tag() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x81, 0x00, 0]);
        assert!(matches!(
            network_layer(LINKTYPE_ETHERNET, Span::new(&f, 100)),
            Err(Shortfall::Short(_))
        ));
        assert!(matches!(
            network_layer(LINKTYPE_ETHERNET, Span::new(&f, f.len())),
            Err(Shortfall::Malformed(_))
        ));
    }

    #[test]
    fn test_sll_and_sll2() {
        let mut v1 = vec![0u8; 14];
        v1.extend_from_slice(&[0x08, 0x00, 0x45]);
        let (n, s) = network_layer(LINKTYPE_LINUX_SLL, Span::new(&v1, v1.len()))
            .expect("test data")
            .expect("test data");
        assert_eq!((n, s.bytes.len()), (Network::Ipv4, 1));
        let mut v2 = vec![0x86, 0xdd];
        v2.extend_from_slice(&[0u8; 18]);
        v2.push(0x60);
        let (n, _) = network_layer(LINKTYPE_LINUX_SLL2, Span::new(&v2, v2.len()))
            .expect("test data")
            .expect("test data");
        assert_eq!(n, Network::Ipv6);
    }
}
