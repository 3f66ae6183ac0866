//! `synack watch` capturing live on loopback while the test itself makes traffic (root).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{lines, read_json, stderr};

/// Starts `synack watch` and waits until it says it is listening.
fn start(args: &[&str]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_synack"));
    cmd.arg("watch").args(args);
    listening(cmd, "lo")
}

/// Spawns `cmd` (a `synack watch`) and waits until it says it is listening on `iface`.
fn listening(mut cmd: Command, iface: &str) -> Child {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn synack watch");
    let err = child.stderr.take().expect("stderr");
    let mut r = BufReader::new(err);
    let mut line = String::new();
    r.read_line(&mut line).expect("read stderr");
    assert!(line.contains(&format!("listening on {iface}")), "{line}");
    // Keep draining stderr so the child never blocks on it.
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = r.read_to_string(&mut rest);
    });
    child
}

fn tcp_echo_once() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        if let Ok((mut c, _)) = l.accept() {
            let mut b = [0u8; 64];
            let n = c.read(&mut b).unwrap_or(0);
            let _ = c.write_all(&b[..n]);
        }
    });
    port
}

fn sigint(child: &Child) {
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
}

fn wait(mut child: Child) -> std::process::Output {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if child.try_wait().expect("try_wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait_with_output().expect("output")
}

#[test]
fn watch_sees_every_handshake_and_datagram() {
    let port = tcp_echo_once();
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let uport = udp.local_addr().expect("addr").port();
    let filter = format!("tcp port {port} or udp port {uport}");
    let child = start(&["-i", "lo", "--format", "json", &filter]);
    {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.write_all(b"ping").expect("send");
        let mut b = [0u8; 4];
        s.read_exact(&mut b).expect("echo");
    }
    let sender = UdpSocket::bind("127.0.0.1:0").expect("udp");
    for _ in 0..2 {
        sender
            .send_to(b"hello,this is a test info !", ("127.0.0.1", uport))
            .expect("send");
    }
    std::thread::sleep(Duration::from_millis(600));
    sigint(&child);
    let o = wait(child);
    assert!(o.status.success(), "{}", stderr(&o));
    let conns = lines(&o, "conn");
    let tcp: Vec<_> = conns.iter().filter(|c| c["proto"] == "tcp").collect();
    assert_eq!(tcp.len(), 1, "{conns:?}");
    assert_eq!(tcp[0]["handshake"], "complete");
    let udp_packets = lines(&o, "packet")
        .into_iter()
        .filter(|p| p["proto"] == "udp")
        .count();
    assert_eq!(udp_packets, 2);
    let s = &lines(&o, "summary")[0];
    assert_eq!(s["interface"], "lo");
    assert_eq!(s["dropped"], 0);
}

#[test]
fn watch_count_stops_by_itself() {
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let uport = udp.local_addr().expect("addr").port();
    let filter = format!("udp port {uport}");
    let child = start(&["-i", "lo", "-c", "3", "--format", "json", &filter]);
    let sender = UdpSocket::bind("127.0.0.1:0").expect("udp");
    for i in 0..5 {
        sender
            .send_to(format!("d{i}").as_bytes(), ("127.0.0.1", uport))
            .expect("send");
    }
    let o = wait(child);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(lines(&o, "packet").len(), 3);
}

#[test]
fn sigint_during_write_leaves_a_complete_pcap() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("w.pcap");
    let port = tcp_echo_once();
    let filter = format!("tcp port {port}");
    let child = start(&[
        "-i",
        "lo",
        "-w",
        file.to_str().unwrap(),
        "--format",
        "json",
        &filter,
    ]);
    {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.write_all(b"ping").expect("send");
        let mut b = [0u8; 4];
        s.read_exact(&mut b).expect("echo");
    }
    std::thread::sleep(Duration::from_millis(600));
    sigint(&child);
    let o = wait(child);
    assert!(o.status.success(), "{}", stderr(&o));
    let live = lines(&o, "packet").len();
    let back = read_json(&file);
    assert!(
        back.status.success(),
        "the -w file must be complete: {}",
        stderr(&back)
    );
    assert_eq!(lines(&back, "packet").len(), live);
    assert!(live >= 8, "{live} packets");
}

#[test]
fn watch_errors_name_the_problem() {
    let o = Command::new(env!("CARGO_BIN_EXE_synack"))
        .args(["watch", "-i", "no-such-if0", "-c", "1"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no-such-if0"), "{}", stderr(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_synack"))
        .args(["watch", "-i", "lo", "-c", "1", "tcp", "port", "(("])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad filter"), "{}", stderr(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_synack"))
        .args(["watch", "-D"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&o.stdout).contains("lo"));
}

#[test]
fn slow_reader_costs_analysis_never_the_savefile() {
    // Nobody reads synack's output for a while: its stdout pipe fills, the analysis stops,
    // and the capture thread must go on draining libpcap and writing -w, counting what it
    // could not hand over instead of letting the kernel drop it.
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("slow.pcap");
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let uport = udp.local_addr().expect("addr").port();
    let filter = format!("udp port {uport}");
    let mut child = start(&[
        "-i",
        "lo",
        "--queue",
        "1",
        "-w",
        file.to_str().expect("path"),
        "--format",
        "json",
        &filter,
    ]);
    const N: usize = 3000;
    let sender = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let payload = [b'x'; 200];
    for _ in 0..N {
        sender
            .send_to(&payload, ("127.0.0.1", uport))
            .expect("send");
    }
    std::thread::sleep(Duration::from_millis(800));
    // Now read everything, and stop the capture.
    let mut out = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    sigint(&child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("try_wait").is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let status = child.wait().expect("wait");
    let text = reader.join().expect("reader");
    assert!(status.success());
    let parsed: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let packets = parsed.iter().filter(|v| v["type"] == "packet").count();
    let s = parsed
        .iter()
        .find(|v| v["type"] == "summary")
        .expect("summary");
    let not_analysed = s["not_analysed"].as_u64().expect("not_analysed");
    // Had the capture waited for the analysis, the kernel would have dropped instead.
    assert!(not_analysed > 0, "the analysis kept up after all: {s}");
    assert_eq!(s["frames"].as_u64(), Some(packets as u64));
    // The savefile has every frame captured, analysed or not, and the kernel's drops (none
    // on an idle machine; a starved CI runner may lose a few) account for the rest.
    let back = read_json(&file);
    assert!(back.status.success(), "{}", stderr(&back));
    let saved = lines(&back, "packet").len() as u64;
    assert_eq!(saved, packets as u64 + not_analysed, "{s}");
    // (libpcap counts both directions of lo in received and dropped, so drops only say
    // whether all N can be there.)
    if s["dropped"] == 0 {
        assert_eq!(saved, N as u64, "{s}");
    } else {
        assert!(saved < N as u64, "{s}");
    }
}

/// Starts `synack watch` with its output captured, and no wait on stderr.
fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_synack"))
        .arg("watch")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn synack watch")
}

#[test]
fn ready_file_means_the_first_packet_is_captured() {
    // Repeatedly: the very first datagram sent once the file exists must be seen.
    let dir = tempfile::tempdir().expect("tmp");
    for round in 0..5 {
        let ready = dir.path().join(format!("ready{round}"));
        let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
        let uport = udp.local_addr().expect("addr").port();
        let filter = format!("udp port {uport}");
        let child = spawn(&[
            "-i",
            "lo",
            "-c",
            "1",
            "--until-idle",
            "10",
            "--ready-file",
            ready.to_str().expect("path"),
            "--format",
            "json",
            &filter,
        ]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ready.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(ready.exists(), "round {round}: no ready file");
        let sender = UdpSocket::bind("127.0.0.1:0").expect("udp");
        sender
            .send_to(b"first", ("127.0.0.1", uport))
            .expect("send");
        let o = wait(child);
        assert!(o.status.success(), "{}", stderr(&o));
        let p = lines(&o, "packet");
        assert_eq!(p.len(), 1, "round {round}");
        assert_eq!(p[0]["payload"], "first");
        assert_eq!(
            std::fs::read_to_string(&ready).expect("ready file").trim(),
            "lo"
        );
    }
}

#[test]
fn duration_and_until_idle_stop_by_themselves() {
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let uport = udp.local_addr().expect("addr").port();
    let filter = format!("udp port {uport}");
    let t0 = Instant::now();
    let o = wait(spawn(&[
        "-i",
        "lo",
        "--duration",
        "0.5",
        "--format",
        "json",
        &filter,
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(lines(&o, "summary").len(), 1);
    // Two datagrams, then silence: --until-idle ends the capture with both seen.
    let child = start(&[
        "-i",
        "lo",
        "--until-idle",
        "0.7",
        "--format",
        "json",
        &filter,
    ]);
    let sender = UdpSocket::bind("127.0.0.1:0").expect("udp");
    for _ in 0..2 {
        sender.send_to(b"x", ("127.0.0.1", uport)).expect("send");
    }
    let t0 = Instant::now();
    let o = wait(child);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(lines(&o, "packet").len(), 2);
}

#[test]
fn watch_captures_nflog_with_the_stamps_it_saves() {
    // A private namespace whose netfilter logs the demo's TCP to NFLOG group 9 (nft), and
    // `synack watch -i nflog:9` in it: libpcap's netfilter reader differs from its Ethernet
    // one (an empty non-blocking read is an error; stamps are microseconds).
    let ns = format!("synack-nflog-{}", std::process::id());
    let run = |args: &[&str]| {
        let o = Command::new("ip")
            .args(["netns", "exec", &ns])
            .args(args)
            .output()
            .expect("ip netns exec");
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    };
    let ok = Command::new("ip").args(["netns", "add", &ns]).status();
    assert!(ok.is_ok_and(|s| s.success()), "ip netns add (root)");
    struct Gone(String);
    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }
    let _gone = Gone(ns.clone());
    run(&["ip", "link", "set", "lo", "up"]);
    run(&["nft", "add", "table", "inet", "t"]);
    run(&[
        "nft",
        "add",
        "chain",
        "inet",
        "t",
        "out",
        "{ type filter hook output priority 0; }",
    ]);
    for r in ["tcp dport 12346", "tcp sport 12346"] {
        run(&[
            "nft",
            "add",
            "rule",
            "inet",
            "t",
            "out",
            &format!("{r} log group 9 queue-threshold 1"),
        ]);
    }
    let dir = tempfile::tempdir().expect("tmp");
    let saved = dir.path().join("nflog.pcap");
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &ns, env!("CARGO_BIN_EXE_synack"), "watch"])
        .args(["-i", "nflog:9", "-c", "3", "--format", "json", "-w"])
        .arg(&saved);
    let child = listening(cmd, "nflog:9");
    // A handshake to a listener in the namespace: SYN, SYN+ACK, ACK.
    run(&[
        "python3",
        "-c",
        "import socket; l=socket.socket(); l.bind(('127.0.0.1',12346)); l.listen(1); \
         c=socket.create_connection(('127.0.0.1',12346)); a,_=l.accept(); c.close(); a.close()",
    ]);
    let o = wait(child);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let live = lines(&o, "packet");
    assert_eq!(live.len(), 3, "{}", String::from_utf8_lossy(&o.stdout));
    assert!(live.iter().all(|p| p["proto"] == "tcp"), "{live:?}");
    // The stamps shown live are the stamps saved.
    let file = lines(&read_json(&saved), "packet");
    let ts = |v: &[serde_json::Value]| v.iter().map(|p| p["ts"].to_string()).collect::<Vec<_>>();
    assert_eq!(ts(&live), ts(&file));
}
