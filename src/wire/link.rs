//! The one link-type dispatch: Ethernet (802.1Q/QinQ), Linux cooked v1/v2, BSD null and
//! loopback, raw IP and LINKTYPE_IPV4/IPV6 → where the network header starts and what it is.
//!
//! This lives in `wire/` rather than `capture/` (as the architecture sketch first placed it)
//! because it is pure decoding over untrusted bytes and must be tested and fuzzed with the rest.

use pnet_packet::ethernet::EthernetPacket;

use super::numbers::{EtherType, LinkType};
use super::oui;
use super::{DecodeError, Problem, Shortfall, Span};

/// The network protocols we decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    Ipv4,
    Ipv6,
    Arp,
}

fn ethertype(t: u16) -> Option<Network> {
    match EtherType::from(t) {
        EtherType::Ipv4 => Some(Network::Ipv4),
        EtherType::Ipv6 => Some(Network::Ipv6),
        EtherType::Arp => Some(Network::Arp),
        EtherType::Vlan
        | EtherType::Mpls
        | EtherType::PppoeSession
        | EtherType::Pbb
        | EtherType::Bridged
        | EtherType::Erspan
        | EtherType::Erspan3
        | EtherType::Ppp
        | EtherType::FabricPath
        | EtherType::Unknown(_) => None,
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
/// Damage that does not stop the decode (a PPPoE length that disagrees with the frame) is
/// noted in `warn`.
pub fn network_layer<'a>(
    linktype: u16,
    frame: Span<'a>,
    warn: &mut Option<Shortfall>,
) -> Result<Option<(Network, Span<'a>)>, Shortfall> {
    let kind = LinkType::from(linktype);
    match kind {
        LinkType::Ethernet => ethernet(frame, warn),
        LinkType::Raw => Ok(by_version(frame).map(|n| (n, frame))),
        LinkType::Ipv4 => Ok(Some((Network::Ipv4, frame))),
        LinkType::Ipv6 => Ok(Some((Network::Ipv6, frame))),
        LinkType::Null | LinkType::Loop => {
            frame.need("loopback", 4)?;
            let b = [
                frame.bytes[0],
                frame.bytes[1],
                frame.bytes[2],
                frame.bytes[3],
            ];
            let family = if kind == LinkType::Loop {
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
        LinkType::LinuxSll => {
            frame.need("Linux cooked", 16)?;
            let proto = u16::from_be_bytes([frame.bytes[14], frame.bytes[15]]);
            Ok(ethertype(proto).map(|n| (n, frame.after(16))))
        }
        LinkType::LinuxSll2 => {
            frame.need("Linux cooked v2", 20)?;
            let proto = u16::from_be_bytes([frame.bytes[0], frame.bytes[1]]);
            Ok(ethertype(proto).map(|n| (n, frame.after(20))))
        }
        LinkType::Ppp => ppp(frame, warn),
        LinkType::CiscoHdlc => {
            // Address, control, then an EtherType: only IP is decoded behind it (tshark 4.0
            // leaves ARP and VLAN tags here as data).
            frame.need("Cisco HDLC", 4)?;
            let protocol = u16::from_be_bytes([frame.bytes[2], frame.bytes[3]]);
            let rest = frame.after(4);
            match EtherType::from(protocol) {
                EtherType::Ipv4 => Ok(Some((Network::Ipv4, rest))),
                EtherType::Ipv6 => Ok(Some((Network::Ipv6, rest))),
                EtherType::Mpls => mpls(rest, 0, warn),
                _ => Ok(None),
            }
        }
        LinkType::Nflog => nflog(frame),
        LinkType::Pktap => pktap(frame, warn),
        LinkType::Unknown(_) => Ok(None),
    }
}

/// PPP (LINKTYPE_PPP and PPP_HDLC) as tshark 4.0 reads it: a first byte 0xff is the HDLC
/// address, and a control byte follows (its value is not checked); then the protocol field,
/// one byte when its low bit is set (RFC 1661's protocol field compression), else two.
fn ppp<'a>(
    frame: Span<'a>,
    warn: &mut Option<Shortfall>,
) -> Result<Option<(Network, Span<'a>)>, Shortfall> {
    frame.need("PPP", 1)?;
    let at = if frame.bytes[0] == 0xff { 2 } else { 0 };
    let field = frame.after(at);
    field.need("PPP", 1)?;
    let (protocol, len) = if field.bytes[0] & 1 == 1 {
        (u16::from(field.bytes[0]), 1)
    } else {
        field.need("PPP", 2)?;
        (u16::from_be_bytes([field.bytes[0], field.bytes[1]]), 2)
    };
    let payload = field.after(len);
    match protocol {
        PPP_IPV4 => Ok(Some((Network::Ipv4, payload))),
        PPP_IPV6 => Ok(Some((Network::Ipv6, payload))),
        PPP_MPLS_UNICAST | PPP_MPLS_MULTICAST => mpls(payload, 0, warn),
        _ => Ok(None),
    }
}

/// PPP protocol numbers (RFC 1661's registry) that carry what synack decodes.
const PPP_IPV4: u16 = 0x0021;
const PPP_IPV6: u16 = 0x0057;
const PPP_MPLS_UNICAST: u16 = 0x0281;
const PPP_MPLS_MULTICAST: u16 = 0x0283;

/// NFLOG attribute types (linux/netfilter/nfnetlink_log.h) that say what the packet is.
const NFULA_PACKET_HDR: u16 = 1;
const NFULA_PAYLOAD: u16 = 9;
/// Netfilter's protocol families in the NFLOG header.
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;

/// Linux NFLOG, as tshark 4.0 reads it (`dissect_nflog`): a 4-byte header (family, version,
/// resource id), then attributes, each a length (4 or more, counting its own 4 bytes), a
/// type (both in the capturing host's byte order: little-endian, as Wireshark assumes on
/// the machines it runs on) and a value padded to 4 bytes. A length under 4 ends the walk
/// and nothing is decoded; an attribute past the end of the frame is damage, and nothing
/// is decoded either, since the payload is dissected only after the walk. The last payload
/// attribute is the packet: of the EtherType in the packet header attribute when there is
/// one, else of the header's family.
fn nflog(frame: Span<'_>) -> Result<Option<(Network, Span<'_>)>, Shortfall> {
    frame.need("NFLOG", 4)?;
    let family = frame.bytes[0];
    let mut hw_protocol = 0u16;
    let mut payload = None;
    let mut at = 4;
    while frame.reported.saturating_sub(at) >= 4 {
        let tlv = frame.after(at);
        tlv.need("NFLOG", 4)?;
        let len = usize::from(u16::from_le_bytes([tlv.bytes[0], tlv.bytes[1]]));
        if len < 4 {
            return Ok(None);
        }
        let kind = u16::from_le_bytes([tlv.bytes[2], tlv.bytes[3]]) & 0x7fff;
        tlv.need("NFLOG", len)?;
        let value = tlv.after(4).limit(len - 4);
        if kind == NFULA_PACKET_HDR && len == 8 {
            hw_protocol = u16::from_be_bytes([value.bytes[0], value.bytes[1]]);
        }
        if kind == NFULA_PAYLOAD {
            payload = Some(value);
        }
        at += (len + 3) & !3;
    }
    let Some(payload) = payload else {
        return Ok(None);
    };
    let net = if hw_protocol != 0 {
        ethertype(hw_protocol)
    } else {
        match family {
            NFPROTO_IPV4 => Some(Network::Ipv4),
            NFPROTO_IPV6 => Some(Network::Ipv6),
            _ => None,
        }
    };
    Ok(net.map(|n| (n, payload)))
}

/// Apple's PKTAP header starts with its own length: shorter than this is damage.
const PKTAP_MIN_HEADER: usize = 108;
/// PKTAP record type of a header followed by a packet.
const PKTAP_PACKET: u32 = 1;

/// Apple's PKTAP (`dissect_pktap`): a little-endian header length (at least 108), record
/// type and the link type of the frame that follows the header, decoded as that link type.
fn pktap<'a>(
    frame: Span<'a>,
    warn: &mut Option<Shortfall>,
) -> Result<Option<(Network, Span<'a>)>, Shortfall> {
    frame.need("PKTAP", 4)?;
    let le32 = |at: usize| {
        let b = &frame.bytes[at..at + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    };
    let header = le32(0) as usize;
    if header < PKTAP_MIN_HEADER {
        return Err(Shortfall::Malformed(DecodeError {
            layer: "PKTAP",
            problem: Problem::BadField {
                field: "header length",
                value: header as u32,
            },
        }));
    }
    frame.need("PKTAP", header)?;
    let record = le32(4);
    // A link type beyond 16 bits is none synack knows.
    let dlt = u16::try_from(le32(8)).unwrap_or(u16::MAX);
    // A PKTAP frame inside PKTAP is not followed: a crafted frame cannot nest without end.
    if record != PKTAP_PACKET || LinkType::from(dlt) == LinkType::Pktap {
        return Ok(None);
    }
    network_layer(dlt, frame.after(header), warn)
}

/// Ethernet II with any number of 802.1Q / 802.1ad / QinQ tags, and what Ethernet carries
/// on provider and access networks: MPLS label stacks, PPPoE sessions, 802.1ah (PBB).
pub fn ethernet<'a>(
    frame: Span<'a>,
    warn: &mut Option<Shortfall>,
) -> Result<Option<(Network, Span<'a>)>, Shortfall> {
    ethernet_at(frame, 0, warn)
}

/// The largest 802.3 length field; larger values are EtherTypes.
const IEEE_802_3_MAX_LEN: u16 = 1500;

/// Nested frames (PBB's customer frame) at most this deep: a crafted frame cannot recurse
/// without end.
const MAX_ETHERNET_DEPTH: u8 = 4;

fn ethernet_at<'a>(
    frame: Span<'a>,
    depth: u8,
    warn: &mut Option<Shortfall>,
) -> Result<Option<(Network, Span<'a>)>, Shortfall> {
    frame.need("Ethernet", 14)?;
    let Some(eth) = EthernetPacket::new(frame.bytes) else {
        return Ok(None);
    };
    let mut t = eth.get_ethertype().0;
    if EtherType::from(t) == EtherType::FabricPath && depth < MAX_ETHERNET_DEPTH {
        // Cisco FabricPath, as Wireshark's Ethernet dissector checks for it (untagged
        // only): outer addresses, the EtherType, FTag and TTL (16 bytes), then the
        // customer's frame with its FCS (4 bytes at the end, not part of the payload).
        frame.need("FabricPath", 16)?;
        let inner = frame.after(16);
        return ethernet_at(
            inner.limit(inner.reported.saturating_sub(4)),
            depth + 1,
            warn,
        );
    }
    let mut at = 14;
    while EtherType::from(t) == EtherType::Vlan {
        let rest = frame.after(at);
        rest.need("802.1Q", 4)?;
        t = u16::from_be_bytes([rest.bytes[2], rest.bytes[3]]);
        at += 4;
    }
    let rest = frame.after(at);
    if t <= IEEE_802_3_MAX_LEN {
        // An 802.3 frame: a length, not a type. Wireshark's `dissect_802_3` calls a length
        // past the end of the payload malformed (an error in the Malformed group); the
        // LLC it carries is no network layer synack follows.
        if usize::from(t) > rest.reported {
            return Err(Shortfall::Malformed(DecodeError {
                layer: "802.3",
                problem: Problem::BadLength {
                    field: "length",
                    value: u32::from(t),
                    limit: rest.reported as u32,
                },
            }));
        }
        return Ok(None);
    }
    match EtherType::from(t) {
        EtherType::Mpls => mpls(rest, depth, warn),
        EtherType::PppoeSession => pppoe(rest, warn),
        EtherType::Pbb if depth < MAX_ETHERNET_DEPTH => {
            // The I-tag (priority, flags, service ID), then the customer's own frame.
            rest.need("802.1ah I-tag", 4)?;
            ethernet_at(rest.after(4), depth + 1, warn)
        }
        _ => Ok(ethertype(t).map(|n| (n, rest))),
    }
}

/// An MPLS label stack (RFC 3032): 4-byte entries until the bottom-of-stack bit, then what
/// the first nibble says, as tshark 4.0 decides it (`dissect_mpls`): 4 IPv4, 6 IPv6, 0 an
/// Ethernet pseudowire (see `pw_ethernet`), 1 a pseudowire associated channel and anything
/// else data (neither decoded).
fn mpls<'a>(
    span: Span<'a>,
    depth: u8,
    warn: &mut Option<Shortfall>,
) -> Result<Option<(Network, Span<'a>)>, Shortfall> {
    let mut at = 0;
    loop {
        let label = span.after(at);
        label.need("MPLS", 4)?;
        at += 4;
        if label.bytes[2] & 1 == 1 {
            break;
        }
    }
    let payload = span.after(at);
    match payload.bytes.first().map(|b| b >> 4) {
        Some(4) => Ok(Some((Network::Ipv4, payload))),
        Some(6) => Ok(Some((Network::Ipv6, payload))),
        Some(0) if depth < MAX_ETHERNET_DEPTH => pw_ethernet(payload, depth, warn),
        _ => Ok(None),
    }
}

/// An Ethernet pseudowire (first nibble 0), with or without a control word, as Wireshark
/// guesses (`dissect_pw_eth_heuristic`): a frame whose two MAC addresses both belong to
/// vendors it knows is plain Ethernet; otherwise it starts with a 4-byte control word.
fn pw_ethernet<'a>(
    span: Span<'a>,
    depth: u8,
    warn: &mut Option<Shortfall>,
) -> Result<Option<(Network, Span<'a>)>, Shortfall> {
    let b = span.bytes;
    let plain = span.reported >= 14
        && b.len() >= 9
        && oui::known([b[0], b[1], b[2]])
        && oui::known([b[6], b[7], b[8]]);
    if !plain {
        span.need("PW control word", 4)?;
        return ethernet_at(span.after(4), depth + 1, warn);
    }
    ethernet_at(span, depth + 1, warn)
}

/// A PPPoE session (RFC 2516): version/type, code, session ID, length, then PPP's protocol
/// field: 0x0021 IPv4, 0x0057 IPv6. The length bounds the payload, as Wireshark's does; a
/// length that disagrees with the frame is malformed, as tshark 4.0 finds it
/// (`dissect_pppoes`: only in a session frame over 46 bytes, not under LCP or IPCP, and a
/// length 4 short of the payload passes), and the decode goes on.
fn pppoe<'a>(
    span: Span<'a>,
    warn: &mut Option<Shortfall>,
) -> Result<Option<(Network, Span<'a>)>, Shortfall> {
    span.need("PPPoE", 8)?;
    let len = usize::from(u16::from_be_bytes([span.bytes[4], span.bytes[5]]));
    let protocol = u16::from_be_bytes([span.bytes[6], span.bytes[7]]);
    let actual = span.reported.saturating_sub(6);
    if span.reported > 46
        && protocol != 0xc021
        && protocol != 0x8021
        && len != actual
        && len + 4 != actual
    {
        warn.get_or_insert(Shortfall::Malformed(DecodeError {
            layer: "PPPoE",
            problem: Problem::BadField {
                field: "payload length",
                value: len as u32,
            },
        }));
    }
    let net = match protocol {
        0x0021 => Network::Ipv4,
        0x0057 => Network::Ipv6,
        _ => return Ok(None),
    };
    Ok(Some((net, span.after(8).limit(len.saturating_sub(2)))))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `network_layer` where the tests do not look at the damage it notes.
    fn network_layer(
        linktype: u16,
        frame: Span<'_>,
    ) -> Result<Option<(Network, Span<'_>)>, Shortfall> {
        super::network_layer(linktype, frame, &mut None)
    }

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
            let got = network_layer(0, Span::new(&f, f.len()))
                .expect("test data")
                .map(|(n, s)| (n, s.bytes.len()));
            assert_eq!(got.map(|g| g.0), want, "{hdr:?}");
        }
    }

    #[test]
    fn test_qinq_tags() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0xa8, 0, 1, 0x81, 0x00, 0, 2, 0x86, 0xdd, 0x60]);
        let (n, s) = network_layer(1, Span::new(&f, f.len()))
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
            network_layer(1, Span::new(&f, 100)),
            Err(Shortfall::Short(_))
        ));
        assert!(matches!(
            network_layer(1, Span::new(&f, f.len())),
            Err(Shortfall::Malformed(_))
        ));
    }

    fn eth(ethertype: u16, rest: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(rest);
        f
    }

    /// A PPPoE length that disagrees with the frame is noted, not fatal, as tshark 4.0 has it.
    #[test]
    fn test_pppoe_length_disagreeing_with_the_frame() {
        // PPPoE header, PPP protocol, then `payload` bytes of PPP payload.
        let frame = |len: u16, protocol: u16, payload: usize| {
            let mut p = vec![0x11, 0, 0x12, 0x34];
            p.extend_from_slice(&len.to_be_bytes());
            p.extend_from_slice(&protocol.to_be_bytes());
            p.push(0x45);
            p.resize(8 + payload, 0);
            eth(0x8864, &p)
        };
        let warned = |f: &[u8]| {
            let mut warn = None;
            let net = super::network_layer(1, Span::new(f, f.len()), &mut warn);
            assert!(matches!(net, Ok(Some((Network::Ipv4, _)))));
            warn.is_some()
        };
        // The length counts the PPP protocol field and the payload: 2 + 60.
        assert!(!warned(&frame(62, 0x0021, 60)));
        assert!(warned(&frame(162, 0x0021, 60)));
        assert!(warned(&frame(30, 0x0021, 60)));
        // Four short passes; so does a small frame (46 bytes or less), and LCP and IPCP.
        assert!(!warned(&frame(58, 0x0021, 60)));
        assert!(!warned(&frame(162, 0x0021, 30)));
        let lcp = frame(162, 0xc021, 60);
        let mut warn = None;
        assert!(super::network_layer(1, Span::new(&lcp, lcp.len()), &mut warn).is_ok());
        assert!(warn.is_none());
    }

    #[test]
    fn test_mpls_stack_pppoe_and_pbb() {
        // Two labels, the second the bottom of the stack, then IPv6.
        let f = eth(0x8847, &[0, 0x3e, 0x80, 64, 0, 0x06, 0x41, 63, 0x60, 0]);
        let (n, s) = network_layer(1, Span::new(&f, f.len()))
            .expect("test data")
            .expect("decoded");
        assert_eq!((n, s.bytes), (Network::Ipv6, &[0x60, 0][..]));
        // PPPoE: the length (PPP protocol + 3 bytes) bounds the payload.
        let f = eth(
            0x8864,
            &[0x11, 0, 0x12, 0x34, 0, 5, 0, 0x21, 0x45, 1, 2, 9, 9],
        );
        let (n, s) = network_layer(1, Span::new(&f, f.len()))
            .expect("test data")
            .expect("decoded");
        assert_eq!((n, s.bytes), (Network::Ipv4, &[0x45, 1, 2][..]));
        // PPP carrying something else is not decoded.
        let f = eth(0x8864, &[0x11, 0, 0x12, 0x34, 0, 3, 0xc0, 0x21, 1]);
        assert!(
            network_layer(1, Span::new(&f, f.len()))
                .expect("test data")
                .is_none()
        );
        // 802.1ah: I-tag, then the customer frame.
        let mut inner = vec![0u8, 0, 1, 0];
        inner.extend_from_slice(&eth(0x0800, &[0x45]));
        let f = eth(0x88e7, &inner);
        let (n, _) = network_layer(1, Span::new(&f, f.len()))
            .expect("test data")
            .expect("decoded");
        assert_eq!(n, Network::Ipv4);
    }

    #[test]
    fn test_truncated_mpls_and_pppoe_and_nested_pbb() {
        // A stack without its bottom label runs off the frame: malformed, not a panic.
        let f = eth(0x8847, &[0, 0, 0, 64, 0, 0]);
        assert!(matches!(
            network_layer(1, Span::new(&f, f.len())),
            Err(Shortfall::Malformed(_))
        ));
        // Cut by the snaplen instead: short.
        assert!(matches!(
            network_layer(1, Span::new(&f, 200)),
            Err(Shortfall::Short(_))
        ));
        let f = eth(0x8864, &[0x11, 0]);
        assert!(network_layer(1, Span::new(&f, f.len())).is_err());
        // PBB inside PBB inside …: decoding stops at a fixed depth.
        let mut f = eth(0x0800, &[0x45]);
        for _ in 0..20 {
            let mut tag = vec![0u8, 0, 1, 0];
            tag.extend_from_slice(&f);
            f = eth(0x88e7, &tag);
        }
        assert!(
            network_layer(1, Span::new(&f, f.len()))
                .expect("test data")
                .is_none()
        );
    }

    #[test]
    fn test_sll_and_sll2() {
        let mut v1 = vec![0u8; 14];
        v1.extend_from_slice(&[0x08, 0x00, 0x45]);
        let (n, s) = network_layer(113, Span::new(&v1, v1.len()))
            .expect("test data")
            .expect("test data");
        assert_eq!((n, s.bytes.len()), (Network::Ipv4, 1));
        let mut v2 = vec![0x86, 0xdd];
        v2.extend_from_slice(&[0u8; 18]);
        v2.push(0x60);
        let (n, _) = network_layer(276, Span::new(&v2, v2.len()))
            .expect("test data")
            .expect("test data");
        assert_eq!(n, Network::Ipv6);
    }

    #[test]
    fn test_pseudowire_control_word_as_wireshark_guesses() {
        // An IPv4 frame behind Ethernet with the given addresses, after one MPLS label and
        // an optional control word.
        let pw = |da: [u8; 6], sa: [u8; 6], cw: bool| {
            let mut p = vec![0x00, 0x07, 0xd1, 64];
            if cw {
                p.extend_from_slice(&[0, 0, 0, 0]);
            }
            p.extend_from_slice(&da);
            p.extend_from_slice(&sa);
            p.extend_from_slice(&[0x08, 0x00, 0x45]);
            eth(0x8847, &p)
        };
        let net = |f: &[u8]| {
            network_layer(1, Span::new(f, f.len()))
                .expect("test data")
                .map(|(n, s)| (n, s.bytes.len()))
        };
        let intel = [0x00, 0x1b, 0x21, 0, 0, 1];
        let local = [0x02, 0, 0xff, 0xff, 0xff, 1];
        // Both vendors known: plain Ethernet, no control word.
        assert_eq!(net(&pw(intel, intel, false)), Some((Network::Ipv4, 1)));
        // Unknown addresses behind a zero nibble: a control word first.
        assert_eq!(net(&pw(local, local, true)), Some((Network::Ipv4, 1)));
        // Nibble 1: a pseudowire associated channel, not decoded; any other nibble but 0, 4
        // and 6 is data to tshark 4.0 (observed for each, over frames of mpls-pw-nocw.pcap).
        for nibble in [1u8, 2, 3, 5, 7, 8, 9, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf] {
            let other = [nibble << 4, 0x1b, 0x21, 0, 0, 1];
            assert_eq!(net(&pw(other, intel, false)), None, "nibble {nibble}");
        }
    }

    fn net(linktype: u16, f: &[u8]) -> Result<Option<(Network, usize)>, Shortfall> {
        network_layer(linktype, Span::new(f, f.len())).map(|o| o.map(|(n, s)| (n, s.bytes.len())))
    }

    fn malformed<T>(r: Result<T, Shortfall>) -> bool {
        matches!(r, Err(Shortfall::Malformed(_)))
    }

    #[test]
    fn test_ppp_headers_as_tshark_reads_them() {
        let ip = [0x45u8, 0, 0, 20];
        for (head, want) in [
            (&[0xff, 0x03, 0x00, 0x21][..], Some(Network::Ipv4)),
            // The control byte is not checked.
            (&[0xff, 0x05, 0x00, 0x21], Some(Network::Ipv4)),
            (&[0x00, 0x21], Some(Network::Ipv4)),
            (&[0x21], Some(Network::Ipv4)),
            (&[0xff, 0x03, 0x57], Some(Network::Ipv6)),
            // No 0xff: no address and control, so 0xfe 0x03 is no protocol of ours.
            (&[0xfe, 0x03, 0x00, 0x21], None),
            (&[0xff, 0x03, 0xc0, 0x21], None),
        ] {
            let mut f = head.to_vec();
            f.extend_from_slice(&ip);
            for lt in [9, 50] {
                let got = net(lt, &f).expect("test data");
                assert_eq!(got, want.map(|n| (n, ip.len())), "{head:x?}");
            }
        }
        for cut in [
            &[][..],
            &[0xff],
            &[0xff, 0x03],
            &[0xff, 0x03, 0x00],
            &[0x00],
        ] {
            assert!(malformed(net(9, cut)), "{cut:x?}");
        }
    }

    #[test]
    fn test_cisco_hdlc_decodes_ip_only() {
        assert_eq!(
            net(104, &[0x0f, 0, 0x86, 0xdd, 0x60]).expect("test data"),
            Some((Network::Ipv6, 1))
        );
        assert_eq!(
            net(104, &[0x0f, 0, 0x08, 0x06, 0]).expect("test data"),
            None
        );
        assert!(malformed(net(104, &[0x0f, 0, 0x08])));
    }

    /// An NFLOG attribute: little-endian length and type, the value padded to 4 bytes.
    fn tlv(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut v = ((4 + value.len()) as u16).to_le_bytes().to_vec();
        v.extend_from_slice(&kind.to_le_bytes());
        v.extend_from_slice(value);
        v.resize(v.len().next_multiple_of(4), 0);
        v
    }

    #[test]
    fn test_nflog_attributes() {
        let ip = [0x45u8, 0, 0, 20, 1, 2];
        let frame = |family: u8, tlvs: &[Vec<u8>]| {
            let mut f = vec![family, 0, 0, 5];
            tlvs.iter().for_each(|t| f.extend_from_slice(t));
            f
        };
        let hw = |et: u16| tlv(NFULA_PACKET_HDR, &[(et >> 8) as u8, et as u8, 3, 0]);
        let payload = tlv(NFULA_PAYLOAD, &ip);
        // The family decides when there is no packet header attribute...
        assert_eq!(
            net(239, &frame(2, std::slice::from_ref(&payload))).expect("v4"),
            Some((Network::Ipv4, 6))
        );
        assert_eq!(
            net(239, &frame(10, std::slice::from_ref(&payload))).expect("v6"),
            Some((Network::Ipv6, 6))
        );
        assert_eq!(
            net(239, &frame(7, std::slice::from_ref(&payload))).expect("bridge"),
            None
        );
        // ...and the packet header's EtherType when there is one.
        let f = frame(10, &[hw(0x0800), payload.clone()]);
        assert_eq!(net(239, &f).expect("hw"), Some((Network::Ipv4, 6)));
        // The last payload attribute is the packet.
        let f = frame(2, &[tlv(NFULA_PAYLOAD, &[0x60]), payload.clone()]);
        assert_eq!(net(239, &f).expect("last"), Some((Network::Ipv4, 6)));
        // A length under 4 ends the walk with nothing decoded, and no damage.
        let mut f = frame(2, std::slice::from_ref(&payload));
        f.extend_from_slice(&[2, 0, 1, 0]);
        assert_eq!(net(239, &f).expect("short length"), None);
        // An attribute past the frame's end is damage, even after the payload.
        let mut f = frame(2, std::slice::from_ref(&payload));
        f.extend_from_slice(&[100, 0, 1, 0, 0, 0, 0, 0]);
        assert!(malformed(net(239, &f)));
        // Fewer than 4 bytes left are not an attribute.
        let mut f = frame(2, &[payload]);
        f.extend_from_slice(&[1, 0]);
        assert_eq!(net(239, &f).expect("tail"), Some((Network::Ipv4, 6)));
        assert!(malformed(net(239, &[2, 0, 0])));
    }

    #[test]
    fn test_pktap_header() {
        let pktap = |len: u32, record: u32, dlt: u32, inner: &[u8]| {
            let mut f = [len, record, dlt]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<u8>>();
            f.resize(len.max(12) as usize, 0);
            f.extend_from_slice(inner);
            f
        };
        let ip = [0x45u8, 0, 0, 20];
        assert_eq!(
            net(258, &pktap(108, 1, 12, &ip)).expect("raw"),
            Some((Network::Ipv4, 4))
        );
        assert_eq!(
            net(258, &pktap(120, 1, 101, &ip)).expect("raw"),
            Some((Network::Ipv4, 4))
        );
        let mut eth = vec![0u8; 12];
        eth.extend_from_slice(&[0x86, 0xdd, 0x60]);
        assert_eq!(
            net(258, &pktap(108, 1, 1, &eth)).expect("eth"),
            Some((Network::Ipv6, 1))
        );
        // Not a packet record, or PKTAP again: nothing decoded.
        assert_eq!(net(258, &pktap(108, 2, 12, &ip)).expect("record"), None);
        assert_eq!(net(258, &pktap(108, 1, 258, &ip)).expect("nested"), None);
        // A header shorter than 108 bytes, or longer than the frame, is damage.
        assert!(malformed(net(258, &pktap(60, 1, 12, &ip))));
        let mut long = pktap(108, 1, 12, &ip);
        long[0] = 200;
        assert!(malformed(net(258, &long)));
        assert!(malformed(net(258, &[108, 0])));
    }
}
