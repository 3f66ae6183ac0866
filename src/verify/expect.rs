//! Every expectation `verify` knows, each defined once (ripgrep's flag table): its TOML key,
//! its flag, its help, the value it takes and its check. The CLI flags, the TOML parser,
//! `check()` and the README's list all follow from `ALL`.

use std::fmt::Write as _;

use regex::Regex;

use super::{Check, Facts};
use crate::lang::Lang;
use crate::track::{Close, Handshake};

/// The kind of value an expectation takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A count (`handshakes = 1`, `--handshakes 1`).
    Count,
    /// On or off (`no_resets = true`, `--no-resets`); off is the same as absent.
    Switch,
    /// Milliseconds (`max_irtt_ms = 100`).
    Millis,
    /// A regular expression.
    Pattern,
    /// A list of texts (`udp_payloads = ["…"]`, `--udp-payload TEXT` repeated).
    Texts,
}

/// A value given to an expectation.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Count(u64),
    On,
    Millis(f64),
    Pattern(String),
    Texts(Vec<String>),
}

/// One expectation.
pub struct Def {
    /// The TOML key; the flag is `--` and the key with dashes unless `flag` says otherwise.
    pub key: &'static str,
    /// The flag's name, or `None` for a key only a file can give (a list of requests).
    pub flag: Option<&'static str>,
    pub kind: Kind,
    /// What it means: the flag's help and the README's words.
    pub help: &'static str,
    /// None when the value is not of the expectation's kind.
    check: fn(&Value, &Facts<'_>, Lang) -> Option<Check>,
}

impl std::fmt::Debug for Def {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key)
    }
}

impl PartialEq for Def {
    fn eq(&self, other: &Def) -> bool {
        self.key == other.key
    }
}

impl Def {
    /// The value's placeholder in help text.
    pub fn value_name(&self) -> &'static str {
        match self.kind {
            Kind::Count => "N",
            Kind::Switch => "",
            Kind::Millis => "MS",
            Kind::Pattern => "REGEX",
            Kind::Texts => "TEXT",
        }
    }

    fn run(&self, v: &Value, facts: &Facts<'_>, lang: Lang) -> Check {
        (self.check)(v, facts, lang).unwrap_or_else(|| {
            check(
                self.key.into(),
                false,
                format!("takes {}, not {v:?}", self.kind.described()),
            )
        })
    }
}

fn check(name: String, ok: bool, detail: String) -> Check {
    Check {
        name,
        ok,
        detail,
        frames: Vec::new(),
    }
}

fn with_frames(mut c: Check, frames: Vec<u64>) -> Check {
    c.frames = frames;
    c
}

pub static HANDSHAKES: Def = Def {
    key: "handshakes",
    flag: Some("handshakes"),
    kind: Kind::Count,
    help: "Number of complete three-way handshakes.",
    check: |v, f, lang| {
        let Value::Count(n) = *v else {
            return None;
        };
        let done = f
            .tcp
            .iter()
            .filter(|t| t.handshake == Handshake::Complete)
            .count();
        let mut d = match lang {
            Lang::En => format!("{done} complete handshake(s)"),
            Lang::Zh => format!("{done} 次完整握手"),
        };
        let mut frames = Vec::new();
        for t in f.tcp.iter().filter(|t| t.handshake != Handshake::Complete) {
            let how = match lang {
                Lang::En => t.handshake.as_str(),
                Lang::Zh => t.handshake.zh(),
            };
            let _ = write!(d, "; {} {} {how}", lang.pick("stream", "流"), t.flow.stream);
            frames.push(t.flow.first_frame);
        }
        let name = format!("{} = {n}", lang.pick("handshakes", "握手次数"));
        Some(with_frames(check(name, done as u64 == n, d), frames))
    },
};

pub static CLOSED_BY_FIN: Def = Def {
    key: "closed_by_fin",
    flag: Some("closed-by-fin"),
    kind: Kind::Switch,
    help: "Every TCP connection is closed by FIN.",
    check: |_, f, lang| {
        let bad: Vec<_> = f.tcp.iter().filter(|t| t.close != Close::Fin).collect();
        let d = if bad.is_empty() {
            match lang {
                Lang::En => format!("all {} connection(s) closed by FIN", f.tcp.len()),
                Lang::Zh => format!("全部 {} 个连接都以 FIN 关闭", f.tcp.len()),
            }
        } else {
            bad.iter()
                .map(|t| match lang {
                    Lang::En => format!("stream {} ended {}", t.flow.stream, t.close.as_str()),
                    Lang::Zh => format!("流 {} 以 {} 结束", t.flow.stream, t.close.zh()),
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        let frames = bad.iter().map(|t| t.flow.last_frame).collect();
        let ok = bad.is_empty() && !f.tcp.is_empty();
        let name = lang.pick("every connection closed by FIN", "每个连接都以 FIN 关闭");
        Some(with_frames(check(name.into(), ok, d), frames))
    },
};

pub static NO_RESETS: Def = Def {
    key: "no_resets",
    flag: Some("no-resets"),
    kind: Kind::Switch,
    help: "No RST anywhere.",
    check: |_, f, lang| {
        let r = &f.seen.resets;
        let d = match lang {
            Lang::En => format!("{} RST segment(s)", r.len()),
            Lang::Zh => format!("{} 个 RST 报文段", r.len()),
        };
        let name = lang.pick("no RST", "没有 RST");
        Some(with_frames(check(name.into(), r.is_empty(), d), r.clone()))
    },
};

pub static MAX_RETRANSMISSIONS: Def = Def {
    key: "max_retransmissions",
    flag: Some("max-retransmissions"),
    kind: Kind::Count,
    help: "At most N retransmitted segments.",
    check: |v, f, lang| {
        let Value::Count(max) = *v else {
            return None;
        };
        let r = &f.seen.retransmissions;
        let n = r.len() as u64;
        let c = match lang {
            Lang::En => check(
                format!("retransmissions <= {max}"),
                n <= max,
                format!("{n} retransmission(s)"),
            ),
            Lang::Zh => check(format!("重传 <= {max}"), n <= max, format!("{n} 次重传")),
        };
        Some(with_frames(c, r.clone()))
    },
};

pub static EXCHANGES: Def = Def {
    key: "exchanges",
    flag: Some("exchanges"),
    kind: Kind::Count,
    help: "Number of request/reply exchanges over TCP.",
    check: |v, f, lang| {
        let Value::Count(n) = *v else {
            return None;
        };
        let got = f.exchanges.len();
        let c = match lang {
            Lang::En => check(
                format!("exchanges = {n}"),
                got as u64 == n,
                format!("{got} request/reply exchange(s)"),
            ),
            Lang::Zh => check(
                format!("请求/回复次数 = {n}"),
                got as u64 == n,
                format!("{got} 次请求/回复"),
            ),
        };
        Some(with_frames(
            c,
            f.exchanges.iter().map(|x| x.request_frame).collect(),
        ))
    },
};

pub static REPLY_REGEX: Def = Def {
    key: "reply_regex",
    flag: Some("reply-regex"),
    kind: Kind::Pattern,
    help: "Every TCP reply matches this regular expression.",
    check: |v, f, lang| {
        let Value::Pattern(re) = v else {
            return None;
        };
        let name = match lang {
            Lang::En => format!("replies match /{re}/"),
            Lang::Zh => format!("回复匹配 /{re}/"),
        };
        let r = match Regex::new(re) {
            Ok(r) => r,
            Err(e) => {
                let d = format!("{}: {e}", lang.pick("bad regex", "正则表达式无效"));
                return Some(check(name, false, d));
            }
        };
        let bad: Vec<_> = f
            .exchanges
            .iter()
            .filter(|x| !r.is_match(&x.reply))
            .collect();
        let n = f.exchanges.len();
        let d = match (bad.first(), lang) {
            (None, Lang::En) => format!("{n} reply(ies) match"),
            (None, Lang::Zh) => format!("{n} 个回复都匹配"),
            (Some(x), Lang::En) => format!(
                "frame {}: reply {:?} does not match",
                x.reply_frame, x.reply
            ),
            (Some(x), Lang::Zh) => format!("第 {} 帧: 回复 {:?} 不匹配", x.reply_frame, x.reply),
        };
        let ok = bad.is_empty() && !f.exchanges.is_empty();
        Some(with_frames(
            check(name, ok, d),
            bad.iter().map(|x| x.reply_frame).collect(),
        ))
    },
};

pub static REQUESTS: Def = Def {
    key: "requests",
    flag: None,
    kind: Kind::Texts,
    help: "These requests were each answered.",
    check: |v, f, lang| {
        let Value::Texts(reqs) = v else {
            return None;
        };
        let missing: Vec<&String> = reqs
            .iter()
            .filter(|r| !f.exchanges.iter().any(|x| &x.request == *r))
            .collect();
        let d = match (missing.is_empty(), lang) {
            (true, Lang::En) => format!("{} request(s) answered", reqs.len()),
            (true, Lang::Zh) => format!("{} 个请求都得到回复", reqs.len()),
            (false, Lang::En) => format!("not answered: {missing:?}"),
            (false, Lang::Zh) => format!("未得到回复: {missing:?}"),
        };
        let name = lang.pick("every request answered", "每个请求都得到回复");
        Some(check(name.into(), missing.is_empty(), d))
    },
};

pub static UDP_DATAGRAMS: Def = Def {
    key: "udp_datagrams",
    flag: Some("udp-datagrams"),
    kind: Kind::Count,
    help: "Number of UDP datagrams.",
    check: |v, f, lang| {
        let Value::Count(n) = *v else {
            return None;
        };
        let dg = &f.seen.datagrams;
        let got = dg.len();
        let c = match lang {
            Lang::En => check(
                format!("udp datagrams = {n}"),
                got as u64 == n,
                format!("{got} datagram(s)"),
            ),
            Lang::Zh => check(
                format!("UDP 数据报 = {n}"),
                got as u64 == n,
                format!("{got} 个数据报"),
            ),
        };
        Some(with_frames(c, dg.iter().map(|d| d.0).collect()))
    },
};

pub static UDP_PAYLOADS: Def = Def {
    key: "udp_payloads",
    flag: Some("udp-payload"),
    kind: Kind::Texts,
    help: "An expected UDP payload (repeatable, in order).",
    check: |v, f, lang| {
        let Value::Texts(want) = v else {
            return None;
        };
        let got: Vec<&String> = f.seen.datagrams.iter().map(|d| &d.1).collect();
        let ok = got.len() == want.len() && got.iter().zip(want).all(|(a, b)| *a == b);
        let c = match lang {
            Lang::En => check("udp payloads".into(), ok, format!("payloads {got:?}")),
            Lang::Zh => check("UDP 负载".into(), ok, format!("负载 {got:?}")),
        };
        Some(with_frames(
            c,
            f.seen.datagrams.iter().map(|d| d.0).collect(),
        ))
    },
};

pub static MAX_IRTT_MS: Def = Def {
    key: "max_irtt_ms",
    flag: Some("max-irtt-ms"),
    kind: Kind::Millis,
    help: "Largest acceptable initial RTT (SYN to handshake ACK) in milliseconds.",
    check: |v, f, lang| {
        let Value::Millis(max) = *v else {
            return None;
        };
        let ms = |t: &&crate::track::ConnSummary| t.irtt.map(|d| d.as_nanos() as f64 / 1e6);
        let slow: Vec<u64> = f
            .tcp
            .iter()
            .filter(|t| ms(t).is_some_and(|m| m > max))
            .map(|t| t.flow.first_frame)
            .collect();
        let worst = f
            .tcp
            .iter()
            .filter_map(|t| t.irtt.map(|d| d.as_nanos()))
            .max()
            .unwrap_or(0) as f64
            / 1e6;
        let c = match lang {
            Lang::En => check(
                format!("initial RTT <= {max} ms"),
                slow.is_empty(),
                format!("largest initial RTT {worst:.3} ms"),
            ),
            Lang::Zh => check(
                format!("初始 RTT <= {max} ms"),
                slow.is_empty(),
                format!("最大初始 RTT {worst:.3} ms"),
            ),
        };
        Some(with_frames(c, slow))
    },
};

pub static MAX_REPLY_RTT_MS: Def = Def {
    key: "max_reply_rtt_ms",
    flag: Some("max-reply-rtt-ms"),
    kind: Kind::Millis,
    help: "Largest acceptable request-to-reply time in milliseconds.",
    check: |v, f, lang| {
        let Value::Millis(max) = *v else {
            return None;
        };
        let ms = |x: &&Answered| x.rtt.as_secs_f64() * 1e3;
        let worst = f.exchanges.iter().map(|x| ms(&x)).fold(0.0, f64::max);
        let slow: Vec<u64> = f
            .exchanges
            .iter()
            .filter(|x| ms(x) > max)
            .map(|x| x.reply_frame)
            .collect();
        let c = match lang {
            Lang::En => check(
                format!("reply RTT <= {max} ms"),
                slow.is_empty(),
                format!("slowest reply {worst:.3} ms"),
            ),
            Lang::Zh => check(
                format!("回复 RTT <= {max} ms"),
                slow.is_empty(),
                format!("最慢的回复 {worst:.3} ms"),
            ),
        };
        Some(with_frames(c, slow))
    },
};

pub static NO_BAD_CHECKSUMS: Def = Def {
    key: "no_bad_checksums",
    flag: Some("no-bad-checksums"),
    kind: Kind::Switch,
    help: "No TCP or UDP checksum is bad (checksum offload, as on loopback, is not bad).",
    check: |_, f, lang| {
        let b = &f.seen.bad_checksums;
        let d = match lang {
            Lang::En => format!("{} frame(s) with a bad TCP/UDP checksum", b.len()),
            Lang::Zh => format!("{} 帧的 TCP/UDP 校验和错误", b.len()),
        };
        let name = lang.pick("no bad checksums", "没有错误的校验和");
        Some(with_frames(check(name.into(), b.is_empty(), d), b.clone()))
    },
};

pub static NO_MALFORMED: Def = Def {
    key: "no_malformed",
    flag: Some("no-malformed"),
    kind: Kind::Switch,
    help: "No malformed frames.",
    check: |_, f, lang| {
        let m = &f.seen.malformed;
        let d = match lang {
            Lang::En => format!("{} malformed frame(s)", m.len()),
            Lang::Zh => format!("{} 帧格式错误", m.len()),
        };
        let name = lang.pick("no malformed frames", "没有格式错误的帧");
        Some(with_frames(check(name.into(), m.is_empty(), d), m.clone()))
    },
};

pub static NO_DROPS: Def = Def {
    key: "no_drops",
    flag: Some("no-drops"),
    kind: Kind::Switch,
    help: "libpcap dropped nothing (live captures).",
    check: |_, f, lang| {
        let dropped = f
            .seen
            .summary
            .as_ref()
            .and_then(|s| s.live.as_ref())
            .map(|l| l.dropped + l.if_dropped)
            .unwrap_or(0);
        Some(match lang {
            Lang::En => check(
                "no capture drops".into(),
                dropped == 0,
                format!("libpcap dropped {dropped}"),
            ),
            Lang::Zh => check(
                "抓包没有丢包".into(),
                dropped == 0,
                format!("libpcap 丢弃了 {dropped} 个包"),
            ),
        })
    },
};

/// Every expectation, in the order the checks are reported.
pub static ALL: &[&Def] = &[
    &HANDSHAKES,
    &CLOSED_BY_FIN,
    &NO_RESETS,
    &MAX_RETRANSMISSIONS,
    &EXCHANGES,
    &REPLY_REGEX,
    &REQUESTS,
    &UDP_DATAGRAMS,
    &UDP_PAYLOADS,
    &MAX_IRTT_MS,
    &MAX_REPLY_RTT_MS,
    &NO_BAD_CHECKSUMS,
    &NO_MALFORMED,
    &NO_DROPS,
];

/// A request and its reply as text, for the checks.
pub struct Answered {
    pub request_frame: u64,
    pub reply_frame: u64,
    pub request: String,
    pub reply: String,
    pub rtt: crate::time::Duration,
}

/// What a capture should show: values by expectation, in `ALL`'s order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expectations {
    values: Vec<(&'static Def, Value)>,
}

impl Expectations {
    /// Sets (or replaces) one expectation.
    pub fn set(&mut self, def: &'static Def, v: Value) {
        self.values.retain(|(d, _)| !std::ptr::eq(*d, def));
        self.values.push((def, v));
        let rank = |d: &Def| ALL.iter().position(|a| std::ptr::eq(*a, d));
        self.values.sort_by_key(|(d, _)| rank(d));
    }

    pub fn get(&self, def: &Def) -> Option<&Value> {
        self.values
            .iter()
            .find(|(d, _)| std::ptr::eq(*d, def))
            .map(|(_, v)| v)
    }

    /// Every expectation set, in the order of `ALL`.
    pub fn iter(&self) -> impl Iterator<Item = (&'static Def, &Value)> {
        self.values.iter().map(|(d, v)| (*d, v))
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Fills every expectation `other` sets (flags override the file).
    pub fn merge(&mut self, other: Expectations) {
        for (d, v) in other.values {
            self.set(d, v);
        }
    }

    /// A TOML file of expectations, keys as in `ALL`; an unknown key or a value of the
    /// wrong kind is an error naming it.
    pub fn from_toml(text: &str) -> Result<Expectations, String> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
        let mut exp = Expectations::default();
        for (key, value) in &table {
            let Some(def) = ALL.iter().find(|d| d.key == key) else {
                let known: Vec<&str> = ALL.iter().map(|d| d.key).collect();
                return Err(format!(
                    "unknown expectation `{key}` (known: {})",
                    known.join(", ")
                ));
            };
            let bad = || format!("`{key}` takes {}, not {value}", def.kind.described());
            let v = match (def.kind, value) {
                (Kind::Count, toml::Value::Integer(n)) => {
                    Value::Count(u64::try_from(*n).map_err(|_| bad())?)
                }
                (Kind::Switch, toml::Value::Boolean(true)) => Value::On,
                (Kind::Switch, toml::Value::Boolean(false)) => continue,
                (Kind::Millis, toml::Value::Float(x)) if *x >= 0.0 => Value::Millis(*x),
                (Kind::Millis, toml::Value::Integer(n)) if *n >= 0 => Value::Millis(*n as f64),
                (Kind::Pattern, toml::Value::String(s)) => Value::Pattern(s.clone()),
                (Kind::Texts, toml::Value::Array(a)) => Value::Texts(
                    a.iter()
                        .map(|x| x.as_str().map(str::to_string).ok_or_else(bad))
                        .collect::<Result<_, _>>()?,
                ),
                _ => return Err(bad()),
            };
            exp.set(def, v);
        }
        Ok(exp)
    }
}

impl Kind {
    fn described(self) -> &'static str {
        match self {
            Kind::Count => "a whole number",
            Kind::Switch => "true or false",
            Kind::Millis => "a number of milliseconds",
            Kind::Pattern => "a regular expression in a string",
            Kind::Texts => "a list of strings",
        }
    }
}

/// Runs every expectation set.
pub(super) fn run_all(exp: &Expectations, facts: &Facts<'_>, lang: Lang) -> Vec<Check> {
    exp.iter().map(|(d, v)| d.run(v, facts, lang)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's table is this table: one row per expectation, in order, with its key,
    /// flag and meaning.
    #[test]
    fn test_readme_lists_every_expectation() {
        let readme = include_str!("../../README.md");
        let rows: Vec<&str> = readme
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("| `") && l.contains(" = "))
            .collect();
        assert_eq!(rows.len(), ALL.len(), "{rows:#?}");
        for (row, d) in rows.iter().zip(ALL) {
            assert!(
                row.starts_with(&format!("| `{} = ", d.key)),
                "{row} / {}",
                d.key
            );
            let flag = match d.flag {
                Some(f) if d.kind == Kind::Switch => format!("`--{f}`"),
                Some(f) => format!("`--{f} {}`", d.value_name()),
                None => "(file only)".into(),
            };
            assert!(row.contains(&format!("| {flag} |")), "{row}: {flag}");
            assert!(
                row.ends_with(&format!("| {} |", d.help)),
                "{row}: {}",
                d.help
            );
        }
    }

    #[test]
    fn test_example_file_parses_and_keys_are_unique() {
        let e = Expectations::from_toml(include_str!("../../examples/classic.toml"))
            .expect("examples/classic.toml");
        assert!(e.iter().count() >= 10);
        let mut keys: Vec<&str> = ALL.iter().map(|d| d.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), ALL.len());
    }

    #[test]
    fn test_value_of_the_wrong_kind_fails_its_check() {
        let seen = super::super::Observed::default();
        let facts = Facts::new(&seen);
        let c = HANDSHAKES.run(&Value::On, &facts, Lang::En);
        assert!(!c.ok);
        assert!(c.detail.contains("takes a whole number"), "{}", c.detail);
    }

    #[test]
    fn test_set_replaces_and_keeps_check_order() {
        let mut e = Expectations::default();
        e.set(&NO_DROPS, Value::On);
        e.set(&HANDSHAKES, Value::Count(2));
        e.set(&HANDSHAKES, Value::Count(1));
        let keys: Vec<&str> = e.iter().map(|(d, _)| d.key).collect();
        assert_eq!(keys, ["handshakes", "no_drops"]);
        assert_eq!(e.get(&HANDSHAKES), Some(&Value::Count(1)));
    }
}
