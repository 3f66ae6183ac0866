//! Expert analysis on real traffic recorded in network namespaces (record-analysis.sh);
//! the oracle test checks every flag against tshark, these check the story each one tells.

use std::collections::HashMap;

use serde_json::Value;

use crate::common::{capture, lines, read_json, stderr};

fn run(name: &str) -> (Vec<Value>, Vec<Value>) {
    let o = read_json(&capture(name));
    assert!(o.status.success(), "{name}: {}", stderr(&o));
    (lines(&o, "packet"), lines(&o, "conn"))
}

fn flags(p: &[Value]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for x in p {
        for a in x["analysis"].as_array().into_iter().flatten() {
            *m.entry(a.as_str().unwrap_or("").to_string()).or_insert(0) += 1;
        }
    }
    m
}

#[test]
fn lossy_bulk_transfer_shows_holes_and_retransmissions() {
    let (p, c) = run("lossy-bulk.pcap");
    let f = flags(&p);
    assert!(
        f.get("previous-segment-not-captured").copied().unwrap_or(0) > 0,
        "{f:?}"
    );
    for kind in [
        "retransmission",
        "fast-retransmission",
        "spurious-retransmission",
        "dup-ack",
        "out-of-order",
    ] {
        assert!(f.get(kind).copied().unwrap_or(0) > 0, "no {kind}: {f:?}");
    }
    // Every byte of the 3 000 000 sent counts once, holes filled late included.
    assert_eq!(c[0]["bytes_c2s"], 3_000_000);
    assert!(c[0]["retransmissions"].as_u64().unwrap_or(0) > 0);
    let note = p
        .iter()
        .find(|x| {
            x["analysis"]
                .as_array()
                .is_some_and(|a| a.iter().any(|n| n == "retransmission"))
        })
        .and_then(|x| x["note"].as_str())
        .unwrap_or("");
    assert!(note.contains("retransmission"), "{note}");
}

#[test]
fn tiny_receive_buffer_stalls_with_a_zero_window() {
    let (p, _) = run("zero-window.pcap");
    let f = flags(&p);
    assert!(f.contains_key("zero-window"), "{f:?}");
    assert!(f.contains_key("window-update"), "{f:?}");
}

#[test]
fn keepalive_probes_and_their_acks() {
    let (p, c) = run("keepalive.pcap");
    let f = flags(&p);
    assert!(f.get("keep-alive").copied().unwrap_or(0) >= 2, "{f:?}");
    assert!(f.contains_key("keep-alive-ack"), "{f:?}");
    assert_eq!(c[0]["close"], "fin");
}

#[test]
fn half_close_server_keeps_sending_after_the_client_fin() {
    let (p, c) = run("half-close.pcap");
    let fin = p.iter().position(|x| x["step"] == "fin").expect("a FIN");
    let after: Vec<&Value> = p[fin..].iter().filter(|x| x["step"] == "data").collect();
    assert!(!after.is_empty(), "data after the first FIN");
    assert_eq!(after[0]["client_state"], "FIN_WAIT_2");
    assert_eq!(after[0]["server_state"], "CLOSE_WAIT");
    assert_eq!(c[0]["client_state"], "TIME_WAIT");
    assert_eq!(c[0]["server_state"], "CLOSED");
}

#[test]
fn simultaneous_close_leaves_both_sides_in_time_wait() {
    let (p, c) = run("simultaneous-close.pcap");
    assert!(
        p.iter()
            .any(|x| x["client_state"] == "CLOSING" || x["server_state"] == "CLOSING")
    );
    assert_eq!(c[0]["client_state"], "TIME_WAIT");
    assert_eq!(c[0]["server_state"], "TIME_WAIT");
}

#[test]
fn joined_mid_stream() {
    let (p, c) = run("midstream.pcap");
    assert_eq!(c[0]["handshake"], "not-seen");
    assert_eq!(p[0]["rel_seq"], 1);
    assert_eq!(p[0]["rel_ack"], 1);
    assert_eq!(p[0]["client_state"], "ESTABLISHED");
}

#[test]
fn one_four_tuple_three_connections_ending_in_rst() {
    let (p, c) = run("port-reuse-rst.pcap");
    let tcp: Vec<&Value> = c.iter().filter(|x| x["proto"] == "tcp").collect();
    assert_eq!(tcp.len(), 3);
    assert_eq!(tcp[0]["client"], tcp[2]["client"]);
    assert_eq!(tcp[2]["close"], "rst");
    assert_eq!(flags(&p).get("port-reused").copied(), Some(2));
}

/// The number after `word` in `text` (as in "frame 15").
fn number_after(text: &str, word: &str) -> Option<u64> {
    let at = text.find(word)? + word.len();
    text[at..]
        .trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[test]
fn every_verdict_explains_itself() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut explained = HashMap::new();
    for f in crate::oracle::captures(&dir) {
        let o = read_json(&f);
        for p in lines(&o, "packet") {
            let names: Vec<&str> = p["analysis"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let why = p["why"].as_object();
            // One sentence per flag, no more, no less.
            assert_eq!(
                why.map(|w| w.len()).unwrap_or(0),
                names.len(),
                "{}: {p}",
                f.display()
            );
            for n in &names {
                let s = why.and_then(|w| w[*n].as_str()).unwrap_or("");
                assert!(!s.is_empty(), "{}: no why for {n}: {p}", f.display());
                *explained.entry(n.to_string()).or_insert(0) += 1;
                // The numbers in the sentence are this segment's.
                let seq = p["rel_seq"].as_u64();
                match *n {
                    "previous-segment-not-captured" | "retransmission" | "out-of-order" => {
                        assert_eq!(number_after(s, "seq "), seq, "{s}")
                    }
                    "dup-ack" | "keep-alive-ack" => {
                        assert_eq!(number_after(s, "ACK "), p["rel_ack"].as_u64(), "{s}")
                    }
                    _ => {}
                }
            }
        }
    }
    for n in [
        "retransmission",
        "fast-retransmission",
        "spurious-retransmission",
        "out-of-order",
        "dup-ack",
        "previous-segment-not-captured",
        "zero-window",
        "keep-alive",
        "keep-alive-ack",
        "window-update",
        "window-full",
    ] {
        assert!(
            explained.contains_key(n),
            "no capture explains {n}: {explained:?}"
        );
    }
}

#[test]
fn dup_ack_names_the_frame_tshark_names() {
    // tshark's `tcp.analysis.duplicate_ack_frame` is the frame a duplicate ACK repeats.
    let f = capture("lossy-bulk.pcap");
    let dir = tempfile::tempdir().expect("tmp");
    let out = std::process::Command::new("tshark")
        .env("WIRESHARK_CONFIG_DIR", dir.path())
        .arg("-r")
        .arg(&f)
        .args([
            "-2",
            "-T",
            "fields",
            "-e",
            "tcp.analysis.duplicate_ack_frame",
        ])
        .output()
        .expect("tshark");
    let want: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let (p, _) = run("lossy-bulk.pcap");
    let mut checked = 0;
    for (x, w) in p.iter().zip(&want) {
        if let Some(s) = x["why"]["dup-ack"].as_str() {
            assert_eq!(
                number_after(s, "frame ").map(|n| n.to_string()),
                Some(w.clone()),
                "{s}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 50, "{checked}");
}

#[test]
fn repeated_synack_and_fin_are_retransmissions_not_out_of_order() {
    let (packets, conns) = run("dup-synack-fin.pcap");
    let with = |name: &str| -> Vec<u64> {
        packets
            .iter()
            .filter(|p| {
                p["analysis"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == name))
            })
            .filter_map(|p| p["frame"].as_u64())
            .collect()
    };
    // Frame 3 repeats the SYN+ACK 5 µs after it, frame 14 the client's FIN: both inside the
    // out-of-order threshold, both exact copies.
    assert_eq!(with("retransmission"), [3, 14]);
    assert!(with("out-of-order").is_empty());
    assert_eq!(conns[0]["retransmissions"], 2);
    assert_eq!(conns[0]["handshake"], "complete");
}

#[test]
fn zeek_content_gaps_only_where_bytes_were_never_captured() {
    // Cut by the snaplen: the acknowledged payload was never delivered, so Zeek's G/g.
    let (_, conns) = run("snaplen-60.pcap");
    let h = conns[0]["history"].as_str().expect("history");
    assert!(h.contains('G') && h.contains('g'), "{h}");
    // Captured whole: no gap, and no retransmission.
    let (_, conns) = run("classic-ipv4.pcap");
    let h = conns[0]["history"].as_str().expect("history");
    assert!(!h.contains(['G', 'g', 'T', 't']), "{h}");
}
