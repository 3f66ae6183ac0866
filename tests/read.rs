//! `synack read` on every capture in `captures/`: the verdict each one must produce, and the
//! behaviour on damaged, missing and hostile input.

use std::io::Read;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::{capture, lines, read_json, stderr, stdout, synack};

fn conns(name: &str) -> (Vec<Value>, Vec<Value>, Value) {
    let o = read_json(&capture(name));
    assert!(o.status.success(), "{name}: {}", stderr(&o));
    let s = lines(&o, "summary").pop().expect("summary line");
    (lines(&o, "packet"), lines(&o, "conn"), s)
}

fn tcp(c: &[Value]) -> Vec<&Value> {
    c.iter().filter(|c| c["proto"] == "tcp").collect()
}

/// The classic demo as recorded by any tool: one complete handshake, three echoes, a FIN
/// close, one datagram.
fn classic(name: &str) {
    let (p, c, s) = conns(name);
    assert_eq!(s["handshakes_complete"], 1, "{name}");
    assert_eq!(s["malformed"], 0, "{name}");
    let t = tcp(&c);
    assert_eq!(t.len(), 1, "{name}");
    assert_eq!(t[0]["handshake"], "complete", "{name}");
    assert_eq!(t[0]["close"], "fin", "{name}");
    assert_eq!(t[0]["completeness"], 31, "{name}");
    assert_eq!(t[0]["history"], "ShADadFf", "{name}");
    let ex = t[0]["exchanges"].as_array().expect("exchanges");
    assert_eq!(ex.len(), 3, "{name}");
    assert_eq!(ex[2]["request"], "你好");
    assert!(
        ex[0]["reply"]
            .as_str()
            .unwrap_or("")
            .starts_with("Hi,you send me :[")
    );
    let udp: Vec<&Value> = p.iter().filter(|x| x["proto"] == "udp").collect();
    assert_eq!(udp.len(), 1, "{name}");
    assert_eq!(udp[0]["payload"], "hello,this is a test info !");
}

#[test]
fn classic_captures_from_every_tool_and_format() {
    for name in [
        "classic-ipv4.pcap",
        "classic-ipv6.pcap",
        "classic-ns.pcap",
        "classic-ipv4-bigendian.pcap",
        "any-sll2.pcap",
        "dumpcap-ipv6.pcapng",
        "tshark-lo.pcapng",
        "demo-ipv4.pcap",
        "demo-ipv6.pcap",
        // The same frames carried in MPLS, PPPoE, 802.1ah and GRE (crafted).
        "mpls.pcap",
        "mpls-two-labels.pcap",
        // Ethernet pseudowires over MPLS, with and without a control word (crafted).
        "mpls-pw-cw.pcap",
        "mpls-pw-nocw.pcap",
        "pppoe-vlan.pcap",
        "pbb.pcap",
        "gre-ipv4.pcap",
        "gretap.pcap",
        // Both directions' sequence numbers wrap past 2^32 in the middle of the data.
        "seq-wrap.pcap",
        // Cisco FabricPath, and the IPv6 demo in Teredo (crafted).
        "fabricpath.pcap",
        "teredo.pcap",
        // Mirrored by ERSPAN type III in GRE (crafted).
        "erspan3.pcap",
    ] {
        classic(name);
    }
}

#[test]
fn byte_order_changes_no_field() {
    let (a, _, _) = conns("classic-ipv4.pcap");
    let (b, _, _) = conns("classic-ipv4-bigendian.pcap");
    assert_eq!(a, b, "byte order must not change a single field");
}

/// A packet line without what differs between two recordings of the same programs
/// (time, ports, initial sequence numbers, TCP timestamps, ctime in the replies).
fn shape(p: &Value) -> Value {
    let mut p = p.clone();
    if let Some(o) = p.as_object_mut() {
        for k in [
            "ts", "sport", "dport", "seq", "ack", "note", "payload", "options",
        ] {
            o.remove(k);
        }
    }
    p
}

/// The `ts` texts of a JSON Lines output, as written (serde_json would round them).
fn times(raw: &str) -> Vec<String> {
    raw.lines()
        .filter(|l| l.starts_with("{\"type\":\"packet\""))
        .filter_map(|l| Some(l.split("\"ts\":").nth(1)?.split(',').next()?.to_string()))
        .collect()
}

#[test]
fn ns_and_us_captures_agree_except_for_precision() {
    // Two recordings of the same programs, one with tcpdump's nanosecond precision.
    let (us, us_conns, _) = conns("classic-ipv4.pcap");
    let (ns, ns_conns, _) = conns("classic-ns.pcap");
    let ns_times = times(&stdout(&read_json(&capture("classic-ns.pcap"))));
    assert_eq!(ns_times.len(), ns.len());
    // Nanosecond times keep all nine digits: some frame's time is not a whole microsecond.
    assert!(
        ns_times.iter().any(|t| !t.ends_with("000")),
        "ns capture read at µs precision: {ns_times:?}"
    );
    let us_times = times(&stdout(&read_json(&capture("classic-ipv4.pcap"))));
    assert_eq!(us_times.len(), us.len());
    assert!(us_times.iter().all(|t| t.ends_with("000")), "{us_times:?}");
    // Everything else is the same lesson, packet for packet.
    assert_eq!(
        us.iter().map(shape).collect::<Vec<_>>(),
        ns.iter().map(shape).collect::<Vec<_>>()
    );
    let verdict = |c: &[Value]| -> Vec<[Value; 4]> {
        c.iter()
            .map(|c| {
                [
                    c["handshake"].clone(),
                    c["close"].clone(),
                    c["history"].clone(),
                    c["packets"].clone(),
                ]
            })
            .collect()
    };
    assert_eq!(verdict(&us_conns), verdict(&ns_conns));
}

#[test]
fn sll_v1_capture_missed_its_end_and_says_so() {
    // tcpdump -i any -y LINUX_SLL stopped before the close: handshake and two exchanges are
    // there, the connection is still open, and the datagram is seen.
    let (p, c, s) = conns("any-sll.pcap");
    assert_eq!(p.len(), 9);
    let t = tcp(&c);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["handshake"], "complete");
    assert_eq!(t[0]["close"], "open");
    assert_eq!(t[0]["client_state"], "ESTABLISHED");
    assert_eq!(t[0]["exchanges"].as_array().map(Vec::len), Some(2));
    assert_eq!(s["udp_streams"], 1);
    assert_eq!(s["handshakes_complete"], 1);
}

#[test]
fn two_interfaces_show_every_segment_twice_as_retransmissions() {
    let (p, c, _) = conns("dumpcap-two-interfaces.pcapng");
    assert_eq!(p.len(), 30);
    let retrans = p
        .iter()
        .filter(|x| {
            x["analysis"]
                .as_array()
                .is_some_and(|a| a.iter().any(|n| n == "retransmission"))
        })
        .count();
    assert!(retrans >= 10, "{retrans} retransmissions");
    // Retransmitted bytes are not counted twice.
    let t = tcp(&c);
    assert_eq!(t[0]["bytes_c2s"], 22);
}

#[test]
fn refused_connection() {
    let (p, c, s) = conns("refused.pcap");
    assert_eq!(p.len(), 2);
    let t = tcp(&c);
    assert_eq!(t[0]["handshake"], "refused");
    assert_eq!(t[0]["close"], "rst");
    assert_eq!(s["handshakes_complete"], 0);
    assert!(p[1]["note"].as_str().unwrap_or("").contains("refused"));
    assert_eq!(p[1]["client_state"], "CLOSED");
}

#[test]
fn snaplen_cut_frames_are_short_not_malformed() {
    let (p, c, s) = conns("snaplen-60.pcap");
    assert_eq!(s["malformed"], 0);
    assert!(p.iter().any(|x| x.get("short").is_some()));
    // tcp.len still comes from the headers.
    assert!(p.iter().any(|x| {
        x["len"].as_u64().unwrap_or(0) > 0 && x["caplen"].as_u64() < x["wirelen"].as_u64()
    }));
    assert_eq!(tcp(&c)[0]["handshake"], "complete");
}

#[test]
fn http_and_udp_echo() {
    let (_, c, _) = conns("http-and-udp-echo.pcap");
    let t = tcp(&c);
    assert_eq!(t[0]["handshake"], "complete");
    let ex = t[0]["exchanges"].as_array().expect("exchanges");
    assert!(
        ex[0]["request"]
            .as_str()
            .unwrap_or("")
            .starts_with("GET / HTTP/1.1")
    );
    assert!(
        ex[0]["reply"]
            .as_str()
            .unwrap_or("")
            .starts_with("HTTP/1.0 200")
    );
    let u: Vec<&Value> = c.iter().filter(|c| c["proto"] == "udp").collect();
    let uex = u[0]["exchanges"].as_array().expect("udp exchanges");
    assert_eq!(uex.len(), 1, "the socat echo answers");
    assert_eq!(uex[0]["request"], uex[0]["reply"]);
}

#[test]
fn damaged_files_report_good_frames_then_name_the_damage() {
    for (name, frames, frame_no, offset) in [
        ("damaged-cut.pcap", 4, 5, Some(373)),
        ("damaged-absurd-length.pcap", 3, 4, None),
        ("damaged-cut.pcapng", 15, 16, None),
        // A gzipped capture cut short: the frames decompressed before the cut, then the
        // damage at the frame it stopped (tshark reads the same seven).
        ("damaged-cut.pcap.gz", 7, 8, Some(667)),
    ] {
        let o = read_json(&capture(name));
        assert_eq!(o.status.code(), Some(2), "{name}");
        assert_eq!(lines(&o, "packet").len(), frames, "{name}");
        assert_eq!(lines(&o, "summary").len(), 1, "{name}");
        let e = stderr(&o);
        assert_eq!(e.lines().count(), 1, "one line: {e}");
        assert!(e.contains(&format!("frame {frame_no}")), "{name}: {e}");
        if let Some(off) = offset {
            assert!(e.contains(&format!("byte offset {off}")), "{name}: {e}");
        }
        if name.ends_with(".gz") {
            assert!(e.contains("gzip data cut short"), "{name}: {e}");
        }
    }
}

#[test]
fn compressed_captures_read_as_their_originals() {
    for (compressed, original) in [
        ("http-and-udp-echo.pcap.gz", "http-and-udp-echo.pcap"),
        ("dumpcap-ipv6.pcapng.zst", "dumpcap-ipv6.pcapng"),
        ("tshark-lo.pcapng.lz4", "tshark-lo.pcapng"),
    ] {
        let a = read_json(&capture(compressed));
        let b = read_json(&capture(original));
        assert_eq!(a.status.code(), Some(0), "{compressed}: {}", stderr(&a));
        assert!(!lines(&a, "packet").is_empty(), "{compressed}");
        assert_eq!(a.stdout, b.stdout, "{compressed}");
    }
}

#[test]
fn missing_and_non_capture_files_exit_2_with_one_line() {
    let o = synack(&["read", "/nonexistent/x.pcap"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot open /nonexistent/x.pcap"));
    let o = synack(&["read", concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a pcap or pcapng"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).lines().count(), 1);
    assert!(stdout(&o).is_empty());
}

#[test]
fn unsupported_link_type_exits_2() {
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("usb.pcap");
    let mut b = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&65535u32.to_le_bytes());
    b.extend_from_slice(&189u32.to_le_bytes());
    std::fs::write(&f, &b).expect("write");
    let o = synack(&["read", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unsupported link type 189"),
        "{}",
        stderr(&o)
    );
    // With records: Wireshark reads USB captures, so their frames are listed first, as
    // tshark lists them (time and lengths), then the file is refused.
    for (secs, len) in [(1u32, 3u32), (2, 5)] {
        for v in [secs, 0, len, len] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend(std::iter::repeat_n(0u8, len as usize));
    }
    std::fs::write(&f, &b).expect("write");
    let o = read_json(&f);
    assert_eq!(o.status.code(), Some(2));
    let packets = lines(&o, "packet");
    assert_eq!(packets.len(), 2);
    assert_eq!(
        (packets[1]["proto"].as_str(), packets[1]["caplen"].as_u64()),
        (Some("other"), Some(5))
    );
    assert!(
        stderr(&o).contains("listed without their protocols"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).lines().count(), 1);
    // A link type Wireshark does not know either: refused before any frame.
    b[20..24].copy_from_slice(&999u32.to_le_bytes());
    std::fs::write(&f, &b).expect("write");
    let o = read_json(&f);
    assert_eq!(o.status.code(), Some(2));
    assert!(lines(&o, "packet").is_empty());
    assert!(
        stderr(&o).contains("unsupported link type 999;"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bpf_filter_and_count() {
    let f = capture("classic-ipv4.pcap");
    let o = synack(&[
        "read",
        "--format",
        "json",
        f.to_str().unwrap(),
        "udp",
        "port",
        "8081",
    ]);
    assert!(o.status.success());
    let p = lines(&o, "packet");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0]["frame"], 15, "file frame numbers are kept");
    let o = synack(&[
        "read",
        "--format",
        "json",
        "-c",
        "3",
        "-r",
        f.to_str().unwrap(),
    ]);
    assert_eq!(lines(&o, "packet").len(), 3);
    let o = synack(&["read", f.to_str().unwrap(), "tcp", "and", "(("]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("bad filter expression"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn stdin_is_a_file_too() {
    let f = std::fs::File::open(capture("classic-ipv4.pcap")).expect("open");
    let o = Command::new(env!("CARGO_BIN_EXE_synack"))
        .args(["read", "--format", "json", "-"])
        .stdin(f)
        .output()
        .expect("run");
    assert!(o.status.success());
    assert_eq!(lines(&o, "packet").len(), 15);
}

#[test]
fn closed_pipe_exits_0_quietly() {
    // A capture big enough to overflow the pipe: the classic records repeated.
    let src = std::fs::read(capture("classic-ipv4.pcap")).expect("read");
    let mut big = src.clone();
    for _ in 0..3000 {
        big.extend_from_slice(&src[24..]);
    }
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("big.pcap");
    std::fs::write(&f, big).expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_synack"))
        .args(["read", f.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = [0u8; 100];
    child
        .stdout
        .take()
        .expect("stdout")
        .read_exact(&mut first)
        .expect("some output");
    // stdout is dropped here: like `| head`.
    let o = child.wait_with_output().expect("wait");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn every_capture_reads_without_panic_and_with_a_summary() {
    let dir = capture("");
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("captures") {
        let p = e.expect("entry").path();
        if !matches!(
            p.extension().and_then(|x| x.to_str()),
            Some("pcap" | "pcapng" | "gz" | "zst" | "lz4")
        ) {
            continue;
        }
        n += 1;
        let o = read_json(&p);
        assert!(
            matches!(o.status.code(), Some(0 | 2)),
            "{}: {:?}",
            p.display(),
            o.status
        );
        if o.status.success() {
            assert_eq!(lines(&o, "summary").len(), 1, "{}", p.display());
        } else {
            // A damaged file: one line naming the damage (after any good frames).
            assert_eq!(stderr(&o).lines().count(), 1, "{}", p.display());
        }
        let text = synack(&["read", p.to_str().unwrap()]);
        assert!(matches!(text.status.code(), Some(0 | 2)), "{}", p.display());
    }
    assert!(n >= 17);
}

#[test]
fn fragmented_datagram_is_decoded_in_the_completing_frame() {
    let (p, c, _) = conns("fragmented-udp.pcap");
    assert_eq!(p[0]["proto"], "other");
    assert!(p[0]["note"].as_str().unwrap_or("").contains("fragment"));
    let whole: Vec<&Value> = p.iter().filter(|x| x["proto"] == "udp").collect();
    assert_eq!(whole.len(), 2);
    assert_eq!(whole[0]["len"], 4004);
    assert!(
        whole[0]["payload"]
            .as_str()
            .unwrap_or("")
            .starts_with("hello,this is a test info !")
    );
    assert_eq!(c[0]["bytes_c2s"], 4013);
}

#[test]
fn large_downloads_and_tls() {
    for name in ["http-download.pcap", "http-download-ipv6.pcap"] {
        let (_, c, _) = conns(name);
        let t = tcp(&c);
        assert_eq!(t[0]["handshake"], "complete", "{name}");
        // 8 000 000 bytes of body plus the HTTP headers, each byte once.
        let s2c = t[0]["bytes_s2c"].as_u64().unwrap_or(0);
        assert!((8_000_000..8_001_000).contains(&s2c), "{name}: {s2c}");
        assert_eq!(t[0]["close"], "fin");
    }
    let (p, c, _) = conns("tls-session.pcap");
    assert_eq!(tcp(&c)[0]["handshake"], "complete");
    // The ClientHello starts with a TLS handshake record: 0x16 0x03.
    let hello = p.iter().find(|x| x["step"] == "data").expect("data");
    assert!(
        hello["payload"]
            .as_str()
            .unwrap_or("")
            .starts_with("\\x16\\x03"),
        "{hello}"
    );
}

#[test]
fn conn_lines_count_packets_each_way() {
    let (_, c, _) = conns("classic-ipv4.pcap");
    let t = tcp(&c)[0];
    assert_eq!(t["packets_c2s"], 8);
    assert_eq!(t["packets_s2c"], 6);
    assert_eq!(t["packets"], 14);
}

#[test]
fn man_page_and_completions_cover_every_subcommand_and_flag() {
    let o = synack(&["--generate", "man"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let man = stdout(&o);
    assert!(
        man.starts_with(".ie") || man.contains(".TH synack"),
        "{}",
        &man[..200.min(man.len())]
    );
    // Every flag of every subcommand is checked against the CLI definition by the binary's
    // unit test (app::tests); here, the installed command's page has each section.
    for sub in ["demo", "read", "watch", "verify", "follow"] {
        assert!(
            man.contains(&format!("SYNACK-{}", sub.to_uppercase())),
            "{sub}"
        );
    }
    assert!(
        man.contains("\\-\\-max\\-conns"),
        "a flag of read is missing"
    );
    // Completion scripts: bash parses its own, and each names the subcommands.
    for kind in ["complete-bash", "complete-zsh", "complete-fish"] {
        let o = synack(&["--generate", kind]);
        assert!(o.status.success());
        let script = stdout(&o);
        for sub in ["demo", "read", "watch", "verify", "follow"] {
            assert!(script.contains(sub), "{kind} lacks {sub}");
        }
        if kind == "complete-bash" {
            let dir = tempfile::tempdir().expect("tmp");
            let f = dir.path().join("synack.bash");
            std::fs::write(&f, &script).expect("write");
            let ok = Command::new("bash")
                .arg("-c")
                .arg(format!("source {} && complete -p synack", f.display()))
                .output()
                .expect("bash");
            assert!(
                ok.status.success(),
                "{}",
                String::from_utf8_lossy(&ok.stderr)
            );
        }
    }
}

#[test]
fn colour_only_on_a_terminal_or_when_asked_never_in_json() {
    let f = capture("lossy-bulk.pcap");
    let f = f.to_str().expect("path");
    let esc = |o: &std::process::Output| stdout(o).contains('\x1b');
    assert!(esc(&synack(&["read", "--color", "always", f])));
    assert!(!esc(&synack(&["read", f])), "a pipe gets no colour");
    assert!(!esc(&synack(&["read", "--color", "never", f])));
    assert!(!esc(&synack(&[
        "read", "--color", "always", "--format", "json", f
    ])));
    let c = capture("classic-ipv4.pcap");
    let c = c.to_str().expect("path");
    assert!(esc(&synack(&[
        "follow", c, "--stream", "0", "--color", "always"
    ])));
    // On a terminal (util-linux `script` gives one): colour, unless NO_COLOR is set.
    let tty = |no_color: bool| {
        let mut cmd = Command::new("script");
        cmd.args([
            "-qefc",
            &format!("{} read {c}", env!("CARGO_BIN_EXE_synack")),
            "/dev/null",
        ]);
        // A terminal that can show colour, whatever the test's own environment is.
        cmd.env("TERM", "xterm-256color").env_remove("CLICOLOR");
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        let o = cmd.output().expect("script (util-linux)");
        String::from_utf8_lossy(&o.stdout).contains('\x1b')
    };
    assert!(tty(false), "a terminal gets colour");
    assert!(!tty(true), "NO_COLOR is respected");
}

/// The capture's frames without their Ethernet headers, as a raw-IP savefile (LINKTYPE_RAW,
/// 101): what a tun or WireGuard interface records.
fn as_raw_ip(eth: &[u8]) -> Vec<u8> {
    let mut out = eth[..24].to_vec();
    out[20..24].copy_from_slice(&101u32.to_le_bytes());
    let mut at = 24;
    while at + 16 <= eth.len() {
        let h = &eth[at..at + 16];
        let caplen = u32::from_le_bytes([h[8], h[9], h[10], h[11]]) as usize;
        let wirelen = u32::from_le_bytes([h[12], h[13], h[14], h[15]]);
        let data = &eth[at + 16..at + 16 + caplen];
        out.extend_from_slice(&h[..8]);
        out.extend_from_slice(&(caplen as u32 - 14).to_le_bytes());
        out.extend_from_slice(&(wirelen - 14).to_le_bytes());
        out.extend_from_slice(&data[14..]);
        at += 16 + caplen;
    }
    out
}

#[test]
fn bpf_filter_on_a_raw_ip_capture() {
    // libpcap compiles filters for DLT values; LINKTYPE_RAW (101) is DLT_RAW (12) there, and
    // compiling for 101 fails with "unknown data link type".
    let eth = std::fs::read(capture("classic-ipv4.pcap")).expect("fixture");
    let dir = tempfile::tempdir().expect("tmp");
    let raw = dir.path().join("raw.pcap");
    std::fs::write(&raw, as_raw_ip(&eth)).expect("write");
    let count = |file: &std::path::Path| {
        let f = file.to_str().expect("utf-8 path");
        let o = synack(&["read", "--format", "json", f, "tcp", "and", "port", "12345"]);
        assert!(o.status.success(), "{}", stderr(&o));
        lines(&o, "packet").len()
    };
    let want = count(&capture("classic-ipv4.pcap"));
    assert!(want > 10, "{want}");
    assert_eq!(count(&raw), want);
}

/// Words a Chinese line may keep: protocol names, flags, TCP states as the tutorial writes
/// them, tunnel kinds, units, and Zeek history letters.
fn english_words(line: &str) -> Vec<String> {
    const KEEP: &[&str] = &[
        "SYN",
        "ACK",
        "FIN",
        "RST",
        "PSH",
        "URG",
        "ECE",
        "CWR",
        "TCP",
        "UDP",
        "ICMP",
        "ICMPv",
        "ARP",
        "IPv",
        "seq",
        "ack",
        "win",
        "len",
        "stream",
        "iRTT",
        "RTT",
        "ms",
        "tcp",
        "udp",
        "icmp",
        "arp",
        "gre",
        "vxlan",
        "geneve",
        "erspan",
        "ip-in-ip",
        "OTHER",
        "Ethernet",
        "SLL",
        "MPLS",
        "PPPoE",
        "PPP",
        "GRE",
        "CLOSED",
        "LISTEN",
        "SYN_SEND",
        "SYN_RECV",
        "ESTABLISHED",
        "FIN_WAIT_",
        "CLOSE_WAIT",
        "CLOSING",
        "LAST_ACK",
        "TIME_WAIT",
        "libpcap",
        "RFC",
        "pcap",
        "pcapng",
        "teredo",
    ];
    // Compiled once for the thousands of lines the test reads.
    static HISTORY: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^\^?[ShADadFfRrCcTtWwGgIiQq]+$").expect("pattern")
    });
    static WORD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"[A-Za-z][A-Za-z_'-]{2,}").expect("pattern")
    });
    let (history, word) = (&*HISTORY, &*WORD);
    word.find_iter(line)
        .map(|m| m.as_str())
        .filter(|w| !KEEP.contains(w) && !history.is_match(w))
        .map(str::to_string)
        .collect()
}

#[test]
fn lang_zh_leaves_no_english_sentence_in_any_capture() {
    let mut checked = 0;
    let mut english = Vec::new();
    let dir = std::fs::read_dir(capture("")).expect("captures/");
    for entry in dir {
        let path = entry.expect("entry").path();
        let name = path.to_string_lossy().to_string();
        if !(name.ends_with(".pcap") || name.ends_with(".pcapng")) {
            continue;
        }
        // Text: every line but the quoted payloads, and the errors about damaged files
        // (after the program's and the file's names).
        let o = synack(&["read", "--lang", "zh", &name]);
        let err = stderr(&o);
        let errors = err.lines().map(|l| {
            l.trim_start_matches("synack: ")
                .trim_start_matches(name.as_str())
        });
        let out = stdout(&o);
        let text = out.lines().filter(|l| !l.trim_start().starts_with('"'));
        for line in text.chain(errors) {
            checked += 1;
            for w in english_words(line) {
                english.push(format!("{name}: {w}: {line}"));
            }
        }
        // JSON: the notes and the evidence sentences.
        let o = synack(&["read", "--lang", "zh", "--format", "json", &name]);
        for v in lines(&o, "packet") {
            let mut texts = vec![v["note"].as_str().unwrap_or_default().to_string()];
            if let Some(why) = v["why"].as_object() {
                texts.extend(why.values().filter_map(|s| s.as_str().map(str::to_string)));
            }
            for t in texts {
                for w in english_words(&t) {
                    english.push(format!("{name} (json): {w}: {t}"));
                }
            }
        }
    }
    assert!(checked > 1000, "{checked} lines");
    assert!(
        english.is_empty(),
        "{} English words, first: {:#?}",
        english.len(),
        &english[..english.len().min(10)]
    );
}

#[test]
fn verify_speaks_chinese_too() {
    let f = capture("refused.pcap");
    let o = synack(&[
        "verify",
        f.to_str().expect("utf-8 path"),
        "--handshakes",
        "1",
        "--no-resets",
        "--lang",
        "zh",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    for line in out.lines() {
        assert!(english_words(line).is_empty(), "{line}");
    }
    assert!(out.contains("被拒绝") && out.contains("项未满足"), "{out}");
}

/// The text printer writes its conversation lines by hand (no formatting machinery): each
/// must say what the JSON record of the same conversation says, in the documented layout,
/// on every capture.
#[test]
fn text_conn_lines_say_what_the_json_records_say() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/captures");
    let mut checked = 0;
    for p in crate::oracle::captures(std::path::Path::new(dir)) {
        let path = p.to_string_lossy();
        let json = synack(&["read", "--conns", "--format", "json", &path]);
        let text = synack(&["read", "--conns", &path]);
        let records = lines(&json, "conn");
        let raw = stdout(&json);
        let raw: Vec<&str> = raw
            .lines()
            .filter(|l| l.contains("\"type\":\"conn\""))
            .collect();
        let text = stdout(&text);
        let text_lines: Vec<&str> = text.lines().collect();
        // A file that cannot be read at all has no summary, in either format.
        let summary = usize::from(!lines(&json, "summary").is_empty());
        assert_eq!(
            text_lines.len(),
            records.len() + summary,
            "{path}: a line per record"
        );
        for ((r, raw), line) in records.iter().zip(&raw).zip(&text_lines) {
            assert_eq!(*line, expected_conn_line(r, raw), "{path}");
            checked += 1;
        }
    }
    assert!(checked > 40, "only {checked} conversations");
}

/// A `conn` record (parsed, and its raw text for the exact `irtt`) as the text line writes it.
fn expected_conn_line(r: &Value, raw: &str) -> String {
    let s = |k: &str| {
        r[k].as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| r[k].to_string())
    };
    let tcp = r["proto"] == "tcp";
    let mut l = format!(
        "{} stream {:<4} {} → {}  frames {}-{}  {} {}  bytes c→s {} s→c {}",
        s("proto"),
        s("stream"),
        s("client"),
        s("server"),
        s("first_frame"),
        s("last_frame"),
        s("packets"),
        if tcp { "packets" } else { "datagrams" },
        s("bytes_c2s"),
        s("bytes_s2c"),
    );
    let exchanges = r["exchanges"].as_array().map_or(0, Vec::len);
    if tcp {
        l += &format!("  handshake {}", s("handshake"));
        if r.get("irtt").is_some() {
            // The JSON's exact seconds (its text: a parsed number loses digits), as the
            // text's milliseconds.
            let t = raw
                .split_once("\"irtt\":")
                .and_then(|(_, v)| v.split(',').next())
                .expect("irtt text")
                .to_owned();
            let (neg, t) = t.strip_prefix('-').map_or((false, &t[..]), |u| (true, u));
            let (secs, frac) = t.split_once('.').expect("seconds.fraction");
            let ns = secs.parse::<i128>().expect("secs") * 1_000_000_000
                + frac.parse::<i128>().expect("fraction");
            let ms = if neg { -ns } else { ns } as f64 / 1e6;
            l += &format!(" (iRTT {ms:.3} ms)");
        }
        l += &format!(
            "  close {}  history {}  completeness {}  final {} / {}",
            s("close"),
            s("history"),
            s("completeness"),
            s("client_state"),
            s("server_state")
        );
        if exchanges > 0 {
            l += &format!("  {exchanges} exchanges");
        }
    } else if exchanges > 0 {
        l += &format!("  {exchanges} replies");
    }
    if r["ended"] != "end-of-input" {
        l += &format!("  ended {}", s("ended"));
    }
    if r["resumed"] == true {
        l += "  (resumed)";
    }
    l
}
