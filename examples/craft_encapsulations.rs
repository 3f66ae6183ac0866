//! Crafts the encapsulation fixtures in `captures/` (see its README): the classic demo's
//! frames (`classic-ipv4.pcap`) carried in MPLS, PPPoE, 802.1ah and GRE, built with
//! `pnet_packet`, since this machine's kernel has no MPLS, PPPoE or GRE devices to record
//! them with. Run: `cargo run --example craft_encapsulations` (writes into captures/).

use std::fs::File;
use std::io::{self, BufWriter, Write};

use pnet_packet::MutablePacket;
use pnet_packet::ethernet::{EtherType, MutableEthernetPacket};
use pnet_packet::gre::MutableGrePacket;
use pnet_packet::ip::{IpNextHeaderProtocol, IpNextHeaderProtocols};
use pnet_packet::ipv4::{self, MutableIpv4Packet};
use synack::capture::file::FileReader;

/// One record: time (s, µs) and the frame.
type Record = (i64, i32, Vec<u8>);

/// Builds a frame from a frame number, the original Ethernet header and its IP packet.
type Wrap<'a> = &'a dyn Fn(usize, &[u8], &[u8]) -> Vec<u8>;

fn write_pcap(path: &str, records: &[Record]) -> io::Result<()> {
    let mut w = BufWriter::new(File::create(path)?);
    // µs little-endian pcap, snaplen 262144, Ethernet.
    w.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
    w.write_all(&2u16.to_le_bytes())?;
    w.write_all(&4u16.to_le_bytes())?;
    w.write_all(&[0; 8])?;
    w.write_all(&262_144u32.to_le_bytes())?;
    w.write_all(&1u32.to_le_bytes())?;
    for (s, us, f) in records {
        w.write_all(&(*s as u32).to_le_bytes())?;
        w.write_all(&(*us as u32).to_le_bytes())?;
        w.write_all(&(f.len() as u32).to_le_bytes())?;
        w.write_all(&(f.len() as u32).to_le_bytes())?;
        w.write_all(f)?;
    }
    w.flush()
}

/// An Ethernet frame with `ethertype` around `payload`.
fn ethernet(ethertype: u16, payload: &[u8], mac: u8) -> Vec<u8> {
    let mut buf = vec![0u8; 14 + payload.len()];
    let mut e = MutableEthernetPacket::new(&mut buf).expect("buffer sized for the header");
    e.set_destination([2, 0, 0, 0, 0, mac].into());
    e.set_source([2, 0, 0, 0, 1, mac].into());
    e.set_ethertype(EtherType(ethertype));
    e.payload_mut().copy_from_slice(payload);
    buf
}

/// An IPv4 header (`id`, DF when `df`) from `src` to `dst` around `payload`.
fn ipv4_packet(
    protocol: IpNextHeaderProtocol,
    (src, dst): ([u8; 4], [u8; 4]),
    id: u16,
    df: bool,
    payload: &[u8],
) -> Vec<u8> {
    let mut buf = vec![0u8; 20 + payload.len()];
    let mut ip = MutableIpv4Packet::new(&mut buf).expect("buffer sized for the header");
    ip.set_version(4);
    ip.set_header_length(5);
    ip.set_total_length((20 + payload.len()) as u16);
    ip.set_identification(id);
    ip.set_flags(if df { 2 } else { 0 });
    ip.set_ttl(64);
    ip.set_next_level_protocol(protocol);
    ip.set_source(src.into());
    ip.set_destination(dst.into());
    ip.payload_mut().copy_from_slice(payload);
    let sum = ipv4::checksum(&ip.to_immutable());
    ip.set_checksum(sum);
    buf
}

/// An outer IPv4 header (10.99.0.1 → 10.99.0.2, protocol GRE) around `payload`.
fn outer_ipv4(payload: &[u8], id: u16) -> Vec<u8> {
    let ends = ([10, 99, 0, 1], [10, 99, 0, 2]);
    ipv4_packet(IpNextHeaderProtocols::Gre, ends, id, true, payload)
}

/// Ethernet's FCS (CRC-32, reflected, as IEEE 802.3 sends it least significant byte first).
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// An IPv4 header around a UDP datagram, between 10.0.0.1 (the Teredo client's side) and
/// 192.0.2.1 (a relay).
fn outer_udp(udp: &[u8], from_client: bool) -> Vec<u8> {
    let (a, b) = ([10, 0, 0, 1], [192, 0, 2, 1]);
    let ends = if from_client { (a, b) } else { (b, a) };
    ipv4_packet(IpNextHeaderProtocols::Udp, ends, 0, false, udp)
}

/// A GRE header with the given key and sequence number (either optional) around `payload`.
fn gre(protocol: u16, key: Option<u32>, seq: Option<u32>, payload: &[u8]) -> Vec<u8> {
    let len = 4 + 4 * usize::from(key.is_some()) + 4 * usize::from(seq.is_some());
    let mut buf = vec![0u8; len + payload.len()];
    let mut g = MutableGrePacket::new(&mut buf).expect("buffer sized for the header");
    g.set_key_present(u8::from(key.is_some()));
    g.set_sequence_present(u8::from(seq.is_some()));
    g.set_protocol_type(protocol);
    let mut at = 4;
    for v in [key, seq].into_iter().flatten() {
        buf[at..at + 4].copy_from_slice(&v.to_be_bytes());
        at += 4;
    }
    buf[len..].copy_from_slice(payload);
    buf
}

/// A TCP segment in IPv4 in Ethernet from `from` to `to` (address, port), its checksum right.
fn tcp_frame(
    from: ([u8; 4], u16),
    to: ([u8; 4], u16),
    (seq, ack, flags, window): (u32, u32, u8, u16),
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let hlen = 20 + options.len();
    let mut t = vec![0u8; hlen];
    t[0..2].copy_from_slice(&from.1.to_be_bytes());
    t[2..4].copy_from_slice(&to.1.to_be_bytes());
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[8..12].copy_from_slice(&ack.to_be_bytes());
    t[12] = ((hlen / 4) as u8) << 4;
    t[13] = flags;
    t[14..16].copy_from_slice(&window.to_be_bytes());
    t[20..].copy_from_slice(options);
    t.extend_from_slice(payload);
    let sum = {
        let tcp = pnet_packet::tcp::TcpPacket::new(&t).expect("a TCP header");
        pnet_packet::tcp::ipv4_checksum(&tcp, &from.0.into(), &to.0.into())
    };
    t[16..18].copy_from_slice(&sum.to_be_bytes());
    ethernet(
        0x0800,
        &ipv4_packet(IpNextHeaderProtocols::Tcp, (from.0, to.0), 1, true, &t),
        9,
    )
}

/// Short conversations between 10.0.0.1 and 10.0.0.2:80, each showing one of Wireshark's
/// rules for flags and options a normal stack never sends together (found by comparing
/// fuzzed captures with tshark 4.0): see captures/README.md.
fn odd_flags() -> Vec<Record> {
    const FIN: u8 = 0x01;
    const SYN: u8 = 0x02;
    const RST: u8 = 0x04;
    const PSH: u8 = 0x08;
    const ACK: u8 = 0x10;
    let ws = |shift: u8| [1, 3, 3, shift];
    let (c, srv) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let mut out: Vec<Record> = Vec::new();
    let mut us = 0;
    let mut seg =
        |port: u16, from_client: bool, tcp: (u32, u32, u8, u16), opt: &[u8], data: &[u8]| {
            let (a, b) = if from_client {
                ((c, port), (srv, 80))
            } else {
                ((srv, 80), (c, port))
            };
            us += 100;
            out.push((1_700_000_000, us, tcp_frame(a, b, tcp, opt, data)));
        };
    // The handshake agrees on shifts of 7; a SYN+ACK sent again without the option changes
    // nothing (only a sender whose shift is still unknown falls back to none): later windows
    // are still scaled.
    let p = 41001;
    seg(p, true, (1000, 0, SYN, 1000), &ws(7), b"");
    seg(p, false, (5000, 1001, SYN | ACK, 1000), &ws(7), b"");
    seg(p, true, (1001, 5001, ACK, 100), b"", b"");
    seg(p, false, (5000, 1001, SYN | ACK, 1000), b"", b"");
    seg(p, true, (1001, 5001, PSH | ACK, 100), b"", b"hello");
    seg(p, false, (5001, 1006, ACK, 50), b"", b"");
    seg(p, true, (1006, 5001, RST, 0), b"", b"");
    // A window scale option on a segment that is not a SYN: Wireshark takes it for the
    // sender's later segments, not for the one that carries it.
    let p = 41002;
    seg(p, true, (2000, 0, SYN, 1000), &ws(2), b"");
    seg(p, false, (6000, 2001, SYN | ACK, 1000), &ws(2), b"");
    seg(p, true, (2001, 6001, ACK, 100), &ws(5), b"");
    seg(p, true, (2001, 6001, PSH | ACK, 100), b"", b"hello");
    seg(p, false, (6001, 2006, ACK, 50), b"", b"");
    seg(p, true, (2006, 6001, RST, 0), b"", b"");
    // A SYN+ACK that also carries FIN and data: completeness counts the FIN (with the ACK
    // flag, as on any segment) but not the data (a SYN+ACK counts as SYN+ACK only).
    let p = 41003;
    seg(p, true, (3000, 0, SYN, 1000), b"", b"");
    seg(p, false, (7000, 3001, SYN | FIN | ACK, 1000), b"", b"data!");
    seg(p, true, (3001, 7007, ACK, 1000), b"", b"");
    seg(p, true, (3001, 7007, FIN | ACK, 1000), b"", b"");
    seg(p, false, (7007, 3002, ACK, 1000), b"", b"");
    // A SYN sent again with data after the connection's first segments: neither the SYN
    // nor its data counts any more.
    let p = 41004;
    seg(p, true, (4000, 0, SYN, 1000), b"", b"");
    seg(p, false, (8000, 4001, SYN | ACK, 1000), b"", b"");
    seg(p, true, (4000, 0, SYN, 1000), b"", b"early");
    seg(p, true, (4001, 8001, ACK, 1000), b"", b"");
    seg(p, true, (4001, 8001, RST | ACK, 0), b"", b"");
    // The ports used again by a SYN with another initial sequence number, which carries
    // data: the new conversation counts its SYN, not the data.
    let p = 41005;
    seg(p, true, (9000, 0, SYN, 1000), b"", b"");
    seg(p, false, (9500, 9001, SYN | ACK, 1000), b"", b"");
    seg(p, true, (9001, 9501, ACK, 1000), b"", b"");
    seg(p, true, (19000, 0, SYN, 1000), b"", b"again");
    seg(p, false, (19500, 19006, SYN | ACK, 1000), b"", b"");
    seg(p, true, (19006, 19501, ACK, 1000), b"", b"");
    out
}

fn main() -> io::Result<()> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/captures");
    let src = File::open(format!("{dir}/classic-ipv4.pcap"))?;
    let mut reader = FileReader::new(src).map_err(|e| io::Error::other(e.to_string()))?;
    let mut frames = Vec::new();
    while let Ok(Some(f)) = reader.next_frame() {
        frames.push((f.meta.ts.secs, f.meta.ts.nsecs / 1000, f.data.to_vec()));
    }
    let craft = |name: &str, wrap: Wrap<'_>| {
        let out: Vec<Record> = frames
            .iter()
            .enumerate()
            .map(|(i, (s, us, f))| (*s, *us, wrap(i, &f[..14], &f[14..])))
            .collect();
        write_pcap(&format!("{dir}/{name}"), &out)
    };
    // MPLS: one label (bottom of stack), then the IPv4 packet; and a two-label stack.
    craft("mpls.pcap", &|_, _, ip| {
        let mut p = vec![0x00, 0x06, 0x41, 64]; // label 100, S=1, TTL 64
        p.extend_from_slice(ip);
        ethernet(0x8847, &p, 1)
    })?;
    craft("mpls-two-labels.pcap", &|_, _, ip| {
        let mut p = vec![0x00, 0x3e, 0x80, 64, 0x00, 0x06, 0x41, 63]; // 1000, then 100 (S=1)
        p.extend_from_slice(ip);
        ethernet(0x8847, &p, 2)
    })?;
    // Ethernet pseudowires over MPLS, as Wireshark guesses them: locally administered MAC
    // addresses behind a control word (4 zero bytes); vendor (Intel) addresses without one.
    craft("mpls-pw-cw.pcap", &|_, eth, ip| {
        let mut p = vec![0x00, 0x07, 0xd1, 64, 0, 0, 0, 0]; // label 125, S=1; control word
        p.extend_from_slice(&[
            0x02, 0, 0xff, 0xff, 0xff, 0x0a, 0x02, 0, 0xff, 0xff, 0xff, 0x0b,
        ]);
        p.extend_from_slice(&eth[12..]);
        p.extend_from_slice(ip);
        ethernet(0x8847, &p, 10)
    })?;
    craft("mpls-pw-nocw.pcap", &|_, eth, ip| {
        let mut p = vec![0x00, 0x07, 0xe1, 64]; // label 126, S=1
        p.extend_from_slice(&[0x00, 0x1b, 0x21, 0, 0, 0x0a, 0x3c, 0xfd, 0xfe, 0, 0, 0x0b]);
        p.extend_from_slice(&eth[12..]);
        p.extend_from_slice(ip);
        ethernet(0x8847, &p, 11)
    })?;
    // PPPoE session (RFC 2516) with PPP's IPv4 protocol number, behind an 802.1Q tag.
    craft("pppoe-vlan.pcap", &|_, _, ip| {
        let mut p = vec![0x00, 0x0a, 0x88, 0x64]; // VLAN 10, then PPPoE session
        p.extend_from_slice(&[0x11, 0x00, 0x12, 0x34]);
        p.extend_from_slice(&((ip.len() + 2) as u16).to_be_bytes());
        p.extend_from_slice(&[0x00, 0x21]);
        p.extend_from_slice(ip);
        ethernet(0x8100, &p, 3)
    })?;
    // 802.1ah provider backbone bridging: the I-tag, then the customer's Ethernet frame.
    craft("pbb.pcap", &|_, eth, ip| {
        let mut p = vec![0x00, 0x00, 0x01, 0x00]; // I-SID 256
        p.extend_from_slice(eth);
        p.extend_from_slice(ip);
        ethernet(0x88e7, &p, 4)
    })?;
    // GRE with a key carrying the IPv4 packets; gretap (0x6558) with sequence numbers
    // carrying the whole Ethernet frames.
    craft("gre-ipv4.pcap", &|i, _, ip| {
        let g = gre(0x0800, Some(42), None, ip);
        ethernet(0x0800, &outer_ipv4(&g, i as u16), 5)
    })?;
    craft("gretap.pcap", &|i, eth, ip| {
        let mut inner = eth.to_vec();
        inner.extend_from_slice(ip);
        let g = gre(0x6558, None, Some(i as u32), &inner);
        ethernet(0x0800, &outer_ipv4(&g, i as u16), 6)
    })?;
    // ERSPAN type III (GRE protocol 0x22eb, with sequence numbers): version 2, session 1,
    // a timestamp, frame type Ethernet, no platform subheader; then the mirrored frame.
    craft("erspan3.pcap", &|i, eth, ip| {
        let mut p = vec![0x20, 0x00, 0x00, 0x01];
        p.extend_from_slice(&(123_456 + i as u32).to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 0]);
        p.extend_from_slice(eth);
        p.extend_from_slice(ip);
        let g = gre(0x22eb, None, Some(i as u32), &p);
        ethernet(0x0800, &outer_ipv4(&g, i as u16), 9)
    })?;
    // Sequence numbers that wrap: the same conversation with both ISNs moved to just below
    // 2^32, so that the data crosses the wrap in both directions (checksums recomputed).
    let field = |f: &[u8], at: usize| u32::from_be_bytes([f[at], f[at + 1], f[at + 2], f[at + 3]]);
    let client_isn = field(&frames[0].2, 38);
    let server_isn = field(&frames[1].2, 38);
    let client_port = u16::from_be_bytes([frames[0].2[34], frames[0].2[35]]);
    craft("seq-wrap.pcap", &|_, eth, ip| {
        let mut p = ip.to_vec();
        if p[9] == 6 {
            let from_client = u16::from_be_bytes([p[20], p[21]]) == client_port;
            let to_client = 0xffff_fffcu32.wrapping_sub(client_isn);
            let to_server = 0xffff_fff0u32.wrapping_sub(server_isn);
            let (mine, theirs) = if from_client {
                (to_client, to_server)
            } else {
                (to_server, to_client)
            };
            let seq = field(&p, 24).wrapping_add(mine);
            p[24..28].copy_from_slice(&seq.to_be_bytes());
            if p[33] & 0x10 != 0 {
                let ack = field(&p, 28).wrapping_add(theirs);
                p[28..32].copy_from_slice(&ack.to_be_bytes());
            }
            let src = [p[12], p[13], p[14], p[15]].into();
            let dst = [p[16], p[17], p[18], p[19]].into();
            p[36] = 0;
            p[37] = 0;
            let sum = {
                let tcp = pnet_packet::tcp::TcpPacket::new(&p[20..]).expect("a TCP header");
                pnet_packet::tcp::ipv4_checksum(&tcp, &src, &dst)
            };
            p[36..38].copy_from_slice(&sum.to_be_bytes());
        }
        let mut f = eth.to_vec();
        f.extend_from_slice(&p);
        f
    })?;
    // The SYN+ACK and the client's FIN sent twice, 5 µs apart (within the out-of-order
    // threshold: 3 ms before the iRTT is known, the iRTT of 27 µs after): a repeated SYN or
    // FIN is a retransmission in Wireshark's count, not out-of-order.
    let mut dups: Vec<Record> = Vec::new();
    for (i, (s, us, f)) in frames.iter().enumerate() {
        dups.push((*s, *us, f.clone()));
        if i == 1 || i == 11 {
            dups.push((*s, *us + 5, f.clone()));
        }
    }
    write_pcap(&format!("{dir}/dup-synack-fin.pcap"), &dups)?;
    // Cisco FabricPath: a 16-byte header (outer addresses, EtherType 0x8903, FTag and TTL)
    // in front of each whole frame, which keeps its FCS.
    craft("fabricpath.pcap", &|_, eth, ip| {
        let mut inner = eth.to_vec();
        inner.extend_from_slice(ip);
        let fcs = crc32(&inner);
        let mut p = vec![0x00, 0x3f]; // FTag 0, TTL 63
        p.extend_from_slice(&inner);
        p.extend_from_slice(&fcs.to_le_bytes());
        ethernet(0x8903, &p, 7)
    })?;
    // Teredo (RFC 4380): the IPv6 demo's packets in UDP port 3544 over IPv4, those from the
    // server behind an origin indication (what a Teredo relay adds).
    let src6 = File::open(format!("{dir}/classic-ipv6.pcap"))?;
    let mut reader6 = FileReader::new(src6).map_err(|e| io::Error::other(e.to_string()))?;
    let mut teredo: Vec<Record> = Vec::new();
    let mut client_port = None;
    while let Ok(Some(f)) = reader6.next_frame() {
        let ip6 = &f.data[14..];
        let sport = u16::from_be_bytes([ip6[40], ip6[41]]);
        let from_client = *client_port.get_or_insert(sport) == sport;
        let mut udp_payload = Vec::new();
        if !from_client {
            // Origin indication: type 0, the obfuscated port and IPv4 address.
            udp_payload.extend_from_slice(&[0, 0, 0xbf, 0x0b, 0x3f, 0xff, 0xff, 0xfe]);
        }
        udp_payload.extend_from_slice(ip6);
        let (sp, dp) = if from_client {
            (40000, 3544)
        } else {
            (3544, 40000)
        };
        let mut udp = vec![0u8; 8];
        udp[0..2].copy_from_slice(&u16::to_be_bytes(sp));
        udp[2..4].copy_from_slice(&u16::to_be_bytes(dp));
        udp[4..6].copy_from_slice(&((8 + udp_payload.len()) as u16).to_be_bytes());
        udp.extend_from_slice(&udp_payload);
        let frame = ethernet(0x0800, &outer_udp(&udp, from_client), 8);
        teredo.push((f.meta.ts.secs, f.meta.ts.nsecs / 1000, frame));
    }
    write_pcap(&format!("{dir}/teredo.pcap"), &teredo)?;
    write_pcap(&format!("{dir}/odd-flags.pcap"), &odd_flags())?;
    println!(
        "wrote mpls.pcap mpls-two-labels.pcap mpls-pw-cw.pcap mpls-pw-nocw.pcap pppoe-vlan.pcap pbb.pcap gre-ipv4.pcap gretap.pcap \
         erspan3.pcap seq-wrap.pcap dup-synack-fin.pcap fabricpath.pcap teredo.pcap odd-flags.pcap"
    );
    Ok(())
}
