//! The tshark oracle: every contract field that names a tshark field is compared, frame by
//! frame, with `tshark -2 -T fields` run exactly as `shared/spec/oracle.md` prescribes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const FIELDS: &[&str] = &[
    "frame.number",
    "frame.time_epoch",
    "frame.cap_len",
    "frame.len",
    "frame.protocols",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "tcp.srcport",
    "tcp.dstport",
    "udp.srcport",
    "udp.dstport",
    "tcp.stream",
    "udp.stream",
    "tcp.flags",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.seq",
    "tcp.ack",
    "tcp.len",
    "udp.length",
    "tcp.window_size_value",
    "tcp.completeness",
    "tcp.analysis.initial_rtt",
    "tcp.options.mss_val",
    "tcp.options.wscale.shift",
    "tcp.options.sack_perm",
    "tcp.options.timestamp.tsval",
    "tcp.options.timestamp.tsecr",
    "tcp.analysis.retransmission",
    "tcp.analysis.fast_retransmission",
    "tcp.analysis.spurious_retransmission",
    "tcp.analysis.out_of_order",
    "tcp.analysis.duplicate_ack",
    "tcp.analysis.zero_window",
    "tcp.analysis.keep_alive",
    "tcp.analysis.lost_segment",
    "tcp.analysis.window_update",
    "tcp.analysis.ack_lost_segment",
    "tcp.analysis.reused_ports",
    "_ws.malformed",
    // Beyond oracle.md's list (same options, more columns): the analysis flags synack emits
    // that the list leaves out, so that none of them goes unchecked.
    "tcp.analysis.keep_alive_ack",
    "tcp.analysis.window_full",
    "tcp.analysis.zero_window_probe",
    "tcp.analysis.zero_window_probe_ack",
    "tcp.window_size",
];

/// tshark's analysis columns and the contract's names for them.
pub const ANALYSIS: &[(&str, &str)] = &[
    ("tcp.analysis.retransmission", "retransmission"),
    ("tcp.analysis.fast_retransmission", "fast-retransmission"),
    (
        "tcp.analysis.spurious_retransmission",
        "spurious-retransmission",
    ),
    ("tcp.analysis.out_of_order", "out-of-order"),
    ("tcp.analysis.duplicate_ack", "dup-ack"),
    ("tcp.analysis.zero_window", "zero-window"),
    ("tcp.analysis.keep_alive", "keep-alive"),
    ("tcp.analysis.lost_segment", "previous-segment-not-captured"),
    ("tcp.analysis.window_update", "window-update"),
    ("tcp.analysis.ack_lost_segment", "ack-unseen-segment"),
    ("tcp.analysis.reused_ports", "port-reused"),
    ("tcp.analysis.keep_alive_ack", "keep-alive-ack"),
    ("tcp.analysis.window_full", "window-full"),
    ("tcp.analysis.zero_window_probe", "zero-window-probe"),
    (
        "tcp.analysis.zero_window_probe_ack",
        "zero-window-probe-ack",
    ),
];

pub fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What tshark made of a file: one map of field → text per frame, and whether it read the
/// file to its end (exit status 0).
pub struct Tshark {
    pub rows: Vec<HashMap<&'static str, String>>,
    pub ok: bool,
}

/// tshark reading `file` with a fresh, empty profile, so that a user's preferences cannot
/// change the answer; keep the directory alive while the command runs.
pub fn tshark_on(file: &Path) -> (Command, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new("tshark");
    cmd.env("WIRESHARK_CONFIG_DIR", dir.path())
        .env("LC_ALL", "C")
        .arg("-r")
        .arg(file);
    (cmd, dir)
}

/// Runs tshark on `file`.
pub fn tshark(file: &Path) -> Tshark {
    let (mut cmd, _dir) = tshark_on(file);
    cmd.args(["-2", "-T", "fields", "-E", "separator=/t", "-E", "header=y"])
        .args(["-o", "tcp.relative_sequence_numbers:TRUE"])
        .args(["-o", "tcp.analyze_sequence_numbers:TRUE"])
        .args(["-o", "tcp.calculate_timestamps:TRUE"])
        .args(["-o", "tcp.check_checksum:FALSE"])
        .args(["-o", "udp.check_checksum:FALSE"])
        .args(["-o", "ip.check_checksum:FALSE"]);
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    let ok = out.status.success();
    let text = String::from_utf8_lossy(&out.stdout);
    // With `-E header=y` a tshark that opened the file prints the header even for zero
    // frames: empty output means it could not open the file, which must also be a failure.
    assert!(
        !text.is_empty() || !ok,
        "tshark printed nothing for {} but exited 0: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = text.lines();
    let rows = match lines.next() {
        None => Vec::new(),
        Some(h) => {
            let header: Vec<&str> = h.split('\t').collect();
            assert_eq!(
                header.len(),
                FIELDS.len(),
                "tshark header for {}: {header:?}",
                file.display()
            );
            lines
                .map(|l| {
                    let cols: Vec<&str> = l.split('\t').collect();
                    FIELDS
                        .iter()
                        .enumerate()
                        .map(|(i, f)| (*f, cols.get(i).copied().unwrap_or("").to_string()))
                        .collect()
                })
                .collect()
        }
    };
    Tshark { rows, ok }
}

/// tshark's single-pass `tcp.window_size` per frame. With `-2` the second pass scales every
/// frame of a conversation by the shift its SYNs finally agreed, also frames that came before
/// a late SYN (a capture that starts mid-connection, then sees a SYN): nothing that reads a
/// capture once can know that, so there synack is held to the first pass.
pub fn tshark_window_pass1(file: &Path) -> Vec<String> {
    let (mut cmd, _dir) = tshark_on(file);
    let out = cmd
        .args(["-T", "fields", "-e", "tcp.window_size"])
        .output()
        .expect("run tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// tshark's checksum verdicts per frame (`tcp.checksum.status`, `udp.checksum.status`:
/// 0 bad, 1 good, 2 unverified), with checking switched on as `events.md` prescribes.
pub fn tshark_checksums(file: &Path) -> Vec<(String, String)> {
    let (mut cmd, _dir) = tshark_on(file);
    let out = cmd
        .args(["-2", "-T", "fields", "-E", "separator=/t"])
        .args([
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
        ])
        .args(["-e", "tcp.checksum.status", "-e", "udp.checksum.status"])
        .output()
        .expect("run tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let mut c = l.split('\t');
            let tcp = c.next().unwrap_or("").to_string();
            (tcp, c.next().unwrap_or("").to_string())
        })
        .collect()
}

/// The contract's checksum verdicts that agree with tshark's status: good for Good, bad or
/// offload (Linux's partial sum, which tshark cannot tell from damage) for Bad, unverified
/// for Unverified.
fn checksum_agrees(ours: Option<&str>, status: Option<&str>) -> bool {
    match status {
        Some("1") => ours == Some("good"),
        Some("0") => matches!(ours, Some("bad" | "offload")),
        Some("2") => ours == Some("unverified"),
        _ => ours.is_none() || ours == Some("unverified"),
    }
}

/// Runs `synack read --format json` on `file`: its raw output and whether it exited 0.
pub fn raw_json(file: &Path) -> (String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_synack"))
        .args(["read", "--format", "json"])
        .arg(file)
        .output()
        .expect("run synack");
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        out.status.success(),
    )
}

/// Packet and conn objects of a JSON Lines output.
pub fn parse(file: &Path, raw: &str) -> (Vec<Value>, Vec<Value>) {
    let mut packets = Vec::new();
    let mut conns = Vec::new();
    for line in raw.lines() {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{}: bad JSON line {line}: {e}", file.display()));
        match v["type"].as_str() {
            Some("packet") => packets.push(v),
            Some("conn") => conns.push(v),
            _ => {}
        }
    }
    (packets, conns)
}

fn pick(col: &str, last: bool) -> Option<&str> {
    if col.is_empty() {
        return None;
    }
    let mut it = col.split(',');
    if last { it.next_back() } else { it.next() }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        _ => Some(v.to_string()),
    }
}

/// The raw text of `key` in a JSON line (serde_json would normalise the digits).
fn raw_field(line: &str, key: &str) -> Option<String> {
    let needle = format!("\"{key}\":");
    let at = line.find(&needle)? + needle.len();
    Some(line[at..].split([',', '}']).next()?.to_string())
}

/// Compares one capture; returns the list of disagreements.
pub fn compare(file: &Path) -> Vec<String> {
    let (raw, synack_ok) = raw_json(file);
    let Tshark { rows: want, ok } = tshark(file);
    let window_pass1 = tshark_window_pass1(file);
    let sums = tshark_checksums(file);
    let (got, conns) = parse(file, &raw);
    let mut diffs = Vec::new();
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut say = |frame: &str, field: &str, ours: Option<String>, theirs: Option<&str>| {
        if ours.as_deref() != theirs {
            diffs.push(format!(
                "{name} frame {frame}: {field}: synack {} tshark {}",
                ours.as_deref().unwrap_or("(none)"),
                theirs.unwrap_or("(none)")
            ));
        }
    };
    // Both read the file to its end, or both stop at its damage (after every good frame).
    say(
        "-",
        "read to the end",
        Some(synack_ok.to_string()),
        Some(&ok.to_string()),
    );
    if want.len() != got.len() {
        say(
            "-",
            "frame count",
            Some(got.len().to_string()),
            Some(&want.len().to_string()),
        );
    }
    let packet_lines: Vec<&str> = raw
        .lines()
        .filter(|l| l.starts_with("{\"type\":\"packet\""))
        .collect();
    let mut last_of_stream: HashMap<String, usize> = HashMap::new();
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        let fr = w["frame.number"].as_str();
        say(fr, "frame", text(&g["frame"]), Some(fr));
        let ts = packet_lines.get(i).and_then(|l| raw_field(l, "ts"));
        let epoch = w["frame.time_epoch"].as_str();
        say(fr, "ts", ts, (!epoch.is_empty()).then_some(epoch));
        say(
            fr,
            "caplen",
            text(&g["caplen"]),
            Some(w["frame.cap_len"].as_str()),
        );
        say(
            fr,
            "wirelen",
            text(&g["wirelen"]),
            Some(w["frame.len"].as_str()),
        );
        let proto = g["proto"].as_str().unwrap_or("");
        let icmp = proto.starts_with("icmp");
        // The transport's IP header is the innermost, except in ICMP errors (outer first).
        let (scol, dcol) = match g["ip"].as_u64() {
            Some(6) => ("ipv6.src", "ipv6.dst"),
            _ => ("ip.src", "ip.dst"),
        };
        if g.get("ip").is_some() {
            say(fr, "src", text(&g["src"]), pick(&w[scol], !icmp));
            say(fr, "dst", text(&g["dst"]), pick(&w[dcol], !icmp));
        }
        let tcp_seen = !w["tcp.srcport"].is_empty();
        let udp_seen = !w["udp.srcport"].is_empty();
        if proto == "other" && (tcp_seen || udp_seen) {
            say(
                fr,
                "proto",
                Some("other".into()),
                Some(w["frame.protocols"].as_str()),
            );
        }
        if proto == "tcp" || (icmp && tcp_seen) {
            say(
                fr,
                "sport",
                text(&g["sport"]),
                pick(&w["tcp.srcport"], true),
            );
            say(
                fr,
                "dport",
                text(&g["dport"]),
                pick(&w["tcp.dstport"], true),
            );
        }
        if proto == "udp" || (icmp && udp_seen) {
            say(
                fr,
                "sport",
                text(&g["sport"]),
                pick(&w["udp.srcport"], true),
            );
            say(
                fr,
                "dport",
                text(&g["dport"]),
                pick(&w["udp.dstport"], true),
            );
        }
        if proto == "tcp" {
            say(
                fr,
                "stream",
                text(&g["stream"]),
                pick(&w["tcp.stream"], true),
            );
            let flags = pick(&w["tcp.flags"], true)
                .and_then(|f| u32::from_str_radix(f.trim_start_matches("0x"), 16).ok())
                .map(|f| (f & 0xff).to_string());
            say(fr, "flags_raw", text(&g["flags_raw"]), flags.as_deref());
            say(fr, "seq", text(&g["seq"]), pick(&w["tcp.seq_raw"], true));
            say(fr, "ack", text(&g["ack"]), pick(&w["tcp.ack_raw"], true));
            say(
                fr,
                "rel_seq",
                text(&g["rel_seq"]),
                pick(&w["tcp.seq"], true),
            );
            say(
                fr,
                "rel_ack",
                text(&g["rel_ack"]),
                pick(&w["tcp.ack"], true),
            );
            say(fr, "len", text(&g["len"]), pick(&w["tcp.len"], true));
            say(
                fr,
                "win",
                text(&g["win"]),
                pick(&w["tcp.window_size_value"], true),
            );
            // The first pass's value: the same as `-2`'s except after a late SYN (see
            // `tshark_window_pass1`).
            let one_pass = window_pass1.get(i).and_then(|c| pick(c, true));
            say(fr, "window", text(&g["window"]), one_pass);
            let status = sums.get(i).and_then(|(t, _)| pick(t, true));
            if !checksum_agrees(g["checksum"].as_str(), status) {
                say(fr, "checksum", text(&g["checksum"]), status);
            }
            let o = &g["options"];
            let sp = (!w["tcp.options.sack_perm"].is_empty()).then_some("true");
            say(
                fr,
                "options.mss",
                text(&o["mss"]),
                pick(&w["tcp.options.mss_val"], true),
            );
            say(
                fr,
                "options.wscale",
                text(&o["wscale"]),
                pick(&w["tcp.options.wscale.shift"], true),
            );
            say(fr, "options.sack_perm", text(&o["sack_perm"]), sp);
            say(
                fr,
                "options.ts[0]",
                text(&o["ts"][0]),
                pick(&w["tcp.options.timestamp.tsval"], true),
            );
            say(
                fr,
                "options.ts[1]",
                text(&o["ts"][1]),
                pick(&w["tcp.options.timestamp.tsecr"], true),
            );
            let names: Vec<&str> = g["analysis"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
                .unwrap_or_default();
            for (col, n) in ANALYSIS {
                let theirs = !w[*col].is_empty();
                let ours = names.contains(n);
                if theirs != ours {
                    say(
                        fr,
                        &format!("analysis {n}"),
                        Some(ours.to_string()),
                        Some(&theirs.to_string()),
                    );
                }
            }
            if let Some(s) = pick(&w["tcp.stream"], true) {
                last_of_stream.insert(s.to_string(), i);
            }
        }
        if proto == "udp" {
            say(
                fr,
                "stream",
                text(&g["stream"]),
                pick(&w["udp.stream"], true),
            );
            let len = pick(&w["udp.length"], true)
                .and_then(|l| l.parse::<i64>().ok())
                .map(|l| (l - 8).max(0).to_string());
            say(fr, "len", text(&g["len"]), len.as_deref());
            let status = sums.get(i).and_then(|(_, u)| pick(u, true));
            if !checksum_agrees(g["checksum"].as_str(), status) {
                say(fr, "checksum", text(&g["checksum"]), status);
            }
        }
        if icmp && udp_seen {
            say(
                fr,
                "stream",
                text(&g["stream"]),
                pick(&w["udp.stream"], true),
            );
        }
        // tshark's malformed must be ours too (synack also names damage tshark only warns of).
        if !w["_ws.malformed"].is_empty() && g.get("malformed").is_none() {
            say(fr, "malformed", None, Some("malformed"));
        }
    }
    compare_conns(&raw, &conns, &want, &last_of_stream, &mut say);
    diffs
}

/// Records one disagreement: frame, field, synack's value, tshark's value.
type Say<'a> = dyn FnMut(&str, &str, Option<String>, Option<&str>) + 'a;

/// A conversation as tshark's per-frame columns show it.
#[derive(Default)]
struct Seen {
    first: Option<usize>,
    last: Option<usize>,
    packets: u64,
}

/// Conn lines against tshark's streams: one line per `tcp.stream` and per `udp.stream`, none
/// that tshark does not know, and each with tshark's first and last frame, packet count,
/// completeness and initial RTT.
fn compare_conns(
    raw: &str,
    conns: &[Value],
    want: &[HashMap<&'static str, String>],
    last_of_stream: &HashMap<String, usize>,
    say: &mut Say<'_>,
) {
    // ICMP errors quote a datagram or segment: the quoted UDP conversation is named in
    // `udp.stream` (and synack creates it), the frame itself is no packet of it; a quoted
    // TCP header makes no TCP conversation in either.
    let mut tcp: std::collections::BTreeMap<u64, Seen> = Default::default();
    let mut udp: std::collections::BTreeMap<u64, Seen> = Default::default();
    for (i, w) in want.iter().enumerate() {
        let icmp = w["frame.protocols"].contains("icmp");
        if !icmp && let Some(s) = pick(&w["tcp.stream"], true).and_then(|s| s.parse().ok()) {
            let e = tcp.entry(s).or_default();
            e.first.get_or_insert(i);
            e.last = Some(i);
            e.packets += 1;
        }
        for s in w["udp.stream"].split(',').filter_map(|s| s.parse().ok()) {
            let e = udp.entry(s).or_default();
            e.first.get_or_insert(i);
            if !icmp {
                e.last = Some(i);
                e.packets += 1;
            }
        }
    }
    for (proto, theirs) in [("tcp", &tcp), ("udp", &udp)] {
        let ours: Vec<&Value> = conns.iter().filter(|c| c["proto"] == proto).collect();
        say(
            "-",
            &format!("{proto} conn lines"),
            Some(ours.len().to_string()),
            Some(&theirs.len().to_string()),
        );
        for c in ours {
            let s = c["stream"].as_u64().unwrap_or(u64::MAX);
            let fr = format!("({proto} stream {s})");
            let Some(t) = theirs.get(&s) else {
                say(&fr, "conn stream", Some(s.to_string()), None);
                continue;
            };
            let frame_no = |i: Option<usize>| i.map(|i| want[i]["frame.number"].clone());
            say(
                &fr,
                "conn first_frame",
                text(&c["first_frame"]),
                frame_no(t.first).as_deref(),
            );
            say(
                &fr,
                "conn last_frame",
                text(&c["last_frame"]),
                frame_no(t.last.or(t.first)).as_deref(),
            );
            say(
                &fr,
                "conn packets",
                text(&c["packets"]),
                Some(&t.packets.to_string()),
            );
        }
    }
    let conn_lines = raw
        .lines()
        .filter(|l| l.starts_with("{\"type\":\"conn\",\"proto\":\"tcp\""));
    for (c, line) in conns.iter().filter(|c| c["proto"] == "tcp").zip(conn_lines) {
        let s = text(&c["stream"]).unwrap_or_default();
        let Some(&last) = last_of_stream.get(&s) else {
            continue;
        };
        let fr = format!("(tcp stream {s})");
        say(
            &fr,
            "conn completeness",
            text(&c["completeness"]),
            pick(&want[last]["tcp.completeness"], true),
        );
        let irtt = want
            .iter()
            .filter(|w| pick(&w["tcp.stream"], true) == Some(s.as_str()))
            .find_map(|w| pick(&w["tcp.analysis.initial_rtt"], true).map(str::to_string));
        say(&fr, "conn irtt", raw_field(line, "irtt"), irtt.as_deref());
    }
}

/// Every capture file in `dir`.
pub fn captures(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| {
        matches!(
            p.extension().and_then(|e| e.to_str()),
            // Compressed captures too: tshark reads them through, and so must synack.
            Some("pcap" | "pcapng" | "cap" | "gz" | "zst" | "lz4")
        )
    });
    v.sort();
    v
}

/// One followed conversation as `tshark -q -z follow,PROTO,raw,N` prints it: the two nodes
/// and each chunk (from the server, hex).
#[derive(Debug, Default, PartialEq)]
pub struct Followed {
    pub nodes: Vec<String>,
    pub chunks: Vec<(bool, String)>,
}

/// tshark's Follow Stream of every `(proto, stream)` in one run (tshark prints the sections
/// in its own order; each names its filter), keyed by `(proto, stream)`.
pub fn tshark_follow(file: &Path, streams: &[(&str, u64)]) -> HashMap<(String, u64), Followed> {
    let (mut cmd, _dir) = tshark_on(file);
    cmd.arg("-q");
    for (proto, n) in streams {
        cmd.args(["-z", &format!("follow,{proto},raw,{n}")]);
    }
    let out = cmd.output().expect("run tshark");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut all = HashMap::new();
    let mut key: Option<(String, u64)> = None;
    let mut cur = Followed::default();
    for line in text.lines() {
        if let Some(filter) = line.strip_prefix("Filter: ") {
            // `tcp.stream eq 3`
            let mut w = filter.split_whitespace();
            let proto = w
                .next()
                .unwrap_or("")
                .trim_end_matches(".stream")
                .to_string();
            let n = w.nth(1).and_then(|n| n.parse().ok()).unwrap_or(u64::MAX);
            key = Some((proto, n));
            cur = Followed::default();
        } else if line.starts_with("=====") {
            if let Some(k) = key.take() {
                all.insert(k, std::mem::take(&mut cur));
            }
        } else if key.is_none() || line.is_empty() {
        } else if let Some(n) = line
            .strip_prefix("Node 0: ")
            .or(line.strip_prefix("Node 1: "))
        {
            cur.nodes.push(n.to_string());
        } else if let Some(h) = line.strip_prefix('\t') {
            cur.chunks.push((true, h.to_string()));
        } else {
            cur.chunks.push((false, line.to_string()));
        }
    }
    all
}
