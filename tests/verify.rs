//! `synack verify` on captures that meet and that break each expectation.

use crate::common::{capture, lines, stderr, stdout, synack};

fn verify(file: &str, args: &[&str]) -> std::process::Output {
    let f = capture(file);
    let mut a = vec!["verify", f.to_str().unwrap()];
    a.extend_from_slice(args);
    synack(&a)
}

#[test]
fn classic_capture_meets_the_example_expectations() {
    let toml = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/classic.toml");
    for f in ["classic-ipv4.pcap", "classic-ipv6.pcap", "tshark-lo.pcapng"] {
        let o = verify(f, &["--expect", toml]);
        assert_eq!(o.status.code(), Some(0), "{f}: {}", stdout(&o));
        assert!(
            stdout(&o).contains("all 12 expectations met"),
            "{}",
            stdout(&o)
        );
    }
}

#[test]
fn refused_connection_breaks_handshake_fin_and_reset_expectations() {
    let o = verify(
        "refused.pcap",
        &[
            "--handshakes",
            "1",
            "--closed-by-fin",
            "--no-resets",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let checks = lines(&o, "check");
    let failed: Vec<(&str, Vec<u64>)> = checks
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| {
            (
                c["name"].as_str().unwrap_or(""),
                c["frames"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|x| x.as_u64()).collect())
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        failed,
        [
            ("handshakes = 1", vec![1]),
            ("every connection closed by FIN", vec![2]),
            ("no RST", vec![2])
        ]
    );
    let v = &lines(&o, "verdict")[0];
    assert_eq!(v["failed"], 3);
}

#[test]
fn retransmitting_capture_breaks_the_retransmission_limit() {
    let o = verify(
        "dumpcap-two-interfaces.pcapng",
        &["--max-retransmissions", "0"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("✗ retransmissions <= 0 — 10 retransmission(s) (frames [15, 16, 18"),
        "{}",
        stdout(&o)
    );
    let o = verify(
        "dumpcap-two-interfaces.pcapng",
        &["--max-retransmissions", "10"],
    );
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn damaged_capture_fails_readability_and_still_checks_the_rest() {
    let o = verify("damaged-cut.pcap", &["--handshakes", "1"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("✗ capture readable to its end — frame 5 at byte offset 373"),
        "{out}"
    );
    assert!(out.contains("✓ handshakes = 1"), "{out}");
}

#[test]
fn reply_regex_and_udp_payloads() {
    let o = verify(
        "classic-ipv4.pcap",
        &["--reply-regex", "^Bye", "--udp-payload", "nope"],
    );
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("✗ replies match /^Bye/ — frame 6: reply"),
        "{out}"
    );
    assert!(out.contains("✗ udp payloads"), "{out}");
}

#[test]
fn junit_report_is_xml_with_one_case_per_check() {
    let dir = tempfile::tempdir().expect("tmp");
    let j = dir.path().join("junit.xml");
    let o = verify(
        "refused.pcap",
        &[
            "--handshakes",
            "1",
            "--no-malformed",
            "--junit",
            j.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let text = std::fs::read_to_string(&j).expect("junit written");
    let doc = roxmltree::Document::parse(&text).expect("valid XML");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 2);
    let failures = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .count();
    assert_eq!(failures, 1);
}

#[test]
fn could_not_check_exits_2() {
    let o = verify("classic-ipv4.pcap", &[]);
    assert_eq!(o.status.code(), Some(2), "no expectations");
    let o = synack(&["verify", "/nonexistent.pcap", "--handshakes", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot open"));
    let dir = tempfile::tempdir().expect("tmp");
    let t = dir.path().join("bad.toml");
    std::fs::write(&t, "handshake = 1\n").expect("write");
    let o = verify("classic-ipv4.pcap", &["--expect", t.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("handshake"), "{}", stderr(&o));
}

#[test]
fn demo_verify_checks_what_the_demo_sent() {
    let o = synack(&["demo", "--verify", "--port", "0", "--messages", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("all 10 expectations met"),
        "{}",
        stdout(&o)
    );
    // An expectation the demo cannot meet makes it exit 1.
    let o = synack(&["demo", "--verify", "--port", "0", "--exchanges", "5"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
}

#[test]
fn reset_connection_breaks_fin_and_reset_expectations() {
    let o = verify(
        "port-reuse-rst.pcap",
        &["--handshakes", "3", "--closed-by-fin", "--no-resets"],
    );
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("✓ handshakes = 3"), "{out}");
    assert!(
        out.contains("✗ every connection closed by FIN — stream 2 ended rst"),
        "{out}"
    );
    assert!(out.contains("✗ no RST — 1 RST segment(s)"), "{out}");
}

#[test]
fn bad_checksums_fail_offload_does_not() {
    // Loopback captures hold Linux's offload sums: not bad.
    let o = verify("classic-ipv4.pcap", &["--no-bad-checksums"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // A fuzzed copy whose changed address bytes break three segments' checksums.
    let o = verify(
        "fuzzed-ipv4-compatible-v6.pcap",
        &["--no-bad-checksums", "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let checks = lines(&o, "check");
    assert_eq!(checks[0]["name"], "no bad checksums");
    assert_eq!(checks[0]["frames"], serde_json::json!([11, 12, 15]));
    // The same from a TOML file.
    let dir = tempfile::tempdir().expect("tmp");
    let toml = dir.path().join("e.toml");
    std::fs::write(&toml, "no_bad_checksums = true\n").expect("write");
    let o = verify(
        "fuzzed-ipv4-compatible-v6.pcap",
        &["--expect", toml.to_str().expect("path")],
    );
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn golden_file_ignores_what_changes_between_runs() {
    let dir = tempfile::tempdir().expect("tmp");
    let g = dir.path().join("g.jsonl");
    let gs = g.to_str().expect("path");
    let o = verify("classic-ipv4.pcap", &["--golden", gs, "--update-golden"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Another recording of the same programs: other ports, times, ISNs, ctime.
    let o = verify("classic-ns.pcap", &["--golden", gs]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // The same lesson over IPv6 is a real difference, named by frame and field.
    let o = verify("classic-ipv6.pcap", &["--golden", gs, "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let checks = lines(&o, "check");
    let golden = checks
        .iter()
        .find(|c| c["name"] == "golden")
        .expect("golden check");
    let detail = golden["detail"].as_str().unwrap_or("");
    assert!(
        detail.contains("frame 1: ip: expected 4, got 6"),
        "{detail}"
    );
    // A missing golden file cannot be compared: exit 2.
    let o = verify("classic-ipv4.pcap", &["--golden", "/nonexistent/g.jsonl"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn fresh_demo_matches_the_projects_golden_file() {
    // tests/golden/demo.jsonl: `synack demo --port 0 --write F` read back with
    // `verify F --golden tests/golden/demo.jsonl --update-golden`. The kernel decides when a
    // bare ACK goes out; on a loaded machine it can differ once, so three runs are allowed.
    let golden = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/demo.jsonl");
    let dir = tempfile::tempdir().expect("tmp");
    let pcap = dir.path().join("demo.pcap");
    let junit = dir.path().join("junit.xml");
    let mut last = String::new();
    for _ in 0..3 {
        let o = synack(&[
            "demo",
            "--port",
            "0",
            "--write",
            pcap.to_str().expect("path"),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let o = synack(&[
            "verify",
            pcap.to_str().expect("path"),
            "--golden",
            golden,
            "--junit",
            junit.to_str().expect("path"),
        ]);
        last = stdout(&o);
        if o.status.code() == Some(0) {
            let xml = std::fs::read_to_string(&junit).expect("junit");
            assert!(xml.contains("name=\"golden\""), "{xml}");
            return;
        }
    }
    panic!("a fresh demo differs from tests/golden/demo.jsonl three times:\n{last}");
}
