//! `synack demo` for real: servers, clients and a libpcap capture on loopback (root, as CI).

use crate::common::{lines, stderr, stdout, synack};
use serde_json::Value;

/// Python's ctime() between the brackets, then the message.
fn is_classic_reply(reply: &str, message: &str) -> bool {
    let re = regex::Regex::new(
        r"^Hi,you send me :\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d \d{4}\] ",
    )
    .expect("regex");
    re.is_match(reply) && reply.ends_with(&format!("] {message}"))
}

/// Runs `synack demo --format json` plus `extra`, asserting the classic lesson on the wire.
fn demo_on_the_wire(extra: &[&str], messages: &[&str], v6: bool) -> Vec<Value> {
    let mut args = vec!["demo", "--format", "json", "--port", "0"];
    args.extend_from_slice(extra);
    let o = synack(&args);
    assert!(o.status.success(), "demo failed: {}", stderr(&o));
    let packets = lines(&o, "packet");
    let conns = lines(&o, "conn");
    let summary = lines(&o, "summary");
    assert_eq!(summary.len(), 1, "{}", stdout(&o));
    assert_eq!(summary[0]["dropped"], 0, "libpcap dropped packets");
    assert_eq!(summary[0]["handshakes_complete"], 1);

    let tcp: Vec<&Value> = conns.iter().filter(|c| c["proto"] == "tcp").collect();
    assert_eq!(tcp.len(), 1);
    let c = tcp[0];
    assert_eq!(c["handshake"], "complete");
    assert_eq!(c["close"], "fin");
    assert_eq!(c["client_state"], "TIME_WAIT");
    assert_eq!(c["server_state"], "CLOSED");
    assert!(c["client"].as_str().unwrap_or("").starts_with(if v6 {
        "[::1]:"
    } else {
        "127.0.0.1:"
    }));

    // j and k, checked on the wire: SYN+ACK acks j+1, the third segment acks k+1.
    let j = c["j"].as_u64().expect("j");
    let k = c["k"].as_u64().expect("k");
    let steps: Vec<&Value> = packets.iter().filter(|p| p["proto"] == "tcp").collect();
    assert_eq!(steps[0]["step"], "syn");
    assert_eq!(steps[0]["seq"].as_u64(), Some(j));
    assert_eq!(steps[1]["step"], "syn-ack");
    assert_eq!(steps[1]["seq"].as_u64(), Some(k));
    assert_eq!(steps[1]["ack"].as_u64(), Some((j + 1) % (1 << 32)));
    assert_eq!(steps[2]["step"], "handshake-ack");
    assert_eq!(steps[2]["ack"].as_u64(), Some((k + 1) % (1 << 32)));
    for (i, s) in steps[..3].iter().enumerate() {
        let note = s["note"].as_str().unwrap_or("");
        assert!(note.contains(&format!("handshake {}/3", i + 1)), "{note}");
        if i > 0 {
            assert!(note.contains('✓'), "{note}");
        }
    }
    assert_eq!(steps[0]["client_state"], "SYN_SENT");
    assert_eq!(steps[1]["server_state"], "SYN_RECEIVED");
    assert_eq!(steps[2]["client_state"], "ESTABLISHED");
    assert_eq!(steps[2]["server_state"], "ESTABLISHED");

    // Every message answered in the classic format.
    let ex = c["exchanges"].as_array().expect("exchanges");
    assert_eq!(ex.len(), messages.len());
    for (e, m) in ex.iter().zip(messages) {
        assert_eq!(e["request"].as_str(), Some(*m));
        let reply = e["reply"].as_str().unwrap_or("");
        assert!(is_classic_reply(reply, m), "reply {reply:?} to {m:?}");
        assert!(e["rtt"].as_f64().is_some_and(|r| r >= 0.0));
    }
    let fins = steps.iter().filter(|p| p["step"] == "fin").count();
    assert_eq!(fins, 2);
    packets
}

fn udp_datagram(packets: &[Value]) {
    let udp: Vec<&Value> = packets.iter().filter(|p| p["proto"] == "udp").collect();
    assert_eq!(udp.len(), 1);
    assert_eq!(udp[0]["payload"], "hello,this is a test info !");
    assert_eq!(udp[0]["step"], "datagram");
}

#[test]
fn demo_ipv4_shows_the_whole_lesson() {
    let p = demo_on_the_wire(&[], &["hello", "how are you", "你好"], false);
    udp_datagram(&p);
}

#[test]
fn demo_ipv6_shows_the_whole_lesson() {
    let p = demo_on_the_wire(&["--ipv6"], &["hello", "how are you", "你好"], true);
    udp_datagram(&p);
    assert!(p.iter().all(|x| x["ip"] == 6));
}

#[test]
fn demo_custom_messages_tcp_only() {
    let p = demo_on_the_wire(
        &[
            "--tcp-only",
            "--message",
            "ping",
            "--message",
            "héllo wörld",
        ],
        &["ping", "héllo wörld"],
        false,
    );
    assert!(p.iter().all(|x| x["proto"] == "tcp"));
}

#[test]
fn demo_write_file_reads_back_the_same_events() {
    let dir = tempfile::tempdir().expect("tmp");
    let pcap = dir.path().join("demo.pcap");
    let o = synack(&[
        "demo",
        "--format",
        "json",
        "--port",
        "0",
        "-w",
        pcap.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let live = lines(&o, "packet");
    let back = crate::common::read_json(&pcap);
    assert!(back.status.success(), "{}", stderr(&back));
    let read = lines(&back, "packet");
    assert_eq!(live.len(), read.len());
    for (a, b) in live.iter().zip(&read) {
        let (mut a, mut b) = (a.clone(), b.clone());
        // The demo adds the socket call to its notes; everything else must be identical.
        a.as_object_mut().map(|m| m.remove("note"));
        b.as_object_mut().map(|m| m.remove("note"));
        assert_eq!(a, b);
    }
}

#[test]
fn demo_svg_has_one_arrow_per_segment() {
    let dir = tempfile::tempdir().expect("tmp");
    let svg = dir.path().join("ladder.svg");
    let o = synack(&[
        "demo",
        "--format",
        "json",
        "--port",
        "0",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let n = lines(&o, "packet").len();
    let text = std::fs::read_to_string(&svg).expect("svg written");
    let doc = roxmltree::Document::parse(&text).expect("the SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let arrows = doc
        .descendants()
        .filter(|e| e.tag_name().name() == "line" && e.attribute("class") == Some("arrow"))
        .count();
    assert_eq!(arrows, n);
}

#[test]
fn demo_in_chinese_names_the_three_handshakes() {
    let o = synack(&["demo", "--port", "0", "--lang", "zh"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for step in [
        "第一次握手",
        "第二次握手",
        "第三次握手",
        "SYN_SEND",
        "SYN_RECV",
        "客户端",
        "服务器",
    ] {
        assert!(out.contains(step), "missing {step} in:\n{out}");
    }
}

#[test]
fn demo_text_has_ladder_layers_and_transcript() {
    let o = synack(&["demo", "--port", "0", "--layers"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("|-") && out.contains("-|"),
        "no ladder:\n{out}"
    );
    assert!(out.contains("connect()"), "{out}");
    assert!(
        out.contains("UDP server got: hello,this is a test info !"),
        "{out}"
    );
    for layer in ["link:", "network:", "transport:", "application:"] {
        assert!(out.contains(layer), "missing {layer}:\n{out}");
    }
}

#[test]
fn demo_port_in_use_is_a_clear_error() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = busy.local_addr().expect("addr").port().to_string();
    let o = synack(&["demo", "--port", &port, "--udp-port", "0"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains(&port) && e.contains("in use"), "{e}");
    // The same advice in Chinese.
    let o = synack(&["demo", "--port", &port, "--udp-port", "0", "--lang", "zh"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains(&port) && e.contains("已被占用") && e.contains("--port 0"),
        "{e}"
    );
}

#[test]
fn demo_no_capture_runs_the_programs_only() {
    let o = synack(&["demo", "--no-capture", "--port", "0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("client got back: Hi,you send me :["), "{out}");
    assert!(!out.contains("handshake"), "{out}");
}

#[test]
fn demo_without_capture_permission_says_how_to_fix_it() {
    // CI runs as root; run the binary as `nobody` to see what a user without CAP_NET_RAW sees.
    let o = std::process::Command::new("runuser")
        .args([
            "-u",
            "nobody",
            "--",
            env!("CARGO_BIN_EXE_synack"),
            "demo",
            "--port",
            "0",
        ])
        .output()
        .expect("runuser (util-linux) is needed for this test");
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let e = stderr(&o);
    assert!(e.contains("needs root or CAP_NET_RAW"), "{e}");
    assert!(e.contains("setcap cap_net_raw,cap_net_admin=eip"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
}

#[test]
fn no_arguments_runs_the_demo_on_the_classic_ports() {
    // The only test on the fixed ports 12345/8081; every other one asks for free ports.
    let o = synack(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("filter: tcp port 12345 or udp port 8081"),
        "{out}"
    );
    assert!(out.contains("handshake 3/3"), "{out}");
    assert!(
        out.contains("UDP server got: hello,this is a test info !"),
        "{out}"
    );
}
