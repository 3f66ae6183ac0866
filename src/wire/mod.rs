//! Decoding one frame into owned, allocation-free values (link → IP → TCP/UDP/ICMP/ARP, with
//! VXLAN/Geneve and IP-in-IP decapsulation). Pure over `&[u8]`; never panics; every length is
//! checked before it is used.
//!
//! Truncation follows Wireshark's tvbuff model: each layer knows the bytes it has (captured)
//! and the bytes it should have (reported, from wirelen and the IP length fields). Running out
//! of captured bytes inside the reported length is the snaplen's doing (`short`); a header that
//! reaches past the reported length contradicts itself (`malformed`).

pub mod arp;
pub mod checksum;
mod fast;
pub mod icmp;
pub mod ip;
pub mod link;
pub mod numbers;
pub mod oui;
pub mod tcp;
pub mod udp;
pub mod wiretap_linktypes;

use std::fmt;
use std::net::IpAddr;

use numbers::{EtherType, IpProtocol, Tunnel};

pub use arp::ArpPacket;
pub use fast::Common;
pub use icmp::{IcmpMessage, Quoted};
pub use ip::{Fragment, IpHeader};
pub use tcp::{TcpFlags, TcpOptions, TcpSegment};
pub use udp::UdpDatagram;

/// What every header parser returns: what it could read (possibly only part of the header:
/// a cut TCP header still shows its ports) and the problem that stopped or marred it.
pub type Parsed<T> = (Option<T>, Option<Shortfall>);

/// How deep tunnels may nest before we stop decapsulating (a crafted frame could nest forever).
const MAX_NESTING: u8 = 4;

/// The frame's protocol as the contract names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    Arp,
    Other,
}

impl Proto {
    /// As the text report shows it.
    pub fn label(self) -> &'static str {
        match self {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
            Proto::Icmp => "ICMP",
            Proto::Icmpv6 => "ICMPv6",
            Proto::Arp => "ARP",
            Proto::Other => "OTHER",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
            Proto::Icmpv6 => "icmpv6",
            Proto::Arp => "arp",
            Proto::Other => "other",
        }
    }
}

/// Why a header could not be decoded, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError {
    pub layer: &'static str,
    pub problem: Problem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Fewer bytes than the header needs.
    Truncated { need: u32, have: u32 },
    /// A field holds a value the protocol forbids.
    BadField { field: &'static str, value: u32 },
    /// A length field points past what contains it.
    BadLength {
        field: &'static str,
        value: u32,
        limit: u32,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problem {
            Problem::Truncated { need, have } => {
                write!(f, "truncated {} header: {have} of {need} bytes", self.layer)
            }
            Problem::BadField { field, value } => {
                write!(f, "bad {} {field}: {value}", self.layer)
            }
            Problem::BadLength {
                field,
                value,
                limit,
            } => write!(
                f,
                "{} {field} {value} runs past the {limit} bytes that contain it",
                self.layer
            ),
        }
    }
}

/// A slice of a frame with the length the headers say it should have.
#[derive(Debug, Clone, Copy)]
pub struct Span<'a> {
    pub bytes: &'a [u8],
    /// Bytes that were on the wire for this layer (≥ bytes.len() unless headers disagree).
    pub reported: usize,
}

impl<'a> Span<'a> {
    pub fn new(bytes: &'a [u8], reported: usize) -> Self {
        Span {
            bytes,
            reported: reported.max(bytes.len()),
        }
    }

    /// Everything after the first `n` bytes (n ≤ bytes.len() checked by the caller).
    pub fn after(&self, n: usize) -> Span<'a> {
        let n = n.min(self.bytes.len());
        Span {
            bytes: &self.bytes[n..],
            reported: self.reported.saturating_sub(n),
        }
    }

    /// Limits both lengths to `len`, as Wireshark's `set_actual_length`: it can shrink, never grow.
    pub fn limit(&self, len: usize) -> Span<'a> {
        Span {
            bytes: &self.bytes[..len.min(self.bytes.len())],
            reported: self.reported.min(len),
        }
    }

    /// Checks that `need` bytes are present; classifies a shortfall as truncation by the
    /// snaplen (`Short`) or damage (`Malformed`).
    pub fn need(&self, layer: &'static str, need: usize) -> Result<(), Shortfall> {
        if self.bytes.len() >= need {
            return Ok(());
        }
        let err = DecodeError {
            layer,
            problem: Problem::Truncated {
                need: need as u32,
                have: self.bytes.len() as u32,
            },
        };
        if need <= self.reported {
            Err(Shortfall::Short(err))
        } else {
            Err(Shortfall::Malformed(err))
        }
    }
}

/// A header that could not be read whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortfall {
    /// The snaplen cut it: not damage.
    Short(DecodeError),
    /// The packet itself is damaged.
    Malformed(DecodeError),
}

/// The transport (or other top) layer of a frame.
#[derive(Debug, Clone, Copy)]
pub enum Transport<'a> {
    Tcp(TcpSegment<'a>),
    Udp(UdpDatagram<'a>),
    Icmp(IcmpMessage),
    Arp(ArpPacket),
    None,
}

impl Transport<'_> {
    /// The checksum verdict of a TCP segment or UDP datagram.
    pub fn checksum(&self) -> checksum::Checksum {
        match self {
            Transport::Tcp(seg) => seg.checksum,
            Transport::Udp(dg) => dg.checksum,
            _ => checksum::Checksum::Unverified,
        }
    }
}

/// Everything decoded from one frame.
#[derive(Debug, Clone, Copy)]
pub struct Decoded<'a> {
    pub proto: Proto,
    /// Ethernet source, destination and EtherType, for frames of an Ethernet link.
    pub ethernet: Option<([u8; 6], [u8; 6], u16)>,
    /// The IP header that carries the transport (the inner one in a tunnel).
    pub ip: Option<IpHeader>,
    /// The outermost IP header when the transport came out of a tunnel.
    pub outer: Option<IpHeader>,
    /// The tunnel the transport came out of (`vxlan`, `geneve`, `ip-in-ip`).
    pub tunnel: Option<Tunnel>,
    /// Ports of the outer UDP datagram of a VXLAN/Geneve tunnel.
    pub outer_udp_ports: Option<(u16, u16)>,
    /// That datagram's captured payload (the tunnel header and what it carries).
    pub outer_udp_payload: &'a [u8],
    pub transport: Transport<'a>,
    /// A fragment's bytes, when the fragment was captured whole (for reassembly).
    pub fragment: Option<&'a [u8]>,
    pub malformed: Option<DecodeError>,
    /// The snaplen cut a header short (Wireshark's `_ws.short`).
    pub short: Option<DecodeError>,
}

impl<'a> Decoded<'a> {
    fn empty() -> Self {
        Decoded {
            proto: Proto::Other,
            ethernet: None,
            ip: None,
            outer: None,
            tunnel: None,
            outer_udp_ports: None,
            outer_udp_payload: &[],
            transport: Transport::None,
            fragment: None,
            malformed: None,
            short: None,
        }
    }

    /// The transport's checksum verdict (`Unverified` for one without a checksum).
    pub fn checksum(&self) -> checksum::Checksum {
        self.transport.checksum()
    }

    fn shortfall(&mut self, s: Shortfall) {
        match s {
            Shortfall::Short(e) => {
                if self.short.is_none() {
                    self.short = Some(e)
                }
            }
            Shortfall::Malformed(e) => {
                if self.malformed.is_none() {
                    self.malformed = Some(e)
                }
            }
        }
    }
}

/// Whether a decode computes the transport's checksum verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksums {
    Verify,
    /// The frame was decoded before and its verdict (`Decoded::checksum`) is this: the
    /// thread that prints decodes again what the reader decoded, and summing every byte of
    /// every segment twice is waste.
    Known(checksum::Checksum),
}

/// How deep in tunnels a header is, and how checksums are found.
#[derive(Debug, Clone, Copy)]
struct Cx {
    depth: u8,
    checks: Checksums,
}

impl Cx {
    fn deeper(self) -> Cx {
        Cx {
            depth: self.depth + 1,
            ..self
        }
    }

    /// The verdict on a transport's checksum, computed only when it is not known.
    fn verdict(self, src: IpAddr, dst: IpAddr, protocol: u8, bytes: &[u8]) -> checksum::Checksum {
        match self.checks {
            Checksums::Verify => checksum::verdict(src, dst, protocol, bytes),
            Checksums::Known(c) => c,
        }
    }

    /// A TCP segment's verdict: only a segment captured whole, in one piece, can be checked
    /// (also one shorter than its own header, as tshark checks it).
    fn tcp_checksum(self, hdr: &IpHeader, payload: Span<'_>) -> checksum::Checksum {
        if hdr.fragment.more || payload.bytes.len() != payload.reported {
            return checksum::Checksum::Unverified;
        }
        self.verdict(hdr.src, hdr.dst, IpProtocol::Tcp.number(), payload.bytes)
    }

    /// A UDP datagram's verdict: over the length field's bytes when all were captured; a
    /// zero checksum field means the sender computed none.
    fn udp_checksum(
        self,
        hdr: &IpHeader,
        payload: Span<'_>,
        dg: &UdpDatagram<'_>,
    ) -> checksum::Checksum {
        match payload.bytes.get(..usize::from(dg.length)) {
            Some(b)
                if dg.header_complete
                    && !dg.bogus_length
                    && !hdr.fragment.more
                    && b.get(6..8).is_some_and(|c| c != [0, 0]) =>
            {
                self.verdict(hdr.src, hdr.dst, IpProtocol::Udp.number(), b)
            }
            _ => checksum::Checksum::Unverified,
        }
    }
}

/// Decodes a frame captured with link type `linktype`, `wirelen` bytes on the wire.
pub fn decode(linktype: u16, data: &[u8], wirelen: u32) -> Decoded<'_> {
    decode_with(linktype, data, wirelen, Checksums::Verify)
}

/// The IP header and transport of a common frame (untagged Ethernet II, IPv4 or IPv6 without
/// options, extensions or fragmentation, TCP or UDP, captured whole), checksums verified;
/// `None` for any other frame, which `decode` takes the long way. For a frame it takes,
/// these are exactly `decode`'s `ip` and `transport`, and nothing else of the decode is set.
pub fn decode_common(linktype: u16, data: &[u8], wirelen: u32) -> Option<fast::Common<'_>> {
    fast::common(
        linktype,
        data,
        wirelen,
        Cx {
            depth: 0,
            checks: Checksums::Verify,
        },
    )
}

/// `decode`, with the checksum verdict computed or given. A given verdict is the final
/// transport's (the one `Decoded::checksum` reports); a tunnel's outer datagram, which the
/// inner transport replaces, takes it too, without effect.
pub fn decode_with(linktype: u16, data: &[u8], wirelen: u32, checks: Checksums) -> Decoded<'_> {
    let cx = Cx { depth: 0, checks };
    if let Some(d) = fast::decode(linktype, data, wirelen, cx) {
        return d;
    }
    general(linktype, data, wirelen, cx)
}

/// An Ethernet frame's source, destination and EtherType (the outermost header's), when
/// its 14 bytes are there.
fn ethernet_fields(data: &[u8]) -> Option<([u8; 6], [u8; 6], u16)> {
    let mut dst = [0u8; 6];
    let mut src = [0u8; 6];
    dst.copy_from_slice(data.get(0..6)?);
    src.copy_from_slice(data.get(6..12)?);
    let t = data.get(12..14)?;
    Some((src, dst, u16::from_be_bytes([t[0], t[1]])))
}

/// Every frame the fast path leaves: link, network and transport dispatch.
fn general(linktype: u16, data: &[u8], wirelen: u32, cx: Cx) -> Decoded<'_> {
    let mut d = Decoded::empty();
    if (wirelen as usize) < data.len() {
        // Wireshark: "Frame length is less than captured length" (an error, malformed).
        d.malformed = Some(DecodeError {
            layer: "frame",
            problem: Problem::BadLength {
                field: "captured length",
                value: data.len() as u32,
                limit: wirelen,
            },
        });
    }
    if numbers::LinkType::from(linktype) == numbers::LinkType::Ethernet {
        d.ethernet = ethernet_fields(data);
    }
    let frame = Span::new(data, wirelen as usize);
    let mut warn = None;
    match link::network_layer(linktype, frame, &mut warn) {
        Ok(Some((net, span))) => decode_network(&mut d, net, span, cx),
        Ok(None) => {}
        Err(s) => d.shortfall(s),
    }
    if let Some(w) = warn {
        d.shortfall(w);
    }
    d
}

fn decode_network<'a>(d: &mut Decoded<'a>, net: link::Network, span: Span<'a>, cx: Cx) {
    match net {
        link::Network::Ipv4 | link::Network::Ipv6 => {
            // Wireshark's IPv4 dissector hands a packet whose version is 6 to IPv6
            // (`dissect_ip`), wherever IPv4 was announced: an EtherType, a link header, an
            // IP-in-IP protocol number. IPv6's does not return the favour.
            let v6_as_v4 = span.bytes.first().is_some_and(|b| b >> 4 == 6);
            let parsed = if net == link::Network::Ipv4 && !v6_as_v4 {
                ip::parse_v4(span)
            } else {
                ip::parse_v6(span)
            };
            let (datagram, problem) = parsed;
            if let Some(p) = problem {
                d.shortfall(p);
            }
            let Some((hdr, payload)) = datagram else {
                return;
            };
            if d.ip.is_some() && d.outer.is_none() {
                d.outer = d.ip;
            }
            d.ip = Some(hdr);
            if let Some(payload) = payload {
                decode_transport(d, hdr, payload, cx);
            }
        }
        link::Network::Arp => {
            d.proto = Proto::Arp;
            let (arp, problem) = arp::parse(span);
            if let Some(a) = arp {
                d.transport = Transport::Arp(a);
            }
            if let Some(s) = problem {
                d.shortfall(s);
            }
        }
    }
}

fn decode_transport<'a>(d: &mut Decoded<'a>, hdr: IpHeader, payload: Span<'a>, cx: Cx) {
    // A fragment's transport is decoded only once the datagram is whole (Wireshark
    // reassembles by default and dissects the transport in the completing frame).
    if hdr.fragment.offset != 0 || hdr.fragment.more {
        // Only a fragment whose bytes were all captured can be reassembled. A first
        // fragment the snaplen cut is dissected as it is (its length unknown), as
        // Wireshark does; later fragments carry no transport header.
        if payload.bytes.len() == payload.reported || hdr.fragment.offset != 0 {
            d.proto = Proto::Other;
            if payload.bytes.len() == payload.reported {
                d.fragment = Some(payload.bytes);
            }
            return;
        }
    }
    match IpProtocol::from(hdr.protocol) {
        IpProtocol::Tcp => {
            d.proto = Proto::Tcp;
            let (seg, problem) = tcp::parse(payload, hdr.fragment.more);
            if let Some(p) = problem {
                d.shortfall(p);
            }
            if let Some(mut seg) = seg {
                seg.checksum = cx.tcp_checksum(&hdr, payload);
                d.transport = Transport::Tcp(seg);
            }
        }
        IpProtocol::Udp => {
            d.proto = Proto::Udp;
            let (dg, problem) = udp::parse(payload, hdr.fragment.more);
            if let Some(p) = problem {
                d.shortfall(p);
            }
            if let Some(mut dg) = dg {
                dg.checksum = cx.udp_checksum(&hdr, payload, &dg);
                d.transport = Transport::Udp(dg);
                if cx.depth < MAX_NESTING
                    && let Some((tunnel, inner)) = udp::tunnel_payload(&dg)
                {
                    decapsulate(d, tunnel, inner, cx);
                }
            }
        }
        p @ (IpProtocol::Icmp | IpProtocol::Icmpv6) => {
            let v6 = p == IpProtocol::Icmpv6;
            d.proto = if v6 { Proto::Icmpv6 } else { Proto::Icmp };
            let (msg, problem) = icmp::parse(payload, v6);
            if let Some(p) = problem {
                d.shortfall(p);
            }
            if let Some(m) = msg {
                d.transport = Transport::Icmp(m);
            }
        }
        IpProtocol::Gre if cx.depth < MAX_NESTING => gre(d, payload, cx),
        p @ (IpProtocol::IpInIp | IpProtocol::Ipv6InIp) if cx.depth < MAX_NESTING => {
            let net = if p == IpProtocol::IpInIp {
                link::Network::Ipv4
            } else {
                link::Network::Ipv6
            };
            d.tunnel = Some(Tunnel::IpInIp);
            d.proto = Proto::Other;
            decode_network(d, net, payload, cx.deeper());
        }
        IpProtocol::Gre | IpProtocol::IpInIp | IpProtocol::Ipv6InIp | IpProtocol::Unknown(_) => {
            d.proto = Proto::Other
        }
    }
}

/// Replaces the outer UDP transport with what the tunnel carries, when it carries something.
/// GRE (RFC 2784/2890, RFC 1701's routing, PPTP's enhanced GRE of RFC 2637): the optional
/// checksum (with the offset), key, sequence and acknowledgement fields and source route
/// entries, then IPv4, IPv6, an Ethernet frame (0x6558, gretap), ERSPAN type II (an 8-byte
/// header, then Ethernet) or PPP (enhanced GRE). As tshark 4.0 reads it (`dissect_gre`): the
/// version field decides nothing; the flag bits say which fields are there, the
/// acknowledgement number only under PPP and 3GPP2 protocol types.
fn gre<'a>(d: &mut Decoded<'a>, span: Span<'a>, cx: Cx) {
    d.proto = Proto::Other;
    if let Err(s) = span.need("GRE", 4) {
        d.shortfall(s);
        return;
    }
    let flags = u16::from_be_bytes([span.bytes[0], span.bytes[1]]);
    let protocol = u16::from_be_bytes([span.bytes[2], span.bytes[3]]);
    let (checksum, routing, key, seq) = (
        flags & 0x8000 != 0,
        flags & 0x4000 != 0,
        flags & 0x2000 != 0,
        flags & 0x1000 != 0,
    );
    // PPP (PPTP), 3GPP2 and CDMA2000 A10 UBS carry an acknowledgement number when the bit
    // says (Wireshark's `is_ppp`).
    const ETHERTYPE_3GPP2: u16 = 0x88d2;
    const ETHERTYPE_CDMA2000_A10_UBS: u16 = 0x8881;
    let ack = flags & 0x0080 != 0
        && (matches!(EtherType::from(protocol), EtherType::Ppp)
            || matches!(protocol, ETHERTYPE_3GPP2 | ETHERTYPE_CDMA2000_A10_UBS));
    let mut len = 4
        + 4 * usize::from(checksum || routing)
        + 4 * usize::from(key)
        + 4 * usize::from(seq)
        + 4 * usize::from(ack);
    if routing {
        // Source route entries (address family, offset, length, information) up to the
        // one of family 0 and length 0.
        loop {
            let sre = span.after(len);
            if let Err(s) = sre.need("GRE routing", 4) {
                d.shortfall(s);
                return;
            }
            let (family, sre_len) = (
                u16::from_be_bytes([sre.bytes[0], sre.bytes[1]]),
                sre.bytes[3],
            );
            len += 4;
            if family == 0 && sre_len == 0 {
                break;
            }
            len += usize::from(sre_len);
        }
    }
    if let Err(s) = span.need("GRE", len) {
        d.shortfall(s);
        return;
    }
    // Without a sequence number there may be no payload at all.
    if !seq && span.reported <= len {
        return;
    }
    let inner = span.after(len);
    d.tunnel = Some(Tunnel::Gre);
    match EtherType::from(protocol) {
        EtherType::Ipv4 => decode_network(d, link::Network::Ipv4, inner, cx.deeper()),
        EtherType::Ipv6 => decode_network(d, link::Network::Ipv6, inner, cx.deeper()),
        EtherType::Bridged => decapsulate(d, Tunnel::Gre, inner, cx),
        // ERSPAN (either protocol type): its version field says which header follows, as
        // Wireshark reads it; another version is left undecoded.
        EtherType::Erspan | EtherType::Erspan3 => {
            if let Err(s) = inner.need("ERSPAN", 2) {
                d.shortfall(s);
                return;
            }
            match inner.bytes[0] >> 4 {
                1 => erspan2(d, inner, cx),
                2 => erspan3(d, inner, cx),
                _ => {}
            }
        }
        // PPP in enhanced GRE: address and control (0xff03) may be left out.
        EtherType::Ppp => {
            let ppp = match inner.bytes {
                [0xff, 0x03, ..] => inner.after(2),
                _ => inner,
            };
            if let Err(s) = ppp.need("PPP", 2) {
                d.shortfall(s);
                return;
            }
            match u16::from_be_bytes([ppp.bytes[0], ppp.bytes[1]]) {
                0x0021 => decode_network(d, link::Network::Ipv4, ppp.after(2), cx.deeper()),
                0x0057 => decode_network(d, link::Network::Ipv6, ppp.after(2), cx.deeper()),
                _ => {}
            }
        }
        EtherType::Arp
        | EtherType::Vlan
        | EtherType::Mpls
        | EtherType::PppoeSession
        | EtherType::Pbb
        | EtherType::FabricPath
        | EtherType::Unknown(_) => {}
    }
}

/// ERSPAN type II: version, VLAN, COS, session, index (8 bytes), then the frame.
fn erspan2<'a>(d: &mut Decoded<'a>, inner: Span<'a>, cx: Cx) {
    if let Err(s) = inner.need("ERSPAN", 8) {
        d.shortfall(s);
        return;
    }
    decapsulate(d, Tunnel::Erspan, inner.after(8), cx);
}

/// ERSPAN type III: 12 bytes (version, VLAN, COS, session, timestamp, SGT, flags), 8 more
/// when the O flag says a platform subheader follows; then the frame when the frame type is
/// Ethernet (0).
fn erspan3<'a>(d: &mut Decoded<'a>, inner: Span<'a>, cx: Cx) {
    if let Err(s) = inner.need("ERSPAN", 12) {
        d.shortfall(s);
        return;
    }
    let flags = u16::from_be_bytes([inner.bytes[10], inner.bytes[11]]);
    let frame_type = (flags >> 10) & 0x1f;
    let len = if flags & 1 == 1 { 20 } else { 12 };
    if let Err(s) = inner.need("ERSPAN", len) {
        d.shortfall(s);
        return;
    }
    if frame_type == 0 {
        decapsulate(d, Tunnel::Erspan, inner.after(len), cx);
    }
}

fn decapsulate<'a>(d: &mut Decoded<'a>, tunnel: Tunnel, inner: Span<'a>, cx: Cx) {
    let mut inner_d = Decoded::empty();
    // Teredo carries IPv6 itself; the others an Ethernet frame.
    let mut warn = None;
    let found = match tunnel {
        Tunnel::Teredo => Ok(Some((link::Network::Ipv6, inner))),
        Tunnel::Vxlan | Tunnel::Geneve | Tunnel::Gre | Tunnel::Erspan | Tunnel::IpInIp => {
            link::ethernet(inner, &mut warn)
        }
    };
    if let Some(w) = warn {
        d.shortfall(w);
    }
    match found {
        Ok(Some((net, span))) => decode_network(&mut inner_d, net, span, cx.deeper()),
        Ok(None) => return,
        Err(s) => {
            d.shortfall(s);
            return;
        }
    }
    if inner_d.ip.is_none() && !matches!(inner_d.transport, Transport::Arp(_)) {
        // No inner packet: the frame stays the outer datagram, but damage found inside
        // still counts (Wireshark's IPv6 dissector calls a Teredo payload of another
        // version bogus: malformed).
        d.malformed = d.malformed.or(inner_d.malformed);
        d.short = d.short.or(inner_d.short);
        return;
    }
    if let Transport::Udp(outer) = d.transport {
        d.outer_udp_ports = Some((outer.sport, outer.dport));
        d.outer_udp_payload = outer.payload;
    }
    d.outer = d.outer.or(d.ip);
    d.ip = inner_d.ip;
    d.proto = inner_d.proto;
    d.transport = inner_d.transport;
    d.tunnel = Some(tunnel);
    d.malformed = d.malformed.or(inner_d.malformed);
    d.short = d.short.or(inner_d.short);
}

/// Decodes the transport of a reassembled datagram; `frame` is the decode of the frame that
/// completed it (its link and IP facts are kept).
pub fn decode_reassembled<'a>(frame: &Decoded<'_>, datagram: &'a [u8]) -> Decoded<'a> {
    decode_reassembled_with(frame, datagram, Checksums::Verify)
}

/// `decode_reassembled`, with the checksum verdict computed or given (as `decode_with`).
pub fn decode_reassembled_with<'a>(
    frame: &Decoded<'_>,
    datagram: &'a [u8],
    checks: Checksums,
) -> Decoded<'a> {
    let cx = Cx { depth: 1, checks };
    let mut d = Decoded::empty();
    d.outer = frame.outer;
    d.tunnel = frame.tunnel;
    d.malformed = frame.malformed;
    d.short = frame.short;
    let Some(mut hdr) = frame.ip else { return d };
    hdr.fragment = Fragment::default();
    d.ip = Some(hdr);
    decode_transport(&mut d, hdr, Span::new(datagram, datagram.len()), cx);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ethernet/IPv4 (10.0.0.1 → 10.0.0.2, protocol 47) around `gre`.
    fn gre_frame(gre: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
        f.extend_from_slice(&((20 + gre.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0, 64, 47, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(gre);
        f
    }

    #[test]
    fn test_gre_key_and_inner_ipv4() {
        // Key present, IPv4 inside carrying UDP 1 → 2.
        let mut g = vec![0x20, 0x00, 0x08, 0x00, 0, 0, 0, 42];
        g.extend_from_slice(&[0x45, 0, 0, 30, 0, 0, 0, 0, 64, 17, 0, 0]);
        g.extend_from_slice(&[
            192, 0, 2, 1, 192, 0, 2, 2, 0, 1, 0, 2, 0, 10, 0, 0, b'h', b'i',
        ]);
        let f = gre_frame(&g);
        let d = decode(1, &f, f.len() as u32);
        assert_eq!(d.tunnel, Some(Tunnel::Gre));
        assert_eq!(d.proto, Proto::Udp);
        assert_eq!(
            d.ip.map(|i| i.src.to_string()).as_deref(),
            Some("192.0.2.1")
        );
        assert_eq!(
            d.outer.map(|i| i.src.to_string()).as_deref(),
            Some("10.0.0.1")
        );
    }

    #[test]
    fn test_gre_flags_claiming_more_than_the_frame() {
        // Checksum, key and sequence announced, 4 bytes there: malformed, frame still decoded.
        let f = gre_frame(&[0xb0, 0x00, 0x08, 0x00]);
        let d = decode(1, &f, f.len() as u32);
        assert!(d.malformed.is_some(), "{d:?}");
        assert!(d.ip.is_some());
        // Routing (RFC 1701) and unknown versions are not followed.
        let f = gre_frame(&[0x40, 0x00, 0x08, 0x00, 0, 0, 0, 0]);
        assert_eq!(decode(1, &f, f.len() as u32).tunnel, None);
        let f = gre_frame(&[0x00, 0x05, 0x08, 0x00]);
        assert_eq!(decode(1, &f, f.len() as u32).tunnel, None);
    }

    #[test]
    fn test_empty_frame_every_linktype() {
        for lt in [
            0u16, 1, 9, 12, 14, 50, 101, 104, 108, 113, 228, 229, 239, 258, 276, 9999,
        ] {
            let d = decode(lt, &[], 0);
            assert_eq!(d.proto, Proto::Other);
        }
    }

    #[test]
    fn test_every_prefix_of_a_frame_decodes_without_panic() {
        let frame = crate::wire::tcp::tests::ipv4_tcp_frame(b"hello");
        for n in 0..=frame.len() {
            let d = decode(1, &frame[..n], frame.len() as u32);
            assert!(d.malformed.is_none(), "cut at {n}: {:?}", d.malformed);
            // And the same prefix as if it were the whole frame: damage, never a panic.
            let _ = decode(1, &frame[..n], n as u32);
        }
    }

    #[test]
    fn test_ipv6_where_ipv4_was_announced_is_ipv6() {
        // Wireshark's IPv4 dissector passes version 6 on to IPv6; IPv6's does not pass
        // version 4 back.
        let v4 = crate::wire::tcp::tests::ipv4_tcp_frame(b"hello");
        let mut v6 = v4[..12].to_vec();
        v6.extend_from_slice(&[0x08, 0x00, 0x60, 0, 0, 0, 0, 8, 17, 64]);
        v6.extend_from_slice(&[0; 32]);
        v6.extend_from_slice(&[0, 1, 0, 2, 0, 8, 0, 0]);
        let d = decode(1, &v6, v6.len() as u32);
        assert_eq!((d.proto, d.ip.map(|h| h.version)), (Proto::Udp, Some(6)));
        assert!(d.malformed.is_none());
        let mut swapped = v4.clone();
        swapped[12..14].copy_from_slice(&[0x86, 0xdd]);
        let d = decode(1, &swapped, swapped.len() as u32);
        assert_eq!(d.proto, Proto::Other);
        assert!(d.malformed.is_some());
    }
}
