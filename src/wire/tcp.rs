//! TCP header and options (MSS, window scale, SACK-permitted, SACK blocks, timestamps, TFO;
//! every other kind kept as `Unknown(kind)`), decoded as far as the captured bytes go.

use std::cmp::Ordering;
use std::ops::{Add, Sub};

use super::{DecodeError, Parsed, Problem, Shortfall, Span};

pub const FIN: u16 = 0x001;
pub const SYN: u16 = 0x002;
pub const RST: u16 = 0x004;
pub const PSH: u16 = 0x008;
pub const ACK: u16 = 0x010;
pub const URG: u16 = 0x020;
pub const ECE: u16 = 0x040;
pub const CWR: u16 = 0x080;

/// The 12 flag bits (`tcp.flags`), including NS/AE and the reserved bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    pub fn has(self, f: u16) -> bool {
        self.0 & f != 0
    }
    pub fn syn(self) -> bool {
        self.has(SYN)
    }
    pub fn ack(self) -> bool {
        self.has(ACK)
    }
    pub fn fin(self) -> bool {
        self.has(FIN)
    }
    pub fn rst(self) -> bool {
        self.has(RST)
    }

    /// `write_names`' text, from a table made once: every line names its flags, and the
    /// walk over eight bits costs more than the rest of the member.
    pub fn names(self) -> &'static str {
        static NAMES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
            (0..=255u16)
                .map(|bits| {
                    let mut s = String::new();
                    let _ = TcpFlags(bits).write_names(&mut s);
                    s
                })
                .collect()
        });
        NAMES
            .get(usize::from(self.0 & 0xff))
            .map_or("", String::as_str)
    }

    /// Names joined by `+` in the contract's order: SYN FIN RST PSH ACK URG ECE CWR.
    pub fn write_names(self, out: &mut impl std::fmt::Write) -> std::fmt::Result {
        let mut first = true;
        for (bit, name) in [
            (SYN, "SYN"),
            (FIN, "FIN"),
            (RST, "RST"),
            (PSH, "PSH"),
            (ACK, "ACK"),
            (URG, "URG"),
            (ECE, "ECE"),
            (CWR, "CWR"),
        ] {
            if self.has(bit) {
                if !first {
                    out.write_char('+')?;
                }
                out.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

/// Decoded options. Fixed-size so decoding never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpOptions {
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_perm: bool,
    pub ts: Option<(u32, u32)>,
    /// The TSval of a timestamp option the frame ends inside, after its TSval: tshark shows
    /// that value alone before its dissection runs out of bytes.
    pub ts_val_cut: Option<u32>,
    pub sack: [(u32, u32); 4],
    pub sack_count: u8,
    /// TCP Fast Open: cookie length (0 = cookie request).
    pub tfo: Option<u8>,
    /// Kinds we do not decode (MPTCP = 30, MD5 = 19, experimental 253/254, …).
    pub unknown: [u8; 8],
    pub unknown_count: u8,
    /// An option whose length byte contradicts the header (offset within the options).
    pub bad_at: Option<u8>,
    /// The kind of an option whose own fields run past its length, where tshark's dissection
    /// throws (a SACK without a whole block, an MPTCP option too short for its subtype): the
    /// frame is malformed, the options after it are not read and the analysis is not shown.
    pub threw: Option<u8>,
    /// The length of a SACK with bytes after its whole blocks (tshark: "suboption would go
    /// past end of option", malformed, but the dissection goes on).
    pub sack_leftover: Option<u8>,
}

impl TcpOptions {
    /// What is wrong with the options as tshark finds it (all three forms are malformed):
    /// a length byte that contradicts the header, bytes after a SACK's whole blocks, an
    /// option whose dissection throws.
    pub fn problem(&self) -> Option<Problem> {
        let (field, value) = if let Some(at) = self.bad_at {
            ("option length at option offset", at)
        } else if let Some(len) = self.sack_leftover {
            ("SACK option length", len)
        } else if let Some(kind) = self.threw {
            ("option shorter than its fields, kind", kind)
        } else {
            return None;
        };
        Some(Problem::BadField {
            field,
            value: u32::from(value),
        })
    }

    pub fn sack_blocks(&self) -> &[(u32, u32)] {
        &self.sack[..self.sack_count as usize]
    }
    pub fn unknown_kinds(&self) -> &[u8] {
        &self.unknown[..self.unknown_count as usize]
    }
    pub fn is_empty(&self) -> bool {
        self.mss.is_none()
            && self.wscale.is_none()
            && !self.sack_perm
            && self.ts.is_none()
            && self.ts_val_cut.is_none()
            && self.sack_count == 0
            && self.tfo.is_none()
            && self.unknown_count == 0
    }
}

/// A sequence or acknowledgement number: a wrapping type compared modulo 2³² (RFC 9293
/// §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl Add<u32> for SeqNumber {
    type Output = SeqNumber;
    fn add(self, n: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(n))
    }
}

impl Sub<u32> for SeqNumber {
    type Output = SeqNumber;
    fn sub(self, n: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(n))
    }
}

impl Sub for SeqNumber {
    type Output = u32;
    /// Distance from `rhs` forward to `self`.
    fn sub(self, rhs: SeqNumber) -> u32 {
        self.0.wrapping_sub(rhs.0)
    }
}

impl PartialOrd for SeqNumber {
    /// `a < b` when b lies less than 2³¹ ahead of a: the only order that survives wrap-around.
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        let d = self.0.wrapping_sub(other.0) as i32;
        Some(d.cmp(&0))
    }

    // The four comparisons are Wireshark's macros (`LT_SEQ`, `LE_SEQ`, `GT_SEQ`, `GE_SEQ` in
    // packet-tcp.h), which differ from the order above only for numbers exactly 2³¹ apart:
    // `GT_SEQ(a, b)` and `GE_SEQ(a, b)` subtract the other way round, so there `a < b` and
    // `a > b` both hold (a damaged ACK field 2³¹ from the expected one is "beyond" it).

    fn lt(&self, other: &Self) -> bool {
        (self.0.wrapping_sub(other.0) as i32) < 0
    }

    fn le(&self, other: &Self) -> bool {
        (self.0.wrapping_sub(other.0) as i32) <= 0
    }

    fn gt(&self, other: &Self) -> bool {
        (other.0.wrapping_sub(self.0) as i32) < 0
    }

    fn ge(&self, other: &Self) -> bool {
        (other.0.wrapping_sub(self.0) as i32) <= 0
    }
}

/// The fixed header fields after the ports; present when the frame holds 16 bytes of TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpFixed {
    pub seq: SeqNumber,
    pub ack: SeqNumber,
    /// Data offset in bytes (4 × the header field).
    pub header_len: u8,
    pub flags: TcpFlags,
    pub window: u16,
}

impl TcpFixed {
    /// A data offset below 5 words: Wireshark stops after seq and the segment length.
    pub fn bogus_offset(&self) -> bool {
        self.header_len < 20
    }
}

#[derive(Debug, Clone, Copy)]
pub struct TcpSegment<'a> {
    pub sport: u16,
    pub dport: u16,
    pub fixed: Option<TcpFixed>,
    pub options: TcpOptions,
    /// Segment length from the IP length fields (`tcp.len`); None for fragments and when
    /// the segment is shorter than its own header.
    pub len: Option<u32>,
    /// The captured part of the payload.
    pub payload: &'a [u8],
    /// Every header and option byte was captured (Wireshark then prints its analysis).
    pub header_complete: bool,
    /// Set by the caller, which knows the IP pseudo-header.
    pub checksum: super::checksum::Checksum,
}

impl TcpSegment<'_> {
    /// tshark dissected the whole header, options included: only then does it show the
    /// segment's analysis and hand its payload to Follow.
    pub fn dissected_whole(&self) -> bool {
        self.header_complete && self.options.threw.is_none()
    }
}

fn malformed(problem: Problem) -> Shortfall {
    Shortfall::Malformed(DecodeError {
        layer: "TCP",
        problem,
    })
}

/// Where the fixed header's fields are (RFC 9293 §3.1), named once.
mod field {
    use std::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ: Range<usize> = 4..8;
    pub const ACK: Range<usize> = 8..12;
    /// Data offset (high nibble of the first byte) and the twelve flag bits.
    pub const OFFSET_FLAGS: Range<usize> = 12..14;
    pub const WINDOW: Range<usize> = 14..16;
    /// The options start after the 20-byte fixed header.
    pub const OPTIONS: usize = 20;
}

fn be16(b: &[u8], r: std::ops::Range<usize>) -> u16 {
    let mut x = [0u8; 2];
    x.copy_from_slice(&b[r]);
    u16::from_be_bytes(x)
}

fn be32(b: &[u8], r: std::ops::Range<usize>) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[r]);
    u32::from_be_bytes(x)
}

/// Parses a TCP segment; `fragmented` when more IP fragments follow (length unknown).
/// The fixed fields from the sequence number through the window, when the 16 bytes that
/// reach through the window are there: enough for everything Wireshark shows of a cut
/// header.
pub fn fixed_fields(b: &[u8]) -> Option<TcpFixed> {
    if b.len() < 16 {
        return None;
    }
    let offset_flags = be16(b, field::OFFSET_FLAGS);
    Some(TcpFixed {
        seq: SeqNumber(be32(b, field::SEQ)),
        ack: SeqNumber(be32(b, field::ACK)),
        header_len: (offset_flags >> 12) as u8 * 4,
        flags: TcpFlags(offset_flags & 0x0fff),
        window: be16(b, field::WINDOW),
    })
}

pub fn parse(span: Span<'_>, fragmented: bool) -> Parsed<TcpSegment<'_>> {
    if let Err(s) = span.need("TCP", 4) {
        return (None, Some(s));
    }
    let b = span.bytes;
    let mut seg = TcpSegment {
        sport: be16(b, field::SRC_PORT),
        dport: be16(b, field::DST_PORT),
        fixed: None,
        options: TcpOptions::default(),
        len: None,
        payload: &[],
        header_complete: false,
        checksum: super::checksum::Checksum::Unverified,
    };
    let Some(fixed) = fixed_fields(b) else {
        return (Some(seg), span.need("TCP", 20).err());
    };
    seg.fixed = Some(fixed);
    let hlen = fixed.header_len as usize;
    if !fragmented && span.reported >= hlen {
        seg.len = Some((span.reported - hlen) as u32);
    }
    if fixed.bogus_offset() {
        return (
            Some(seg),
            Some(malformed(Problem::BadField {
                field: "data offset",
                value: hlen as u32,
            })),
        );
    }
    if let Err(s) = span.need("TCP", 20) {
        return (Some(seg), Some(s));
    }
    if hlen > span.reported && !fragmented {
        // A segment shorter than its own header: Wireshark still reads the options that
        // are there, then reports the short segment.
        let end = hlen.min(b.len()).min(span.reported);
        seg.options = parse_options_in(
            &b[field::OPTIONS..end.max(field::OPTIONS)],
            hlen - field::OPTIONS,
        );
        return (
            Some(seg),
            Some(malformed(Problem::BadLength {
                field: "data offset",
                value: hlen as u32,
                limit: span.reported as u32,
            })),
        );
    }
    let opt_end = hlen.min(b.len());
    seg.options = parse_options_in(&b[field::OPTIONS..opt_end], hlen - field::OPTIONS);
    let mut problem = None;
    if let Err(s) = span.need("TCP", hlen) {
        problem = Some(s);
    } else {
        seg.payload = &b[hlen..];
        seg.header_complete = hlen <= span.reported;
    }
    if problem.is_none()
        && let Some(p) = seg.options.problem()
    {
        problem = Some(malformed(p));
    }
    (Some(seg), problem)
}

/// Whether tshark 4.0's dissection of option `kind` with value `v` (the bytes after kind and
/// length) throws, as measured over every length of each: a SACK without one whole block
/// (8 bytes; bytes after whole blocks only draw a warning), and an MPTCP option without its
/// subtype, or too short for it (MP_CAPABLE, DSS, ADD_ADDR and MP_TCPRST need a byte after
/// it, MP_FASTCLOSE and MP_FAIL ten bytes).
fn option_throws(kind: u8, v: &[u8]) -> bool {
    match kind {
        5 => v.len() < 8,
        30 => match v.first().map(|b| b >> 4) {
            None => true,
            Some(0 | 2 | 3 | 8) => v.len() < 2,
            Some(6 | 7) => v.len() < 10,
            Some(_) => false,
        },
        _ => false,
    }
}

/// Walks the option list. Stops at EOL, at the first option whose length is impossible and
/// at the first whose dissection throws in tshark.
pub fn parse_options(opts: &[u8]) -> TcpOptions {
    parse_options_in(opts, opts.len())
}

/// `parse_options` of a header whose data offset gives `region` bytes of options, of which
/// the frame holds `opts`. An option that fits the region but not the frame is read as far
/// as tshark reads it before it runs out of bytes (a timestamp's TSval), and ends the walk;
/// only a length past the region is an impossible one.
pub fn parse_options_in(opts: &[u8], region: usize) -> TcpOptions {
    let mut o = TcpOptions::default();
    let mut i = 0usize;
    while i < opts.len() {
        let kind = opts[i];
        match kind {
            0 => break,
            1 => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let Some(&len) = opts.get(i + 1) else {
            if i + 1 >= region {
                o.bad_at = Some(i as u8);
            }
            break;
        };
        let len = len as usize;
        if len < 2 || i + len > region {
            o.bad_at = Some(i as u8);
            break;
        }
        if i + len > opts.len() {
            if kind == 8 && len == 10 && i + 6 <= opts.len() {
                o.ts_val_cut = Some(u32::from_be_bytes([
                    opts[i + 2],
                    opts[i + 3],
                    opts[i + 4],
                    opts[i + 5],
                ]));
            }
            break;
        }
        let v = &opts[i + 2..i + len];
        if option_throws(kind, v) {
            o.threw = Some(kind);
            break;
        }
        match (kind, len) {
            (2, 4) => o.mss = Some(u16::from_be_bytes([v[0], v[1]])),
            (3, 3) => o.wscale = Some(v[0]),
            // Any length: tshark shows the option (and warns of the length).
            (4, _) => o.sack_perm = true,
            (5, _) => {
                if !v.len().is_multiple_of(8) {
                    o.sack_leftover = Some(len as u8);
                }
                for blk in v.chunks_exact(8) {
                    if (o.sack_count as usize) < o.sack.len() {
                        o.sack[o.sack_count as usize] = (
                            u32::from_be_bytes([blk[0], blk[1], blk[2], blk[3]]),
                            u32::from_be_bytes([blk[4], blk[5], blk[6], blk[7]]),
                        );
                        o.sack_count += 1;
                    }
                }
            }
            (8, 10) => {
                o.ts = Some((
                    u32::from_be_bytes([v[0], v[1], v[2], v[3]]),
                    u32::from_be_bytes([v[4], v[5], v[6], v[7]]),
                ))
            }
            (34, _) => o.tfo = Some((len - 2) as u8),
            _ => {
                if (o.unknown_count as usize) < o.unknown.len() {
                    o.unknown[o.unknown_count as usize] = kind;
                    o.unknown_count += 1;
                }
            }
        }
        i += len;
    }
    o
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An Ethernet + IPv4 + TCP (PSH+ACK, timestamps) frame carrying `payload`.
    pub(crate) fn ipv4_tcp_frame(payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        let total = (20 + 32 + payload.len()) as u16;
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&[0, 1, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
        f.extend_from_slice(&[0x30, 0x39, 0xc0, 0x00]); // 12345 → 49152
        f.extend_from_slice(&1000u32.to_be_bytes());
        f.extend_from_slice(&2000u32.to_be_bytes());
        f.extend_from_slice(&[0x80, 0x18, 0x02, 0x00, 0, 0, 0, 0]);
        f.extend_from_slice(&[1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6]);
        f.extend_from_slice(payload);
        f
    }

    fn seg(bytes: &[u8], reported: usize) -> (Option<TcpSegment<'_>>, Option<Shortfall>) {
        parse(Span::new(bytes, reported), false)
    }

    #[test]
    fn test_full_segment() {
        let f = ipv4_tcp_frame(b"hi");
        let (s, e) = seg(&f[34..], f.len() - 34);
        let s = s.expect("test data");
        assert!(e.is_none());
        let fx = s.fixed.expect("test data");
        assert_eq!(
            (s.sport, s.dport, fx.seq.0, fx.ack.0),
            (12345, 49152, 1000, 2000)
        );
        assert_eq!(fx.flags.0, PSH | ACK);
        assert_eq!(s.len, Some(2));
        assert_eq!(s.options.ts, Some((5, 6)));
        assert_eq!(s.payload, b"hi");
    }

    #[test]
    fn test_truncated() {
        let f = ipv4_tcp_frame(b"hello");
        let t = &f[34..];
        // 12 bytes of a 20-byte header, cut by the snaplen: ports only, not malformed.
        let (s, e) = seg(&t[..12], t.len());
        assert!(s.expect("test data").fixed.is_none());
        assert!(matches!(e, Some(Shortfall::Short(_))));
        // Cut inside the options: fixed fields and length still known.
        let (s, e) = seg(&t[..24], t.len());
        let s = s.expect("test data");
        assert_eq!(s.len, Some(5));
        assert!(matches!(e, Some(Shortfall::Short(_))));
    }

    #[test]
    fn test_option_cut_by_the_frame_end_is_read_as_far_as_tshark_reads_it() {
        // NOP, NOP, timestamps (10 bytes) in a 12-byte option region.
        let opts = [1u8, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9];
        assert_eq!(parse_options_in(&opts, 12).ts, Some((7, 9)));
        // The frame ends after the TSval: that value alone, and no impossible length.
        let o = parse_options_in(&opts[..8], 12);
        assert_eq!((o.ts, o.ts_val_cut, o.bad_at), (None, Some(7), None));
        assert!(!o.is_empty());
        // ...or inside it: nothing.
        let o = parse_options_in(&opts[..7], 12);
        assert_eq!((o.ts, o.ts_val_cut, o.bad_at), (None, None, None));
        // A length past the region (the data offset) is impossible, whatever the frame holds.
        let o = parse_options_in(&opts, 10);
        assert_eq!((o.ts_val_cut, o.bad_at), (None, Some(2)));
    }

    #[test]
    fn test_bad_data_offset() {
        let f = ipv4_tcp_frame(b"");
        let mut t = f[34..].to_vec();
        t[12] = 0x40; // 16 bytes
        let (s, e) = seg(&t, t.len());
        let s = s.expect("test data");
        assert_eq!(s.len, Some(32 - 16));
        assert!(s.fixed.expect("test data").bogus_offset());
        assert!(matches!(e, Some(Shortfall::Malformed(_))));
    }

    #[test]
    fn test_data_offset_beyond_segment() {
        let f = ipv4_tcp_frame(b"");
        let mut t = f[34..].to_vec();
        t[12] = 0xf0; // 60 bytes of header in a 32-byte segment
        let (s, e) = seg(&t, t.len());
        assert_eq!(s.expect("test data").len, None);
        assert!(matches!(e, Some(Shortfall::Malformed(_))));
    }

    #[test]
    fn test_unknown_options() {
        let o = parse_options(&[30, 4, 0, 0, 1, 253, 4, 0xf9, 0x89, 2, 4, 5, 0xb4]);
        assert_eq!(o.unknown_kinds(), &[30, 253]);
        assert_eq!(o.mss, Some(1460));
        assert!(o.bad_at.is_none());
    }

    #[test]
    fn test_option_running_past_header() {
        let o = parse_options(&[1, 1, 8, 10, 0, 0]);
        assert_eq!(o.bad_at, Some(2));
        assert!(o.ts.is_none());
        let o = parse_options(&[2, 0]);
        assert_eq!(o.bad_at, Some(0));
    }

    /// Options tshark 4.0 throws on, warns of, or takes at a wrong length (the fixture
    /// tcp-option-lengths.pcap holds each against tshark).
    #[test]
    fn test_option_lengths_as_tshark_takes_them() {
        // A SACK without one whole block throws, and the walk stops there.
        for len in [2u8, 3, 4, 6, 8] {
            let mut v = vec![5, len];
            v.resize(usize::from(len), 0);
            v.extend_from_slice(&[2, 4, 5, 0xb4]);
            let o = parse_options(&v);
            assert_eq!(o.threw, Some(5), "SACK length {len}");
            assert!(o.mss.is_none() && o.sack_leftover.is_none());
        }
        // Bytes after a whole block: the block counts, the rest is malformed, the walk goes on.
        let o = parse_options(&[5, 12, 0, 0, 0, 1, 0, 0, 0, 2, 9, 9, 2, 4, 5, 0xb4]);
        assert_eq!((o.threw, o.sack_leftover), (None, Some(12)));
        assert_eq!(o.sack_blocks(), &[(1, 2)]);
        assert_eq!(o.mss, Some(1460));
        // SACK-permitted at any length; MPTCP throws without its subtype, or too short for it.
        assert!(parse_options(&[4, 3, 0]).sack_perm);
        assert_eq!(parse_options(&[30, 2]).threw, Some(30));
        assert_eq!(parse_options(&[30, 3, 0x00]).threw, Some(30));
        assert_eq!(parse_options(&[30, 3, 0x10]).threw, None);
        assert_eq!(
            parse_options(&[30, 10, 0x60, 0, 0, 0, 0, 0, 0, 0]).threw,
            Some(30)
        );
        assert_eq!(
            parse_options(&[30, 12, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0]).threw,
            None
        );
    }

    #[test]
    fn test_sack_blocks_and_tfo() {
        let mut v = vec![1, 1, 5, 18];
        for x in [1u32, 2, 3, 4] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v.extend_from_slice(&[34, 2]);
        let o = parse_options(&v);
        assert_eq!(o.sack_blocks(), &[(1, 2), (3, 4)]);
        assert_eq!(o.tfo, Some(0));
    }

    #[test]
    fn test_flag_names() {
        let mut s = String::new();
        TcpFlags(SYN | ACK | ECE)
            .write_names(&mut s)
            .expect("test data");
        assert_eq!(s, "SYN+ACK+ECE");
    }

    /// The table says what the walk says, for every flag byte (and ignores the NS bit, which
    /// has no name).
    #[test]
    fn test_flag_name_table() {
        for bits in 0..=0x1ffu16 {
            let mut s = String::new();
            TcpFlags(bits)
                .write_names(&mut s)
                .expect("a String takes it");
            assert_eq!(TcpFlags(bits).names(), s, "{bits:#x}");
        }
    }
}
