//! Golden event streams: a capture's JSON Lines events compared with a stored copy, with what
//! legitimately changes from run to run normalised away (see `normalise`).

use std::collections::HashMap;

use regex::Regex;
use serde_json::{Map, Value};

use super::Check;

/// What is normalised, for `--help` and the README.
pub const NORMALISED: &str = "times (ts, durations, RTTs, iRTT), raw sequence and \
acknowledgement numbers (seq, ack, j, k) and TCP timestamp values, ports of 1024 and above \
(numbered in order of first appearance), loopback addresses (one per family), libpcap's \
received count, the ctime in the demo's replies, and long numbers and times inside notes";

/// Turns one event line into its run-independent form.
pub struct Normaliser {
    ports: HashMap<u64, usize>,
    ctime: Option<Regex>,
    long_number: Option<Regex>,
    decimal: Option<Regex>,
}

impl Default for Normaliser {
    fn default() -> Self {
        Normaliser {
            ports: HashMap::new(),
            ctime: Regex::new(r"\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}\]")
                .ok(),
            long_number: Regex::new(r"\d{6,}").ok(),
            decimal: Regex::new(r"-?\d+\.\d+").ok(),
        }
    }
}

impl Normaliser {
    fn port(&mut self, p: u64) -> Value {
        if p < 1024 {
            return Value::from(p);
        }
        let n = self.ports.len() + 1;
        let id = *self.ports.entry(p).or_insert(n);
        Value::from(format!("port{id}"))
    }

    fn addr(&self, a: &str) -> String {
        if a.starts_with("127.") {
            "loopback-v4".into()
        } else if a == "::1" {
            "loopback-v6".into()
        } else {
            a.to_string()
        }
    }

    /// `ip:port` or `[ip6]:port`.
    fn endpoint(&mut self, e: &str) -> Value {
        let (ip, port) = match e.rsplit_once(':') {
            Some((ip, port)) => (ip, port.parse::<u64>().ok()),
            None => (e, None),
        };
        let ip = ip.trim_start_matches('[').trim_end_matches(']');
        let port = port.map(|p| self.port(p)).unwrap_or(Value::Null);
        Value::from(format!(
            "{}:{}",
            self.addr(ip),
            port.to_string().trim_matches('"')
        ))
    }

    fn text(&self, s: &str, numbers: bool) -> Value {
        let mut t = s.to_string();
        if let Some(r) = &self.ctime {
            t = r.replace_all(&t, "[<ctime>]").into_owned();
        }
        if numbers {
            if let Some(r) = &self.decimal {
                t = r.replace_all(&t, "<t>").into_owned();
            }
            if let Some(r) = &self.long_number {
                t = r.replace_all(&t, "<n>").into_owned();
            }
        }
        Value::from(t)
    }

    /// The run-independent form of one event.
    pub fn normalise(&mut self, v: &Value) -> Value {
        let Value::Object(m) = v else {
            return v.clone();
        };
        let mut out = Map::new();
        for (k, x) in m {
            let y = match (k.as_str(), x) {
                ("ts" | "duration" | "irtt" | "seq" | "ack" | "j" | "k" | "received", _) => {
                    continue;
                }
                ("sport" | "dport", Value::Number(n)) => self.port(n.as_u64().unwrap_or(0)),
                ("src" | "dst" | "outer_src" | "outer_dst", Value::String(s)) => {
                    Value::from(self.addr(s))
                }
                ("client" | "server", Value::String(s)) => self.endpoint(s),
                ("payload", Value::String(s)) => self.text(s, false),
                ("note", Value::String(s)) => self.text(s, true),
                ("why", Value::Object(w)) => Value::Object(
                    w.iter()
                        .map(|(k, s)| (k.clone(), self.text(s.as_str().unwrap_or(""), true)))
                        .collect(),
                ),
                ("options", Value::Object(o)) => {
                    let mut o = o.clone();
                    o.remove("ts");
                    Value::Object(o)
                }
                ("exchanges", Value::Array(a)) => Value::Array(
                    a.iter()
                        .map(|e| {
                            let mut e = e.as_object().cloned().unwrap_or_default();
                            e.remove("rtt");
                            for t in ["request", "reply"] {
                                if let Some(Value::String(s)) = e.get(t) {
                                    let n = self.text(s, false);
                                    e.insert(t.into(), n);
                                }
                            }
                            Value::Object(e)
                        })
                        .collect(),
                ),
                _ => x.clone(),
            };
            out.insert(k.clone(), y);
        }
        Value::Object(out)
    }
}

/// Normalises a whole event stream (JSON Lines text); lines that are not JSON are kept as
/// strings so that they still compare.
pub fn normalise_all(text: &str) -> Vec<Value> {
    let mut n = Normaliser::default();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match serde_json::from_str::<Value>(l) {
            Ok(v) => n.normalise(&v),
            Err(_) => Value::from(l),
        })
        .collect()
}

/// At most this many differences are listed.
const SHOWN: usize = 8;

/// The `golden` check: the normalised streams equal, or the first differences (event,
/// field, expected, got).
pub fn compare(expected: &[Value], got: &[Value]) -> Check {
    let mut diffs = Vec::new();
    let mut frames = Vec::new();
    for (i, (e, g)) in expected.iter().zip(got).enumerate() {
        if e == g {
            continue;
        }
        let at = match g["frame"].as_u64().or(e["frame"].as_u64()) {
            Some(f) => {
                frames.push(f);
                format!("frame {f}")
            }
            None => format!("line {} ({})", i + 1, e["type"].as_str().unwrap_or("?")),
        };
        let keys: Vec<&String> = match (e.as_object(), g.as_object()) {
            (Some(a), Some(b)) => {
                let mut k: Vec<&String> = a.keys().chain(b.keys()).collect();
                k.sort();
                k.dedup();
                k.into_iter().filter(|k| a.get(*k) != b.get(*k)).collect()
            }
            _ => Vec::new(),
        };
        for k in keys.iter().take(3) {
            diffs.push(format!(
                "{at}: {k}: expected {}, got {}",
                e.get(*k).map_or("(none)".into(), Value::to_string),
                g.get(*k).map_or("(none)".into(), Value::to_string)
            ));
        }
        if keys.is_empty() {
            diffs.push(format!("{at}: expected {e}, got {g}"));
        }
    }
    if expected.len() != got.len() {
        diffs.push(format!(
            "{} events expected, {} got",
            expected.len(),
            got.len()
        ));
    }
    let n = diffs.len();
    let mut detail = if n == 0 {
        format!("{} events equal the golden file", got.len())
    } else {
        format!("{n} difference(s): {}", diffs[..n.min(SHOWN)].join("; "))
    };
    if n > SHOWN {
        detail.push_str(&format!("; … {} more", n - SHOWN));
    }
    frames.truncate(SHOWN);
    Check {
        name: "golden".into(),
        ok: n == 0,
        detail,
        frames,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_run_dependent_fields_are_normalised() {
        let a = r#"{"type":"packet","frame":1,"ts":1.5,"src":"127.0.0.1","sport":40001,"dport":12345,"seq":99,"note":"handshake 1/3: SYN seq=j=3424790846","payload":"Hi,you send me :[Wed Nov 25 15:29:34 2026] hello"}"#;
        let b = r#"{"type":"packet","frame":1,"ts":9.5,"src":"127.0.0.2","sport":51234,"dport":40555,"seq":7,"note":"handshake 1/3: SYN seq=j=1111111111","payload":"Hi,you send me :[Thu Nov 26 01:02:03 2026] hello"}"#;
        assert_eq!(normalise_all(a), normalise_all(b));
        // A real difference stays one, and is named.
        let c = b.replace("hello", "bye");
        let check = compare(&normalise_all(a), &normalise_all(&c));
        assert!(!check.ok);
        assert!(
            check.detail.contains("frame 1: payload"),
            "{}",
            check.detail
        );
        assert_eq!(check.frames, [1]);
    }
}
