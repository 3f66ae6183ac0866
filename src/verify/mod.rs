//! Expectations about a capture → a list of checks, each met or not with the frames
//! involved. Data only: the caller decides the exit code and the report format.

pub mod golden;

use std::fmt::Write as _;
use std::io;

use regex::Regex;
use serde::Deserialize;

use crate::event::payload::escape_payload;
use crate::event::{PacketEvent, Sink, Summary};
use crate::track::{Close, Finished, Handshake};
use crate::wire::Transport;

/// What a capture should show. Every field is optional; absent means "not checked".
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// Number of complete three-way handshakes.
    pub handshakes: Option<u64>,
    /// Every TCP connection is closed by FIN from both sides.
    pub closed_by_fin: Option<bool>,
    /// No RST anywhere.
    pub no_resets: Option<bool>,
    /// At most this many retransmitted segments.
    pub max_retransmissions: Option<u64>,
    /// Number of request/reply exchanges over TCP.
    pub exchanges: Option<u64>,
    /// Every TCP reply matches this regular expression.
    pub reply_regex: Option<String>,
    /// These requests were each answered (in order).
    pub requests: Option<Vec<String>>,
    /// Number of UDP datagrams.
    pub udp_datagrams: Option<u64>,
    /// The UDP payloads, in order.
    pub udp_payloads: Option<Vec<String>>,
    /// Largest acceptable initial RTT (SYN → handshake ACK), milliseconds.
    pub max_irtt_ms: Option<f64>,
    /// Largest acceptable request → reply time, milliseconds.
    pub max_reply_rtt_ms: Option<f64>,
    /// No malformed frames.
    pub no_malformed: Option<bool>,
    /// No TCP or UDP checksum is bad (checksum offload is not bad).
    pub no_bad_checksums: Option<bool>,
    /// libpcap dropped nothing (live captures).
    pub no_drops: Option<bool>,
}

impl Expectations {
    pub fn from_toml(text: &str) -> Result<Expectations, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Fills every field `other` sets (flags override the file).
    pub fn merge(&mut self, other: Expectations) {
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f; } )* };
        }
        take!(
            handshakes,
            closed_by_fin,
            no_resets,
            max_retransmissions,
            exchanges,
            reply_regex,
            requests,
            udp_datagrams,
            udp_payloads,
            max_irtt_ms,
            max_reply_rtt_ms,
            no_malformed,
            no_bad_checksums,
            no_drops
        );
    }

    pub fn is_empty(&self) -> bool {
        *self == Expectations::default()
    }
}

/// One checked expectation.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
    pub frames: Vec<u64>,
}

/// What a run showed, gathered while packets are printed.
#[derive(Debug, Default)]
pub struct Observed {
    pub conns: Vec<Finished>,
    pub malformed: Vec<u64>,
    pub bad_checksums: Vec<u64>,
    pub retransmissions: Vec<u64>,
    pub resets: Vec<u64>,
    pub datagrams: Vec<(u64, String)>,
    pub summary: Option<Summary>,
    /// The capture could not be read to its end.
    pub damaged: Option<String>,
}

/// A printer that records what the checks need and passes everything on.
pub struct Collector<'a> {
    pub inner: Option<Box<dyn Sink + 'a>>,
    pub seen: Observed,
}

impl<'a> Collector<'a> {
    pub fn new(inner: Option<Box<dyn Sink + 'a>>) -> Self {
        Collector {
            inner,
            seen: Observed::default(),
        }
    }
}

impl Sink for Collector<'_> {
    fn packet(&mut self, ev: &PacketEvent<'_, '_>) -> io::Result<()> {
        let n = ev.frame.number;
        if ev.decoded.malformed.is_some() {
            self.seen.malformed.push(n);
        }
        match &ev.decoded.transport {
            Transport::Tcp(seg) => {
                if seg.checksum == crate::wire::checksum::Checksum::Bad {
                    self.seen.bad_checksums.push(n);
                }
                if ev.info.analysis.names().any(|x| x == "retransmission") {
                    self.seen.retransmissions.push(n);
                }
                if seg.fixed.is_some_and(|f| f.flags.rst()) {
                    self.seen.resets.push(n);
                }
            }
            Transport::Udp(dg) => {
                if dg.checksum == crate::wire::checksum::Checksum::Bad {
                    self.seen.bad_checksums.push(n);
                }
                let mut s = String::new();
                escape_payload(dg.payload, 1024, &mut s);
                self.seen.datagrams.push((n, s));
            }
            _ => {}
        }
        match &mut self.inner {
            Some(p) => p.packet(ev),
            None => Ok(()),
        }
    }

    fn conn(&mut self, c: &Finished) -> io::Result<()> {
        self.seen.conns.push(c.clone());
        match &mut self.inner {
            Some(p) => p.conn(c),
            None => Ok(()),
        }
    }

    fn summary(&mut self, s: &Summary) -> io::Result<()> {
        self.seen.summary = Some(s.clone());
        match &mut self.inner {
            Some(p) => p.summary(s),
            None => Ok(()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Some(p) => p.flush(),
            None => Ok(()),
        }
    }
}

fn text(bytes: &[u8]) -> String {
    let mut s = String::new();
    escape_payload(bytes, 1024, &mut s);
    s
}

/// Checks every expectation against what was seen.
pub fn check(exp: &Expectations, seen: &Observed) -> Vec<Check> {
    let mut out = Vec::new();
    let mut add = |name: String, ok: bool, detail: String, frames: Vec<u64>| {
        out.push(Check {
            name,
            ok,
            detail,
            frames,
        })
    };
    let tcp: Vec<&crate::track::ConnSummary> = seen
        .conns
        .iter()
        .filter_map(|c| match c {
            Finished::Tcp(t) => Some(t),
            _ => None,
        })
        .collect();
    if let Some(msg) = &seen.damaged {
        add(
            "capture readable to its end".into(),
            false,
            msg.clone(),
            vec![],
        );
    }
    if let Some(n) = exp.handshakes {
        let done: Vec<_> = tcp
            .iter()
            .filter(|t| t.handshake == Handshake::Complete)
            .collect();
        let mut d = format!("{} complete handshake(s)", done.len());
        let mut frames = Vec::new();
        for t in tcp.iter().filter(|t| t.handshake != Handshake::Complete) {
            let _ = write!(d, "; stream {} {}", t.flow.stream, t.handshake.as_str());
            frames.push(t.flow.first_frame);
        }
        add(
            format!("handshakes = {n}"),
            done.len() as u64 == n,
            d,
            frames,
        );
    }
    if exp.closed_by_fin == Some(true) {
        let bad: Vec<_> = tcp.iter().filter(|t| t.close != Close::Fin).collect();
        let d = if bad.is_empty() {
            format!("all {} connection(s) closed by FIN", tcp.len())
        } else {
            bad.iter()
                .map(|t| format!("stream {} ended {}", t.flow.stream, t.close.as_str()))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let frames = bad.iter().map(|t| t.flow.last_frame).collect();
        add(
            "every connection closed by FIN".into(),
            bad.is_empty() && !tcp.is_empty(),
            d,
            frames,
        );
    }
    if exp.no_resets == Some(true) {
        add(
            "no RST".into(),
            seen.resets.is_empty(),
            format!("{} RST segment(s)", seen.resets.len()),
            seen.resets.clone(),
        );
    }
    if let Some(max) = exp.max_retransmissions {
        let n = seen.retransmissions.len() as u64;
        add(
            format!("retransmissions <= {max}"),
            n <= max,
            format!("{n} retransmission(s)"),
            seen.retransmissions.clone(),
        );
    }
    let exchanges: Vec<(&crate::track::ConnSummary, &crate::track::Exchange)> = tcp
        .iter()
        .flat_map(|t| t.flow.exchanges.iter().map(move |e| (*t, e)))
        .collect();
    if let Some(n) = exp.exchanges {
        add(
            format!("exchanges = {n}"),
            exchanges.len() as u64 == n,
            format!("{} request/reply exchange(s)", exchanges.len()),
            exchanges.iter().map(|(_, e)| e.request_frame).collect(),
        );
    }
    if let Some(re) = &exp.reply_regex {
        match Regex::new(re) {
            Ok(r) => {
                let bad: Vec<_> = exchanges
                    .iter()
                    .filter(|(t, e)| !r.is_match(&text(&t.flow.text[e.reply.clone()])))
                    .collect();
                let d = match bad.first() {
                    None => format!("{} reply(ies) match", exchanges.len()),
                    Some((t, e)) => format!(
                        "frame {}: reply {:?} does not match",
                        e.reply_frame,
                        text(&t.flow.text[e.reply.clone()])
                    ),
                };
                let ok = bad.is_empty() && !exchanges.is_empty();
                add(
                    format!("replies match /{re}/"),
                    ok,
                    d,
                    bad.iter().map(|(_, e)| e.reply_frame).collect(),
                );
            }
            Err(e) => add(
                format!("replies match /{re}/"),
                false,
                format!("bad regex: {e}"),
                vec![],
            ),
        }
    }
    if let Some(reqs) = &exp.requests {
        let got: Vec<String> = exchanges
            .iter()
            .map(|(t, e)| text(&t.flow.text[e.request.clone()]))
            .collect();
        let missing: Vec<&String> = reqs.iter().filter(|r| !got.contains(r)).collect();
        add(
            "every request answered".into(),
            missing.is_empty(),
            if missing.is_empty() {
                format!("{} request(s) answered", reqs.len())
            } else {
                format!("not answered: {missing:?}")
            },
            vec![],
        );
    }
    if let Some(n) = exp.udp_datagrams {
        add(
            format!("udp datagrams = {n}"),
            seen.datagrams.len() as u64 == n,
            format!("{} datagram(s)", seen.datagrams.len()),
            seen.datagrams.iter().map(|d| d.0).collect(),
        );
    }
    if let Some(want) = &exp.udp_payloads {
        let got: Vec<&String> = seen.datagrams.iter().map(|d| &d.1).collect();
        let ok = got.len() == want.len() && got.iter().zip(want).all(|(a, b)| *a == b);
        add(
            "udp payloads".into(),
            ok,
            format!("payloads {got:?}"),
            seen.datagrams.iter().map(|d| d.0).collect(),
        );
    }
    if let Some(max) = exp.max_irtt_ms {
        let slow: Vec<_> = tcp
            .iter()
            .filter(|t| t.irtt.is_some_and(|d| d.as_nanos() as f64 / 1e6 > max))
            .collect();
        let worst = tcp
            .iter()
            .filter_map(|t| t.irtt.map(|d| d.as_nanos()))
            .max()
            .unwrap_or(0) as f64
            / 1e6;
        add(
            format!("initial RTT <= {max} ms"),
            slow.is_empty(),
            format!("largest initial RTT {worst:.3} ms"),
            slow.iter().map(|t| t.flow.first_frame).collect(),
        );
    }
    if let Some(max) = exp.max_reply_rtt_ms {
        let worst = exchanges
            .iter()
            .map(|(_, e)| e.rtt.as_secs_f64() * 1e3)
            .fold(0.0, f64::max);
        let slow: Vec<u64> = exchanges
            .iter()
            .filter(|(_, e)| e.rtt.as_secs_f64() * 1e3 > max)
            .map(|(_, e)| e.reply_frame)
            .collect();
        add(
            format!("reply RTT <= {max} ms"),
            slow.is_empty(),
            format!("slowest reply {worst:.3} ms"),
            slow,
        );
    }
    if exp.no_bad_checksums == Some(true) {
        add(
            "no bad checksums".into(),
            seen.bad_checksums.is_empty(),
            format!(
                "{} frame(s) with a bad TCP/UDP checksum",
                seen.bad_checksums.len()
            ),
            seen.bad_checksums.clone(),
        );
    }
    if exp.no_malformed == Some(true) {
        add(
            "no malformed frames".into(),
            seen.malformed.is_empty(),
            format!("{} malformed frame(s)", seen.malformed.len()),
            seen.malformed.clone(),
        );
    }
    if exp.no_drops == Some(true) {
        let dropped = seen
            .summary
            .as_ref()
            .and_then(|s| s.live.as_ref())
            .map(|l| l.dropped + l.if_dropped)
            .unwrap_or(0);
        add(
            "no capture drops".into(),
            dropped == 0,
            format!("libpcap dropped {dropped}"),
            vec![],
        );
    }
    out
}

/// A JUnit XML report of the checks (one test case each).
pub fn junit(suite: &str, checks: &[Check]) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut s = TestSuite::new(suite);
    for c in checks {
        let status = if c.ok {
            TestCaseStatus::success()
        } else {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
            st.set_message(c.detail.clone());
            if !c.frames.is_empty() {
                st.set_description(format!("frames: {:?}", c.frames));
            }
            st
        };
        let mut tc = TestCase::new(c.name.clone(), status);
        tc.set_classname("synack.verify");
        s.add_test_case(tc);
    }
    let mut r = Report::new("synack");
    r.add_test_suite(s);
    r.to_string().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_toml_expectations_and_unknown_keys() {
        let e = Expectations::from_toml("handshakes = 1\nno_resets = true\nreply_regex = '^Hi'\n")
            .expect("test data");
        assert_eq!(e.handshakes, Some(1));
        assert_eq!(e.no_resets, Some(true));
        assert!(
            Expectations::from_toml("handshake = 1").is_err(),
            "typos must not pass"
        );
    }

    #[test]
    fn test_failures_name_their_frames() {
        let seen = Observed {
            resets: vec![7],
            malformed: vec![3, 9],
            ..Observed::default()
        };
        let exp = Expectations {
            no_resets: Some(true),
            no_malformed: Some(true),
            handshakes: Some(1),
            ..Expectations::default()
        };
        let c = check(&exp, &seen);
        assert!(c.iter().all(|c| !c.ok));
        assert_eq!(
            c.iter()
                .find(|c| c.name == "no RST")
                .expect("test data")
                .frames,
            [7]
        );
        let x = junit("t", &c);
        assert!(
            x.contains("<failure") && x.contains("no malformed frames"),
            "{x}"
        );
    }
}
