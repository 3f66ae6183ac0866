//! Helpers shared by the integration tests: run the real binary, parse its JSON Lines.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

pub fn synack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_synack"))
        .args(args)
        .output()
        .expect("run synack")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Every JSON line of an output, by type.
pub fn lines(o: &Output, kind: &str) -> Vec<Value> {
    stdout(o)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == kind)
        .collect()
}

pub fn read_json(file: &Path) -> Output {
    synack(&[
        "read",
        "--format",
        "json",
        file.to_str().expect("utf-8 path"),
    ])
}

pub fn capture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}
