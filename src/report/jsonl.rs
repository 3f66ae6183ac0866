//! JSON Lines exactly as `shared/spec/events.md`: `packet`, `conn` and `summary` objects.
//! Written by hand around serde_json's string escaper so that `ts` keeps tshark's exact text
//! (even for damaged fractions) and a packet line costs no allocation.

use std::io::{self, Write};
use std::net::IpAddr;

use super::{IP_TEXT_MAX, IpText, PacketEvent, Sink, Style, Summary, notes};
use crate::event::payload::{self, word};
use crate::track::{Exchange, Finished, FlowSummary, PacketInfo};
use crate::wire::arp::ArpPacket;
use crate::wire::icmp::IcmpMessage;
use crate::wire::tcp::TcpOptions;
use crate::wire::{TcpSegment, Transport, UdpDatagram};

/// Writes `v` as a JSON string, escaped byte for byte as serde_json escapes (its per-byte
/// escaper was a tenth of a packet line's cost): runs that need no escape are found eight
/// bytes at a time and written at once. No allocation.
fn json_str<W: Write>(w: &mut W, v: &str) -> io::Result<()> {
    json_bytes(w, v.as_bytes())
}

/// `json_str` of text already known to be UTF-8 (or ASCII).
fn json_bytes<W: Write>(w: &mut W, b: &[u8]) -> io::Result<()> {
    w.write_all(b"\"")?;
    json_inner(w, b)?;
    w.write_all(b"\"")
}

/// The inside of `json_bytes`, without the quotes.
fn json_inner<W: Write>(w: &mut W, b: &[u8]) -> io::Result<()> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        while let Some(chunk) = b.get(i..i + 8) {
            if needs_escape(word::load(chunk)) {
                break;
            }
            i += 8;
        }
        if b.len() - i < 8 {
            // The last few bytes as one word too, padded with spaces (which need no escape),
            // rather than byte by byte.
            let mut x = [b' '; 8];
            x[..b.len() - i].copy_from_slice(&b[i..]);
            if !needs_escape(u64::from_le_bytes(x)) {
                i = b.len();
            }
        }
        let Some(&c) = b.get(i) else { break };
        let short: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => &[],
            _ => {
                i += 1;
                continue;
            }
        };
        w.write_all(&b[start..i])?;
        if short.is_empty() {
            w.write_all(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(c >> 4)],
                HEX[usize::from(c & 15)],
            ])?;
        } else {
            w.write_all(short)?;
        }
        i += 1;
        start = i;
    }
    w.write_all(&b[start..])
}

/// Whether any of the eight bytes of `x` is a control byte, `"` or `\` (the bytes JSON
/// escapes).
#[inline(always)]
fn needs_escape(x: u64) -> bool {
    (word::control(x) | word::equal(x, b'"') | word::equal(x, b'\\')) & word::HIGH != 0
}

/// Appends the first `len` bytes of `block` by copying the whole block and cutting the line
/// back: a copy of a length known when compiling is a few register moves, a copy of a
/// varying length a call to `memcpy`, and such calls for every number and address were a
/// quarter of a packet line's cost.
#[inline(always)]
fn put_cut<const N: usize>(w: &mut Vec<u8>, block: &[u8; N], len: usize) {
    let at = w.len();
    w.extend_from_slice(block);
    w.truncate(at + len.min(N));
}

/// An octet's decimal digits followed by a dot, as the bytes of a `u32` in memory order
/// (zeros after), and their length with the dot.
const OCTET_DOT: [(u32, u8); 256] = {
    let mut t = [(0u32, 0u8); 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let (bytes, len) = if b >= 100 {
            ([b'0' + b / 100, b'0' + b / 10 % 10, b'0' + b % 10, b'.'], 4)
        } else if b >= 10 {
            ([b'0' + b / 10, b'0' + b % 10, b'.', 0], 3)
        } else {
            ([b'0' + b, b'.', 0, 0], 2)
        };
        t[i] = (u32::from_le_bytes(bytes), len);
        i += 1;
    }
    t
};

/// An address as `IpText` writes it: IPv4 (most lines) without a copy of varying length.
#[inline]
pub(super) fn put_ip(w: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => {
            // Each octet's digits and a dot from a table, two octets to a register (shifted
            // by the first one's length), each pair stored at once; the last dot is cut.
            let [a, b, c, d] = a.octets().map(|o| OCTET_DOT[usize::from(o)]);
            let half = |(x, xl): (u32, u8), (y, yl): (u32, u8)| {
                (
                    u64::from(x) | (u64::from(y) << (8 * u32::from(xl))),
                    usize::from(xl + yl),
                )
            };
            let (front, n) = half(a, b);
            put_cut(w, &front.to_le_bytes(), n);
            let (back, n) = half(c, d);
            put_cut(w, &back.to_le_bytes(), n - 1);
        }
        IpAddr::V6(_) => {
            let mut buf = [0; IP_TEXT_MAX + 3];
            let len = super::ip_bytes(ip, &mut buf).len();
            put_cut(w, &buf, len);
        }
    }
}

/// "00" to "99" as the two bytes of a `u16` in memory order: one load per pair.
const PAIR_WORDS: [u16; 100] = {
    let mut t = [0u16; 100];
    let mut i = 0;
    while i < 100 {
        t[i] = (b'0' + (i / 10) as u8) as u16 | (((b'0' + (i % 10) as u8) as u16) << 8);
        i += 1;
    }
    t
};

/// The decimal digits of `v` (below 10^8) as the bytes of a `u64` in memory order, and
/// their count: gathered two at a time in a register.
#[inline(always)]
fn digits_word(mut v: u32) -> (u64, usize) {
    let mut word = 0u64;
    let mut n = 0;
    while v >= 100 {
        word = (word << 16) | u64::from(PAIR_WORDS[(v % 100) as usize]);
        v /= 100;
        n += 2;
    }
    if v >= 10 {
        ((word << 16) | u64::from(PAIR_WORDS[v as usize]), n + 2)
    } else {
        ((word << 8) | u64::from(b'0' + v as u8), n + 1)
    }
}

/// Exactly eight decimal digits of `v` (below 10^8, zeros in front) as the bytes of a
/// `u64` in memory order.
#[inline(always)]
fn eight_digits(mut v: u32) -> u64 {
    let mut word = 0u64;
    for _ in 0..4 {
        word = (word << 16) | u64::from(PAIR_WORDS[(v % 100) as usize]);
        v /= 100;
    }
    word
}

/// `v` in decimal (as itoa writes it). Numbers are most of a packet line, and each went
/// through itoa's buffer and a `memcpy` call of its length: here the digits are gathered
/// in a register and stored at once (digits stored one by one and read back as a block
/// would stall the processor: a store cannot be forwarded to a wider load).
#[inline(always)]
fn put_uint(w: &mut Vec<u8>, v: u64) {
    if v < 10 {
        w.push(b'0' + v as u8);
    } else if v < 100 {
        w.extend_from_slice(&PAIR_WORDS[v as usize].to_le_bytes());
    } else if v < 100_000_000 {
        let (word, n) = digits_word(v as u32);
        put_cut(w, &word.to_le_bytes(), n);
    } else if v < 10_000_000_000_000_000 {
        // The top digits, then exactly eight (zeros kept).
        let (word, n) = digits_word((v / 100_000_000) as u32);
        put_cut(w, &word.to_le_bytes(), n);
        w.extend_from_slice(&eight_digits((v % 100_000_000) as u32).to_le_bytes());
    } else {
        w.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }
}

/// A payload's text (`escape_payload`) as a JSON string, written piece by piece from the
/// frame's bytes (no copy through a scratch text). Returns whether the payload was cut.
fn payload_str(w: &mut Vec<u8>, bytes: &[u8], limit: usize) -> io::Result<bool> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let (take, cut) = payload::cut_point(bytes, limit);
    if let Ok(text) = std::str::from_utf8(&bytes[..take]) {
        w.push(b'"');
        text_payload(w, text);
        w.push(b'"');
        return Ok(cut);
    }
    w.write_all(b"\"")?;
    let mut result = Ok(());
    let cut = payload::pieces(bytes, limit, |p| {
        if result.is_err() {
            return;
        }
        result = match p {
            payload::Piece::Text(t) => json_inner(w, t.as_bytes()),
            // `\xNN`, whose backslash JSON doubles.
            payload::Piece::Hex(b) => w.write_all(&[
                b'\\',
                b'\\',
                b'x',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]),
        };
    });
    result?;
    w.write_all(b"\"")?;
    Ok(cut)
}

/// `payload_str` of valid UTF-8 (most payloads): one walk where the general path takes
/// three more (the plain-text check, the search for characters shown as `\xNN`, the JSON
/// escaper's own). Characters show as themselves, `"` as `\"`; ASCII controls, DEL, the
/// backslash and C1 controls (`c2 80`-`c2 9f`) byte by byte as `\xNN`, whose backslash
/// JSON doubles.
fn text_payload(w: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let b = text.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        while let Some(chunk) = b.get(i..i + 8) {
            let x = word::load(chunk);
            if (word::payload_special(x) | word::equal(x, b'"')) & word::HIGH != 0 {
                break;
            }
            i += 8;
        }
        let Some(&c) = b.get(i) else { break };
        // A C1 control is `c2` and a byte 80-9f; any other `c2` starts a character shown.
        let c1 = c == 0xc2 && b.get(i + 1).is_some_and(|n| (0x80..0xa0).contains(n));
        let shows = match c {
            b'"' | b'\\' | 0x7f => false,
            0xc2 => !c1,
            _ => c >= 0x20,
        };
        if shows {
            i += 1;
            continue;
        }
        w.extend_from_slice(&b[start..i]);
        let width = if c1 { 2 } else { 1 };
        if c == b'"' {
            w.extend_from_slice(b"\\\"");
        } else {
            for &x in &b[i..i + width] {
                w.extend_from_slice(&[
                    b'\\',
                    b'\\',
                    b'x',
                    HEX[usize::from(x >> 4)],
                    HEX[usize::from(x & 15)],
                ]);
            }
        }
        i += width;
        start = i;
    }
    w.extend_from_slice(&b[start..]);
}

/// A duration as seconds with nine decimals, exactly (as tshark prints durations), from its
/// nanoseconds.
fn write_secs(w: &mut Vec<u8>, nanos: i128) -> io::Result<()> {
    if nanos < 0 {
        w.write_all(b"-")?;
    }
    let a = nanos.unsigned_abs();
    w.write_all(itoa::Buffer::new().format(a / 1_000_000_000).as_bytes())?;
    w.write_all(b".")?;
    write_nine(w, (a % 1_000_000_000) as u64)
}

/// `n` with at least nine digits (zeros in front): every fraction of a second is one digit
/// and eight, stored at once.
#[inline(always)]
fn write_nine(w: &mut Vec<u8>, n: u64) -> io::Result<()> {
    match u32::try_from(n) {
        Ok(n) if n < 1_000_000_000 => {
            w.push(b'0' + (n / 100_000_000) as u8);
            w.extend_from_slice(&eight_digits(n % 100_000_000).to_le_bytes());
        }
        _ => put_uint(w, n),
    }
    Ok(())
}

/// A Wireshark time delta (`tcp.analysis.initial_rtt`) as tshark prints it: one sign for both
/// parts, nanoseconds unpadded beyond nine digits.
fn write_delta(w: &mut Vec<u8>, d: crate::time::Timestamp) -> io::Result<()> {
    if d.secs < 0 || d.nsecs < 0 {
        w.write_all(b"-")?;
    }
    w.write_all(itoa::Buffer::new().format(d.secs.unsigned_abs()).as_bytes())?;
    w.write_all(b".")?;
    write_nine(w, u64::from(d.nsecs.unsigned_abs()))
}

/// One JSON object being written (`type` first, so every other member starts with a comma).
struct Obj<'w> {
    w: &'w mut Vec<u8>,
}

/// A member's prefix as one literal: `k!("frame")` is `,"frame":` (every member follows
/// `type`, so every one starts with a comma). One write instead of three per member.
macro_rules! k {
    ($name:literal) => {
        concat!(",\"", $name, "\":")
    };
}

/// The prefix of a member whose value is a string, its opening quote included.
macro_rules! ks {
    ($name:literal) => {
        concat!(",\"", $name, "\":\"")
    };
}

impl<'w> Obj<'w> {
    /// `kind` is one of the contract's record types (no escaping needed).
    #[inline(always)]
    fn begin(w: &'w mut Vec<u8>, kind: &'static str) -> io::Result<Self> {
        w.extend_from_slice(b"{\"type\":\"");
        w.extend_from_slice(kind.as_bytes());
        w.push(b'"');
        Ok(Obj { w })
    }

    /// `k` is a member's whole prefix, comma and colon included (`k!`): one write.
    #[inline(always)]
    fn key(&mut self, k: &str) -> io::Result<()> {
        debug_assert!(k.starts_with(",\"") && k.ends_with("\":"), "{k}");
        self.w.write_all(k.as_bytes())
    }

    /// A string member's prefix, opening quote included (`ks!`).
    #[inline(always)]
    fn key_str(&mut self, k: &str) -> io::Result<()> {
        debug_assert!(k.starts_with(",\"") && k.ends_with("\":\""), "{k}");
        self.w.write_all(k.as_bytes())
    }

    #[inline(always)]
    fn str(&mut self, k: &str, v: &str) -> io::Result<()> {
        self.key_str(k)?;
        json_inner(self.w, v.as_bytes())?;
        self.w.write_all(b"\"")
    }

    /// A string synack names itself (proto, flags, steps, states): no escaping needed.
    #[inline(always)]
    fn lit(&mut self, k: &str, v: &str) -> io::Result<()> {
        self.key_str(k)?;
        self.w.write_all(v.as_bytes())?;
        self.w.write_all(b"\"")
    }

    #[inline(always)]
    fn num(&mut self, k: &str, v: impl Into<u64>) -> io::Result<()> {
        self.key(k)?;
        put_uint(self.w, v.into());
        Ok(())
    }

    #[inline(always)]
    fn bool(&mut self, k: &str, v: bool) -> io::Result<()> {
        self.key(k)?;
        self.w.write_all(if v { b"true" } else { b"false" })
    }

    fn addr(&mut self, k: &str, ip: IpAddr) -> io::Result<()> {
        self.key_str(k)?;
        put_ip(self.w, ip);
        self.w.write_all(b"\"")
    }

    fn endpoint(&mut self, k: &str, (ip, port): (IpAddr, u16)) -> io::Result<()> {
        self.key_str(k)?;
        if ip.is_ipv6() {
            self.w.write_all(b"[")?;
        }
        put_ip(self.w, ip);
        self.w.write_all(if ip.is_ipv6() { b"]:" } else { b":" })?;
        put_uint(self.w, port.into());
        self.w.write_all(b"\"")
    }

    /// The keys every `conn` line starts with, for TCP and UDP alike.
    fn conversation(&mut self, proto: &str, f: &FlowSummary) -> io::Result<()> {
        self.str(ks!("proto"), proto)?;
        self.num(k!("stream"), f.stream)?;
        self.endpoint(ks!("client"), f.client)?;
        self.endpoint(ks!("server"), f.server)?;
        self.num(k!("first_frame"), f.first_frame)?;
        self.num(k!("last_frame"), f.last_frame)?;
        self.num(k!("packets"), f.packets)?;
        self.num(k!("packets_c2s"), f.packets_c2s)?;
        self.num(k!("packets_s2c"), f.packets_s2c)?;
        self.num(k!("bytes_c2s"), f.bytes_c2s)?;
        self.num(k!("bytes_s2c"), f.bytes_s2c)
    }

    fn end(self) -> io::Result<()> {
        self.w.write_all(b"}\n")
    }
}

/// `frame.time_epoch`'s text without the formatting machinery.
fn write_ts(w: &mut Vec<u8>, ts: crate::time::Timestamp) {
    if ts.nsecs < 0 {
        w.push(b'-');
    }
    if ts.secs < 0 {
        w.extend_from_slice(itoa::Buffer::new().format(ts.secs).as_bytes());
    } else {
        put_uint(w, ts.secs.unsigned_abs());
    }
    w.push(b'.');
    // A Vec takes every write.
    let _ = write_nine(w, u64::from(ts.nsecs.unsigned_abs()));
}

pub struct JsonPrinter<W: Write> {
    out: W,
    /// Lines are built here and written out some 64 KiB at a time (each at once when
    /// live): the bytes are copied once, not once more into a buffered writer per line.
    line: Vec<u8>,
    style: Style,
    /// Reused for notes and payload text so that a line allocates nothing.
    scratch: String,
    /// Flush after every line (live capture and the demo).
    live: bool,
}

impl<W: Write> JsonPrinter<W> {
    /// Lines held before they are written.
    const WRITE_AT: usize = 64 << 10;

    /// A line was added: written now when live or when enough are held.
    fn added(&mut self) -> io::Result<()> {
        if self.live || self.line.len() >= Self::WRITE_AT {
            self.out.write_all(&self.line)?;
            self.line.clear();
            if self.live {
                self.out.flush()?;
            }
        }
        Ok(())
    }

    pub fn new(out: W, style: Style, live: bool) -> Self {
        JsonPrinter {
            out,
            line: Vec::with_capacity(JsonPrinter::<W>::WRITE_AT + 4096),
            style,
            scratch: String::with_capacity(1024),
            live,
        }
    }
}

/// The `exchanges` array of a conn line.
fn exchanges(o: &mut Obj<'_>, ex: &[Exchange], text: &[u8], limit: usize) -> io::Result<()> {
    o.key(k!("exchanges"))?;
    o.w.write_all(b"[")?;
    for (i, e) in ex.iter().enumerate() {
        if i > 0 {
            o.w.write_all(b",")?;
        }
        o.w.write_all(b"{\"request_frame\":")?;
        put_uint(o.w, e.request_frame);
        o.w.write_all(b",\"reply_frame\":")?;
        put_uint(o.w, e.reply_frame);
        o.w.write_all(b",\"request\":")?;
        payload_str(o.w, &text[e.request.clone()], limit)?;
        o.w.write_all(b",\"reply\":")?;
        payload_str(o.w, &text[e.reply.clone()], limit)?;
        o.w.write_all(b",\"rtt\":")?;
        write_secs(o.w, e.rtt.as_nanos())?;
        o.w.write_all(b"}")?;
    }
    o.w.write_all(b"]")
}

impl<W: Write> Sink for JsonPrinter<W> {
    fn packet(&mut self, ev: &PacketEvent<'_, '_>) -> io::Result<()> {
        let f = ev.frame;
        let d = ev.decoded;
        let info = ev.info;
        let mut o = Obj::begin(&mut self.line, "packet")?;
        o.num(k!("frame"), f.number)?;
        if f.has_ts {
            o.key(k!("ts"))?;
            write_ts(o.w, f.ts);
        }
        o.num(k!("caplen"), f.caplen)?;
        o.num(k!("wirelen"), f.wirelen)?;
        o.lit(ks!("proto"), d.proto.as_str())?;
        if let Some(ip) = d.ip {
            o.num(k!("ip"), ip.version)?;
            o.addr(ks!("src"), ip.src)?;
            o.addr(ks!("dst"), ip.dst)?;
        }
        let payload: &[u8] = match &d.transport {
            Transport::Tcp(seg) => {
                tcp(&mut o, seg, info)?;
                seg.payload
            }
            Transport::Udp(dg) => {
                udp(&mut o, dg, info)?;
                dg.payload
            }
            Transport::Icmp(m) => {
                icmp(&mut o, m, info)?;
                &[]
            }
            Transport::Arp(a) => {
                arp(&mut o, a)?;
                &[]
            }
            Transport::None => &[],
        };
        if let Some(step) = info.step {
            o.lit(ks!("step"), step.as_str())?;
        }
        if let Transport::Tcp(seg) = &d.transport {
            analysis(&mut o, seg, info, &mut self.scratch, self.style.lang)?;
        }
        if let Some((c, s)) = info.states {
            o.lit(ks!("client_state"), c.as_str())?;
            o.lit(ks!("server_state"), s.as_str())?;
        }
        if let Some(t) = d.tunnel {
            o.str(ks!("tunnel"), t.as_str())?;
            if let Some(outer) = d.outer {
                o.addr(ks!("outer_src"), outer.src)?;
                o.addr(ks!("outer_dst"), outer.dst)?;
            }
        }
        self.scratch.clear();
        notes::packet_note(&mut self.scratch, ev, &self.style);
        if !self.scratch.is_empty() {
            // A note is synack's own words, numbers and addresses (no text from the packet):
            // nothing in it is escaped, so it is not scanned for escapes (a fifth of the
            // note's cost). The debug builds the tests run hold every note to that.
            debug_assert!(
                !self
                    .scratch
                    .bytes()
                    .any(|b| b < 0x20 || b == b'"' || b == b'\\'),
                "a note needs escaping: {}",
                self.scratch
            );
            o.lit(ks!("note"), &self.scratch)?;
        }
        if !payload.is_empty() {
            o.key(k!("payload"))?;
            let cut = payload_str(o.w, payload, self.style.payload_bytes)?;
            if cut {
                o.bool(k!("payload_truncated"), true)?;
            }
        }
        if let Some(m) = d.malformed {
            shown(&mut o, ks!("malformed"), m, &mut self.scratch)?;
        } else if let Some(s) = d.short {
            shown(&mut o, ks!("short"), s, &mut self.scratch)?;
        }
        o.end()?;
        self.added()
    }

    fn conn(&mut self, c: &Finished) -> io::Result<()> {
        let limit = self.style.payload_bytes;
        let mut o = Obj::begin(&mut self.line, "conn")?;
        match c {
            Finished::Tcp(t) => {
                o.conversation("tcp", &t.flow)?;
                o.str(ks!("handshake"), t.handshake.as_str())?;
                if let Some(j) = t.j {
                    o.num(k!("j"), j)?;
                }
                if let Some(k) = t.k {
                    o.num(k!("k"), k)?;
                }
                if let Some(d) = t.irtt {
                    o.key(k!("irtt"))?;
                    write_delta(o.w, d)?;
                }
                o.num(k!("completeness"), t.completeness)?;
                o.str(ks!("history"), t.history.as_str())?;
                o.str(ks!("close"), t.close.as_str())?;
                o.num(k!("retransmissions"), t.retransmissions)?;
                o.num(k!("dup_acks"), t.dup_acks)?;
                o.num(k!("zero_windows"), t.zero_windows)?;
                o.str(ks!("client_state"), t.client_state.as_str())?;
                o.str(ks!("server_state"), t.server_state.as_str())?;
                o.key(k!("duration"))?;
                write_secs(o.w, t.flow.duration.as_nanos())?;
                exchanges(&mut o, &t.flow.exchanges, &t.flow.text, limit)?;
            }
            Finished::Udp(u) => {
                o.conversation("udp", u)?;
                o.key(k!("duration"))?;
                write_secs(o.w, u.duration.as_nanos())?;
                exchanges(&mut o, &u.exchanges, &u.text, limit)?;
            }
        }
        let f = c.flow();
        o.str(ks!("ended"), f.ended.as_str())?;
        if f.resumed {
            o.bool(k!("resumed"), true)?;
        }
        o.end()?;
        self.added()
    }

    fn summary(&mut self, s: &Summary) -> io::Result<()> {
        let mut o = Obj::begin(&mut self.line, "summary")?;
        o.num(k!("frames"), s.totals.frames)?;
        o.num(k!("tcp_streams"), s.tcp_streams)?;
        o.num(k!("udp_streams"), s.udp_streams)?;
        o.num(k!("handshakes_complete"), s.totals.handshakes_complete)?;
        o.num(k!("malformed"), s.totals.malformed)?;
        o.num(k!("summed_up_early"), s.totals.summed_up_early)?;
        if let Some(l) = &s.live {
            o.num(k!("not_analysed"), l.not_analysed)?;
            o.num(k!("received"), l.received)?;
            o.num(k!("dropped"), l.dropped + l.if_dropped)?;
            o.num(k!("dropped_kernel"), l.dropped)?;
            o.num(k!("dropped_interface"), l.if_dropped)?;
            o.str(ks!("interface"), &l.interface)?;
        }
        o.end()?;
        self.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(&self.line)?;
        self.line.clear();
        self.out.flush()
    }
}

/// Lines still held are written when the printer goes (a writer's buffer does the same), so
/// that a run that stops without a summary still shows every line it made.
impl<W: Write> Drop for JsonPrinter<W> {
    fn drop(&mut self) {
        let _ = self.out.write_all(&self.line);
        let _ = self.out.flush();
    }
}

/// A member whose text is the value's `Display`.
fn shown(
    o: &mut Obj<'_>,
    key: &str,
    v: impl std::fmt::Display,
    scratch: &mut String,
) -> io::Result<()> {
    use std::fmt::Write as _;
    scratch.clear();
    let _ = write!(scratch, "{v}");
    o.str(key, scratch)
}

/// The TCP members: ports, stream, flags, numbers, windows, checksum, options.
fn tcp(o: &mut Obj<'_>, seg: &TcpSegment<'_>, info: &PacketInfo) -> io::Result<()> {
    o.num(k!("sport"), seg.sport)?;
    o.num(k!("dport"), seg.dport)?;
    if let Some(s) = info.stream {
        o.num(k!("stream"), s)?;
    }
    if let Some(fx) = seg.fixed {
        if !fx.bogus_offset() {
            o.lit(ks!("flags"), fx.flags.names())?;
            o.num(k!("flags_raw"), fx.flags.0 & 0xff)?;
        }
        o.num(k!("seq"), fx.seq.0)?;
        if !fx.bogus_offset() {
            o.num(k!("ack"), fx.ack.0)?;
        }
        if let Some(r) = info.rel_seq {
            o.num(k!("rel_seq"), r)?;
        }
        if let Some(r) = info.rel_ack {
            o.num(k!("rel_ack"), r)?;
        }
    }
    if let Some(len) = seg.len {
        o.num(k!("len"), len)?;
    }
    if let Some(fx) = seg.fixed.filter(|f| !f.bogus_offset()) {
        o.num(k!("win"), fx.window)?;
        if let Some(w) = info.window {
            o.num(k!("window"), w)?;
        }
        o.lit(ks!("checksum"), seg.checksum.as_str())?;
        if !seg.options.is_empty() {
            o.key(k!("options"))?;
            tcp_options(o.w, &seg.options)?;
        }
    }
    Ok(())
}

/// The `options` object, in the order the contract lists its keys.
fn tcp_options(w: &mut Vec<u8>, opt: &TcpOptions) -> io::Result<()> {
    // Most segments carry options (timestamps on every Linux segment): written without the
    // formatting machinery.
    let mut sep: &[u8] = b"";
    let member = |w: &mut Vec<u8>, k: &[u8], sep: &mut &[u8]| -> io::Result<()> {
        w.write_all(sep)?;
        *sep = b",";
        w.write_all(k)
    };
    let num = |w: &mut Vec<u8>, v: u32| -> io::Result<()> {
        put_uint(w, v.into());
        Ok(())
    };
    w.write_all(b"{")?;
    if let Some(m) = opt.mss {
        member(w, b"\"mss\":", &mut sep)?;
        num(w, m.into())?;
    }
    if let Some(s) = opt.wscale {
        member(w, b"\"wscale\":", &mut sep)?;
        num(w, s.into())?;
    }
    if opt.sack_perm {
        member(w, b"\"sack_perm\":true", &mut sep)?;
    }
    if let Some((v, e)) = opt.ts {
        member(w, b"\"ts\":[", &mut sep)?;
        num(w, v)?;
        w.write_all(b",")?;
        num(w, e)?;
        w.write_all(b"]")?;
    } else if let Some(v) = opt.ts_val_cut {
        // The frame ends inside the option after its TSval: the one value there is.
        member(w, b"\"ts\":[", &mut sep)?;
        num(w, v)?;
        w.write_all(b"]")?;
    }
    let mut sep = if sep.is_empty() { "" } else { "," };
    if opt.sack_count > 0 {
        write!(w, "{sep}\"sack\":[")?;
        for (i, (l, r)) in opt.sack_blocks().iter().enumerate() {
            write!(w, "{}[{l},{r}]", if i > 0 { "," } else { "" })?;
        }
        w.write_all(b"]")?;
        sep = ",";
    }
    if let Some(c) = opt.tfo {
        write!(w, "{sep}\"tfo_cookie_len\":{c}")?;
        sep = ",";
    }
    if opt.unknown_count > 0 {
        write!(w, "{sep}\"unknown\":[")?;
        for (i, k) in opt.unknown_kinds().iter().enumerate() {
            write!(w, "{}{k}", if i > 0 { "," } else { "" })?;
        }
        w.write_all(b"]")?;
    }
    w.write_all(b"}")
}

fn udp(o: &mut Obj<'_>, dg: &UdpDatagram<'_>, info: &PacketInfo) -> io::Result<()> {
    o.num(k!("sport"), dg.sport)?;
    o.num(k!("dport"), dg.dport)?;
    if let Some(s) = info.stream {
        o.num(k!("stream"), s)?;
    }
    if dg.header_complete {
        o.num(k!("len"), dg.len)?;
        o.num(k!("udp_length"), dg.length)?;
        o.lit(ks!("checksum"), dg.checksum.as_str())?;
    }
    Ok(())
}

/// ICMP: the quoted datagram's ports and stream, and the `icmp` object.
fn icmp(o: &mut Obj<'_>, m: &IcmpMessage, info: &PacketInfo) -> io::Result<()> {
    if let Some(q) = m.quoted {
        if let (Some(sp), Some(dp)) = (q.sport, q.dport) {
            o.num(k!("sport"), sp)?;
            o.num(k!("dport"), dp)?;
        }
        if let Some(s) = info.stream {
            o.num(k!("stream"), s)?;
        }
    }
    o.key(k!("icmp"))?;
    write!(o.w, "{{\"type\":{},\"code\":{}", m.icmp_type, m.code)?;
    if let Some((id, seq)) = m.echo {
        write!(o.w, ",\"id\":{id},\"seq\":{seq}")?;
    }
    if let Some(q) = m.quoted {
        write!(
            o.w,
            ",\"quote\":{{\"proto\":{},\"src\":\"{}\",\"dst\":\"{}\"",
            q.ip.protocol,
            IpText(q.ip.src),
            IpText(q.ip.dst)
        )?;
        if let (Some(sp), Some(dp)) = (q.sport, q.dport) {
            write!(o.w, ",\"sport\":{sp},\"dport\":{dp}")?;
        }
        o.w.write_all(b"}")?;
    }
    o.w.write_all(b"}")
}

fn arp(o: &mut Obj<'_>, a: &ArpPacket) -> io::Result<()> {
    o.key(k!("arp"))?;
    write!(o.w, "{{\"op\":{}", a.operation)?;
    if let (Some(s), Some(t)) = (a.sender, a.target) {
        write!(o.w, ",\"sender\":\"{s}\",\"target\":\"{t}\"")?;
    }
    o.w.write_all(b"}")
}

/// `analysis` (always, for TCP) and `why`: each verdict with its evidence, in the words of
/// the note.
fn analysis(
    o: &mut Obj<'_>,
    seg: &TcpSegment<'_>,
    info: &PacketInfo,
    scratch: &mut String,
    lang: super::Lang,
) -> io::Result<()> {
    if info.analysis.is_empty() {
        // Most segments: no walk over the names.
        return o.w.write_all(b",\"analysis\":[]");
    }
    o.key(k!("analysis"))?;
    o.w.write_all(b"[")?;
    for (i, n) in info.analysis.names().enumerate() {
        write!(o.w, "{}\"{n}\"", if i > 0 { "," } else { "" })?;
    }
    o.w.write_all(b"]")?;
    o.key(k!("why"))?;
    o.w.write_all(b"{")?;
    for (i, name) in info.analysis.names().enumerate() {
        if i > 0 {
            o.w.write_all(b",")?;
        }
        scratch.clear();
        notes::why(scratch, name, info, seg, lang);
        json_str(o.w, name)?;
        o.w.write_all(b":")?;
        json_str(o.w, scratch)?;
    }
    o.w.write_all(b"}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::payload::escape_payload;

    fn ours(s: &str) -> String {
        let mut out = Vec::new();
        json_str(&mut out, s).expect("a Vec takes every write");
        String::from_utf8(out).expect("escaped text is UTF-8")
    }

    /// `ts` as the formatting machinery wrote it (a minus for a negative fraction, the
    /// seconds, nine digits at least), at the edges of the fast form and beyond (damaged
    /// fractions and years included).
    #[test]
    fn test_ts_as_displayed() {
        use crate::time::Timestamp;
        let secs = [
            0,
            7,
            999_999_999,
            1_000_000_000,
            1_700_000_006,
            9_999_999_999,
            10_000_000_000,
            -1,
            -1_700_000_000,
            i64::MAX,
            i64::MIN,
        ];
        let nsecs = [
            0,
            1,
            5,
            99_999_999,
            100_000_000,
            999_999_999,
            1_000_000_000,
            -1,
            -5,
            i32::MAX,
            i32::MIN,
        ];
        for secs in secs {
            for nsecs in nsecs {
                let ts = Timestamp { secs, nsecs };
                let mut got = Vec::new();
                write_ts(&mut got, ts);
                let sign = if nsecs < 0 { "-" } else { "" };
                let want = format!("{sign}{secs}.{:09}", nsecs.unsigned_abs());
                assert_eq!(String::from_utf8_lossy(&got), want);
            }
        }
    }

    /// Numbers as itoa writes them: around every power of ten and at random over every
    /// width.
    #[test]
    fn test_numbers_are_itoas() {
        let mut cases: Vec<u64> = vec![0, u64::MAX, u64::from(u32::MAX)];
        for p in 0..20u32 {
            let t = 10u64.pow(p);
            cases.extend([t - 1, t, t + 1]);
            cases.extend([2, 9].iter().filter_map(|m| t.checked_mul(*m)));
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cases.push(x >> (x % 64));
        }
        let mut got = b"{".to_vec();
        let mut want = got.clone();
        for v in cases {
            put_uint(&mut got, v);
            got.push(b',');
            want.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
            want.push(b',');
        }
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want)
        );
    }

    /// A fraction of a second is nine digits, zero-padded; a damaged larger one is written
    /// whole.
    #[test]
    fn test_nine_digits_are_zero_padded_and_never_cut() {
        let mut cases: Vec<u64> = (0..2000).collect();
        for p in 1..20 {
            let t = 10u64.pow(p);
            cases.extend([t - 1, t, t + 1, t + t / 3]);
        }
        cases.extend([999_999_999, 1_000_000_000, u64::from(u32::MAX), u64::MAX]);
        for n in cases {
            let mut got = Vec::new();
            write_nine(&mut got, n).expect("a Vec takes every write");
            assert_eq!(
                String::from_utf8(got).expect("ASCII"),
                format!("{n:09}"),
                "{n}"
            );
        }
    }

    /// A payload's JSON string is `escape_payload`'s text escaped by `json_str`, however it
    /// is written: every byte value around plain text, line endings, quotes, UTF-8, and cut
    /// at every length.
    #[test]
    fn test_payload_strings_are_the_escaped_text() {
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for x in 0..=255u8 {
            cases.push(vec![x]);
            cases.push([b"say \"hi\"".as_slice(), &[x], b"\r\n"].concat());
            cases.push([b"ping".as_slice(), &[x, x], "é你".as_bytes()].concat());
            cases.push([b"\xc2".as_slice(), &[x], "ok\u{85}\u{9f}\u{a0}".as_bytes()].concat());
            // Long ASCII lines, the byte at each place of a word and across words.
            for at in [0, 1, 7, 8, 9, 15, 16, 19] {
                let mut line = b"Hi,you send me :[Tue Nov 14] x".to_vec();
                line[at] = x;
                cases.push(line);
                let mut line = "при\u{85}вет \"q\" 测试\\ \u{a0}ok".as_bytes().to_vec();
                line.insert(at, x);
                cases.push(line);
            }
        }
        for case in &cases {
            for limit in [0, 1, 3, 5, 256] {
                let mut want = String::new();
                let want_cut = escape_payload(case, limit, &mut want);
                let mut got = Vec::new();
                let cut = payload_str(&mut got, case, limit).expect("a Vec takes every write");
                assert_eq!(
                    String::from_utf8(got).expect("UTF-8"),
                    ours(&want),
                    "{case:?} {limit}"
                );
                assert_eq!(cut, want_cut);
            }
        }
    }

    /// Durations and deltas as the formatting machinery wrote them before.
    #[test]
    fn test_seconds_as_formatted() {
        let text = |f: &dyn Fn(&mut Vec<u8>) -> io::Result<()>| {
            let mut v = Vec::new();
            f(&mut v).expect("a Vec takes every write");
            String::from_utf8(v).expect("ASCII")
        };
        for ns in [
            0i128,
            1,
            999_999_999,
            1_000_000_000,
            -1,
            -1_500_000_001,
            86_400 * 1_000_000_007,
        ] {
            let a = ns.unsigned_abs();
            let want = format!(
                "{}{}.{:09}",
                if ns < 0 { "-" } else { "" },
                a / 1_000_000_000,
                a % 1_000_000_000
            );
            assert_eq!(text(&|w| write_secs(w, ns)), want);
        }
        for (secs, nsecs) in [
            (0, 0),
            (1, 5),
            (-1, 0),
            (0, -5),
            (3, 1_234_567_890),
            (i64::MIN, 0),
        ] {
            let d = crate::time::Timestamp { secs, nsecs };
            let neg = secs < 0 || nsecs < 0;
            let want = format!(
                "{}{}.{:09}",
                if neg { "-" } else { "" },
                secs.unsigned_abs(),
                nsecs.unsigned_abs()
            );
            assert_eq!(text(&|w| write_delta(w, d)), want);
        }
    }

    /// serde_json is the reference: every ASCII byte alone and at every place in a word,
    /// and characters beyond ASCII.
    #[test]
    fn test_json_strings_escape_as_serde_json() {
        let reference = |s: &str| serde_json::to_string(s).expect("a str serialises");
        for c in (0u8..=0x7f)
            .map(char::from)
            .chain(['é', '\u{85}', '\u{2028}', '你', '😀'])
        {
            for pad in 0..17 {
                let s = format!("{}{c}{}", "a".repeat(pad), "b".repeat(16 - pad));
                assert_eq!(ours(&s), reference(&s), "{c:?} after {pad}");
            }
        }
        let mixed = "GET /index.html HTTP/1.1\r\nHost: \"x\"\\\u{1}\u{7f}é\t\u{c}\u{8}end";
        assert_eq!(ours(mixed), reference(mixed));
        assert_eq!(ours(""), reference(""));
    }
}
