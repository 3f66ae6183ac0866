//! Wiring per subcommand: open the source, run frames through decode → track → report, and
//! turn every I/O failure into a message that names the file or device.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, channel, sync_channel};
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;

use anyhow::{Context, Result, anyhow, bail};

use crate::capture::file::{FileError, FileReader};
use crate::capture::live::{CaptureThread, Live, LiveOptions, list_devices};
use crate::cli::{
    Cli, Command, DemoArgs, ExpectArgs, FollowArgs, Format, OutputArgs, ReadArgs, VerifyArgs,
    WatchArgs,
};
use crate::demo::{self, DemoConfig, Transcript};
use crate::event::{ConnsOnly, OneStream, PacketEvent, Pipeline, Recorded, Sink};
use crate::report::Style;
use crate::report::jsonl::JsonPrinter;
use crate::report::ladder::{self, LadderRow};
use crate::report::text::TextPrinter;
use crate::report::{Lang, LiveStats};
use crate::track::Limits;
use crate::verify::{self, Check, Collector, Expectations};
use crate::wire::link;

/// How a successful run ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// `verify`: some expectation was not met.
    Unmet,
}

pub fn run(cli: Cli) -> Result<Outcome> {
    if let Some(kind) = cli.generate {
        generate(kind, &mut io::stdout().lock())?;
        return Ok(Outcome::Ok);
    }
    match cli.command {
        Some(Command::Read(args)) => read(&args),
        Some(Command::Demo(args)) => demo(&args),
        Some(Command::Watch(args)) => watch(&args),
        Some(Command::Verify(args)) => verify_file(&args),
        Some(Command::Follow(args)) => follow(&args),
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
        color: o.format == Format::Text && o.color.on_stdout(),
    }
}

pub fn printer<'a, W: Write + 'a>(o: &OutputArgs, out: W, live: bool) -> Box<dyn Sink + 'a> {
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

fn open_input(path: &Path) -> Result<Box<dyn Read + Send>> {
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
    let stdout = io::stdout();
    let out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut printer = printer(&args.output, out, false);
    let mut one;
    let printer: &mut dyn Sink = match args.table.stream {
        Some(stream) => {
            one = OneStream {
                inner: printer.as_mut(),
                tcp: args.table.stream_proto == crate::cli::FollowProto::Tcp,
                stream,
            };
            &mut one
        }
        None => printer.as_mut(),
    };
    let job = ReadJob {
        path: path.clone(),
        filter,
        count: args.count,
        keep_bytes: args.output.payload_bytes,
        limits: args.table.limits(),
        packets: !args.table.conns,
    };
    if let Some(e) = read_into(job, printer)? {
        return Err(anyhow!("{}: {e}", path.display()));
    }
    Ok(Outcome::Ok)
}

/// What to read and how.
struct ReadJob {
    path: PathBuf,
    filter: Option<String>,
    count: Option<u64>,
    keep_bytes: usize,
    limits: Limits,
    /// False: conversation records and the summary only (`--conns`).
    packets: bool,
}

/// Runs a savefile through the pipeline into `printer` (conversations and summary included),
/// on two threads: one reads, decodes and tracks, this one prints. Returns the damage that
/// stopped the reading early, after every good frame was printed.
fn read_into(job: ReadJob, printer: &mut dyn Sink) -> Result<Option<FileError>> {
    let (tx, rx) = sync_channel::<Recorded>(4);
    let (back_tx, back_rx) = channel::<Recorded>();
    let tracking = thread::spawn(move || track_file(job, tx, back_rx));
    let printed = (|| -> io::Result<()> {
        for batch in rx.iter() {
            batch.replay(printer)?;
            // The batch goes back for reuse, still full: the tracking thread that allocated
            // its conversation records frees them too (glibc locks an arena for a free from
            // another thread, and the two threads then wait on each other). If the reader is
            // done, it is simply dropped.
            let _ = back_tx.send(batch);
        }
        Ok(())
    })();
    // Stops the tracking thread if printing failed (a closed pipe) before waiting for it.
    drop(rx);
    let read = tracking
        .join()
        .map_err(|_| anyhow!("the reading thread panicked"))?;
    printed?;
    read
}

/// The reading and tracking half of `read_into`: frames → recorded events, in batches.
fn track_file(
    job: ReadJob,
    tx: SyncSender<Recorded>,
    recycled: Receiver<Recorded>,
) -> Result<Option<FileError>> {
    let path = &job.path;
    let input = open_input(path)?;
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
    let progress = progress_bar(path);
    let mut pipeline = Pipeline::new(job.keep_bytes, job.limits);
    let mut filters = Filters::new(job.filter);
    let mut shown = 0u64;
    let mut failure = None;
    let mut batch = Recorded::default();
    loop {
        let frame = match reader.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        if job.count.is_some_and(|c| shown >= c) {
            break;
        }
        if !filters.matches(frame.meta.linktype, frame.data)? {
            continue;
        }
        shown += 1;
        pipeline.record(&frame, &mut batch, job.packets);
        if batch.len() >= Recorded::ITEMS {
            if let Some(p) = &progress {
                p.set_position(reader.offset());
            }
            let mut next = recycled.try_recv().unwrap_or_default();
            next.clear();
            if tx.send(std::mem::replace(&mut batch, next)).is_err() {
                // The printing side stopped (its error is reported there).
                return Ok(None);
            }
        }
    }
    if let Some(p) = progress {
        p.finish_and_clear();
    }
    pipeline.record_finish(&mut batch);
    let _ = tx.send(batch);
    Ok(failure)
}

/// Files smaller than this are read before a progress line would be worth drawing.
const PROGRESS_MIN_BYTES: u64 = 32 << 20;

/// A progress line on stderr while a large file is read, only when stderr is a terminal
/// (nothing is made, so nothing costs, otherwise).
fn progress_bar(path: &Path) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !io::stderr().is_terminal() || path.as_os_str() == "-" {
        return None;
    }
    let len = std::fs::metadata(path).ok()?.len();
    if len < PROGRESS_MIN_BYTES {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr_with_hz(4),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} reading {msg} {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
    ) {
        bar.set_style(style);
    }
    bar.set_message(path.display().to_string());
    Some(bar)
}

/// The expectations of `verify` and `demo --verify`: the file, then the flags over it.
fn expectations(e: &ExpectArgs) -> Result<Expectations> {
    let mut exp = match &e.expect {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            Expectations::from_toml(&text).map_err(|err| anyhow!("{}: {err}", p.display()))?
        }
        None => Expectations::default(),
    };
    exp.merge(e.flags());
    Ok(exp)
}

/// Prints the checks, writes the JUnit file, and says whether all were met.
fn report_checks(
    out: &mut impl Write,
    checks: &[Check],
    format: Format,
    junit: Option<&Path>,
    suite: &str,
) -> Result<Outcome> {
    let failed = checks.iter().filter(|c| !c.ok).count();
    match format {
        Format::Text => {
            for c in checks {
                let mark = if c.ok { "✓" } else { "✗" };
                write!(out, "{mark} {} — {}", c.name, c.detail)?;
                if !c.ok && !c.frames.is_empty() {
                    write!(out, " (frames {:?})", c.frames)?;
                }
                writeln!(out)?;
            }
            if failed == 0 {
                writeln!(out, "all {} expectations met", checks.len())?;
            } else {
                writeln!(out, "{failed} of {} expectations not met", checks.len())?;
            }
        }
        Format::Json => {
            for c in checks {
                let v = serde_json::json!({
                    "type": "check", "name": c.name, "ok": c.ok, "detail": c.detail, "frames": c.frames
                });
                writeln!(out, "{v}")?;
            }
            let v = serde_json::json!({"type": "verdict", "ok": failed == 0, "checks": checks.len(), "failed": failed});
            writeln!(out, "{v}")?;
        }
    }
    out.flush()?;
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

fn verify_file(args: &VerifyArgs) -> Result<Outcome> {
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
        .map(|_| printer_styled(Format::Json, Style::default(), &mut events, false));
    let mut collector = Collector::new(inner);
    let job = ReadJob {
        path: path.clone(),
        filter,
        count: None,
        keep_bytes: 1024,
        limits: Limits::default(),
        packets: true,
    };
    let damage = read_into(job, &mut collector)?;
    let mut seen = std::mem::take(&mut collector.seen);
    drop(collector);
    seen.damaged = damage.map(|e| e.to_string());
    let mut checks = verify::check(&exp, &seen);
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
    let stdout = io::stdout();
    let mut out = stdout.lock();
    report_checks(
        &mut out,
        &checks,
        args.format,
        args.expect.junit.as_deref(),
        &path.display().to_string(),
    )
}

/// The man page (every subcommand with all its options) or a completion script.
fn generate(kind: crate::cli::Generate, out: &mut impl Write) -> Result<()> {
    use crate::cli::Generate;
    use clap::CommandFactory;
    use clap_complete::Shell;
    let mut cmd = Cli::command();
    let shell = match kind {
        Generate::Man => {
            let man = clap_mangen::Man::new(cmd.clone());
            man.render(out)?;
            // One page for all: each subcommand's synopsis and options after the overview.
            for sub in cmd.get_subcommands() {
                let name = format!("synack-{}", sub.get_name());
                let page = clap_mangen::Man::new(
                    sub.clone().bin_name(format!("synack {}", sub.get_name())),
                );
                writeln!(out, ".SH \"{}\"", name.to_uppercase())?;
                page.render_description_section(out)?;
                page.render_synopsis_section(out)?;
                page.render_options_section(out)?;
            }
            return Ok(());
        }
        Generate::CompleteBash => Shell::Bash,
        Generate::CompleteZsh => Shell::Zsh,
        Generate::CompleteFish => Shell::Fish,
    };
    clap_complete::generate(shell, &mut cmd, "synack", out);
    Ok(())
}

/// `synack follow`: one conversation's payload, as Wireshark's Follow Stream.
fn follow(args: &FollowArgs) -> Result<Outcome> {
    use crate::cli::{FollowFormatArg, FollowProto};
    use crate::report::follow::{Follow, FollowFormat};
    let path = match (&args.read, args.words.first()) {
        (Some(p), _) => p.clone(),
        (None, Some(w)) => PathBuf::from(w),
        (None, None) => bail!("no capture file given: synack follow FILE --stream N"),
    };
    let tcp = args.proto == FollowProto::Tcp;
    let mut sink = Follow::new(tcp, args.stream);
    let job = ReadJob {
        path: path.clone(),
        filter: None,
        count: None,
        keep_bytes: 0,
        limits: Limits::default(),
        packets: true,
    };
    let damage = read_into(job, &mut sink)?;
    if !sink.found() {
        bail!(
            "{}: no {} stream {} (streams are numbered from 0, as tshark's {}.stream)",
            path.display(),
            if tcp { "TCP" } else { "UDP" },
            args.stream,
            if tcp { "tcp" } else { "udp" }
        );
    }
    let format = match args.format {
        FollowFormatArg::Text => FollowFormat::Text,
        FollowFormatArg::Hex => FollowFormat::Hex,
        FollowFormatArg::Raw => FollowFormat::Raw,
        FollowFormatArg::Json => FollowFormat::Json,
    };
    sink.write(
        &mut BufWriter::new(io::stdout().lock()),
        format,
        args.color.on_stdout(),
    )?;
    if let Some(e) = damage {
        return Err(anyhow!("{}: {e}", path.display()));
    }
    Ok(Outcome::Ok)
}

/// Drops root for USER once the device and files are open, as tcpdump -Z does.
fn drop_privileges(user: &str) -> Result<()> {
    use nix::unistd::{User, setgid, setgroups, setuid};
    let u = User::from_name(user)
        .with_context(|| format!("cannot look up user {user}"))?
        .ok_or_else(|| anyhow!("no such user {user} (for -Z)"))?;
    setgroups(&[u.gid]).with_context(|| format!("cannot drop supplementary groups for {user}"))?;
    setgid(u.gid).with_context(|| format!("cannot switch to the group of {user}"))?;
    setuid(u.uid).with_context(|| format!("cannot switch to user {user}"))?;
    Ok(())
}

fn watch(args: &WatchArgs) -> Result<Outcome> {
    if args.list {
        for (i, (name, desc, lo)) in list_devices()?.into_iter().enumerate() {
            let mut extra = Vec::new();
            if let Some(d) = desc {
                extra.push(d);
            }
            if lo {
                extra.push("Loopback".into());
            }
            if extra.is_empty() {
                println!("{}.{name}", i + 1);
            } else {
                println!("{}.{name} ({})", i + 1, extra.join(", "));
            }
        }
        return Ok(Outcome::Ok);
    }
    let filter = (!args.filter.is_empty()).then(|| args.filter.join(" "));
    let mut live = Live::open(&LiveOptions {
        device: args.interface.clone(),
        loopback: false,
        filter,
        snaplen: if args.snaplen <= 0 {
            262_144
        } else {
            args.snaplen
        },
        buffer_size: args.buffer_kib.map(|k| k.saturating_mul(1024)),
        immediate: args.immediate_mode,
        // Without immediate mode the kernel hands over a block of packets when it is full or
        // this old: the latency of the live view.
        timeout_ms: 50,
    })?;
    if let Some(w) = &args.write {
        live.write_to(w)?;
    }
    if let Some(u) = &args.user {
        drop_privileges(u)?;
    }
    // Ctrl-C must be handled before anyone is told to start sending.
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("cannot install the Ctrl-C / SIGTERM handler")?;
    // From here every packet is captured (the capture is active with its filter installed):
    // say so, on stderr and, for scripts, with the ready file.
    eprintln!(
        "synack: listening on {}, link type {} ({}); Ctrl-C to stop",
        live.device,
        live.linktype,
        link::linktype_name(live.linktype)
    );
    if let Some(p) = &args.ready_file {
        std::fs::write(p, format!("{}\n", live.device))
            .with_context(|| format!("cannot write the ready file {}", p.display()))?;
    }
    let started = Instant::now();
    let mut last_packet = Instant::now();
    let device = live.device.clone();
    // The capture thread only drains libpcap and writes -w; this thread analyses.
    let capture = CaptureThread::spawn(live, args.queue.max(1), args.count, Arc::clone(&stop));
    let stdout = io::stdout();
    let mut printer = printer(&args.output, stdout.lock(), true);
    let mut conns_only;
    let sink: &mut dyn Sink = if args.table.conns {
        conns_only = ConnsOnly(printer.as_mut());
        &mut conns_only
    } else {
        printer.as_mut()
    };
    let mut one;
    let sink: &mut dyn Sink = match args.table.stream {
        Some(stream) => {
            one = OneStream {
                inner: sink,
                tcp: args.table.stream_proto == crate::cli::FollowProto::Tcp,
                stream,
            };
            &mut one
        }
        None => sink,
    };
    let mut limits = args.table.limits();
    if let Some(idle) = args.idle {
        limits.tcp_idle = crate::time::Duration::from_secs_f64(idle);
        limits.udp_idle = crate::time::Duration::from_secs_f64(idle);
    }
    let mut pipeline = Pipeline::new(args.output.payload_bytes, limits);
    let analysed = (|| -> io::Result<()> {
        loop {
            match capture.batches.recv_timeout(Duration::from_millis(100)) {
                Ok(batch) => {
                    last_packet = Instant::now();
                    for frame in batch.frames() {
                        pipeline.frame(&frame, sink)?;
                    }
                    // The batch's buffers go back for reuse (if the pool is gone, it is
                    // simply dropped).
                    let _ = capture.recycle.send(batch);
                }
                Err(RecvTimeoutError::Timeout) => {
                    // No packet: time still passes for the conversations (live time is wall
                    // time).
                    pipeline.tick(crate::time::Timestamp::now(), sink)?;
                    sink.flush()?;
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
            // --duration and --until-idle stop the capture as Ctrl-C does.
            if args
                .duration
                .is_some_and(|d| started.elapsed().as_secs_f64() >= d)
                || args
                    .until_idle
                    .is_some_and(|d| last_packet.elapsed().as_secs_f64() >= d)
            {
                stop.store(true, Ordering::SeqCst);
            }
        }
    })();
    if let Err(e) = analysed {
        // Our output was closed (`| head`): stop capturing, but leave -w complete.
        stop.store(true, Ordering::SeqCst);
        capture.join()?;
        return Err(e.into());
    }
    let end = capture.join()?;
    if end.not_analysed > 0 {
        eprintln!(
            "synack: {} of {} frames were captured{} but not analysed: the analysis fell behind",
            end.not_analysed,
            end.frames,
            if args.write.is_some() {
                " and saved"
            } else {
                ""
            }
        );
    }
    pipeline.finish(
        sink,
        Some(LiveStats {
            interface: device,
            received: end.stats.received,
            dropped: end.stats.dropped,
            if_dropped: end.stats.if_dropped,
            not_analysed: end.not_analysed,
        }),
    )?;
    Ok(Outcome::Ok)
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
    let text = args.output.format == Format::Text;
    let zh = style.lang == Lang::Zh;

    if args.no_capture {
        let t = demo::run(bound, &cfg)?;
        print_transcript(&mut stdout.lock(), &t, tcp_addr, udp_addr, zh)?;
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
        // Locked only while the header is written: the printers write through their own handle.
        let mut out = stdout.lock();
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
        let mut servers = Vec::new();
        if let Some(a) = tcp_addr {
            servers.push(format!("TCP echo {a} (socket, bind, listen backlog 5)"));
        }
        if let Some(a) = udp_addr {
            servers.push(format!("UDP receiver {a} (socket, bind)"));
        }
        writeln!(out, "{l2}: {}\n", servers.join(", "))?;
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
    let mut printer = Collector::new(Some(printer_styled(
        args.output.format,
        style,
        io::stdout(),
        true,
    )));
    let mut pipeline = Pipeline::new(args.output.payload_bytes, Limits::default());
    let mut tap = LadderTap {
        inner: &mut printer,
        rows: Vec::new(),
    };
    let started = Instant::now();
    let mut done_at: Option<Instant> = None;
    let mut timed_out = false;
    loop {
        if let Some(frame) = live.next_frame()? {
            pipeline.frame(&frame, &mut tap)?;
        }
        let tracker = pipeline.tracker();
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
    let rows = tap.rows;
    let stats = live.stats().unwrap_or_default();
    live.flush()?;
    printer.flush()?;
    if text {
        let mut o = stdout.lock();
        writeln!(o)?;
        o.write_all(ladder::text(&rows, style.lang).as_bytes())?;
        print_transcript(&mut o, &transcript, tcp_addr, udp_addr, zh)?;
        writeln!(o)?;
    }
    for c in pipeline.take_conversations() {
        printer.conn(&c)?;
    }
    let summary = pipeline.summary(Some(LiveStats {
        interface: live.device.clone(),
        received: stats.received,
        dropped: stats.dropped,
        if_dropped: stats.if_dropped,
        not_analysed: 0,
    }));
    printer.seen.summary = Some(summary.clone());
    let mut outcome = Outcome::Ok;
    let verdicts = if args.verify {
        let exp = if args.expect.expect.is_some() || !args.expect.flags().is_empty() {
            expectations(&args.expect)?
        } else {
            demo_expectations(&cfg)
        };
        Some(verify::check(&exp, &printer.seen))
    } else {
        None
    };
    if let (Some(checks), Format::Json) = (&verdicts, args.output.format) {
        printer.flush()?;
        outcome = report_checks(
            &mut stdout.lock(),
            checks,
            Format::Json,
            args.expect.junit.as_deref(),
            "synack demo",
        )?;
    }
    printer.summary(&summary)?;
    printer.flush()?;
    if let (Some(checks), Format::Text) = (&verdicts, args.output.format) {
        let mut o = stdout.lock();
        writeln!(o)?;
        outcome = report_checks(
            &mut o,
            checks,
            Format::Text,
            args.expect.junit.as_deref(),
            "synack demo",
        )?;
    }
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
    if stats.dropped + stats.if_dropped > 0 && !args.verify {
        bail!(
            "libpcap dropped {} packets: the annotation above is incomplete",
            stats.dropped + stats.if_dropped
        );
    }
    Ok(outcome)
}

/// Passes events on and keeps a ladder row for each packet (the demo's diagram).
struct LadderTap<'a> {
    inner: &'a mut dyn Sink,
    rows: Vec<LadderRow>,
}

impl Sink for LadderTap<'_> {
    fn packet(&mut self, ev: &PacketEvent<'_, '_>) -> io::Result<()> {
        if let Some(r) = LadderRow::from_event(ev) {
            self.rows.push(r);
        }
        self.inner.packet(ev)
    }
    fn conn(&mut self, c: &crate::track::Finished) -> io::Result<()> {
        self.inner.conn(c)
    }
    fn summary(&mut self, s: &crate::event::Summary) -> io::Result<()> {
        self.inner.summary(s)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// What a demo run must show when the user names no expectations: what it sent.
fn demo_expectations(cfg: &DemoConfig) -> Expectations {
    let tcp = cfg.tcp_port.is_some();
    let udp = cfg.udp_port.is_some();
    Expectations {
        handshakes: tcp.then_some(1),
        closed_by_fin: tcp.then_some(true),
        no_resets: Some(true),
        exchanges: tcp.then_some(cfg.messages.len() as u64),
        reply_regex: tcp.then(|| {
            r"^Hi,you send me :\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}\] "
                .to_string()
        }),
        requests: tcp.then(|| cfg.messages.clone()),
        udp_datagrams: udp.then_some(1),
        udp_payloads: udp.then(|| vec![demo::UDP_MESSAGE.to_string()]),
        no_malformed: Some(true),
        no_drops: Some(true),
        ..Expectations::default()
    }
}

fn printer_styled<'a, W: Write + 'a>(
    format: Format,
    style: Style,
    out: W,
    live: bool,
) -> Box<dyn Sink + 'a> {
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
