//! Savefile reading the way Wireshark's wiretap reads it: pcap (µs/ns, both byte orders,
//! Kuznetsov's modified format, the header's FCS bits) and pcapng (SHB/IDB/EPB/SPB/OPB,
//! per-interface link types, `if_tsresol`, `if_tsoffset`, `if_fcslen` and packet flags),
//! compressed or not (see `compressed`), streaming through one reused buffer.
//!
//! libpcap's own reader is not used for files because it differs from Wireshark where users
//! notice: it cuts every record longer than the header's snaplen, rejects caplen > 262144 for
//! every link type, and refuses pcapng files whose interfaces have different link types.

use std::fmt;
use std::io::{self, BufRead, BufReader, Cursor, Read};

use super::compressed::Compression;
use super::{Frame, FrameMeta};
use crate::time::Timestamp;

/// Wireshark's `WTAP_MAX_PACKET_SIZE_STANDARD`: a record claiming more is a damaged file.
pub const MAX_RECORD: u32 = 262_144;
/// Largest pcapng block we accept; anything bigger is a corrupt length, not a real block.
const MAX_BLOCK: u32 = 16 * 1024 * 1024;

const PCAP_MAGIC_US: u32 = 0xa1b2_c3d4;
const PCAP_MAGIC_NS: u32 = 0xa1b2_3c4d;
const PCAP_MAGIC_MODIFIED: u32 = 0xa1b2_cd34;
const PCAPNG_SHB: u32 = 0x0a0d_0d0a;

/// pcapng block types synack reads (the rest carry no frames).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockType {
    SectionHeader,
    Interface,
    /// 2: the obsolete packet block (16-bit interface id and drop count).
    ObsoletePacket,
    SimplePacket,
    InterfaceStatistics,
    EnhancedPacket,
    Unknown(u32),
}

impl From<u32> for BlockType {
    fn from(n: u32) -> BlockType {
        match n {
            PCAPNG_SHB => BlockType::SectionHeader,
            1 => BlockType::Interface,
            2 => BlockType::ObsoletePacket,
            3 => BlockType::SimplePacket,
            5 => BlockType::InterfaceStatistics,
            6 => BlockType::EnhancedPacket,
            n => BlockType::Unknown(n),
        }
    }
}
const PCAPNG_BOM: u32 = 0x1a2b_3c4d;

/// What went wrong reading a savefile, and where.
#[derive(Debug)]
pub enum FileError {
    Io(io::Error),
    /// The first bytes are no capture format we know.
    NotACapture {
        magic: u32,
    },
    /// The header is a capture's but a version or field we cannot read.
    BadHeader(Damage),
    /// A record or block cannot be read; frames before it were delivered.
    BadRecord {
        frame: u64,
        offset: u64,
        what: Damage,
    },
    /// The file ends inside a record or block.
    CutShort {
        frame: u64,
        offset: u64,
        need: u64,
        have: u64,
    },
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Io(e) => write!(f, "{e}"),
            FileError::NotACapture { magic } => write!(
                f,
                "not a pcap or pcapng capture file (first four bytes {magic:#010x})"
            ),
            FileError::BadHeader(d) => write!(f, "bad capture file header: {d}"),
            FileError::BadRecord {
                frame,
                offset,
                what,
            } => {
                write!(f, "frame {frame} at byte offset {offset}: {what}")
            }
            FileError::CutShort {
                frame,
                offset,
                need,
                have,
            } => write!(
                f,
                "frame {frame} at byte offset {offset}: the file is cut short in the middle of a \
                 record ({have} of {need} bytes present)"
            ),
        }
    }
}

/// What is wrong with a file header, record or block: the facts, so that printers can say
/// it in the reader's language (`Display` is the English).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damage {
    FileTooShort {
        len: usize,
    },
    PcapHeaderCut {
        have: usize,
    },
    PcapVersion {
        major: u16,
    },
    PcapngVersion {
        major: u16,
    },
    ShbCut,
    ShbNoMagic,
    ShbLength {
        total: u32,
    },
    RecordTooLarge {
        caplen: u32,
        max: u32,
    },
    BlockLength {
        btype: u32,
        total: u32,
    },
    TrailerMismatch {
        total: u32,
        trailer: u32,
    },
    /// A block (named as pcapng names it) too short for its fixed fields.
    BlockTooShort {
        block: &'static str,
    },
    /// A block whose options do not fit (wiretap's complaint).
    BadOptions {
        block: &'static str,
        problem: OptionProblem,
    },
    UnknownInterface {
        ifid: u32,
        count: usize,
    },
    CaplenPastBlock {
        caplen: u32,
        room: usize,
    },
    TimeResolution {
        code: u8,
    },
    /// A pcap header's link type beyond 16 bits.
    LinkTypeField {
        value: u32,
    },
    /// A compressed file's stream cannot be decompressed from here on (cut short or
    /// damaged): what the decompressor said.
    Decompression {
        problem: String,
    },
}

/// wiretap's complaints about a pcapng option list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionProblem {
    NoHeader,
    TooLong { len: usize },
}

impl fmt::Display for OptionProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionProblem::NoHeader => f.write_str("not enough data for an option header"),
            OptionProblem::TooLong { len } => {
                write!(f, "not enough data to handle an option of length {len}")
            }
        }
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Damage::FileTooShort { len } => {
                write!(
                    f,
                    "the file is {len} bytes long, too short for any capture format"
                )
            }
            Damage::PcapHeaderCut { have } => write!(f, "pcap file header is {have} of 24 bytes"),
            Damage::PcapVersion { major } => {
                write!(f, "pcap major version {major} is not supported")
            }
            Damage::PcapngVersion { major } => {
                write!(f, "pcapng major version {major} is not supported")
            }
            Damage::ShbCut => f.write_str("pcapng section header is cut short"),
            Damage::ShbNoMagic => f.write_str("pcapng section header has no byte-order magic"),
            Damage::ShbLength { total } => {
                write!(f, "pcapng section header has an impossible length {total}")
            }
            Damage::RecordTooLarge { caplen, max } => write!(
                f,
                "record claims {caplen} captured bytes, more than the maximum of {max}: the file \
                 is damaged"
            ),
            Damage::BlockLength { btype, total } => {
                write!(
                    f,
                    "pcapng block of type {btype:#x} has an impossible length {total}"
                )
            }
            Damage::TrailerMismatch { total, trailer } => write!(
                f,
                "pcapng block length {total} does not match its trailing copy {trailer}"
            ),
            Damage::BlockTooShort { block } => {
                write!(f, "{block} is too short for its fixed fields")
            }
            Damage::BadOptions { block, problem } => write!(f, "pcapng {block}: {problem}"),
            Damage::UnknownInterface { ifid, count } => write!(
                f,
                "packet names interface {ifid}, but the section has {count} interface(s)"
            ),
            Damage::CaplenPastBlock { caplen, room } => {
                write!(
                    f,
                    "record claims {caplen} captured bytes but its block holds {room}"
                )
            }
            Damage::TimeResolution { code } => {
                write!(f, "interface has an impossible time resolution {code:#04x}")
            }
            Damage::Decompression { problem } => write!(f, "{problem}"),
            Damage::LinkTypeField { value } => {
                write!(
                    f,
                    "the header's link type {value} is no link type that exists"
                )
            }
        }
    }
}

impl std::error::Error for FileError {}

impl From<io::Error> for FileError {
    fn from(e: io::Error) -> Self {
        FileError::Io(e)
    }
}

/// The container format, for the user and for `--write` decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pcap { nanos: bool, variant: Variant },
    PcapNg,
}

/// The pcap record-header layouts wiretap knows; a standard magic number does not say which
/// one a file uses, so the first records decide (see `choose_variant`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// libpcap's own 16-byte record header.
    Standard,
    /// Red Hat 6.1's patched libpcap: modified 24-byte headers under the standard magic.
    Ss990417,
    /// Nokia IPSO: 4 extra bytes per record.
    Nokia,
    /// Kuznetsov's modified format (magic a1b2cd34): 24-byte headers.
    Ss991029,
    /// SuSE 6.3's variant of it: 28-byte headers.
    Ss990915,
}

impl Variant {
    fn header_len(self) -> usize {
        match self {
            Variant::Standard => 16,
            Variant::Nokia => 20,
            Variant::Ss990417 | Variant::Ss991029 => 24,
            Variant::Ss990915 => 28,
        }
    }
}

/// How the incl_len/orig_len fields are ordered (pcap versions before 2.3 swapped them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LengthOrder {
    Normal,
    Swapped,
    MaybeSwapped,
}

/// How many leading records wiretap inspects to choose a variant (tshark 4.0: three).
const VARIANT_PROBE_RECORDS: usize = 3;

#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: u16,
    snaplen: u32,
    /// Timestamp units per second (if_tsresol), Wireshark's default 10^6.
    units_per_sec: u64,
    /// Seconds added to every timestamp (if_tsoffset): wiretap applies it.
    ts_offset: i64,
    /// FCS bytes at the end of each Ethernet frame (if_fcslen), unless a packet says.
    fcs_len: u8,
}

/// A streaming reader for one savefile.
pub struct FileReader<'a> {
    input: BufReader<Box<dyn Read + Send + 'a>>,
    format: Format,
    big_endian: bool,
    lengths: LengthOrder,
    snaplen: u32,
    /// pcap only: link type of the file header.
    linktype: u16,
    interfaces: Vec<Interface>,
    buf: Vec<u8>,
    /// Bytes of the last pcap record lent straight out of the read buffer (no copy); they
    /// are consumed when the next frame is asked for.
    lent: usize,
    offset: u64,
    frames: u64,
    compression: Option<Compression>,
    /// pcap: FCS bytes at the end of every Ethernet frame (the header's FCS bits).
    fcs_len: u8,
}

fn u32_at(b: &[u8], at: usize, be: bool) -> u32 {
    let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if be {
        u32::from_be_bytes(w)
    } else {
        u32::from_le_bytes(w)
    }
}

fn u16_at(b: &[u8], at: usize, be: bool) -> u16 {
    let w = [b[at], b[at + 1]];
    if be {
        u16::from_be_bytes(w)
    } else {
        u16::from_le_bytes(w)
    }
}

/// Reads exactly `buf.len()` bytes or reports how many were there.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// A stream that failed: every read gives its error again.
struct Failed(io::ErrorKind, String);

impl Read for Failed {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::new(self.0, self.1.clone()))
    }
}

/// Wireshark keeps the original length in a signed 32-bit field: larger claims print as
/// 2147483647.
fn cap_wirelen(len: u32) -> u32 {
    len.min(i32::MAX as u32)
}

/// wiretap's option walk: every option must fit in what is left of its block, up to
/// opt_endofopt or the end. Returns the complaint wiretap makes otherwise.
fn check_options(opts: &[u8], be: bool) -> Result<(), OptionProblem> {
    walk_options(opts, be, |_, _| {})
}

/// `check_options` that hands each option's code and value to `each` on the way, so that
/// a block's options are read in the same walk that checks them.
fn walk_options(
    opts: &[u8],
    be: bool,
    mut each: impl FnMut(u16, &[u8]),
) -> Result<(), OptionProblem> {
    let mut rest = opts;
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(OptionProblem::NoHeader);
        }
        let code = u16_at(rest, 0, be);
        let len = u16_at(rest, 2, be) as usize;
        let padded = len.div_ceil(4) * 4;
        if rest.len() - 4 < padded {
            return Err(OptionProblem::TooLong { len });
        }
        if code == 0 {
            return Ok(());
        }
        each(code, &rest[4..4 + len]);
        rest = &rest[4 + padded..];
    }
    Ok(())
}

/// pcapng's packet flags option (epb_flags, pack_flags) and the FCS length in its bits 5-8.
const OPT_PACKET_FLAGS: u16 = 2;
/// pcapng's interface options synack reads: if_tsresol, if_fcslen, if_tsoffset.
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_FCSLEN: u16 = 13;
const OPT_IF_TSOFFSET: u16 = 14;

impl<'a> FileReader<'a> {
    /// Reads the file header and identifies the format.
    pub fn new(inner: impl Read + Send + 'a) -> Result<Self, FileError> {
        let boxed: Box<dyn Read + Send + 'a> = Box::new(inner);
        let mut input = BufReader::with_capacity(1 << 20, boxed);
        let mut head = [0u8; 4];
        let n = read_full(&mut input, &mut head)?;
        if n < 4 {
            return Err(FileError::BadHeader(Damage::FileTooShort { len: n }));
        }
        // A compressed file is read through its decompressed stream (once: wiretap does not
        // look inside a compressed file for another compression either).
        let compression = Compression::of(head);
        if let Some(c) = compression {
            let stream = c.reader(Cursor::new(head).chain(input));
            input = BufReader::with_capacity(1 << 20, stream);
            let n = read_full(&mut input, &mut head)?;
            if n < 4 {
                return Err(FileError::BadHeader(Damage::FileTooShort { len: n }));
            }
        }
        let le = u32::from_le_bytes(head);
        let be = u32::from_be_bytes(head);
        let mut reader = FileReader {
            input,
            format: Format::PcapNg,
            big_endian: false,
            lengths: LengthOrder::Normal,
            snaplen: 0,
            linktype: 0,
            interfaces: Vec::new(),
            buf: Vec::with_capacity(65_536),
            lent: 0,
            offset: 4,
            frames: 0,
            compression,
            fcs_len: 0,
        };
        if le == PCAPNG_SHB {
            reader.read_shb_rest()?;
            return Ok(reader);
        }
        let (magic, big_endian) =
            if matches!(le, PCAP_MAGIC_US | PCAP_MAGIC_NS | PCAP_MAGIC_MODIFIED) {
                (le, false)
            } else if matches!(be, PCAP_MAGIC_US | PCAP_MAGIC_NS | PCAP_MAGIC_MODIFIED) {
                (be, true)
            } else {
                return Err(FileError::NotACapture { magic: be });
            };
        let mut rest = [0u8; 20];
        let n = read_full(&mut reader.input, &mut rest)?;
        if n < 20 {
            return Err(FileError::BadHeader(Damage::PcapHeaderCut { have: n + 4 }));
        }
        reader.offset = 24;
        let major = u16_at(&rest, 0, big_endian);
        if major < 2 {
            return Err(FileError::BadHeader(Damage::PcapVersion { major }));
        }
        reader.big_endian = big_endian;
        let minor = u16_at(&rest, 2, big_endian);
        reader.snaplen = u32_at(&rest, 12, big_endian);
        // The link type is the low 26 bits (wiretap's LT_LINKTYPE); the upper six carry FCS
        // information. A link type beyond 16 bits is none that exists: wiretap refuses it.
        let field = u32_at(&rest, 16, big_endian);
        let mut network = field & 0x03ff_ffff;
        if network > 0xffff {
            return Err(FileError::BadHeader(Damage::LinkTypeField {
                value: network,
            }));
        }
        // The F bit says the frames end in an FCS of the top four bits' count of 16-bit
        // words; wiretap hands Ethernet frames that length to strip.
        if field & 0x0400_0000 != 0 && network == 1 {
            reader.fcs_len = ((field >> 28) * 2) as u8;
        }
        // AIX's tcpdump writes version 2.2 with interface types for link types and ns stamps.
        let aix_link = match network {
            6 => Some(1),
            9 => Some(6),
            15 => Some(10),
            24 => Some(0),
            _ => None,
        };
        let aix = major == 2 && minor == 2 && aix_link.is_some();
        if aix {
            network = aix_link.unwrap_or(network);
        }
        reader.linktype = network as u16;
        reader.lengths = match (major, minor) {
            (2, m) if m < 3 => LengthOrder::Swapped,
            (2, 3) => LengthOrder::MaybeSwapped,
            (543, _) => LengthOrder::Swapped,
            _ => LengthOrder::Normal,
        };
        let nanos = magic == PCAP_MAGIC_NS || aix;
        let candidates: &[Variant] = if aix || magic == PCAP_MAGIC_NS {
            &[Variant::Standard]
        } else if magic == PCAP_MAGIC_MODIFIED {
            &[Variant::Ss991029, Variant::Ss990915]
        } else {
            &[Variant::Standard, Variant::Ss990417, Variant::Nokia]
        };
        let variant = if candidates.len() == 1 {
            candidates[0]
        } else {
            reader.choose_variant(candidates, nanos)?
        };
        reader.format = Format::Pcap { nanos, variant };
        Ok(reader)
    }

    /// wiretap's heuristic: score each candidate layout by what is wrong with the first
    /// records read that way; the first flawless one wins, else the least bad (earliest on a
    /// tie). The probed bytes are put back in front of the stream.
    fn choose_variant(
        &mut self,
        candidates: &[Variant],
        nanos: bool,
    ) -> Result<Variant, FileError> {
        let probe_len = (VARIANT_PROBE_RECORDS * (28 + MAX_RECORD as usize)) as u64;
        let mut prefix = Vec::new();
        // A compressed stream can fail inside the probe: the records before the failure
        // are still read (as tshark reads them), and the failure comes where it happened.
        let failed = (&mut self.input)
            .take(probe_len)
            .read_to_end(&mut prefix)
            .err();
        let mut best = (u32::MAX, candidates[0]);
        for &v in candidates {
            let figure = self.figure_of_merit(&prefix, v, nanos);
            if figure == 0 {
                best = (0, v);
                break;
            }
            if figure < best.0 {
                best = (figure, v);
            }
        }
        let rest = std::mem::replace(&mut self.input, BufReader::new(Box::new(io::empty())));
        let chained: Box<dyn Read + Send + 'a> = match failed {
            None => Box::new(Cursor::new(prefix).chain(rest)),
            Some(e) => Box::new(Cursor::new(prefix).chain(Failed(e.kind(), e.to_string()))),
        };
        self.input = BufReader::with_capacity(1 << 20, chained);
        Ok(best.1)
    }

    /// Demerits of the first records under layout `v` (0 = nothing wrong).
    fn figure_of_merit(&self, data: &[u8], v: Variant, nanos: bool) -> u32 {
        let mut at = 0usize;
        for _ in 0..VARIANT_PROBE_RECORDS {
            let hl = v.header_len();
            if at == data.len() {
                return 0; // end of file: assume this layout
            }
            if at + hl > data.len() {
                return 1; // a header cut short: perhaps damage, perhaps another layout
            }
            let (_, frac, incl, orig) = self.record_fields(&data[at..at + 16]);
            let mut bad = 0;
            if frac >= if nanos { 1_000_000_000 } else { 1_000_000 } {
                bad += 1;
            }
            if incl > MAX_RECORD {
                bad += 1;
            }
            if orig > 128 * 1024 * 1024 {
                bad += 1;
            }
            if incl > self.snaplen {
                bad += 1;
            }
            if incl > orig {
                bad += 1;
            }
            if bad > 0 {
                return bad;
            }
            // The record's bytes must all be there (the probe holds three records of the
            // largest size, so only the file's end can cut one).
            at += hl + incl as usize;
            if at > data.len() {
                return 1;
            }
        }
        0
    }

    /// Seconds, fraction, captured and original length of a record header, with the
    /// pre-2.3 length order undone.
    fn record_fields(&self, h: &[u8]) -> (u32, u32, u32, u32) {
        let be = self.big_endian;
        let (secs, frac) = (u32_at(h, 0, be), u32_at(h, 4, be));
        let (mut incl, mut orig) = (u32_at(h, 8, be), u32_at(h, 12, be));
        if self.lengths == LengthOrder::Swapped
            || (self.lengths == LengthOrder::MaybeSwapped && incl > orig)
        {
            std::mem::swap(&mut incl, &mut orig);
        }
        (secs, frac, incl, orig)
    }

    /// Bytes of the file read so far (for progress).
    /// The compression the file is read through, if any (offsets are then positions in
    /// the decompressed stream).
    pub fn compression(&self) -> Option<Compression> {
        self.compression
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The pcap header's link type, or the first interface's in pcapng.
    pub fn linktype(&self) -> Option<u16> {
        match self.format {
            Format::Pcap { .. } => Some(self.linktype),
            Format::PcapNg => self.interfaces.first().map(|i| i.linktype),
        }
    }

    /// Reads the next frame; `Ok(None)` at a clean end of file.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, FileError> {
        self.input.consume(std::mem::take(&mut self.lent));
        // A read that fails inside a file (a compressed stream cut short or damaged) is
        // damage at the next frame, named like the rest.
        let (frame, offset) = (self.frames + 1, self.offset);
        let located = |e: FileError| match e {
            FileError::Io(io) if io.kind() != io::ErrorKind::Interrupted => FileError::BadRecord {
                frame,
                offset,
                what: Damage::Decompression {
                    problem: io.to_string(),
                },
            },
            other => other,
        };
        match self.format {
            Format::Pcap { nanos, variant } => self.next_pcap(nanos, variant).map_err(located),
            Format::PcapNg => self.next_pcapng().map_err(located),
        }
    }

    fn cut_short(&self, at: u64, need: u64, have: usize) -> FileError {
        FileError::CutShort {
            frame: self.frames + 1,
            offset: at,
            need,
            have: have as u64,
        }
    }

    fn next_pcap(&mut self, nanos: bool, variant: Variant) -> Result<Option<Frame<'_>>, FileError> {
        let hlen = variant.header_len();
        let mut hdr = [0u8; 28];
        let at = self.offset;
        let n = read_full(&mut self.input, &mut hdr[..hlen])?;
        if n == 0 {
            return Ok(None);
        }
        if n < hlen {
            return Err(self.cut_short(at, hlen as u64, n));
        }
        let (secs, frac, caplen, wirelen) = self.record_fields(&hdr[..16]);
        let wirelen = cap_wirelen(wirelen);
        if caplen > MAX_RECORD {
            return Err(self.bad(
                at,
                Damage::RecordTooLarge {
                    caplen,
                    max: MAX_RECORD,
                },
            ));
        }
        // The whole record is usually in the read buffer already: lend it from there.
        let lend = self.input.buffer().len() >= caplen as usize;
        if !lend {
            self.buf.resize(caplen as usize, 0);
            let got = read_full(&mut self.input, &mut self.buf)?;
            if got < caplen as usize {
                return Err(self.cut_short(at, (hlen as u64) + caplen as u64, hlen + got));
            }
        }
        self.offset += (hlen as u64) + caplen as u64;
        self.frames += 1;
        // Wireshark keeps the fraction in a signed 32-bit nanosecond field without
        // normalising it; µs are multiplied in 32 bits. Both overflows are reproduced.
        let nsecs = if nanos {
            frac as i32
        } else {
            frac.wrapping_mul(1000) as i32
        };
        Ok(Some(Frame {
            meta: FrameMeta {
                number: self.frames,
                has_ts: true,
                ts: Timestamp {
                    secs: secs as i64,
                    nsecs,
                },
                caplen,
                wirelen,
                linktype: self.linktype,
                fcs_len: self.fcs_len,
            },
            data: if lend {
                self.lent = caplen as usize;
                &self.input.buffer()[..caplen as usize]
            } else {
                &self.buf
            },
            file_offset: at,
        }))
    }

    /// Reads one pcapng block (type and body) into `self.buf`; `Ok(None)` at end of file.
    fn read_block(&mut self) -> Result<Option<(u32, u64)>, FileError> {
        let at = self.offset;
        let mut hdr = [0u8; 8];
        let n = read_full(&mut self.input, &mut hdr)?;
        if n == 0 {
            return Ok(None);
        }
        if n < 8 {
            return Err(self.cut_short(at, 8, n));
        }
        let be = self.big_endian;
        let btype = u32_at(&hdr, 0, be);
        if btype == PCAPNG_SHB {
            // A new section: its own byte order and interfaces.
            self.offset += 4;
            self.read_shb_rest_after_type(&hdr[4..8])?;
            return Ok(Some((PCAPNG_SHB, at)));
        }
        let total = u32_at(&hdr, 4, be);
        if total < 12 || !total.is_multiple_of(4) || total > MAX_BLOCK {
            return Err(self.bad(at, Damage::BlockLength { btype, total }));
        }
        let body = (total - 12) as usize;
        self.buf.resize(body + 4, 0);
        let got = read_full(&mut self.input, &mut self.buf)?;
        if got < body + 4 {
            return Err(self.cut_short(at, total as u64, 8 + got));
        }
        let trailer = u32_at(&self.buf, body, be);
        if trailer != total {
            return Err(self.bad(at, Damage::TrailerMismatch { total, trailer }));
        }
        self.buf.truncate(body);
        self.offset += total as u64;
        Ok(Some((btype, at)))
    }

    fn read_shb_rest(&mut self) -> Result<(), FileError> {
        let mut len = [0u8; 4];
        let n = read_full(&mut self.input, &mut len)?;
        if n < 4 {
            return Err(FileError::BadHeader(Damage::ShbCut));
        }
        self.read_shb_rest_after_type(&len)
    }

    /// Reads an SHB after its type word: length, byte-order magic, versions, options.
    fn read_shb_rest_after_type(&mut self, len_bytes: &[u8]) -> Result<(), FileError> {
        let at = self.offset - 4;
        let mut bom = [0u8; 4];
        let n = read_full(&mut self.input, &mut bom)?;
        if n < 4 {
            return Err(self.cut_short(at, 12, 8 + n));
        }
        let be = if u32::from_le_bytes(bom) == PCAPNG_BOM {
            false
        } else if u32::from_be_bytes(bom) == PCAPNG_BOM {
            true
        } else {
            return Err(self.bad(at, Damage::ShbNoMagic));
        };
        let total = u32_at(len_bytes, 0, be);
        if total < 28 || !total.is_multiple_of(4) || total > MAX_BLOCK {
            return Err(self.bad(at, Damage::ShbLength { total }));
        }
        // Rest of the block after type, length and magic.
        let rest = (total - 12) as usize;
        self.buf.resize(rest, 0);
        let got = read_full(&mut self.input, &mut self.buf)?;
        if got < rest {
            return Err(self.cut_short(at, total as u64, 12 + got));
        }
        let major = u16_at(&self.buf, 0, be);
        if major != 1 {
            return Err(self.bad(at, Damage::PcapngVersion { major }));
        }
        if let Err(what) = check_options(&self.buf[12..rest - 4], be) {
            return Err(self.bad_options(at, "section header", what));
        }
        // Its trailing copy of the length must agree, as for every block.
        let trailer = u32_at(&self.buf, rest - 4, be);
        if trailer != total {
            return Err(self.bad(at, Damage::TrailerMismatch { total, trailer }));
        }
        self.big_endian = be;
        self.interfaces.clear();
        self.offset = at + total as u64;
        self.format = Format::PcapNg;
        Ok(())
    }

    fn next_pcapng(&mut self) -> Result<Option<Frame<'_>>, FileError> {
        loop {
            let Some((btype, at)) = self.read_block()? else {
                return Ok(None);
            };
            let be = self.big_endian;
            let kind = BlockType::from(btype);
            match kind {
                BlockType::Interface => self.parse_idb(at)?,
                // Enhanced packet block, and the obsolete packet block whose interface id
                // is 16 bits followed by a 16-bit drop count; the rest is laid out alike.
                BlockType::EnhancedPacket | BlockType::ObsoletePacket => {
                    if self.buf.len() < 20 {
                        return Err(self.short_block(at, "packet block"));
                    }
                    let ifid = if kind == BlockType::EnhancedPacket {
                        u32_at(&self.buf, 0, be)
                    } else {
                        u16_at(&self.buf, 0, be) as u32
                    };
                    let ts =
                        ((u32_at(&self.buf, 4, be) as u64) << 32) | u32_at(&self.buf, 8, be) as u64;
                    let caplen = u32_at(&self.buf, 12, be);
                    let wirelen = u32_at(&self.buf, 16, be);
                    return self.packet(at, ifid, Some(ts), caplen, wirelen, 20);
                }
                // Simple packet block: interface 0, no timestamp, caplen implied.
                BlockType::SimplePacket => {
                    if self.buf.len() < 4 {
                        return Err(self.short_block(at, "simple packet block"));
                    }
                    let wirelen = u32_at(&self.buf, 0, be);
                    let room = (self.buf.len() - 4) as u32;
                    let mut caplen = wirelen.min(room);
                    if let Some(i) = self.interfaces.first()
                        && i.snaplen != 0
                    {
                        caplen = caplen.min(i.snaplen);
                    }
                    return self.packet(at, 0, None, caplen, wirelen, 4);
                }
                BlockType::SectionHeader => {}
                // Interface statistics: no frame, but wiretap checks its options.
                BlockType::InterfaceStatistics => {
                    if self.buf.len() < 12 {
                        return Err(self.short_block(at, "interface statistics block"));
                    }
                    if let Err(what) = check_options(&self.buf[12..], be) {
                        return Err(self.bad_options(at, "interface statistics", what));
                    }
                }
                // NRB, DSB, custom and unknown blocks carry no frames.
                BlockType::Unknown(_) => {}
            }
        }
    }

    /// Damage at the record or block starting at byte `at`: names the frame it would be.
    fn bad(&self, at: u64, what: Damage) -> FileError {
        FileError::BadRecord {
            frame: self.frames + 1,
            offset: at,
            what,
        }
    }

    /// A block whose option list wiretap rejects.
    fn bad_options(&self, at: u64, block: &'static str, problem: OptionProblem) -> FileError {
        self.bad(at, Damage::BadOptions { block, problem })
    }

    fn short_block(&self, at: u64, block: &'static str) -> FileError {
        self.bad(at, Damage::BlockTooShort { block })
    }

    fn packet(
        &mut self,
        at: u64,
        ifid: u32,
        ts: Option<u64>,
        caplen: u32,
        wirelen: u32,
        data_at: usize,
    ) -> Result<Option<Frame<'_>>, FileError> {
        let Some(iface) = self.interfaces.get(ifid as usize).copied() else {
            return Err(self.bad(
                at,
                Damage::UnknownInterface {
                    ifid,
                    count: self.interfaces.len(),
                },
            ));
        };
        if caplen > MAX_RECORD {
            return Err(self.bad(
                at,
                Damage::RecordTooLarge {
                    caplen,
                    max: MAX_RECORD,
                },
            ));
        }
        if data_at + caplen as usize > self.buf.len() {
            return Err(self.bad(
                at,
                Damage::CaplenPastBlock {
                    caplen,
                    room: self.buf.len().saturating_sub(data_at),
                },
            ));
        }
        let mut fcs_len = iface.fcs_len;
        if data_at > 4 {
            // EPB and OPB carry options after the padded data (SPB has none).
            let opts_at = (data_at + (caplen as usize).div_ceil(4) * 4).min(self.buf.len());
            // A packet's flags may give its own FCS length, in octets (0: the interface's).
            let be = self.big_endian;
            let mut flags = None;
            let walked = walk_options(&self.buf[opts_at..], be, |code, v| {
                if code == OPT_PACKET_FLAGS && v.len() == 4 && flags.is_none() {
                    flags = Some(u32_at(v, 0, be));
                }
            });
            let own = flags.map_or(0, |f| ((f >> 5) & 0xf) as u8);
            if own != 0 && iface.linktype == 1 {
                fcs_len = own;
            }
            if let Err(what) = walked {
                return Err(self.bad_options(at, "packet block", what));
            }
        }
        self.frames += 1;
        let has_ts = ts.is_some();
        let wirelen = cap_wirelen(wirelen);
        let ts = match ts {
            Some(t) => {
                let u = iface.units_per_sec;
                let secs = t / u;
                let nsecs = ((t % u) as u128 * 1_000_000_000 / u as u128) as i32;
                Timestamp {
                    secs: (secs as i64).wrapping_add(iface.ts_offset),
                    nsecs,
                }
            }
            None => Timestamp { secs: 0, nsecs: 0 },
        };
        Ok(Some(Frame {
            meta: FrameMeta {
                number: self.frames,
                ts,
                has_ts,
                caplen,
                wirelen,
                linktype: iface.linktype,
                fcs_len,
            },
            data: &self.buf[data_at..data_at + caplen as usize],
            file_offset: at,
        }))
    }

    fn parse_idb(&mut self, at: u64) -> Result<(), FileError> {
        let be = self.big_endian;
        if self.buf.len() < 8 {
            return Err(self.short_block(at, "interface description block"));
        }
        let linktype = u16_at(&self.buf, 0, be);
        let snaplen = u32_at(&self.buf, 4, be);
        let mut units_per_sec = 1_000_000u64;
        let mut bad_resolution = None;
        let mut ts_offset = None;
        let mut fcs_len = None;
        let walked = walk_options(&self.buf[8..], be, |code, v| match code {
            // if_tsresol: 10^-n, or 2^-n with the top bit; the last one counts, and the first
            // impossible one is damage.
            OPT_IF_TSRESOL if !v.is_empty() && bad_resolution.is_none() => {
                let r = v[0];
                let exp = (r & 0x7f) as u32;
                let units = if r & 0x80 == 0 {
                    10u64.checked_pow(exp).unwrap_or(0)
                } else {
                    1u64.checked_shl(exp).unwrap_or(0)
                };
                if units == 0 {
                    bad_resolution = Some(r);
                } else {
                    units_per_sec = units;
                }
            }
            // if_tsoffset: signed seconds, of 8 bytes exactly; wiretap keeps the first and
            // ignores one of another length.
            OPT_IF_TSOFFSET if v.len() == 8 && ts_offset.is_none() => {
                let b = [v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]];
                ts_offset = Some(if be {
                    i64::from_be_bytes(b)
                } else {
                    i64::from_le_bytes(b)
                });
            }
            // if_fcslen: in bits by the specification; wiretap takes a value under 8 for
            // octets (measured: 4 and 32 both strip 4 bytes, 12 strips one). Ethernet only.
            OPT_IF_FCSLEN if !v.is_empty() && fcs_len.is_none() && linktype == 1 => {
                fcs_len = Some(if v[0] >= 8 { v[0] / 8 } else { v[0] });
            }
            _ => {}
        });
        if let Err(what) = walked {
            return Err(self.bad_options(at, "interface description", what));
        }
        if let Some(code) = bad_resolution {
            return Err(self.bad(at, Damage::TimeResolution { code }));
        }
        self.interfaces.push(Interface {
            linktype,
            snaplen,
            units_per_sec,
            ts_offset: ts_offset.unwrap_or(0),
            fcs_len: fcs_len.unwrap_or(0),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap_header(magic: u32, linktype: u32) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&magic.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&4u16.to_le_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&linktype.to_le_bytes());
        v
    }

    fn record(v: &mut Vec<u8>, secs: u32, frac: u32, data: &[u8], wire: u32) {
        for x in [secs, frac, data.len() as u32, wire] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(data);
    }

    #[test]
    fn test_pcap_records_longer_than_snaplen_are_kept() {
        let mut f = pcap_header(PCAP_MAGIC_US, 1);
        // snaplen in the header is 65535; Wireshark keeps a longer record whole.
        let big = vec![7u8; 70_000];
        record(&mut f, 1, 2, &big, 70_000);
        let mut r = FileReader::new(&f[..]).expect("test data");
        let fr = r.next_frame().expect("test data").expect("test data");
        assert_eq!(fr.meta.caplen, 70_000);
        assert_eq!(fr.data.len(), 70_000);
        assert_eq!(fr.meta.ts.nsecs, 2000);
    }

    #[test]
    fn test_pcap_link_type_is_26_bits_as_wiretap_reads_it() {
        // The FCS bits above 26 are not the link type; bits 16 to 25 make one that does
        // not exist, and wiretap refuses the file.
        for (field, ok) in [
            (0x2400_0001u32, true),
            (0xf000_0001, true),
            (0x0001_0001, false),
        ] {
            let mut f = pcap_header(PCAP_MAGIC_US, field);
            record(&mut f, 1, 2, &[0x45], 1);
            match FileReader::new(&f[..]) {
                Ok(r) => assert!(ok && r.linktype() == Some(1), "{field:#x}"),
                Err(e) => assert!(
                    !ok && matches!(
                        e,
                        FileError::BadHeader(Damage::LinkTypeField { value: 0x1_0001 })
                    ),
                    "{field:#x}: {e}"
                ),
            }
        }
    }

    #[test]
    fn test_truncated_record_names_frame_and_offset() {
        let mut f = pcap_header(PCAP_MAGIC_NS, 1);
        record(&mut f, 1, 2, &[1, 2, 3], 3);
        record(&mut f, 1, 2, &[1, 2, 3, 4, 5], 5);
        f.truncate(f.len() - 2);
        let mut r = FileReader::new(&f[..]).expect("test data");
        assert!(r.next_frame().expect("test data").is_some());
        match r.next_frame() {
            Err(FileError::CutShort {
                frame,
                offset,
                need,
                have,
            }) => {
                assert_eq!((frame, offset, need, have), (2, 43, 21, 19));
            }
            other => panic!("expected CutShort, got {other:?}"),
        }
    }

    #[test]
    fn test_absurd_caplen_is_an_error_not_an_allocation() {
        let mut f = pcap_header(PCAP_MAGIC_US, 1);
        for x in [0u32, 0, 0x7fff_ffff, 0x7fff_ffff] {
            f.extend_from_slice(&x.to_le_bytes());
        }
        let mut r = FileReader::new(&f[..]).expect("test data");
        let e = r.next_frame().unwrap_err();
        assert!(e.to_string().contains("frame 1"), "{e}");
    }

    #[test]
    fn test_microsecond_overflow_matches_wireshark() {
        let mut f = pcap_header(PCAP_MAGIC_US, 1);
        // Three sane records first, or wiretap's variant heuristic would look elsewhere.
        for _ in 0..3 {
            record(&mut f, 1_700_000_000, 5, &[0; 20], 20);
        }
        record(&mut f, 1_700_000_000, 4_294_967_295, &[0], 1);
        let mut r = FileReader::new(&f[..]).expect("test data");
        for _ in 0..3 {
            r.next_frame().expect("test data").expect("test data");
        }
        let fr = r.next_frame().expect("test data").expect("test data");
        // The fraction wraps to -1000 ns in Wireshark's signed field; tshark prints
        // "-1700000000.000001000".
        assert_eq!(
            fr.meta.ts,
            Timestamp {
                secs: 1_700_000_000,
                nsecs: -1000
            }
        );
    }

    #[test]
    fn test_variant_heuristic_picks_least_bad_layout() {
        // A damaged third record makes the standard layout score worse than Red Hat's
        // 24-byte headers over these bytes, as in wiretap.
        let mut f = pcap_header(PCAP_MAGIC_US, 1);
        record(&mut f, 1, 0, &[0; 40], 40);
        record(&mut f, 1, 0, &[0; 40], 40);
        for x in [1u32, 0, 0x7fff_ffff, 40] {
            f.extend_from_slice(&x.to_le_bytes());
        }
        let r = FileReader::new(&f[..]).expect("test data");
        assert_ne!(
            r.format(),
            Format::Pcap {
                nanos: false,
                variant: Variant::Standard
            }
        );
        // Three good records: standard it is.
        let mut g = pcap_header(PCAP_MAGIC_US, 1);
        for _ in 0..3 {
            record(&mut g, 1, 0, &[0; 40], 40);
        }
        let r = FileReader::new(&g[..]).expect("test data");
        assert_eq!(
            r.format(),
            Format::Pcap {
                nanos: false,
                variant: Variant::Standard
            }
        );
    }

    #[test]
    fn test_big_endian_pcap() {
        let mut f = Vec::new();
        f.extend_from_slice(&PCAP_MAGIC_US.to_be_bytes());
        f.extend_from_slice(&2u16.to_be_bytes());
        f.extend_from_slice(&4u16.to_be_bytes());
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&65535u32.to_be_bytes());
        f.extend_from_slice(&101u32.to_be_bytes());
        for x in [5u32, 6, 1, 1] {
            f.extend_from_slice(&x.to_be_bytes());
        }
        f.push(0x45);
        let mut r = FileReader::new(&f[..]).expect("test data");
        assert_eq!(r.linktype(), Some(101));
        let fr = r.next_frame().expect("test data").expect("test data");
        assert_eq!(
            (fr.meta.ts.secs, fr.meta.ts.nsecs, fr.meta.caplen),
            (5, 6000, 1)
        );
    }

    #[test]
    fn test_not_a_capture() {
        let e = match FileReader::new(&b"hello world, not a pcap"[..]) {
            Err(e) => e,
            Ok(_) => panic!("text accepted as a capture"),
        };
        assert!(matches!(e, FileError::NotACapture { .. }));
    }

    fn block(btype: u32, body: &[u8]) -> Vec<u8> {
        let total = (12 + body.len().div_ceil(4) * 4) as u32;
        let mut v = Vec::new();
        v.extend_from_slice(&btype.to_le_bytes());
        v.extend_from_slice(&total.to_le_bytes());
        v.extend_from_slice(body);
        v.resize(total as usize - 4, 0);
        v.extend_from_slice(&total.to_le_bytes());
        v
    }

    /// A little-endian section header block of version 1.0 and unknown length.
    fn section_header() -> Vec<u8> {
        let mut shb = PCAPNG_BOM.to_le_bytes().to_vec();
        shb.extend_from_slice(&[1, 0, 0, 0]);
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        block(PCAPNG_SHB, &shb)
    }

    /// An enhanced packet block: interface, timestamp, the frame (its own original length),
    /// padded, then `options`.
    fn enhanced_packet(ifid: u32, ts: u64, data: &[u8], options: &[u8]) -> Vec<u8> {
        let len = data.len() as u32;
        let mut epb = Vec::new();
        for x in [ifid, (ts >> 32) as u32, ts as u32, len, len] {
            epb.extend_from_slice(&x.to_le_bytes());
        }
        epb.extend_from_slice(data);
        epb.resize(epb.len().next_multiple_of(4), 0);
        epb.extend_from_slice(options);
        block(6, &epb)
    }

    #[test]
    fn test_pcapng_interfaces_with_different_linktypes_and_tsresol() {
        let mut f = section_header();
        let mut idb0 = vec![1, 0, 0, 0];
        idb0.extend_from_slice(&0u32.to_le_bytes());
        f.extend(block(1, &idb0));
        let mut idb1 = vec![101, 0, 0, 0];
        idb1.extend_from_slice(&0u32.to_le_bytes());
        idb1.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0]); // if_tsresol = 10^-9
        f.extend(block(1, &idb1));
        f.extend(enhanced_packet(
            1,
            1_700_000_000_123_456_789,
            &[0x45, 0, 0],
            &[],
        ));
        let mut r = FileReader::new(&f[..]).expect("test data");
        let fr = r.next_frame().expect("test data").expect("test data");
        assert_eq!(fr.meta.linktype, 101);
        assert_eq!(
            fr.meta.ts,
            Timestamp {
                secs: 1_700_000_000,
                nsecs: 123_456_789
            }
        );
        assert_eq!(fr.data, &[0x45, 0, 0]);
        assert!(r.next_frame().expect("test data").is_none());
    }

    #[test]
    fn test_pcapng_if_tsoffset_as_wiretap_applies_it() {
        // (options of the interface, seconds the timestamp moves)
        let opt = |len: u16, v: &[u8]| {
            let mut o = 14u16.to_le_bytes().to_vec();
            o.extend_from_slice(&len.to_le_bytes());
            o.extend_from_slice(v);
            o
        };
        let ahead = opt(8, &3600i64.to_le_bytes());
        let behind = opt(8, &(-86_400i64).to_le_bytes());
        let short = opt(4, &99i32.to_le_bytes());
        for (options, moved) in [
            (ahead.clone(), 3600),
            (behind.clone(), -86_400),
            // A length other than 8 is ignored; of two, the first counts.
            ([short.clone(), ahead.clone()].concat(), 3600),
            ([behind, ahead].concat(), -86_400),
            (short, 0),
        ] {
            let mut f = section_header();
            let mut idb = vec![101, 0, 0, 0, 0, 0, 0, 0];
            idb.extend_from_slice(&options);
            f.extend(block(1, &idb));
            f.extend(enhanced_packet(0, 1_700_000_000_000_001, &[0x45], &[]));
            let mut r = FileReader::new(&f[..]).expect("test data");
            let fr = r.next_frame().expect("test data").expect("test data");
            assert_eq!(
                fr.meta.ts,
                Timestamp {
                    secs: 1_700_000_000 + moved,
                    nsecs: 1_000
                },
                "{options:?}"
            );
        }
    }

    #[test]
    fn test_pcapng_fcs_length_from_the_interface_and_the_packet() {
        // (if_fcslen, the packet's flags FCS length, the FCS wiretap strips)
        for (if_fcslen, own, want) in [
            (None, 0u32, 0u8),
            (Some(32u8), 0, 4),
            (Some(4), 0, 4),
            (Some(12), 0, 1),
            (Some(16), 2, 2),
            (Some(32), 0, 4),
            (None, 4, 4),
        ] {
            let mut f = section_header();
            let mut idb = vec![1, 0, 0, 0, 0, 0, 0, 0];
            if let Some(v) = if_fcslen {
                idb.extend_from_slice(&[13, 0, 1, 0, v, 0, 0, 0]);
            }
            f.extend(block(1, &idb));
            let mut flags = vec![2, 0, 4, 0];
            flags.extend_from_slice(&(own << 5 | 1).to_le_bytes());
            flags.extend_from_slice(&[0, 0, 0, 0]);
            f.extend(enhanced_packet(0, 1, &[1, 2, 3, 4], &flags));
            let mut r = FileReader::new(&f[..]).expect("test data");
            let fr = r.next_frame().expect("test data").expect("test data");
            assert_eq!(fr.meta.fcs_len, want, "{if_fcslen:?} {own}");
            assert_eq!(fr.meta.caplen, 4, "the frame's lengths stay the file's");
        }
    }
}
