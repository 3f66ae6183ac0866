//! Wiring per subcommand: open the source, run frames through decode → track → report, and
//! turn every I/O failure into a message that names the file or device.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Instant;

use clap::Parser;

use anyhow::{Context, Result, anyhow, bail};

use crate::capture::file::{FileError, FileReader};
use crate::capture::live::{Live, LiveOptions};
use crate::cli::{Cli, Command, DemoArgs, Format, OutputArgs, ReadArgs};
use crate::demo::{self, DemoConfig, Transcript};
use crate::report::jsonl::JsonPrinter;
use crate::report::ladder::{self, LadderRow};
use crate::report::text::TextPrinter;
use crate::report::{Lang, LiveStats};
use crate::report::{PacketEvent, Printer, Style, Summary};
use crate::track::Tracker;
use crate::wire::{self, link};

/// How a successful run ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// `verify`: some expectation was not met.
    Unmet,
}

pub fn run(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Some(Command::Read(args)) => read(&args),
        Some(Command::Demo(args)) => demo(&args),
        // No command: the main job, on safe defaults.
        None => match Cli::parse_from(["synack", "demo"]).command {
            Some(Command::Demo(args)) => demo(&args),
            _ => bail!("internal error: default demo arguments"),
        },
    }
}

pub fn style(o: &OutputArgs) -> Style {
    Style {
        payload_bytes: o.payload_bytes,
        lang: o.lang.into(),
        layers: false,
        socket_calls: false,
    }
}

pub fn printer<'a, W: Write + 'a>(o: &OutputArgs, out: W, live: bool) -> Box<dyn Printer + 'a> {
    printer_styled(o.format, style(o), out, live)
}

/// BPF programs compiled per link type (pcapng files can mix them).
struct Filters {
    expr: Option<String>,
    compiled: Vec<(u16, pcap::BpfProgram)>,
}

impl Filters {
    fn new(expr: Option<String>) -> Self {
        Filters {
            expr,
            compiled: Vec::new(),
        }
    }

    fn matches(&mut self, linktype: u16, data: &[u8]) -> Result<bool> {
        let Some(expr) = &self.expr else {
            return Ok(true);
        };
        if let Some((_, p)) = self.compiled.iter().find(|(l, _)| *l == linktype) {
            return Ok(p.filter(data));
        }
        let prog = pcap::Capture::dead(pcap::Linktype(linktype as i32))
            .and_then(|c| c.compile(expr, true))
            .map_err(|e| anyhow!("bad filter expression `{expr}`: {e}"))?;
        let ok = prog.filter(data);
        self.compiled.push((linktype, prog));
        Ok(ok)
    }
}

fn open_input(path: &Path) -> Result<Box<dyn Read>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(io::stdin()));
    }
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        bail!("{} is a directory, not a capture file", path.display());
    }
    Ok(Box::new(f))
}

fn read(args: &ReadArgs) -> Result<Outcome> {
    let (path, filter) = args.file_and_filter().map_err(|e| anyhow!(e))?;
    let input = open_input(&path)?;
    let mut reader = FileReader::new(input).map_err(|e| match e {
        FileError::Io(io) => anyhow!(io).context(format!("cannot read {}", path.display())),
        other => anyhow!("{}: {other}", path.display()),
    })?;
    if let Some(lt) = reader.linktype()
        && matches!(reader.format(), crate::capture::file::Format::Pcap { .. })
        && !link::supported(lt)
    {
        bail!(
            "{}: unsupported link type {lt}; synack reads Ethernet, Linux cooked (SLL, SLL2), \
             BSD loopback and raw IP captures",
            path.display()
        );
    }
    let stdout = io::stdout();
    let out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut printer = printer(&args.output, out, false);
    let mut tracker = Tracker::new(args.output.payload_bytes);
    let mut filters = Filters::new(filter);
    let mut shown = 0u64;
    let mut failure = None;
    loop {
        let frame = match reader.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        if args.count.is_some_and(|c| shown >= c) {
            break;
        }
        if !filters.matches(frame.linktype, frame.data)? {
            continue;
        }
        shown += 1;
        let decoded = wire::decode(frame.linktype, frame.data, frame.wirelen);
        let info = tracker.packet(frame.number, frame.ts, &decoded);
        printer.packet(&PacketEvent {
            frame: &frame,
            decoded: &decoded,
            info: &info,
        })?;
    }
    finish(&mut tracker, printer.as_mut(), None)?;
    if let Some(e) = failure {
        return Err(anyhow!("{}: {e}", path.display()));
    }
    Ok(Outcome::Ok)
}

/// Prints every conversation's line, in order of first frame, and the summary.
pub fn finish(
    tracker: &mut Tracker,
    printer: &mut dyn Printer,
    live: Option<crate::report::LiveStats>,
) -> Result<()> {
    let mut done = tracker.finish();
    done.sort_by_key(|c| c.first_frame());
    for c in &done {
        printer.conn(c)?;
    }
    printer.summary(&Summary {
        totals: tracker.totals,
        tcp_streams: tracker.tcp_streams(),
        udp_streams: tracker.udp_streams(),
        live,
    })?;
    printer.flush()?;
    Ok(())
}

/// `synack demo`: the classic programs on loopback, captured while they run.
fn demo(args: &DemoArgs) -> Result<Outcome> {
    let cfg = DemoConfig {
        ipv6: args.ipv6,
        tcp_port: (!args.udp_only).then_some(args.port),
        udp_port: (!args.tcp_only).then_some(args.udp_port()),
        messages: args.message_list(),
    };
    // Bind (and listen) first: that sends nothing, and gives the ports to filter on.
    let bound = demo::bind(&cfg)?;
    let tcp_addr = bound.tcp.as_ref().map(|(_, a)| *a);
    let udp_addr = bound.udp.as_ref().map(|(_, a)| *a);
    let mut style = style(&args.output);
    style.layers = args.layers;
    style.socket_calls = true;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let text = args.output.format == Format::Text;
    let zh = style.lang == Lang::Zh;

    if args.no_capture {
        let t = demo::run(bound, &cfg)?;
        print_transcript(&mut out, &t, tcp_addr, udp_addr, zh)?;
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
    })?;
    if let Some(w) = &args.write {
        live.write_to(w)?;
    }
    if text {
        let (l1, l2) = if zh {
            ("正在 {} 上抓包 (过滤器: {})", "启动服务器")
        } else {
            ("capturing on {} (filter: {})", "starting servers")
        };
        writeln!(
            out,
            "{}",
            l1.replacen("{}", &live.device, 1)
                .replacen("{}", &filter, 1)
        )?;
        let mut s = String::from(l2);
        if let Some(a) = tcp_addr {
            s.push_str(&format!(": TCP echo {a} (socket, bind, listen backlog 5)"));
        }
        if let Some(a) = udp_addr {
            s.push_str(&format!(", UDP receiver {a} (socket, bind)"));
        }
        writeln!(out, "{s}\n")?;
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

    let mut printer = printer_styled(args.output.format, style, &mut out, true);
    let mut tracker = Tracker::new(args.output.payload_bytes);
    let mut rows: Vec<LadderRow> = Vec::new();
    let started = Instant::now();
    let mut done_at: Option<Instant> = None;
    let mut timed_out = false;
    loop {
        if let Some(frame) = live.next_frame()? {
            let decoded = wire::decode(frame.linktype, frame.data, frame.wirelen);
            let info = tracker.packet(frame.number, frame.ts, &decoded);
            let ev = PacketEvent {
                frame: &frame,
                decoded: &decoded,
                info: &info,
            };
            printer.packet(&ev)?;
            if let Some(r) = LadderRow::from_event(&ev) {
                rows.push(r);
            }
        }
        if done.load(Ordering::SeqCst) {
            let at = *done_at.get_or_insert_with(Instant::now);
            // Everything the demo sent is on the wire once the TCP teardown's last ACK and
            // the datagram have been seen.
            let tcp_ok =
                tcp_addr.is_none() || (tracker.tcp_streams() > 0 && tracker.tcp_all_over());
            let udp_ok = udp_addr.is_none() || tracker.udp_datagrams() > 0;
            if tcp_ok && udp_ok {
                break;
            }
            if at.elapsed().as_secs_f64() > args.timeout {
                timed_out = true;
                break;
            }
        } else if started.elapsed().as_secs_f64() > args.timeout + 30.0 {
            timed_out = true;
            break;
        }
    }
    let transcript = programs
        .join()
        .map_err(|_| anyhow!("the demo programs' thread panicked"))??;
    let stats = live.stats().unwrap_or_default();
    live.flush()?;
    if text {
        printer.flush()?;
        drop(printer);
        writeln!(out)?;
        out.write_all(ladder::text(&rows, style.lang).as_bytes())?;
        print_transcript(&mut out, &transcript, tcp_addr, udp_addr, zh)?;
        writeln!(out)?;
        printer = printer_styled(args.output.format, style, &mut out, true);
    }
    let live_stats = LiveStats {
        interface: live.device.clone(),
        received: stats.received,
        dropped: stats.dropped,
        if_dropped: stats.if_dropped,
    };
    finish(&mut tracker, printer.as_mut(), Some(live_stats))?;
    drop(printer);
    if let Some(path) = &args.svg {
        std::fs::write(path, ladder::svg(&rows, style.lang))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if timed_out {
        bail!(
            "the demo's traffic did not finish on the wire within {} s (teardown or datagram \
             not captured); libpcap received {} and dropped {}",
            args.timeout,
            stats.received,
            stats.dropped + stats.if_dropped
        );
    }
    if stats.dropped + stats.if_dropped > 0 {
        bail!(
            "libpcap dropped {} packets: the annotation above is incomplete",
            stats.dropped + stats.if_dropped
        );
    }
    Ok(Outcome::Ok)
}

fn printer_styled<'a, W: Write + 'a>(
    format: Format,
    style: Style,
    out: W,
    live: bool,
) -> Box<dyn Printer + 'a> {
    match format {
        Format::Text => Box::new(TextPrinter::new(out, style, live)),
        Format::Json => Box::new(JsonPrinter::new(out, style, live)),
    }
}

/// What the classic programs would have printed.
fn print_transcript(
    out: &mut impl Write,
    t: &Transcript,
    tcp: Option<std::net::SocketAddr>,
    udp: Option<std::net::SocketAddr>,
    zh: bool,
) -> io::Result<()> {
    if tcp.is_some() {
        for (sent, reply) in t.server_received.iter().zip(&t.replies) {
            if zh {
                writeln!(out, "TCP 服务器收到: {sent}    客户端收到回复: {reply}")?;
            } else {
                writeln!(out, "TCP server got: {sent}    client got back: {reply}")?;
            }
        }
    }
    if let (Some(_), Some((msg, from))) = (udp, &t.udp_received) {
        if zh {
            writeln!(out, "UDP 服务器收到: {msg} 来自 {from}")?;
        } else {
            writeln!(out, "UDP server got: {msg} from {from}")?;
        }
    }
    Ok(())
}
