//! The common frame decoded straight through: untagged Ethernet II → IPv4 without options or
//! fragmentation, or IPv6 without extension headers → TCP or UDP, captured whole and
//! consistent in every length. Anything else, and anything in doubt, is left to the general
//! decoder (`None`), which gives the same `Decoded` for every frame this one takes: a test
//! holds the two together frame by frame over every capture and its mutations.
//!
//! Why: the general decoder walks link, network and transport dispatch and moves its
//! partial results between layers (~700 instructions for a plain TCP segment, before its
//! checksum); every frame is decoded once to track it and once more to print it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::numbers::{IpProtocol, LinkType};
use super::tcp::{self, TcpSegment};
use super::{Cx, Decoded, Fragment, IpHeader, Proto, Span, Transport, udp};

const ETHERNET_LEN: usize = 14;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// A common frame as far as the tracker reads it: the IP header and the transport, without
/// the rest of a `Decoded` (the tracker's facts are made from these directly, so the reader
/// does not assemble and copy a whole decode per frame).
pub struct Common<'a> {
    /// Ethernet source, destination and EtherType.
    pub ethernet: ([u8; 6], [u8; 6], u16),
    pub ip: IpHeader,
    pub transport: Transport<'a>,
}

/// The frame's IP header and transport, if it is of the common kind; `None` sends it to the
/// general decoder.
pub fn common(linktype: u16, data: &[u8], wirelen: u32, cx: Cx) -> Option<Common<'_>> {
    // A frame longer than the wire (malformed) or cut by the snaplen is not common.
    if LinkType::from(linktype) != LinkType::Ethernet || wirelen as usize != data.len() {
        return None;
    }
    let ethernet = super::ethernet_fields(data)?;
    let ethertype = ethernet.2;
    let net = data.get(ETHERNET_LEN..)?;
    let (ip, datagram) = match ethertype {
        ETHERTYPE_IPV4 => ipv4(net)?,
        ETHERTYPE_IPV6 => ipv6(net)?,
        _ => return None,
    };
    let payload = datagram.get(usize::from(ip.header_len)..)?;
    let transport = match IpProtocol::from(ip.protocol) {
        IpProtocol::Tcp => Transport::Tcp(tcp_segment(&ip, payload, cx)?),
        IpProtocol::Udp => Transport::Udp(udp_datagram(&ip, payload, cx)?),
        _ => return None,
    };
    Some(Common {
        ethernet,
        ip,
        transport,
    })
}

/// The frame's decode, if it is of the common kind; `None` sends it to the general decoder.
pub(super) fn decode(linktype: u16, data: &[u8], wirelen: u32, cx: Cx) -> Option<Decoded<'_>> {
    let Common {
        ethernet,
        ip,
        transport,
    } = common(linktype, data, wirelen, cx)?;
    let proto = match transport {
        Transport::Tcp(_) => Proto::Tcp,
        _ => Proto::Udp,
    };
    Some(Decoded {
        proto,
        ethernet: Some(ethernet),
        ip: Some(ip),
        outer: None,
        tunnel: None,
        outer_udp_ports: None,
        outer_udp_payload: &[],
        transport,
        fragment: None,
        malformed: None,
        short: None,
    })
}

/// An IPv4 header of 20 bytes, not a fragment, whose total length is all there (trailing
/// Ethernet padding is left out of the datagram, as the general decoder does).
fn ipv4(b: &[u8]) -> Option<(IpHeader, &[u8])> {
    let h = b.get(..20)?;
    // Version 4, no options.
    if h[0] != 0x45 {
        return None;
    }
    let total = be16(h, 2)?;
    // More fragments or an offset (the DF bit may be set). A zero total length (segmentation
    // offload) takes the frame's length: left to the general decoder.
    if be16(h, 6)? & 0x3fff != 0 || total < 20 {
        return None;
    }
    let datagram = b.get(..usize::from(total))?;
    let addr = |at: usize| -> Option<IpAddr> {
        let a: [u8; 4] = h.get(at..at + 4)?.try_into().ok()?;
        Some(IpAddr::V4(Ipv4Addr::from(a)))
    };
    let hdr = IpHeader {
        version: 4,
        src: addr(12)?,
        dst: addr(16)?,
        protocol: h[9],
        ttl: h[8],
        fragment: Fragment::default(),
        header_len: 20,
        total_len: u32::from(total),
        id: u32::from(be16(h, 4)?),
    };
    Some((hdr, datagram))
}

/// An IPv6 header whose next header is the transport and whose payload is all there.
fn ipv6(b: &[u8]) -> Option<(IpHeader, &[u8])> {
    let h = b.get(..40)?;
    if h[0] >> 4 != 6 {
        return None;
    }
    let protocol = h[6];
    if protocol != 6 && protocol != 17 {
        // Extension headers (and anything else) take the general walk.
        return None;
    }
    let total = 40 + usize::from(be16(h, 4)?);
    let datagram = b.get(..total)?;
    let addr = |at: usize| -> Option<IpAddr> {
        let a: [u8; 16] = h.get(at..at + 16)?.try_into().ok()?;
        Some(IpAddr::V6(Ipv6Addr::from(a)))
    };
    let hdr = IpHeader {
        version: 6,
        src: addr(8)?,
        dst: addr(24)?,
        protocol,
        ttl: h[7],
        fragment: Fragment::default(),
        header_len: 40,
        total_len: total as u32,
        id: 0,
    };
    Some((hdr, datagram))
}

/// A TCP segment whose header (options included, and well formed) is all there. Not
/// `tcp::parse`, which also handles every short and damaged form (here declined) and costs
/// ~140 instructions more per frame in its results' moves.
fn tcp_segment<'a>(hdr: &IpHeader, b: &'a [u8], cx: Cx) -> Option<TcpSegment<'a>> {
    let fixed = tcp::fixed_fields(b.get(..20)?)?;
    let hlen = usize::from(fixed.header_len);
    if fixed.bogus_offset() {
        return None;
    }
    let options = tcp::parse_options(b.get(20..hlen)?);
    if options.problem().is_some() {
        return None;
    }
    let span = Span::new(b, b.len());
    Some(TcpSegment {
        sport: be16(b, 0)?,
        dport: be16(b, 2)?,
        fixed: Some(fixed),
        options,
        len: Some((b.len() - hlen) as u32),
        payload: b.get(hlen..)?,
        header_complete: true,
        checksum: cx.tcp_checksum(hdr, span),
    })
}

/// A UDP datagram with a sound length field that carries no tunnel.
fn udp_datagram<'a>(hdr: &IpHeader, b: &'a [u8], cx: Cx) -> Option<udp::UdpDatagram<'a>> {
    let span = Span::new(b, b.len());
    let (dg, problem) = udp::parse(span, false);
    let mut dg = dg?;
    if problem.is_some() || dg.bogus_length || udp::tunnel_payload(&dg).is_some() {
        return None;
    }
    dg.checksum = cx.udp_checksum(hdr, span, &dg);
    Some(dg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Checksums;
    use crate::wire::checksum::Checksum;

    /// Both decoders on one frame; whether the fast one took it. Equal means the whole
    /// `Decoded`, every field and every slice.
    fn agree(linktype: u16, data: &[u8], wirelen: u32, checks: Checksums) -> bool {
        let cx = Cx { depth: 0, checks };
        let Some(fast) = decode(linktype, data, wirelen, cx) else {
            return false;
        };
        let general = super::super::general(linktype, data, wirelen, cx);
        assert_eq!(
            format!("{fast:?}"),
            format!("{general:?}"),
            "linktype {linktype}, wirelen {wirelen}, {data:02x?}"
        );
        // What the tracker's facts are made of (`DetachedFacts::of_common`): the same IP
        // header and transport, and nothing that the facts of a whole decode would add.
        let c = common(linktype, data, wirelen, cx).expect("decode took it");
        assert_eq!(
            format!("{:?}", (Some(c.ip), c.transport)),
            format!("{:?}", (general.ip, general.transport)),
        );
        assert!(general.malformed.is_none() && general.outer.is_none());
        true
    }

    /// Every frame of every capture, and for the first frames of each that the fast path
    /// takes, every header byte changed (each bit flipped, 0, 0xff, +1), every cut and wrong
    /// wire lengths: the fast path either declines or says exactly what the general decoder
    /// says.
    #[test]
    fn test_the_fast_path_decodes_as_the_general_decoder() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/captures");
        let mut files = Vec::new();
        for dir in [root.to_string(), format!("{root}/classic")] {
            for e in std::fs::read_dir(dir).expect("captures") {
                let p = e.expect("entry").path();
                if matches!(
                    p.extension().and_then(|x| x.to_str()),
                    Some("pcap" | "pcapng")
                ) {
                    files.push(p);
                }
            }
        }
        let (mut frames, mut taken, mut mutated_taken) = (0, 0, 0);
        for p in &files {
            let Ok(mut reader) =
                crate::capture::file::FileReader::new(std::fs::File::open(p).expect("open"))
            else {
                continue;
            };
            let mut studied = 0;
            while let Ok(Some(f)) = reader.next_frame() {
                frames += 1;
                let (lt, data, wirelen) = (f.meta.linktype, f.data, f.meta.wirelen);
                let fast = agree(lt, data, wirelen, Checksums::Verify);
                agree(lt, data, wirelen, Checksums::Known(Checksum::Bad));
                if !fast {
                    continue;
                }
                taken += 1;
                if studied >= 12 {
                    continue;
                }
                studied += 1;
                let mut b = data.to_vec();
                for i in 0..b.len().min(96) {
                    let orig = b[i];
                    let flips = (0..8).map(|bit| orig ^ (1 << bit));
                    for v in [0, 0xff, orig.wrapping_add(1)].into_iter().chain(flips) {
                        b[i] = v;
                        mutated_taken += usize::from(agree(lt, &b, wirelen, Checksums::Verify));
                    }
                    b[i] = orig;
                }
                for cut in 0..b.len() {
                    // Cut by the snaplen, and a frame that is really this short.
                    agree(lt, &b[..cut], wirelen, Checksums::Verify);
                    agree(lt, &b[..cut], cut as u32, Checksums::Verify);
                }
                for w in [wirelen.saturating_sub(1), wirelen + 1, 0, u32::MAX] {
                    agree(lt, &b, w, Checksums::Verify);
                }
                // Other link types over the same bytes.
                for other in [0, 101, 113, 228] {
                    agree(other, &b, wirelen, Checksums::Verify);
                }
            }
        }
        // The comparison is not vacuous: most frames of these captures are common ones, and
        // many mutations leave a frame common.
        assert!(files.len() >= 40, "{} captures", files.len());
        assert!(
            taken * 2 > frames,
            "fast path took {taken} of {frames} frames"
        );
        assert!(
            mutated_taken > 10_000,
            "{mutated_taken} mutated frames taken"
        );
    }
}
