//! `synack demo`: the classic programs on loopback, on their own threads, captured with
//! libpcap while they run; the packet lines, the ladder, the transcript and the verdicts.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};

use super::verify::{expectations, report_checks};
use super::{Outcome, format, style};
use crate::cli::{DemoArgs, Format};
use synack::capture::live::{Live, LiveOptions, Stats};
use synack::demo::{self, DemoConfig};
use synack::event::{LiveStats, Pipeline, Sink, Tee};
use synack::report;
use synack::report::html::HtmlReport;
use synack::report::ladder::{self, LadderRow, LadderTap};
use synack::track::Limits;
use synack::verify::{self, Collector, Expectations};

pub fn demo(args: &DemoArgs) -> Result<Outcome> {
    let cfg = DemoConfig {
        ipv6: args.ipv6,
        tcp_port: (!args.udp_only).then_some(args.port),
        udp_port: (!args.tcp_only).then_some(args.udp_port()),
        messages: args.message_list(),
    };
    // Bind (and listen) first: that sends nothing, and gives the ports to filter on.
    let lang: synack::lang::Lang = args.output.lang.into();
    let bound = demo::bind(&cfg).map_err(|e| anyhow!(report::errors::demo_error(&e, lang)))?;
    let tcp_addr = bound.tcp.as_ref().map(|(_, a)| *a);
    let udp_addr = bound.udp.as_ref().map(|(_, a)| *a);
    let mut style = style(&args.output);
    style.layers = args.layers;
    style.socket_calls = true;
    let text = args.output.format == Format::Text;

    if args.no_capture {
        let t = demo::run(bound, &cfg)?;
        report::demo::transcript(&mut io::stdout().lock(), &t, tcp_addr, udp_addr, style.lang)?;
        return Ok(Outcome::Ok);
    }

    let mut filter = Vec::new();
    if let Some(a) = tcp_addr {
        filter.push(format!("tcp port {}", a.port()));
    }
    if let Some(a) = udp_addr {
        filter.push(format!("udp port {}", a.port()));
    }
    let filter = filter.join(" or ");
    let mut live = Live::open(&LiveOptions {
        loopback: true,
        filter: Some(filter.clone()),
        snaplen: 262_144,
        timeout_ms: 50,
        ..LiveOptions::default()
    })
    .map_err(|e| anyhow!(report::errors::capture_error(&e, lang)))?;
    if let Some(w) = &args.write {
        live.write_to(w)?;
    }
    if text {
        // Locked only while the header is written: the printers write through their own handle.
        report::demo::header(
            &mut io::stdout().lock(),
            &live.device,
            &filter,
            tcp_addr,
            udp_addr,
            style.lang,
        )?;
    }

    // The programs run on their own threads while this one captures.
    let done = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&done);
    let demo_cfg = cfg.clone();
    let programs = thread::spawn(move || {
        let r = demo::run(bound, &demo_cfg);
        flag.store(true, Ordering::SeqCst);
        r
    });

    // Printers write to their own stdout handle, so the ladder can go in between.
    let mut printer = Collector::new(Some(report::printer(
        format(args.output.format),
        style,
        io::stdout(),
        true,
    )));
    let mut pipeline = Pipeline::new(args.output.payload_bytes, Limits::default());
    let ends = Ends {
        tcp: tcp_addr,
        udp: udp_addr,
    };
    let mut html = args
        .html
        .as_ref()
        .map(|_| HtmlReport::new("synack demo", style.lang));
    let sinks = &mut Tee(&mut printer, html.as_mut().map(|h| h as &mut dyn Sink));
    let (rows, timed_out) = capture(&mut live, &mut pipeline, sinks, &done, ends, args)?;
    let transcript = programs
        .join()
        .map_err(|_| anyhow!("the demo programs' thread panicked"))??;
    let stats = live.stats().unwrap_or_default();
    live.flush()?;
    printer.flush()?;
    if text {
        let mut o = io::stdout().lock();
        writeln!(o)?;
        o.write_all(ladder::text(&rows, style.lang).as_bytes())?;
        report::demo::transcript(&mut o, &transcript, tcp_addr, udp_addr, style.lang)?;
        writeln!(o)?;
    }
    for c in pipeline.take_conversations() {
        printer.conn(&c)?;
        if let Some(h) = &mut html {
            h.conn(&c)?;
        }
    }
    let summary = pipeline.summary(Some(LiveStats {
        interface: live.device.clone(),
        received: stats.received,
        dropped: stats.dropped,
        if_dropped: stats.if_dropped,
        not_analysed: 0,
    }));
    printer.seen.summary = Some(summary.clone());
    let (outcome, checks) = verdicts(&mut printer, &summary, &cfg, args)?;
    if let (Some(h), Some(file)) = (&mut html, &args.html) {
        h.summary(&summary)?;
        super::write_html(file, h, checks.as_deref())?;
    }
    if let Some(path) = &args.svg {
        std::fs::write(path, ladder::svg(&rows, style.lang))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    complain(timed_out, &stats, args)?;
    Ok(outcome)
}

/// The demo's two servers' addresses (either may be off).
#[derive(Clone, Copy)]
struct Ends {
    tcp: Option<SocketAddr>,
    udp: Option<SocketAddr>,
}

/// Captures until everything the demo sent is on the wire (the TCP teardown's last ACK and
/// the datagram), or the timeout. Returns the ladder rows and whether it timed out.
fn capture(
    live: &mut Live,
    pipeline: &mut Pipeline,
    printer: &mut dyn Sink,
    done: &AtomicBool,
    ends: Ends,
    args: &DemoArgs,
) -> Result<(Vec<LadderRow>, bool)> {
    let mut tap = LadderTap {
        inner: printer,
        rows: Vec::new(),
    };
    let started = Instant::now();
    let mut done_at: Option<Instant> = None;
    loop {
        if let Some(frame) = live.next_frame()? {
            pipeline.frame(&frame, &mut tap)?;
        }
        let tracker = pipeline.tracker();
        if done.load(Ordering::SeqCst) {
            let at = *done_at.get_or_insert_with(Instant::now);
            let tcp_ok =
                ends.tcp.is_none() || (tracker.tcp_streams() > 0 && tracker.tcp_all_over());
            let udp_ok = ends.udp.is_none() || tracker.udp_datagrams() > 0;
            if tcp_ok && udp_ok {
                return Ok((tap.rows, false));
            }
            if at.elapsed().as_secs_f64() > args.timeout {
                return Ok((tap.rows, true));
            }
        } else if started.elapsed().as_secs_f64() > args.timeout + 30.0 {
            return Ok((tap.rows, true));
        }
    }
}

/// With `--verify`, the checks (JSON before the summary line, text after it); the summary
/// either way.
fn verdicts(
    printer: &mut Collector<'_>,
    summary: &synack::event::Summary,
    cfg: &DemoConfig,
    args: &DemoArgs,
) -> Result<(Outcome, Option<Vec<synack::verify::Check>>)> {
    let mut outcome = Outcome::Ok;
    let lang = args.output.lang.into();
    let checks = if args.verify {
        let exp = if args.expect.expect.is_some() || !args.expect.flags.is_empty() {
            expectations(&args.expect)?
        } else {
            demo_expectations(cfg)
        };
        Some(verify::check(&exp, &printer.seen, lang))
    } else {
        None
    };
    let junit = args.expect.junit.as_deref();
    if let (Some(checks), Format::Json) = (&checks, args.output.format) {
        printer.flush()?;
        let mut o = io::stdout().lock();
        outcome = report_checks(&mut o, checks, Format::Json, lang, junit, "synack demo")?;
    }
    printer.summary(summary)?;
    printer.flush()?;
    if let (Some(checks), Format::Text) = (&checks, args.output.format) {
        let mut o = io::stdout().lock();
        writeln!(o)?;
        outcome = report_checks(&mut o, checks, Format::Text, lang, junit, "synack demo")?;
    }
    Ok((outcome, checks))
}

/// A demo whose traffic did not all reach the capture is an error, not a lesson.
fn complain(timed_out: bool, stats: &Stats, args: &DemoArgs) -> Result<()> {
    if timed_out {
        bail!(
            "the demo's traffic did not finish on the wire within {} s (teardown or datagram \
             not captured); libpcap received {} and dropped {}",
            args.timeout,
            stats.received,
            stats.dropped + stats.if_dropped
        );
    }
    if stats.dropped + stats.if_dropped > 0 && !args.verify {
        bail!(
            "libpcap dropped {} packets: the annotation above is incomplete",
            stats.dropped + stats.if_dropped
        );
    }
    Ok(())
}

/// What a demo run must show when the user names no expectations: what it sent.
fn demo_expectations(cfg: &DemoConfig) -> Expectations {
    use synack::verify::expect::*;
    let mut e = Expectations::default();
    if cfg.tcp_port.is_some() {
        e.set(&HANDSHAKES, Value::Count(1));
        e.set(&CLOSED_BY_FIN, Value::On);
        e.set(&EXCHANGES, Value::Count(cfg.messages.len() as u64));
        e.set(&REPLY_REGEX, Value::Pattern(demo::REPLY_PATTERN.into()));
        e.set(&REQUESTS, Value::Texts(cfg.messages.clone()));
    }
    if cfg.udp_port.is_some() {
        e.set(&UDP_DATAGRAMS, Value::Count(1));
        e.set(&UDP_PAYLOADS, Value::Texts(vec![demo::UDP_MESSAGE.into()]));
    }
    e.set(&NO_RESETS, Value::On);
    e.set(&NO_MALFORMED, Value::On);
    e.set(&NO_DROPS, Value::On);
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use synack::verify::Value;

    #[test]
    fn test_default_expectations_follow_the_config() {
        let cfg = DemoConfig {
            ipv6: false,
            tcp_port: None,
            udp_port: Some(8081),
            messages: vec![],
        };
        let e = demo_expectations(&cfg);
        use synack::verify::expect::{HANDSHAKES, NO_RESETS, UDP_DATAGRAMS};
        assert_eq!(e.get(&HANDSHAKES), None);
        assert_eq!(e.get(&UDP_DATAGRAMS), Some(&Value::Count(1)));
        assert_eq!(e.get(&NO_RESETS), Some(&Value::On));
    }
}
