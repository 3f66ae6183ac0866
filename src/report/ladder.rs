//! The ladder diagram: two lifelines per conversation, one arrow per segment or datagram,
//! each side's TCP state beside it; as text for the terminal and as a standalone SVG.

use std::fmt::Write as _;
use std::net::IpAddr;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::{Lang, PacketEvent, Sink, Summary, escape_payload, markup_escape};
use crate::track::Finished;
use crate::track::{HandshakeNote, TcpState};
use crate::wire::Transport;

/// One arrow.
#[derive(Debug, Clone)]
pub struct LadderRow {
    pub frame: u64,
    /// `tcp 0`, `udp 1`: which ladder the row belongs to.
    pub conv: (bool, u32),
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    pub from_client: bool,
    pub label: String,
    pub states: Option<(TcpState, TcpState)>,
}

/// A `Sink` that passes events on and keeps a ladder row for each packet (the demo draws
/// its diagram after the packet lines).
pub struct LadderTap<'a> {
    pub inner: &'a mut dyn Sink,
    pub rows: Vec<LadderRow>,
}

impl Sink for LadderTap<'_> {
    fn packet(&mut self, ev: &PacketEvent<'_, '_>) -> std::io::Result<()> {
        if let Some(r) = LadderRow::from_event(ev) {
            self.rows.push(r);
        }
        self.inner.packet(ev)
    }
    fn conn(&mut self, c: &Finished) -> std::io::Result<()> {
        self.inner.conn(c)
    }
    fn summary(&mut self, s: &Summary) -> std::io::Result<()> {
        self.inner.summary(s)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl LadderRow {
    /// The row for one event, if it belongs to a TCP or UDP conversation.
    pub fn from_event(ev: &PacketEvent<'_, '_>) -> Option<LadderRow> {
        let info = ev.info;
        let ip = ev.decoded.ip?;
        let stream = info.stream?;
        let (tcp, sport, dport, payload) = match &ev.decoded.transport {
            Transport::Tcp(s) => (true, s.sport, s.dport, s.payload),
            Transport::Udp(u) => (false, u.sport, u.dport, u.payload),
            _ => return None,
        };
        let src = (ip.src, sport);
        let dst = (ip.dst, dport);
        let (client, server) = if info.from_client {
            (src, dst)
        } else {
            (dst, src)
        };
        let mut label = String::new();
        match &ev.decoded.transport {
            Transport::Tcp(seg) => {
                if let Some(f) = seg.fixed {
                    let _ = f.flags.write_names(&mut label);
                }
                match info.handshake {
                    Some(HandshakeNote::Syn { .. }) => label.push_str(" seq=j"),
                    Some(HandshakeNote::SynAck { .. }) => label.push_str(" seq=k ack=j+1"),
                    Some(HandshakeNote::Ack { .. }) => label.push_str(" ack=k+1"),
                    _ => {
                        if let Some(r) = info.rel_seq {
                            let _ = write!(label, " seq={r}");
                        }
                        if let (Some(r), Some(true)) =
                            (info.rel_ack, seg.fixed.map(|f| f.flags.ack()))
                        {
                            let _ = write!(label, " ack={r}");
                        }
                    }
                }
                if let Some(n) = seg.len.filter(|&n| n > 0) {
                    let _ = write!(label, " len={n}");
                }
            }
            Transport::Udp(u) => {
                let _ = write!(label, "datagram len={}", u.len);
            }
            _ => {}
        }
        if !payload.is_empty() {
            label.push_str(" \"");
            if escape_payload(payload, 24, &mut label) {
                label.push('…');
            }
            label.push('"');
        }
        Some(LadderRow {
            frame: ev.frame.number,
            conv: (tcp, stream),
            client,
            server,
            from_client: info.from_client,
            label,
            states: info.states,
        })
    }
}

fn ep(out: &mut String, (ip, port): (IpAddr, u16)) {
    super::endpoint(out, ip, port);
}

fn state_name(s: TcpState, lang: Lang) -> &'static str {
    match lang {
        Lang::En => s.as_str(),
        Lang::Zh => s.tutorial_name(),
    }
}

/// Conversations in order of first appearance, each with its rows.
fn ladders(rows: &[LadderRow]) -> Vec<Vec<&LadderRow>> {
    let mut order: Vec<(bool, u32)> = Vec::new();
    for r in rows {
        if !order.contains(&r.conv) {
            order.push(r.conv);
        }
    }
    order
        .iter()
        .map(|c| rows.iter().filter(|r| r.conv == *c).collect())
        .collect()
}

const ARROW: usize = 52;

/// The text ladder.
pub fn text(rows: &[LadderRow], lang: Lang) -> String {
    let mut out = String::new();
    for ladder in ladders(rows) {
        let Some(first) = ladder.first() else {
            continue;
        };
        let (c, s) = match lang {
            Lang::En => ("client", "server"),
            Lang::Zh => ("客户端", "服务器"),
        };
        let mut head = String::new();
        let _ = write!(head, "{:>6} {c} ", "");
        ep(&mut head, first.client);
        let pad = (ARROW + 22).saturating_sub(head.width());
        let _ = write!(head, "{:pad$}{s} ", "");
        ep(&mut head, first.server);
        out.push_str(&head);
        out.push('\n');
        for r in &ladder {
            let (cs, ss) = r
                .states
                .map(|(c, s)| (state_name(c, lang), state_name(s, lang)))
                .unwrap_or(("", ""));
            // Measured in terminal columns: CJK characters take two.
            let mut label = String::new();
            let mut cols = 0;
            for c in r.label.chars() {
                let w = c.width().unwrap_or(0);
                if cols + w > ARROW - 8 {
                    break;
                }
                cols += w;
                label.push(c);
            }
            let n = label.width() + 2;
            let left = (ARROW - n) / 2;
            let right = ARROW - n - left;
            let (l, rgt) = if r.from_client {
                (
                    "-".repeat(left),
                    format!("{}>", "-".repeat(right.saturating_sub(1))),
                )
            } else {
                (
                    format!("<{}", "-".repeat(left.saturating_sub(1))),
                    "-".repeat(right),
                )
            };
            let _ = writeln!(out, "{:>6} {cs:<13}|{l} {label} {rgt}|  {ss}", r.frame);
        }
        out.push('\n');
    }
    out
}

/// A standalone SVG: one `<line class="arrow">` per row.
pub fn svg(rows: &[LadderRow], lang: Lang) -> String {
    let groups = ladders(rows);
    let row_h = 34;
    let (xc, xs, width) = (230, 750, 980);
    let mut height = 40;
    for g in &groups {
        height += 70 + g.len() * row_h;
    }
    let mut out = String::new();
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
         width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         font-family=\"monospace\" font-size=\"13\">\n<defs><marker id=\"head\" markerWidth=\"10\" \
         markerHeight=\"8\" refX=\"10\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L10,4 L0,8 z\" \
         fill=\"#333\"/></marker></defs>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let mut y = 30;
    let (cname, sname) = match lang {
        Lang::En => ("client", "server"),
        Lang::Zh => ("客户端", "服务器"),
    };
    for g in groups {
        let Some(first) = g.first() else { continue };
        let mut t = String::new();
        ep(&mut t, first.client);
        let mut head = String::new();
        markup_escape(&mut head, &format!("{cname} {t}"));
        let _ = writeln!(
            out,
            "<text x=\"{xc}\" y=\"{y}\" text-anchor=\"middle\" font-weight=\"bold\">{head}</text>"
        );
        t.clear();
        ep(&mut t, first.server);
        head.clear();
        markup_escape(&mut head, &format!("{sname} {t}"));
        let _ = writeln!(
            out,
            "<text x=\"{xs}\" y=\"{y}\" text-anchor=\"middle\" font-weight=\"bold\">{head}</text>"
        );
        let top = y + 12;
        let bottom = top + 20 + g.len() * row_h;
        let _ = writeln!(
            out,
            "<line class=\"lifeline\" x1=\"{xc}\" y1=\"{top}\" x2=\"{xc}\" y2=\"{bottom}\" stroke=\"#999\"/>"
        );
        let _ = writeln!(
            out,
            "<line class=\"lifeline\" x1=\"{xs}\" y1=\"{top}\" x2=\"{xs}\" y2=\"{bottom}\" stroke=\"#999\"/>"
        );
        let mut ry = top + 30;
        for r in &g {
            let (x1, x2) = if r.from_client { (xc, xs) } else { (xs, xc) };
            let color = if r.label.starts_with("SYN") {
                "#1565c0"
            } else if r.label.contains("FIN") || r.label.contains("RST") {
                "#c62828"
            } else {
                "#333"
            };
            let _ = writeln!(
                out,
                "<line class=\"arrow\" data-frame=\"{}\" x1=\"{x1}\" y1=\"{ry}\" x2=\"{x2}\" y2=\"{}\" stroke=\"{color}\" stroke-width=\"1.5\" marker-end=\"url(#head)\"/>",
                r.frame,
                ry + 8
            );
            let mut label = String::new();
            markup_escape(&mut label, &format!("{} {}", r.frame, r.label));
            let _ = writeln!(
                out,
                "<text class=\"label\" data-frame=\"{}\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{label}</text>",
                r.frame,
                (xc + xs) / 2,
                ry - 3
            );
            if let Some((cs, ss)) = r.states {
                let _ = writeln!(
                    out,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#555\">{}</text>",
                    xc - 8,
                    ry + 8,
                    state_name(cs, lang)
                );
                let _ = writeln!(
                    out,
                    "<text x=\"{}\" y=\"{}\" fill=\"#555\">{}</text>",
                    xs + 8,
                    ry + 8,
                    state_name(ss, lang)
                );
            }
            ry += row_h;
        }
        y = bottom + 40;
    }
    out.push_str("</svg>\n");
    out
}
