//! Integration tests: the real binary on the real captures in `captures/` and on loopback.

mod analysis;
mod common;
mod demo;
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
