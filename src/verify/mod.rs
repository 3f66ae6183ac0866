//! Expectations about a capture → a list of checks, each met or not with the frames
//! involved. Data only: the caller decides the exit code and the report format.

pub mod expect;
pub mod golden;

pub use expect::{Answered, Expectations, Value};

use std::io;

use crate::event::payload::escape_payload;
use crate::event::{PacketEvent, Sink, Summary};
use crate::lang::Lang;
use crate::track::{ConnSummary, Finished};
use crate::wire::Transport;

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

/// What the checks look at, gathered once: the run's observations, its TCP connections and
/// their request/reply exchanges as text.
pub struct Facts<'a> {
    pub seen: &'a Observed,
    pub tcp: Vec<&'a ConnSummary>,
    pub exchanges: Vec<Answered>,
}

impl<'a> Facts<'a> {
    pub fn new(seen: &'a Observed) -> Self {
        let tcp: Vec<&ConnSummary> = seen
            .conns
            .iter()
            .filter_map(|c| match c {
                Finished::Tcp(t) => Some(t),
                _ => None,
            })
            .collect();
        let exchanges = tcp
            .iter()
            .flat_map(|t| {
                t.flow.exchanges.iter().map(|e| Answered {
                    request_frame: e.request_frame,
                    reply_frame: e.reply_frame,
                    request: text(&t.flow.text[e.request.clone()]),
                    reply: text(&t.flow.text[e.reply.clone()]),
                    rtt: e.rtt,
                })
            })
            .collect();
        Facts {
            seen,
            tcp,
            exchanges,
        }
    }
}

/// Checks every expectation against what was seen (a capture that could not be read to
/// its end fails first).
pub fn check(exp: &Expectations, seen: &Observed, lang: Lang) -> Vec<Check> {
    let mut out = Vec::new();
    if let Some(msg) = &seen.damaged {
        out.push(Check {
            name: lang
                .pick("capture readable to its end", "抓包文件可以读到结尾")
                .into(),
            ok: false,
            detail: msg.clone(),
            frames: vec![],
        });
    }
    out.extend(expect::run_all(exp, &Facts::new(seen), lang));
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
        assert_eq!(e.get(&expect::HANDSHAKES), Some(&Value::Count(1)));
        assert_eq!(e.get(&expect::NO_RESETS), Some(&Value::On));
        let err = Expectations::from_toml("handshakes = -1").expect_err("negative count");
        assert!(err.contains("`handshakes` takes a whole number"), "{err}");
        let e = Expectations::from_toml("max_irtt_ms = 100\nno_drops = false").expect("data");
        assert_eq!(e.get(&expect::MAX_IRTT_MS), Some(&Value::Millis(100.0)));
        assert_eq!(
            e.get(&expect::NO_DROPS),
            None,
            "a switch set false is not checked"
        );
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
        let mut exp = Expectations::default();
        exp.set(&expect::NO_RESETS, Value::On);
        exp.set(&expect::NO_MALFORMED, Value::On);
        exp.set(&expect::HANDSHAKES, Value::Count(1));
        let c = check(&exp, &seen, Lang::En);
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
