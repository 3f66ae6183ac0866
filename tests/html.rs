//! `--html FILE`: the page is whole and self-contained, has every packet, conversation and
//! check, and a real browser (Debian's Chromium, headless) renders it and runs its script.

use std::path::Path;
use std::process::Command;

use crate::common::{capture, lines, stderr, synack};

/// Chromium, headless, as root in CI (no sandbox there). The test set-up installs it
/// (`scripts/deps.sh --test`); without it these tests fail rather than pass unchecked.
fn chromium(args: &[&str]) -> std::process::Output {
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .args(args)
        .output()
        .expect("chromium is installed by scripts/deps.sh --test")
}

/// A page needs nothing from the network: no external scripts, styles, fonts or images.
fn assert_self_contained(page: &str) {
    for bad in ["<script src", "<link", "@import", "<img", "https://"] {
        assert!(!page.contains(bad), "the page refers outside itself: {bad}");
    }
    // url() only to the page's own parts (the arrowhead marker).
    assert_eq!(page.matches("url(").count(), page.matches("url(#").count());
    // The only URL is the SVG namespace, which is a name, not a fetch.
    assert_eq!(
        page.matches("http://").count(),
        page.matches("http://www.w3.org/2000/svg").count()
    );
}

fn read_page(file: &str, extra: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tmp");
    let html = dir.path().join("report.html");
    let f = capture(file);
    let mut args = vec![
        "read",
        f.to_str().expect("utf-8 path"),
        "--html",
        html.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    let o = synack(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::read_to_string(&html).expect("page written")
}

#[test]
fn read_html_has_every_packet_conversation_and_the_ladder() {
    let page = read_page("classic-ipv4.pcap", &[]);
    assert!(page.starts_with("<!DOCTYPE html>") && page.trim_end().ends_with("</html>"));
    assert_self_contained(&page);
    let o = synack(&[
        "read",
        "--format",
        "json",
        capture("classic-ipv4.pcap").to_str().expect("utf-8 path"),
    ]);
    let packets = lines(&o, "packet");
    for p in &packets {
        let id = format!("<details id=\"f{}\"", p["frame"]);
        assert!(page.contains(&id), "{id} missing");
    }
    // Each packet opens onto its layers and annotation.
    for layer in ["link: Ethernet", "network: IPv4 127.0.0.1", "transport: "] {
        assert_eq!(page.matches(layer).count(), packets.len(), "{layer}");
    }
    assert!(page.contains("handshake 1/3: SYN seq=j="));
    // One arrow per TCP/UDP packet in the inline ladder, each naming its frame.
    assert_eq!(page.matches("<line class=\"arrow\"").count(), packets.len());
    assert_eq!(page.matches("tcp stream 0").count(), 1);
    assert!(page.contains("15 frames, 1 TCP streams"));
}

#[test]
fn verify_html_shows_the_checks_in_the_chosen_language() {
    let dir = tempfile::tempdir().expect("tmp");
    let html = dir.path().join("verify.html");
    let f = capture("refused.pcap");
    let o = synack(&[
        "verify",
        f.to_str().expect("utf-8 path"),
        "--handshakes",
        "1",
        "--no-resets",
        "--lang",
        "zh",
        "--html",
        html.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let page = std::fs::read_to_string(&html).expect("page written");
    assert_self_contained(&page);
    assert!(page.contains("<html lang=\"zh\">"));
    assert!(page.contains("<h2>期望</h2>"));
    assert_eq!(page.matches("<tr class=\"bad\">").count(), 2);
    // A failed check links to the frames it names.
    assert!(page.contains("<a href=\"#f1\">1</a>"));
    assert!(page.contains("连接被拒绝"));
}

#[test]
fn demo_writes_the_page_too() {
    let dir = tempfile::tempdir().expect("tmp");
    let html = dir.path().join("demo.html");
    let o = synack(&[
        "demo",
        "--port",
        "0",
        "--verify",
        "--format",
        "json",
        "--html",
        html.to_str().expect("utf-8 path"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let page = std::fs::read_to_string(&html).expect("page written");
    assert_self_contained(&page);
    let n = lines(&o, "packet").len();
    assert_eq!(page.matches("<details id=\"f").count(), n);
    assert!(
        page.contains("<p class=\"verdict ok\">"),
        "the demo's checks pass"
    );
    assert!(page.contains("hello,this is a test info !"));
}

/// The browser renders the page (a screenshot of some size) and its script runs to the end
/// (it marks the body ready last) and opens the packet the address names.
#[test]
fn chromium_renders_the_page_and_runs_its_script() {
    let dir = tempfile::tempdir().expect("tmp");
    let html = dir.path().join("report.html");
    let page = read_page("lossy-bulk.pcap", &["--lang", "zh"]);
    std::fs::write(&html, &page).expect("write");
    let png = dir.path().join("shot.png");
    let o = chromium(&[
        "--window-size=1280,2000",
        &format!("--screenshot={}", png.display()),
        &format!("file://{}", html.display()),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let shot = std::fs::read(&png).expect("screenshot written");
    assert_eq!(&shot[..8], b"\x89PNG\r\n\x1a\n");
    assert!(shot.len() > 20_000, "{} bytes: an empty page?", shot.len());
    let url = format!("file://{}#f5", html.display());
    let o = chromium(&["--dump-dom", &url]);
    assert!(o.status.success(), "{}", stderr(&o));
    let dom = String::from_utf8_lossy(&o.stdout);
    assert!(
        dom.contains("data-ready=\"1\""),
        "the script did not run to its end"
    );
    let f5 = dom
        .split("<details ")
        .find(|d| d.starts_with("id=\"f5\""))
        .expect("frame 5 on the page");
    let head = &f5[..f5.find('>').expect("tag end")];
    assert!(head.contains("picked") && head.contains("open"), "{head}");
    assert!(Path::new(&png).exists());
}
