//! `verify`'s verdicts as text (a ✓/✗ line each and a last line) or JSON Lines (`check`
//! objects, then a `verdict`).

use std::io::{self, Write};

use crate::lang::Lang;
use crate::verify::Check;

/// The verdict: all met, or how many of how many were not.
pub fn verdict(checks: &[Check], lang: Lang) -> String {
    let failed = checks.iter().filter(|c| !c.ok).count();
    let n = checks.len();
    match (failed, lang) {
        (0, Lang::En) => format!("all {n} expectations met"),
        (0, Lang::Zh) => format!("全部 {n} 项期望都满足"),
        (_, Lang::En) => format!("{failed} of {n} expectations not met"),
        (_, Lang::Zh) => format!("{n} 项期望中有 {failed} 项未满足"),
    }
}

/// Writes the checks and the verdict line.
pub fn write(out: &mut impl Write, checks: &[Check], json: bool, lang: Lang) -> io::Result<()> {
    let failed = checks.iter().filter(|c| !c.ok).count();
    if json {
        for c in checks {
            let v = serde_json::json!({
                "type": "check", "name": c.name, "ok": c.ok, "detail": c.detail, "frames": c.frames
            });
            writeln!(out, "{v}")?;
        }
        let v = serde_json::json!({"type": "verdict", "ok": failed == 0, "checks": checks.len(), "failed": failed});
        writeln!(out, "{v}")?;
    } else {
        for c in checks {
            let mark = if c.ok { "✓" } else { "✗" };
            write!(out, "{mark} {} — {}", c.name, c.detail)?;
            if !c.ok && !c.frames.is_empty() {
                write!(out, " ({} {:?})", lang.pick("frames", "帧"), c.frames)?;
            }
            writeln!(out)?;
        }
        writeln!(out, "{}", verdict(checks, lang))?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks() -> Vec<Check> {
        vec![
            Check {
                name: "handshakes".into(),
                ok: true,
                detail: "1 complete".into(),
                frames: vec![],
            },
            Check {
                name: "no_resets".into(),
                ok: false,
                detail: "1 RST".into(),
                frames: vec![7],
            },
        ]
    }

    #[test]
    fn test_text_marks_and_counts() {
        let mut out = Vec::new();
        write(&mut out, &checks(), false, Lang::En).expect("to a vector");
        let s = String::from_utf8(out).expect("utf-8");
        assert_eq!(
            s,
            "✓ handshakes — 1 complete\n✗ no_resets — 1 RST (frames [7])\n1 of 2 expectations not met\n"
        );
    }

    #[test]
    fn test_json_ends_with_the_verdict() {
        let mut out = Vec::new();
        write(&mut out, &checks(), true, Lang::En).expect("to a vector");
        let s = String::from_utf8(out).expect("utf-8");
        let last: serde_json::Value =
            serde_json::from_str(s.lines().last().expect("lines")).expect("json");
        assert_eq!(last["type"], "verdict");
        assert_eq!(last["ok"], false);
        assert_eq!(last["failed"], 1);
    }
}
