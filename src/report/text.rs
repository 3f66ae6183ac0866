//! The text report: one tcpdump-like line per frame with the annotation beside it, a payload
//! preview under data, then one line per conversation and a summary.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{
    PacketEvent, Sink, Style, Summary, colors, endpoint, escape_payload, notes, paint, push_ip,
    push_padded,
};
use crate::event::FrameMeta;
use crate::lang::Lang;
use crate::time::Timestamp;
use crate::track::{Ended, Finished, PacketInfo};
use crate::wire::checksum::Checksum;
use crate::wire::{Decoded, Transport};

pub struct TextPrinter<W: Write> {
    out: W,
    style: Style,
    line: String,
    note: String,
    start: Option<Timestamp>,
    live: bool,
}

impl<W: Write> TextPrinter<W> {
    pub fn new(out: W, style: Style, live: bool) -> Self {
        TextPrinter {
            out,
            style,
            line: String::with_capacity(256),
            note: String::with_capacity(256),
            start: None,
            live,
        }
    }
}

impl TextPrinter<Vec<u8>> {
    /// What was printed since the last call (the HTML report renders each event apart).
    pub fn take(&mut self) -> String {
        let s = String::from_utf8_lossy(&self.out).into_owned();
        self.out.clear();
        s
    }
}

impl<W: Write> Sink for TextPrinter<W> {
    fn packet(&mut self, ev: &PacketEvent<'_, '_>) -> io::Result<()> {
        let f = ev.frame;
        let d = ev.decoded;
        let info = ev.info;
        let start = *self.start.get_or_insert(f.ts);
        let rel = f.ts.as_nanos() - start.as_nanos();
        // Only a bad checksum is worth a word: offload sums (loopback, outgoing packets) are
        // normal, and unverified ones say nothing.
        let checksum = match &d.transport {
            Transport::Tcp(s) => s.checksum,
            Transport::Udp(u) => u.checksum,
            _ => Checksum::Unverified,
        };
        // The packet line in its side's colour (trouble in red), written around the line as
        // it is built: no second buffer per packet.
        let line_style = (self.style.color && (info.stream.is_some() || checksum == Checksum::Bad))
            .then(|| {
                if checksum == Checksum::Bad || d.malformed.is_some() {
                    colors::TROUBLE
                } else if info.from_client {
                    colors::CLIENT
                } else {
                    colors::SERVER
                }
            });
        let l = &mut self.line;
        l.clear();
        if let Some(st) = line_style {
            let _ = write!(l, "{}", st.render());
        }
        push_padded(l, f.number, 6);
        l.push(' ');
        push_seconds(l, rel, 11);
        l.push(' ');
        addresses(l, d);
        transport_fields(l, d, info);
        if checksum == Checksum::Bad {
            l.push_str(if self.style.lang == notes::Lang::Zh {
                " [校验和错误]"
            } else {
                " [bad checksum]"
            });
        }
        self.note.clear();
        notes::packet_note(&mut self.note, ev, &self.style);
        if let Some(st) = line_style {
            let _ = write!(l, "{}", st.render_reset());
        }
        l.push('\n');
        if !self.note.is_empty() {
            note_line(l, &self.note, d, info, self.style.color);
        }
        let payload = match &d.transport {
            Transport::Tcp(s) => s.payload,
            Transport::Udp(u) => u.payload,
            _ => &[],
        };
        if !payload.is_empty() {
            l.push_str("                   \"");
            let cut = escape_payload(payload, self.style.payload_bytes, l);
            l.push('"');
            if cut {
                l.push('…');
            }
            l.push('\n');
        }
        if self.style.layers {
            layers(l, &f, d);
        }
        self.out.write_all(l.as_bytes())?;
        if self.live {
            self.out.flush()?;
        }
        Ok(())
    }

    fn conn(&mut self, c: &Finished) -> io::Result<()> {
        let l = &mut self.line;
        l.clear();
        let lang = self.style.lang;
        match c {
            Finished::Tcp(t) => conn_words::tcp(l, t, lang),
            Finished::Udp(u) => conn_words::udp(l, u, lang),
        }
        // Why the record came before the end of the input (nothing to say at the end).
        let f = c.flow();
        if f.ended != Ended::EndOfInput {
            let _ = match lang {
                Lang::En => write!(l, "  ended {}", f.ended.as_str()),
                Lang::Zh => write!(l, "  结束原因 {}", conn_words::ended_zh(f.ended)),
            };
        }
        if f.resumed {
            l.push_str(lang.pick("  (resumed)", "  (续前)"));
        }
        l.push('\n');
        self.out.write_all(l.as_bytes())
    }

    fn summary(&mut self, s: &Summary) -> io::Result<()> {
        let mut l = String::new();
        conn_words::summary(&mut l, s, self.style.lang);
        l.push('\n');
        self.out.write_all(l.as_bytes())?;
        self.out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The conversation lines and the summary line, in English or Chinese.
mod conn_words {
    use std::fmt::Write as _;

    use super::endpoint;
    use crate::event::Summary;
    use crate::lang::Lang;
    use crate::report::push_num as num;
    use crate::track::{ConnSummary, Ended, FlowSummary};

    /// The part of a conversation's line that TCP and UDP share.
    fn flow(l: &mut String, proto: &str, f: &FlowSummary, unit: &str, lang: Lang) {
        l.push_str(proto);
        l.push(' ');
        l.push_str(lang.pick("stream", "流"));
        l.push(' ');
        // Left-aligned in four columns.
        let at = l.len();
        num(l, f.stream);
        for _ in l.len() - at..4 {
            l.push(' ');
        }
        l.push(' ');
        endpoint(l, f.client.0, f.client.1);
        l.push_str(" → ");
        endpoint(l, f.server.0, f.server.1);
        let words: [&str; 5] = match lang {
            Lang::En => ["  frames ", "  ", " ", "  bytes c→s ", " s→c "],
            Lang::Zh => ["  帧 ", "  ", " 个", "  字节 c→s ", " s→c "],
        };
        l.push_str(words[0]);
        num(l, f.first_frame);
        l.push('-');
        num(l, f.last_frame);
        l.push_str(words[1]);
        num(l, f.packets);
        l.push_str(words[2]);
        l.push_str(unit);
        l.push_str(words[3]);
        num(l, f.bytes_c2s);
        l.push_str(words[4]);
        num(l, f.bytes_s2c);
    }

    pub fn tcp(l: &mut String, t: &ConnSummary, lang: Lang) {
        flow(l, "tcp", &t.flow, lang.pick("packets", "包"), lang);
        let ms = t.irtt.map(|d| d.as_nanos() as f64 / 1e6);
        let zh = lang == Lang::Zh;
        l.push_str(if zh { "  握手 " } else { "  handshake " });
        l.push_str(if zh {
            t.handshake.zh()
        } else {
            t.handshake.as_str()
        });
        if let Some(ms) = ms {
            let _ = write!(l, " (iRTT {ms:.3} ms)");
        }
        l.push_str(if zh { "  关闭 " } else { "  close " });
        l.push_str(if zh { t.close.zh() } else { t.close.as_str() });
        l.push_str(if zh { "  历史 " } else { "  history " });
        l.push_str(t.history.as_str());
        l.push_str(if zh {
            "  完整度 "
        } else {
            "  completeness "
        });
        num(l, t.completeness);
        l.push_str(if zh { "  最终状态 " } else { "  final " });
        let state = |s: crate::track::TcpState| if zh { s.tutorial_name() } else { s.as_str() };
        l.push_str(state(t.client_state));
        l.push_str(" / ");
        l.push_str(state(t.server_state));
        if !t.flow.exchanges.is_empty() {
            l.push_str("  ");
            num(l, t.flow.exchanges.len());
            l.push_str(if zh {
                " 次请求/回复"
            } else {
                " exchanges"
            });
        }
    }

    pub fn udp(l: &mut String, u: &FlowSummary, lang: Lang) {
        flow(l, "udp", u, lang.pick("datagrams", "数据报"), lang);
        if !u.exchanges.is_empty() {
            let _ = match lang {
                Lang::En => write!(l, "  {} replies", u.exchanges.len()),
                Lang::Zh => write!(l, "  {} 次回复", u.exchanges.len()),
            };
        }
    }

    pub fn ended_zh(e: Ended) -> &'static str {
        match e {
            Ended::Closed => "已关闭",
            Ended::Idle => "空闲超时",
            Ended::TableFull => "会话表已满",
            Ended::EndOfInput => "输入结束",
        }
    }

    /// The last line: frames, streams, handshakes, damage, and libpcap's counts when live.
    pub fn summary(l: &mut String, s: &Summary, lang: Lang) {
        let t = &s.totals;
        let _ = match lang {
            Lang::En => write!(
                l,
                "{} frames, {} TCP streams ({} complete handshakes), {} UDP streams, {} malformed",
                t.frames, s.tcp_streams, t.handshakes_complete, s.udp_streams, t.malformed
            ),
            Lang::Zh => write!(
                l,
                "共 {} 帧, {} 个 TCP 流 ({} 次完整握手), {} 个 UDP 流, {} 帧格式错误",
                t.frames, s.tcp_streams, t.handshakes_complete, s.udp_streams, t.malformed
            ),
        };
        if t.summed_up_early > 0 {
            let _ = match lang {
                Lang::En => write!(
                    l,
                    ", {} conversations summed up early (table full)",
                    t.summed_up_early
                ),
                Lang::Zh => write!(l, ", {} 个会话因会话表已满提前汇总", t.summed_up_early),
            };
        }
        if let Some(live) = &s.live {
            let _ = match lang {
                Lang::En => write!(
                    l,
                    "; {}: {} received by filter, {} dropped by kernel, {} dropped by interface",
                    live.interface, live.received, live.dropped, live.if_dropped
                ),
                Lang::Zh => write!(
                    l,
                    "; {}: 过滤器收到 {}, 内核丢弃 {}, 接口丢弃 {}",
                    live.interface, live.received, live.dropped, live.if_dropped
                ),
            };
            if live.not_analysed > 0 {
                let _ = match lang {
                    Lang::En => write!(l, ", {} not analysed", live.not_analysed),
                    Lang::Zh => write!(l, ", {} 帧未分析", live.not_analysed),
                };
            }
        }
    }
}

/// Seconds with six decimals (rounded to the microsecond, half up), right-aligned in `width`
/// columns, from nanoseconds: what `{:>11.6}` prints, without floating point.
fn push_seconds(out: &mut String, ns: i128, width: usize) {
    let neg = ns < 0;
    let us = (ns.unsigned_abs() + 500) / 1000;
    let mut int = itoa::Buffer::new();
    let int = int.format(us / 1_000_000);
    let mut frac = itoa::Buffer::new();
    let frac = frac.format(us % 1_000_000);
    let len = usize::from(neg) + int.len() + 7;
    for _ in len..width {
        out.push(' ');
    }
    if neg {
        out.push('-');
    }
    out.push_str(int);
    out.push('.');
    for _ in frac.len()..6 {
        out.push('0');
    }
    out.push_str(frac);
}

/// `src:port > dst:port PROTO`, or the addresses alone for a frame without ports.
fn addresses(l: &mut String, d: &Decoded<'_>) {
    let (sport, dport) = match &d.transport {
        Transport::Tcp(s) => (Some(s.sport), Some(s.dport)),
        Transport::Udp(u) => (Some(u.sport), Some(u.dport)),
        _ => (None, None),
    };
    match (d.ip, sport, dport) {
        (Some(ip), Some(sp), Some(dp)) => {
            endpoint(l, ip.src, sp);
            l.push_str(" > ");
            endpoint(l, ip.dst, dp);
        }
        (Some(ip), _, _) => {
            push_ip(l, ip.src);
            l.push_str(" > ");
            push_ip(l, ip.dst);
        }
        _ => {}
    }
    let _ = write!(l, " {}", d.proto.label());
}

/// TCP flags, relative seq and ack, calculated window, length and stream; UDP length and
/// stream.
fn transport_fields(l: &mut String, d: &Decoded<'_>, info: &PacketInfo) {
    match &d.transport {
        Transport::Tcp(seg) => {
            if let Some(fx) = seg.fixed {
                if !fx.bogus_offset() {
                    l.push_str(" [");
                    l.push_str(fx.flags.names());
                    l.push(']');
                }
                if let Some(r) = info.rel_seq {
                    let _ = write!(l, " seq={r}");
                }
                if let Some(r) = info.rel_ack.filter(|_| fx.flags.ack()) {
                    let _ = write!(l, " ack={r}");
                }
                if !fx.bogus_offset() {
                    // The calculated window, as Wireshark's Info column shows it.
                    let win = info.window.unwrap_or(u32::from(fx.window));
                    let _ = write!(l, " win={win}");
                }
            }
            if let Some(n) = seg.len {
                let _ = write!(l, " len={n}");
            }
            if let Some(s) = info.stream {
                let _ = write!(l, " stream={s}");
            }
        }
        Transport::Udp(dg) => {
            let _ = write!(l, " len={}", dg.len);
            if let Some(s) = info.stream {
                let _ = write!(l, " stream={s}");
            }
        }
        _ => {}
    }
}

/// The annotation on its own line (both parts stay readable in a terminal), coloured by
/// what it tells: trouble, an expert finding, a handshake step.
fn note_line(l: &mut String, note: &str, d: &Decoded<'_>, info: &PacketInfo, color: bool) {
    l.push_str("                   ");
    let kind = if d.malformed.is_some()
        || matches!(&d.transport, Transport::Tcp(s) if s.fixed.is_some_and(|f| f.flags.rst()))
    {
        Some(colors::TROUBLE)
    } else if !info.analysis.is_empty() {
        Some(colors::FINDING)
    } else if info.handshake.is_some() {
        Some(colors::HANDSHAKE)
    } else {
        None
    };
    match kind {
        Some(k) => paint(l, color, k, note),
        None => l.push_str(note),
    }
    l.push('\n');
}

fn mac(out: &mut String, b: &[u8]) {
    for (i, x) in b.iter().enumerate() {
        let _ = write!(out, "{}{x:02x}", if i > 0 { ":" } else { "" });
    }
}

/// The packet's headers layer by layer, as the lesson's four-layer model names them.
fn layers(l: &mut String, f: &FrameMeta, d: &Decoded<'_>) {
    const IND: &str = "                   ";
    let _ = write!(
        l,
        "{IND}link: {}",
        crate::wire::numbers::LinkType::from(f.linktype).name()
    );
    if let Some((src, dst, ethertype)) = d.ethernet {
        l.push(' ');
        mac(l, &src);
        l.push_str(" > ");
        mac(l, &dst);
        let _ = write!(l, ", type 0x{ethertype:04x}");
    }
    let _ = writeln!(l, ", {} of {} bytes captured", f.caplen, f.wirelen);
    if let Some(ip) = d.ip {
        let _ = writeln!(
            l,
            "{IND}network: IPv{} {} > {}, {} {}, header {} bytes, total {} bytes",
            ip.version,
            ip.src,
            ip.dst,
            if ip.version == 4 { "ttl" } else { "hop limit" },
            ip.ttl,
            ip.header_len,
            ip.total_len
        );
    }
    match &d.transport {
        Transport::Tcp(seg) => {
            let _ = write!(l, "{IND}transport: TCP {} > {}", seg.sport, seg.dport);
            if let Some(fx) = seg.fixed {
                let _ = write!(l, ", seq {} ack {}, flags ", fx.seq.0, fx.ack.0);
                let _ = fx.flags.write_names(l);
                let _ = write!(l, ", window {}, header {} bytes", fx.window, fx.header_len);
            }
            let o = &seg.options;
            if let Some(m) = o.mss {
                let _ = write!(l, ", mss {m}");
            }
            if let Some(w) = o.wscale {
                let _ = write!(l, ", wscale {w}");
            }
            if o.sack_perm {
                l.push_str(", sack permitted");
            }
            if let Some((v, e)) = o.ts {
                let _ = write!(l, ", timestamps {v}/{e}");
            } else if let Some(v) = o.ts_val_cut {
                let _ = write!(l, ", timestamps {v}/(cut off)");
            }
            l.push('\n');
            let _ = writeln!(l, "{IND}application: {} bytes", seg.len.unwrap_or(0));
        }
        Transport::Udp(dg) => {
            let _ = writeln!(
                l,
                "{IND}transport: UDP {} > {}, length {}",
                dg.sport, dg.dport, dg.length
            );
            let _ = writeln!(l, "{IND}application: {} bytes", dg.len);
        }
        Transport::Icmp(m) => {
            let _ = writeln!(
                l,
                "{IND}transport: ICMP type {} code {} ({})",
                m.icmp_type,
                m.code,
                notes::icmp_words(m, false)
            );
        }
        Transport::Arp(_) => {
            let _ = writeln!(l, "{IND}network: ARP");
        }
        Transport::None => {}
    }
}
