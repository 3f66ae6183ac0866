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

/// An IPv4 address's dotted text in a stack buffer (the formatting machinery costs a
/// thousand instructions per address, and every packet line has two).
pub(crate) fn v4_text(a: std::net::Ipv4Addr, buf: &mut [u8; 15]) -> &str {
    let mut n = 0;
    for (i, o) in a.octets().into_iter().enumerate() {
        if i > 0 {
            buf[n] = b'.';
            n += 1;
        }
        if o >= 100 {
            buf[n] = b'0' + o / 100;
            n += 1;
        }
        if o >= 10 {
            buf[n] = b'0' + o / 10 % 10;
            n += 1;
        }
        buf[n] = b'0' + o % 10;
        n += 1;
    }
    std::str::from_utf8(&buf[..n]).unwrap_or_default()
}

impl std::fmt::Display for IpText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            std::net::IpAddr::V4(a) => f.write_str(v4_text(a, &mut [0; 15])),
            std::net::IpAddr::V6(a) => {
                let w = a.segments();
                if w[..6].iter().all(|&x| x == 0) && w[6] != 0 {
                    let o = a.octets();
                    write!(f, "::{}.{}.{}.{}", o[12], o[13], o[14], o[15])
                } else {
                    write!(f, "{a}")
                }
            }
        }
    }
}

/// An address as Wireshark writes it, appended to `out`.
pub fn push_ip(out: &mut String, ip: std::net::IpAddr) {
    use std::fmt::Write;
    match ip {
        // Digits pushed one by one: no text to validate as UTF-8 on the way (a flood
        // writes two addresses per packet).
        std::net::IpAddr::V4(a) => {
            for (i, o) in a.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                if o >= 100 {
                    out.push(char::from(b'0' + o / 100));
                }
                if o >= 10 {
                    out.push(char::from(b'0' + o / 10 % 10));
                }
                out.push(char::from(b'0' + o % 10));
            }
        }
        std::net::IpAddr::V6(_) => {
            let _ = write!(out, "{}", IpText(ip));
        }
    }
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
    out.push_str(itoa::Buffer::new().format(port));
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

/// A Wireshark time delta (`tcp.analysis.initial_rtt`) as tshark prints it: one sign for both
/// parts, nanoseconds unpadded beyond nine digits.
pub fn delta_text(d: crate::time::Timestamp) -> impl std::fmt::Display {
    struct D(crate::time::Timestamp);
    impl std::fmt::Display for D {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let neg = self.0.secs < 0 || self.0.nsecs < 0;
            write!(
                f,
                "{}{}.{:09}",
                if neg { "-" } else { "" },
                self.0.secs.unsigned_abs(),
                self.0.nsecs.unsigned_abs()
            )
        }
    }
    D(d)
}

/// A duration as seconds with nine decimals, exactly (as tshark prints durations).
pub fn secs_text(d: crate::time::Duration) -> impl std::fmt::Display {
    struct S(i128);
    impl std::fmt::Display for S {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let sign = if self.0 < 0 { "-" } else { "" };
            let a = self.0.unsigned_abs();
            write!(f, "{sign}{}.{:09}", a / 1_000_000_000, a % 1_000_000_000)
        }
    }
    S(d.as_nanos())
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
}
