//! Formatting only: the text and JSON Lines printers, the ladder diagram and SVG, and the
//! shared wording of annotations (English and the classic tutorial's Chinese terms).

pub mod checks;
pub mod demo;
pub mod errors;
pub mod follow;
pub mod html;
pub mod jsonl;
pub mod ladder;
pub mod notes;
pub mod text;

pub use crate::event::payload::escape_payload;
pub use crate::event::{LiveStats, PacketEvent, Sink, Summary};
pub use notes::Lang;

/// Options shared by the printers.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub payload_bytes: usize,
    pub lang: Lang,
    /// Text only: print each packet's headers layer by layer.
    pub layers: bool,
    /// Name the socket call behind each segment (the demo's lesson).
    pub socket_calls: bool,
    /// Text only: colour (decided once: `--color`, a terminal, NO_COLOR).
    pub color: bool,
}

/// The colours of the text output: the two sides of a conversation, the handshake, analysis
/// findings, trouble.
pub mod colors {
    use anstyle::{AnsiColor, Style};
    pub const CLIENT: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Cyan)));
    pub const SERVER: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Magenta)));
    pub const HANDSHAKE: Style = Style::new()
        .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)))
        .bold();
    pub const FINDING: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)));
    pub const TROUBLE: Style = Style::new()
        .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)))
        .bold();
}

/// Writes `text` into `out` in `style` when colour is on.
pub fn paint(out: &mut String, color: bool, style: anstyle::Style, text: &str) {
    use std::fmt::Write;
    if color {
        let _ = write!(out, "{}{text}{}", style.render(), style.render_reset());
    } else {
        out.push_str(text);
    }
}

impl Default for Style {
    fn default() -> Self {
        Style {
            payload_bytes: 256,
            lang: Lang::En,
            layers: false,
            socket_calls: false,
            color: false,
        }
    }
}

/// An address as Wireshark writes it: like Rust, except that an IPv4-compatible IPv6
/// address (first 96 bits zero, the next word non-zero) ends in a dotted quad (`::0.233.0.1`).
pub struct IpText(pub std::net::IpAddr);

/// The longest address text: eight groups of four hex digits and seven colons.
pub(crate) const IP_TEXT_MAX: usize = 39;

/// Each byte's decimal digits, three bytes wide, and how many of them count.
const DECIMAL: [([u8; 3], u8); 256] = {
    let mut t = [([0u8; 3], 0u8); 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if b >= 100 {
            ([b'0' + b / 100, b'0' + b / 10 % 10, b'0' + b % 10], 3)
        } else if b >= 10 {
            ([b'0' + b / 10, b'0' + b % 10, 0], 2)
        } else {
            ([b'0' + b, 0, 0], 1)
        };
        i += 1;
    }
    t
};

/// An address as Wireshark writes it, in a stack buffer: dotted IPv4; IPv6 as RFC 5952
/// (Rust's `Ipv6Addr` text: the longest run of zero groups shortened, IPv4-mapped dotted),
/// and the deprecated IPv4-compatible form `::a.b.c.d` dotted as Wireshark does. Written
/// without the formatting machinery: it costs a thousand instructions per address, and
/// every packet line has two.
pub(crate) fn ip_text(ip: std::net::IpAddr, buf: &mut [u8; IP_TEXT_MAX + 3]) -> &str {
    // Only ASCII digits, dots, colons and hex letters are written.
    std::str::from_utf8(ip_bytes(ip, buf)).unwrap_or_default()
}

/// `ip_text` as bytes, for the JSON line (which needs no UTF-8 check of its own text).
pub(crate) fn ip_bytes(ip: std::net::IpAddr, buf: &mut [u8; IP_TEXT_MAX + 3]) -> &[u8] {
    let n = match ip {
        std::net::IpAddr::V4(a) => v4_into(a.octets(), buf, 0),
        std::net::IpAddr::V6(a) => {
            let w = a.segments();
            if w[..5].iter().all(|&x| x == 0) && (w[5] == 0xffff || (w[5] == 0 && w[6] != 0)) {
                let prefix: &[u8] = if w[5] == 0 { b"::" } else { b"::ffff:" };
                buf[..prefix.len()].copy_from_slice(prefix);
                let o = a.octets();
                v4_into([o[12], o[13], o[14], o[15]], buf, prefix.len())
            } else {
                v6_into(w, buf)
            }
        }
    };
    &buf[..n]
}

/// Dotted octets at `at`; returns the end. Each octet's three table bytes are copied whole
/// (the buffer has room to spare) and the end moved by its length.
fn v4_into(octets: [u8; 4], buf: &mut [u8; IP_TEXT_MAX + 3], at: usize) -> usize {
    let mut n = at;
    for (i, o) in octets.into_iter().enumerate() {
        if i > 0 {
            buf[n] = b'.';
            n += 1;
        }
        let (digits, len) = DECIMAL[usize::from(o)];
        buf[n..n + 3].copy_from_slice(&digits);
        n += usize::from(len);
    }
    n
}

/// RFC 5952 §4: lowercase hex without leading zeros, the longest run of two or more zero
/// groups (the first of equal runs) as `::`.
fn v6_into(w: [u16; 8], buf: &mut [u8; IP_TEXT_MAX + 3]) -> usize {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let (mut best, mut best_len, mut run, mut run_len) = (8, 0, 0, 0);
    for (i, &g) in w.iter().enumerate() {
        if g == 0 {
            if run_len == 0 {
                run = i;
            }
            run_len += 1;
            if run_len > best_len {
                (best, best_len) = (run, run_len);
            }
        } else {
            run_len = 0;
        }
    }
    if best_len < 2 {
        best = 8;
    }
    let mut n = 0;
    let mut i = 0;
    while i < 8 {
        if i == best {
            buf[n..n + 2].copy_from_slice(b"::");
            n += 2;
            i += best_len;
            continue;
        }
        if i > 0 && i != best + best_len {
            buf[n] = b':';
            n += 1;
        }
        let g = w[i];
        let digits = (16 - g.leading_zeros() as usize).div_ceil(4).max(1);
        for d in (0..digits).rev() {
            buf[n] = HEX[usize::from(g >> (4 * d) & 15)];
            n += 1;
        }
        i += 1;
    }
    n
}

impl std::fmt::Display for IpText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(ip_text(self.0, &mut [0; IP_TEXT_MAX + 3]))
    }
}

/// An address as Wireshark writes it, appended to `out`.
pub fn push_ip(out: &mut String, ip: std::net::IpAddr) {
    out.push_str(ip_text(ip, &mut [0; IP_TEXT_MAX + 3]));
}

/// `ip:port` or `[ip6]:port`.
pub fn endpoint(out: &mut String, ip: std::net::IpAddr, port: u16) {
    if ip.is_ipv6() {
        out.push('[');
        push_ip(out, ip);
        out.push(']');
    } else {
        push_ip(out, ip);
    }
    out.push(':');
    push_num(out, port);
}

/// Appends a number (itoa: the formatting machinery cost a flood, a line per packet, more
/// than its tracking).
pub fn push_num(out: &mut String, n: impl itoa::Integer) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// `n` right-aligned in `width` columns.
pub fn push_padded(out: &mut String, n: impl itoa::Integer, width: usize) {
    let mut b = itoa::Buffer::new();
    let s = b.format(n);
    for _ in s.len()..width {
        out.push(' ');
    }
    out.push_str(s);
}

/// The output formats of packet and conversation events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    /// JSON Lines, as `shared/spec/events.md` specifies.
    Json,
}

/// The printer of `format`, writing to `out`; `live` marks a capture in progress.
pub fn printer<'a, W: std::io::Write + 'a>(
    format: Format,
    style: Style,
    out: W,
    live: bool,
) -> Box<dyn Sink + 'a> {
    match format {
        Format::Text => Box::new(text::TextPrinter::new(out, style, live)),
        Format::Json => Box::new(jsonl::JsonPrinter::new(out, style, live)),
    }
}

/// Text escaped for XML and HTML, in element content and attribute values alike (the ladder's
/// SVG and the report page).
pub(crate) fn markup_escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_ipv6_text_as_wireshark_writes_it() {
        for (a, want) in [
            ("::e9:1", "::0.233.0.1"),
            ("::a00:1", "::10.0.0.1"),
            ("::2", "::2"),
            ("::1", "::1"),
            ("::ffff:10.0.0.1", "::ffff:10.0.0.1"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("0:0:0:0:0:1:0:1", "::1:0:1"),
        ] {
            let ip: std::net::IpAddr = a.parse().expect("test data");
            assert_eq!(IpText(ip).to_string(), want, "{a}");
        }
    }

    /// The hand-written text (and the JSON line's) against the standard library's
    /// (Wireshark's `::a.b.c.d` aside): every pattern of zero and non-zero groups, with group
    /// values of every digit count, and every octet value in every IPv4 position.
    #[test]
    fn test_address_text_matches_the_standard_library() {
        use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
        // The JSON line's own writer, between other text.
        let json_text = |ip: IpAddr| {
            let mut line = b"x".to_vec();
            super::jsonl::put_ip(&mut line, ip);
            line.push(b'"');
            let text = String::from_utf8(line).expect("ASCII");
            text[1..text.len() - 1].to_string()
        };
        let reference = |ip: IpAddr| match ip {
            IpAddr::V6(a) => {
                let w = a.segments();
                if w[..6].iter().all(|&x| x == 0) && w[6] != 0 {
                    let o = a.octets();
                    format!("::{}.{}.{}.{}", o[12], o[13], o[14], o[15])
                } else {
                    a.to_string()
                }
            }
            IpAddr::V4(a) => a.to_string(),
        };
        let values = [0x1, 0xab, 0xabc, 0xffff, 0x10, 0x100, 0x1000];
        for mask in 0u32..256 {
            for (v, _) in values.iter().enumerate() {
                let w: [u16; 8] = std::array::from_fn(|i| {
                    if mask >> i & 1 == 1 {
                        values[(v + i) % values.len()]
                    } else {
                        0
                    }
                });
                let ip = IpAddr::V6(Ipv6Addr::from(w));
                assert_eq!(IpText(ip).to_string(), reference(ip), "{w:x?}");
                assert_eq!(json_text(ip), reference(ip), "{w:x?}");
            }
        }
        for w5 in [0, 0xffff, 0xfffe] {
            for w6 in [0, 1, 0xe9, 0xffff] {
                let ip = IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, w5, w6, 0x0101));
                assert_eq!(IpText(ip).to_string(), reference(ip));
            }
        }
        for b in 0..=255u8 {
            for ip in [
                [b, 0, 0, 1],
                [1, b, 2, 3],
                [10, 0, b, 9],
                [255, 255, 255, b],
            ] {
                let ip = IpAddr::V4(Ipv4Addr::from(ip));
                assert_eq!(IpText(ip).to_string(), reference(ip));
                assert_eq!(json_text(ip), reference(ip));
            }
        }
    }
}
