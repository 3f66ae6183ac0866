//! Conversations leave memory as they end: conn records interleave with packets, `--conns`
//! gives the same records alone, and a full table (`--max-conns`) or an idle timeout sums
//! conversations up early without changing a single packet line.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{capture, stderr, stdout, synack};
use crate::oracle::captures;

/// `synack read --format json FILE ARGS…`: every line, parsed, in order.
fn events(file: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["read", "--format", "json"];
    all.extend_from_slice(args);
    let f = file.to_str().expect("utf-8 path");
    all.push(f);
    let o = synack(&all);
    assert!(
        o.status.success() || f.contains("damaged") || f.contains("fuzzed"),
        "{f}: {}",
        stderr(&o)
    );
    stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{f}: {e}: {l}")))
        .collect()
}

fn of(v: &[Value], kind: &str) -> Vec<Value> {
    v.iter().filter(|x| x["type"] == kind).cloned().collect()
}

#[test]
fn closed_connection_is_summed_up_before_the_end() {
    // With no close delay, the echo connection's record follows its last ACK (frame 14)
    // and comes before the datagram (frame 15).
    let ev = events(&capture("classic-ipv4.pcap"), &["--close-delay", "0"]);
    let kinds: Vec<String> = ev
        .iter()
        .map(|v| match v["type"].as_str() {
            Some("packet") => format!("p{}", v["frame"]),
            Some(k) => k.to_string(),
            None => "?".into(),
        })
        .collect();
    let conn_at = kinds.iter().position(|k| k == "conn").expect("a conn line");
    assert_eq!(kinds[conn_at - 1], "p14", "{kinds:?}");
    assert_eq!(kinds[conn_at + 1], "p15", "{kinds:?}");
    assert_eq!(ev[conn_at]["proto"], "tcp");
    assert_eq!(ev[conn_at]["ended"], "closed");
    assert_eq!(ev[conn_at]["close"], "fin");
    // The datagram's conversation is still open at the end of the file.
    let last_conn = of(&ev, "conn").pop().expect("udp conn");
    assert_eq!(last_conn["ended"], "end-of-input");
    assert_eq!(ev.last().map(|v| v["type"].clone()), Some("summary".into()));
    // By default (5 s close delay) both records come at the end, as before.
    let ev = events(&capture("classic-ipv4.pcap"), &[]);
    assert_eq!(ev[15]["type"], "conn");
    assert_eq!(ev[15]["ended"], "end-of-input");
}

#[test]
fn conns_flag_prints_exactly_the_conn_records_and_summary() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let files = captures(&dir);
    assert!(files.len() >= 30);
    for f in &files {
        let full = events(f, &[]);
        let want: Vec<Value> = full
            .iter()
            .filter(|v| v["type"] != "packet")
            .cloned()
            .collect();
        let got = events(f, &["--conns"]);
        assert_eq!(got, want, "{}", f.display());
    }
    // Text too: the conn lines and the summary, no packet lines.
    let o = synack(&[
        "read",
        "--conns",
        capture("classic-ipv4.pcap").to_str().expect("path"),
    ]);
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("tcp stream 0"), "{text}");
    assert!(lines[1].starts_with("udp stream 0"), "{text}");
    assert!(lines[2].starts_with("15 frames"), "{text}");
}

#[test]
fn idle_connection_is_summed_up_and_resumed_with_its_stream() {
    // Keep-alives every second: with a 0.5 s timeout the connection is summed up between
    // them, and each keep-alive picks it up again under the same stream number, with the
    // same relative sequence numbers (Wireshark never splits it).
    let f = capture("keepalive.pcap");
    let base = events(&f, &[]);
    let split = events(&f, &["--tcp-timeout", "0.5"]);
    assert_eq!(of(&base, "packet"), of(&split, "packet"));
    let conns = of(&split, "conn");
    assert!(conns.len() >= 3, "{conns:?}");
    assert!(conns.iter().all(|c| c["stream"] == 0));
    assert_eq!(conns[0]["ended"], "idle");
    assert_eq!(conns[0]["handshake"], "complete");
    assert!(conns[0].get("resumed").is_none());
    assert!(conns[1..].iter().all(|c| c["resumed"] == true), "{conns:?}");
    let packets: u64 = conns.iter().filter_map(|c| c["packets"].as_u64()).sum();
    assert_eq!(packets, of(&split, "packet").len() as u64);
    let s = of(&split, "summary").pop().expect("summary");
    assert_eq!(s["tcp_streams"], 1);
    assert_eq!(s["summed_up_early"], 0, "idle is not early");
}

/// A small SYN + UDP flood from the shared generator (deterministic), in a temp dir.
fn flood(dir: &Path) -> PathBuf {
    let f = dir.join("flood.pcap");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/gen_flood.py");
    let ok = Command::new("python3")
        .arg(&script)
        .arg(&f)
        .args(["--syns", "300", "--udp", "100", "--seed", "7"])
        .status()
        .expect("python3");
    assert!(ok.success(), "{}", script.display());
    f
}

#[test]
fn full_table_sums_up_the_longest_idle_and_counts_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let f = flood(tmp.path());
    let base = events(&f, &[]);
    let small = events(&f, &["--max-conns", "16"]);
    // Not one packet line changes: stream numbers stay Wireshark's.
    assert_eq!(of(&base, "packet"), of(&small, "packet"));
    let s = of(&small, "summary").pop().expect("summary");
    assert_eq!(s["tcp_streams"], 300);
    assert_eq!(s["udp_streams"], 100);
    let early = s["summed_up_early"].as_u64().expect("count");
    let conns = of(&small, "conn");
    let table_full = conns.iter().filter(|c| c["ended"] == "table-full").count() as u64;
    assert_eq!(early, table_full);
    // 400 conversations through a table of 16: all but the last 16 were summed up early.
    assert_eq!(early, 400 - 16);
    assert_eq!(conns.len(), 400);
    // Records come as conversations leave: interleaved with packets, not all at the end.
    let first_conn = small.iter().position(|v| v["type"] == "conn");
    let last_packet = small.iter().rposition(|v| v["type"] == "packet");
    assert!(first_conn < last_packet);
    assert_eq!(
        of(&base, "summary").pop().expect("summary")["summed_up_early"],
        0
    );
}

#[test]
fn progress_line_only_on_a_terminal() {
    // A workload above the 32 MiB threshold (about 37 MB).
    let tmp = tempfile::tempdir().expect("tmp");
    let f = tmp.path().join("w.pcap");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/gen_workload.py");
    let ok = Command::new("python3")
        .arg(&script)
        .arg(&f)
        .args([
            "--seed",
            "3",
            "--connections",
            "20000",
            "--datagrams",
            "20000",
        ])
        .output()
        .expect("python3");
    assert!(ok.status.success(), "{}", script.display());
    let path = f.to_str().expect("path");
    // Not a terminal: not a byte on stderr.
    let o = synack(&["read", "--conns", path]);
    assert!(o.status.success());
    assert_eq!(stderr(&o), "");
    // A terminal (util-linux `script` gives the command a pty): the progress line, cleared
    // at the end; the output itself goes to a file.
    let out = tmp.path().join("out.txt");
    let tty = read_conns_on_a_terminal(Path::new(path), &out);
    assert!(tty.contains("reading"), "{tty:?}");
    let text = std::fs::read_to_string(&out).expect("output");
    assert!(
        text.lines().last().is_some_and(|l| l.contains("frames")),
        "{text}"
    );
    // Compressed (stored by gzip, so still above the threshold): bytes decompressed, no bar
    // against a file size that says nothing of them.
    let gz = tmp.path().join("w.pcap.gz");
    let ok = Command::new("python3")
        .args([
            "-c",
            "import gzip,sys; open(sys.argv[2],'wb').write(gzip.compress(open(sys.argv[1],'rb').read(), compresslevel=0))",
            path,
            gz.to_str().expect("path"),
        ])
        .output()
        .expect("python3");
    assert!(ok.status.success());
    let tty = read_conns_on_a_terminal(&gz, &out);
    assert!(tty.contains("decompressed"), "{tty:?}");
    assert_eq!(std::fs::read_to_string(&out).expect("output"), text);
}

/// `synack read --conns FILE > out` under a pty (util-linux `script`): what the terminal
/// showed.
fn read_conns_on_a_terminal(file: &Path, out: &Path) -> String {
    let cmd = format!(
        "{} read --conns {} > {}",
        env!("CARGO_BIN_EXE_synack"),
        file.display(),
        out.display()
    );
    let o = Command::new("script")
        .args(["-qefc", &cmd, "/dev/null"])
        .output()
        .expect("script (util-linux)");
    assert!(o.status.success(), "{}", stderr(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn stream_flag_shows_one_conversation_with_the_captures_numbers() {
    let f = capture("port-reuse-rst.pcap");
    let all = events(&f, &[]);
    let one = events(&f, &["--stream", "1"]);
    let want: Vec<Value> = of(&all, "packet")
        .into_iter()
        .filter(|p| p["proto"] == "tcp" && p["stream"] == 1)
        .collect();
    assert!(!want.is_empty());
    assert_eq!(of(&one, "packet"), want);
    let conns = of(&one, "conn");
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0]["stream"], 1);
    // The summary still counts the whole capture.
    assert_eq!(of(&one, "summary"), of(&all, "summary"));
    // UDP streams by --stream-proto.
    let f = capture("http-and-udp-echo.pcap");
    let one = events(&f, &["--stream", "0", "--stream-proto", "udp"]);
    assert!(of(&one, "packet").iter().all(|p| p["proto"] == "udp"));
    assert_eq!(of(&one, "packet").len(), 2);
}

#[test]
fn duckdb_reads_conn_records_of_many_captures() {
    // The README's query: conn records of several captures, loaded by DuckDB with the right
    // types and counts. The test command installs DuckDB in target/duckdb-venv.
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/duckdb-venv/bin/python");
    assert!(
        python.exists(),
        "{} missing: run the README's test command (bash .ci/run), which installs DuckDB",
        python.display()
    );
    let dir = tempfile::tempdir().expect("tmp");
    let mut want_conns = 0;
    let mut want_packets = 0;
    for name in [
        "classic-ipv4.pcap",
        "lossy-bulk.pcap",
        "port-reuse-rst.pcap",
    ] {
        let o = synack(&[
            "read",
            "--conns",
            "--format",
            "json",
            capture(name).to_str().expect("path"),
        ]);
        assert!(o.status.success());
        let text = stdout(&o);
        for v in text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        {
            if v["type"] == "conn" && v["proto"] == "tcp" {
                want_conns += 1;
                want_packets += v["packets"].as_u64().unwrap_or(0);
            }
        }
        std::fs::write(dir.path().join(format!("{name}.jsonl")), text).expect("write");
    }
    let query = format!(
        "import duckdb\n\
         rel = duckdb.sql(\"select * from read_json_auto('{}/*.jsonl', union_by_name=true) \
         where type = 'conn' and proto = 'tcp'\")\n\
         types = dict(zip(rel.columns, [str(t) for t in rel.dtypes]))\n\
         n, p = duckdb.sql(\"select count(*), sum(packets) from rel\").fetchall()[0]\n\
         print(n, p, types['stream'], types['irtt'], types['history'], types['exchanges'][:6])",
        dir.path().display()
    );
    let o = Command::new(&python)
        .arg("-c")
        .arg(&query)
        .output()
        .expect("python");
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let got: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(got[0], want_conns.to_string(), "{out}");
    assert_eq!(got[1], want_packets.to_string(), "{out}");
    assert_eq!(&got[2..5], ["BIGINT", "DOUBLE", "VARCHAR"], "{out}");
    assert!(got[5].starts_with("STRUCT"), "{out}");
}
