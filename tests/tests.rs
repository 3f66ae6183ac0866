//! Integration tests: the real binary on the real captures in `captures/` and on loopback.

mod analysis;
mod common;
mod demo;
mod html;
mod oracle;
mod read;
mod robust;
mod stream;
mod verify;
mod watch;

use std::path::Path;

#[test]
fn oracle_agrees_with_tshark_on_every_capture() {
    assert!(
        oracle::tshark_available(),
        "tshark is not installed: the oracle test needs it (the README's test command installs it)"
    );
    // SYNACK_ORACLE_DIR points the same comparison at any folder of captures.
    let custom = std::env::var("SYNACK_ORACLE_DIR").ok();
    let dir = custom
        .clone()
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/captures").into());
    let files = oracle::captures(Path::new(&dir));
    assert!(
        !files.is_empty() && (custom.is_some() || files.len() >= 24),
        "too few captures in {dir}"
    );
    let mut all = Vec::new();
    for f in &files {
        all.extend(oracle::compare(f));
    }
    assert!(
        all.is_empty(),
        "{} disagreements with tshark over {} captures:\n{}",
        all.len(),
        files.len(),
        all.join("\n")
    );
}

#[test]
fn follow_agrees_with_tshark_on_every_stream() {
    use serde_json::Value;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/captures");
    let mut compared = 0;
    let mut diffs = Vec::new();
    for f in oracle::captures(Path::new(dir)) {
        let o = common::read_json(&f);
        let Some(s) = common::lines(&o, "summary").pop() else {
            continue;
        };
        let mut streams = Vec::new();
        for (proto, key) in [("tcp", "tcp_streams"), ("udp", "udp_streams")] {
            for n in 0..s[key].as_u64().unwrap_or(0) {
                streams.push((proto, n));
            }
        }
        if streams.is_empty() {
            continue;
        }
        let want = oracle::tshark_follow(&f, &streams);
        assert_eq!(
            want.len(),
            streams.len(),
            "{}: tshark follow sections",
            f.display()
        );
        for (proto, n) in &streams {
            let w = &want[&(proto.to_string(), *n)];
            let o = common::synack(&[
                "follow",
                f.to_str().expect("path"),
                "--stream",
                &n.to_string(),
                "--proto",
                proto,
                "--format",
                "json",
            ]);
            let lines: Vec<Value> = common::stdout(&o)
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            let nodes: Vec<String> = lines
                .iter()
                .filter(|v| v["type"] == "follow")
                .flat_map(|v| [v["client"].clone(), v["server"].clone()])
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            let chunks: Vec<(bool, String)> = lines
                .iter()
                .filter(|v| v["type"] == "data")
                .map(|v| {
                    (
                        v["from"] == "server",
                        v["hex"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect();
            let mut got = oracle::Followed { nodes, chunks };
            // tshark names no nodes when no segment reached its follow tap (every header
            // cut by the snaplen); synack still names the conversation's ends.
            if w.nodes.iter().all(|n| n == ":0") && got.chunks.is_empty() {
                got.nodes = w.nodes.clone();
            }
            if got != *w {
                diffs.push(format!(
                    "{} {proto} stream {n}: synack {got:?}\n  tshark {w:?}",
                    f.display()
                ));
            }
            compared += 1;
        }
    }
    assert!(compared >= 40, "{compared} streams compared");
    assert!(
        diffs.is_empty(),
        "{} of {compared} differ:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
