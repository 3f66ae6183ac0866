//! `synack verify`: a capture against expectations (a TOML file, flags, a golden file);
//! the verdicts as text or JSON, a JUnit file for CI, exit 1 when one is not met.

use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};

use super::Outcome;
use super::read::{ReadJob, read_into};
use crate::cli::{ExpectArgs, Format, VerifyArgs};
use synack::event::{Sink, Tee};
use synack::lang::Lang;
use synack::report::html::HtmlReport;
use synack::report::{self, Style};
use synack::track::Limits;
use synack::verify::{self, Check, Collector, Expectations};

/// The expectations of `verify` and `demo --verify`: the file, then the flags over it.
pub(super) fn expectations(e: &ExpectArgs) -> Result<Expectations> {
    let mut exp = match &e.expect {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            Expectations::from_toml(&text).map_err(|err| anyhow!("{}: {err}", p.display()))?
        }
        None => Expectations::default(),
    };
    exp.merge(e.flags.clone());
    Ok(exp)
}

/// Prints the checks, writes the JUnit file, and says whether all were met.
pub(super) fn report_checks(
    out: &mut impl Write,
    checks: &[Check],
    format: Format,
    lang: Lang,
    junit: Option<&Path>,
    suite: &str,
) -> Result<Outcome> {
    synack::report::checks::write(out, checks, format == Format::Json, lang)?;
    let failed = checks.iter().filter(|c| !c.ok).count();
    if let Some(p) = junit {
        std::fs::write(p, verify::junit(suite, checks))
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(if failed == 0 {
        Outcome::Ok
    } else {
        Outcome::Unmet
    })
}

pub fn verify_file(args: &VerifyArgs) -> Result<Outcome> {
    let mut words = args.words.iter();
    let path = match &args.read {
        Some(p) => p.clone(),
        None => words.next().map(std::path::PathBuf::from).ok_or_else(|| {
            anyhow!("no capture file given: synack verify FILE --expect EXPECT.toml")
        })?,
    };
    let rest: Vec<&str> = words.map(String::as_str).collect();
    let filter = (!rest.is_empty()).then(|| rest.join(" "));
    let exp = expectations(&args.expect)?;
    if exp.is_empty() && args.golden.is_none() {
        bail!(
            "nothing to verify: give --expect FILE, --golden FILE or expectation flags (see \
             synack verify --help)"
        );
    }
    // With a golden file the events are also kept as JSON Lines, as `read` prints them.
    let mut events = Vec::new();
    let inner = args
        .golden
        .as_ref()
        .map(|_| report::printer(report::Format::Json, Style::default(), &mut events, false));
    let mut collector = Collector::new(inner);
    let lang = args.lang.into();
    let job = ReadJob {
        path: path.clone(),
        filter,
        count: None,
        keep_bytes: 1024,
        limits: Limits::default(),
        packets: true,
        lang,
    };
    let mut html = args
        .html
        .as_ref()
        .map(|_| HtmlReport::new(&path.display().to_string(), lang));
    let sinks = &mut Tee(&mut collector, html.as_mut().map(|h| h as &mut dyn Sink));
    let damage = read_into(job, sinks)?;
    let mut seen = std::mem::take(&mut collector.seen);
    drop(collector);
    seen.damaged = damage.map(|e| synack::report::errors::file_error(&e, lang));
    let mut checks = verify::check(&exp, &seen, lang);
    if let Some(g) = &args.golden {
        let text = String::from_utf8_lossy(&events);
        if args.update_golden {
            std::fs::write(g, text.as_bytes())
                .with_context(|| format!("cannot write {}", g.display()))?;
            eprintln!(
                "synack: wrote {} events to {}",
                text.lines().count(),
                g.display()
            );
            if checks.is_empty() {
                return Ok(Outcome::Ok);
            }
        } else {
            let want = std::fs::read_to_string(g)
                .with_context(|| format!("cannot read the golden file {}", g.display()))?;
            checks.push(verify::golden::compare(
                &verify::golden::normalise_all(&want),
                &verify::golden::normalise_all(&text),
            ));
        }
    }
    if let (Some(h), Some(file)) = (&html, &args.html) {
        super::write_html(file, h, Some(&checks))?;
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    report_checks(
        &mut out,
        &checks,
        args.format,
        lang,
        args.expect.junit.as_deref(),
        &path.display().to_string(),
    )
}
