//! `--html FILE`: one self-contained page of a capture (no network, no external scripts,
//! fonts or images): the summary, the verify checks, every conversation's ladder, and each
//! packet's annotation and layers, opened by a click on the packet or on its arrow.

use std::io::{self, Write};

use super::ladder::{self, LadderRow};
use super::text::TextPrinter;
use super::{PacketEvent, Sink, Style, Summary, markup_escape};
use crate::lang::Lang;
use crate::track::Finished;
use crate::verify::Check;

/// Packets kept on the page; a page of a million rows helps nobody (the count of the rest
/// is said on the page).
const MAX_PACKETS: usize = 5000;
/// Conversation lines kept likewise.
const MAX_CONNS: usize = 2000;

/// One packet on the page: its line, its class, and what opens under it.
struct Row {
    frame: u64,
    line: String,
    detail: String,
    class: &'static str,
}

/// Collects what a run shows (a `Sink`), then writes the page.
pub struct HtmlReport {
    lang: Lang,
    title: String,
    text: TextPrinter<Vec<u8>>,
    rows: Vec<Row>,
    ladder: Vec<LadderRow>,
    conns: Vec<String>,
    summary: Option<String>,
    packets_left_out: u64,
    conns_left_out: u64,
}

impl HtmlReport {
    pub fn new(title: &str, lang: Lang) -> Self {
        let style = Style {
            payload_bytes: 256,
            lang,
            layers: true,
            socket_calls: false,
            color: false,
        };
        HtmlReport {
            lang,
            title: title.to_string(),
            text: TextPrinter::new(Vec::new(), style, false),
            rows: Vec::new(),
            ladder: Vec::new(),
            conns: Vec::new(),
            summary: None,
            packets_left_out: 0,
            conns_left_out: 0,
        }
    }

    /// The page, with `checks` when `verify` ran.
    pub fn write(&self, out: &mut impl Write, checks: Option<&[Check]>) -> io::Result<()> {
        let t = |en, zh| self.lang.pick(en, zh);
        let mut h = String::with_capacity(64 * 1024 + self.rows.len() * 400);
        h.push_str("<!DOCTYPE html>\n<html lang=\"");
        h.push_str(t("en", "zh"));
        h.push_str("\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
        markup_escape(&mut h, &self.title);
        h.push_str("</title>\n<style>\n");
        h.push_str(CSS);
        h.push_str("</style>\n</head>\n<body>\n<h1>synack: ");
        markup_escape(&mut h, &self.title);
        h.push_str("</h1>\n");
        if let Some(s) = &self.summary {
            h.push_str("<p class=\"summary\">");
            markup_escape(&mut h, s);
            h.push_str("</p>\n");
        }
        if let Some(checks) = checks {
            self.checks(&mut h, checks);
        }
        h.push_str("<h2>");
        h.push_str(t("Conversations", "会话"));
        h.push_str("</h2>\n<pre class=\"conns\">");
        for c in &self.conns {
            markup_escape(&mut h, c);
        }
        if self.conns_left_out > 0 {
            h.push_str(&left_out(self.conns_left_out, self.lang));
        }
        h.push_str("</pre>\n<h2>");
        h.push_str(t("Ladder", "时序图"));
        h.push_str("</h2>\n<p class=\"hint\">");
        h.push_str(t(
            "Click an arrow or its label to open its packet below; click a packet to see its layers.",
            "点击箭头或其标签可展开下面对应的数据包; 点击数据包可查看各层首部。",
        ));
        h.push_str("</p>\n<div class=\"ladder\">\n");
        let svg = ladder::svg(&self.ladder, self.lang);
        // Inline SVG in HTML takes no XML declaration.
        h.push_str(svg.split_once('\n').map_or(svg.as_str(), |(_, rest)| rest));
        h.push_str("</div>\n<h2>");
        h.push_str(t("Packets", "数据包"));
        h.push_str("</h2>\n<div class=\"packets\">\n");
        for r in &self.rows {
            h.push_str("<details id=\"f");
            h.push_str(itoa::Buffer::new().format(r.frame));
            h.push_str("\" class=\"");
            h.push_str(r.class);
            h.push_str("\"><summary>");
            markup_escape(&mut h, &r.line);
            h.push_str("</summary><pre>");
            markup_escape(&mut h, &r.detail);
            h.push_str("</pre></details>\n");
        }
        if self.packets_left_out > 0 {
            h.push_str("<p>");
            h.push_str(&left_out(self.packets_left_out, self.lang));
            h.push_str("</p>\n");
        }
        h.push_str("</div>\n<script>\n");
        h.push_str(SCRIPT);
        h.push_str("</script>\n</body>\n</html>\n");
        out.write_all(h.as_bytes())
    }

    fn checks(&self, h: &mut String, checks: &[Check]) {
        h.push_str(self.lang.pick("<h2>Checks</h2>\n", "<h2>期望</h2>\n"));
        h.push_str(if checks.iter().all(|c| c.ok) {
            "<p class=\"verdict ok\">"
        } else {
            "<p class=\"verdict bad\">"
        });
        markup_escape(h, &super::checks::verdict(checks, self.lang));
        h.push_str("</p>\n<table class=\"checks\">\n");
        for c in checks {
            h.push_str(if c.ok {
                "<tr class=\"ok\"><td>✓</td><td>"
            } else {
                "<tr class=\"bad\"><td>✗</td><td>"
            });
            markup_escape(h, &c.name);
            h.push_str("</td><td>");
            markup_escape(h, &c.detail);
            h.push_str("</td><td>");
            for f in c.frames.iter().take(20) {
                h.push_str("<a href=\"#f");
                h.push_str(itoa::Buffer::new().format(*f));
                h.push_str("\">");
                h.push_str(itoa::Buffer::new().format(*f));
                h.push_str("</a> ");
            }
            h.push_str("</td></tr>\n");
        }
        h.push_str("</table>\n");
    }
}

fn left_out(n: u64, lang: Lang) -> String {
    if lang == Lang::Zh {
        format!("… 另有 {n} 条未列出\n")
    } else {
        format!("… and {n} more not listed\n")
    }
}

impl Sink for HtmlReport {
    fn packet(&mut self, ev: &PacketEvent<'_, '_>) -> io::Result<()> {
        if self.rows.len() >= MAX_PACKETS {
            self.packets_left_out += 1;
            return Ok(());
        }
        self.text.packet(ev)?;
        let all = self.text.take();
        let (line, detail) = all.split_once('\n').unwrap_or((all.as_str(), ""));
        let class = if ev.decoded.malformed.is_some() {
            "trouble"
        } else if !ev.info.analysis.is_empty() {
            "finding"
        } else if ev.info.handshake.is_some() {
            "handshake"
        } else if ev.info.from_client {
            "client"
        } else {
            "server"
        };
        self.rows.push(Row {
            frame: ev.frame.number,
            line: line.to_string(),
            detail: detail.to_string(),
            class,
        });
        if let Some(r) = LadderRow::from_event(ev) {
            self.ladder.push(r);
        }
        Ok(())
    }

    fn conn(&mut self, c: &Finished) -> io::Result<()> {
        if self.conns.len() >= MAX_CONNS {
            self.conns_left_out += 1;
            return Ok(());
        }
        self.text.conn(c)?;
        self.conns.push(self.text.take());
        Ok(())
    }

    fn summary(&mut self, s: &Summary) -> io::Result<()> {
        self.text.summary(s)?;
        self.summary = Some(self.text.take().trim_end().to_string());
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

const CSS: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}
pre,summary{font-family:monospace;font-size:12px}
.summary{font-family:monospace;background:#f4f4f4;padding:.5em}
.verdict.ok{color:#1b5e20;font-weight:bold}.verdict.bad{color:#b71c1c;font-weight:bold}
table.checks td{padding:2px 8px;vertical-align:top}tr.bad{background:#ffebee}
.ladder{overflow-x:auto}.ladder [data-frame]{cursor:pointer}.ladder line.arrow{stroke-width:3}
.conns{white-space:pre-wrap}
.hint{color:#666;font-size:.9em}
details{border-bottom:1px solid #eee}summary{cursor:pointer;white-space:pre}
details pre{margin:0 0 .5em 2em;color:#333}
.client summary{color:#0d47a1}.server summary{color:#4a148c}
.handshake summary{font-weight:bold}.finding summary{background:#fff8e1}
.trouble summary{background:#ffebee}details.picked{outline:2px solid #1565c0}
";

/// Arrows open their packet; the page marks itself ready, which the browser test reads.
const SCRIPT: &str = "(function(){
  function open(frame){
    var d=document.getElementById('f'+frame);
    if(!d){return;}
    var old=document.querySelector('details.picked');
    if(old){old.classList.remove('picked');}
    d.open=true;d.classList.add('picked');d.scrollIntoView({block:'center'});
  }
  document.querySelectorAll('.ladder [data-frame]').forEach(function(a){
    a.addEventListener('click',function(){open(a.getAttribute('data-frame'));});
  });
  if(location.hash.length>2){open(location.hash.slice(2));}
  document.body.setAttribute('data-ready','1');
})();
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_escaping() {
        let mut s = String::new();
        markup_escape(&mut s, "<a href=\"x\">&</a>");
        assert_eq!(s, "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
    }

    #[test]
    fn test_empty_page_is_whole() {
        let r = HtmlReport::new("t.pcap", Lang::En);
        let mut out = Vec::new();
        r.write(&mut out, Some(&[])).expect("vec");
        let page = String::from_utf8(out).expect("utf-8");
        assert!(page.starts_with("<!DOCTYPE html>") && page.ends_with("</html>\n"));
        assert!(!page.contains("http://") || page.contains("http://www.w3.org/2000/svg"));
    }
}
