//! Wiring per subcommand: open the source, run frames through decode → track → report, and
//! turn every I/O failure into a message that names the file or device.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};

use crate::capture::file::{FileError, FileReader};
use crate::cli::{Cli, Command, Format, OutputArgs, ReadArgs};
use crate::report::jsonl::JsonPrinter;
use crate::report::text::TextPrinter;
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
        None => bail!("no command given; try `synack read FILE` or `synack --help`"),
    }
}

pub fn style(o: &OutputArgs) -> Style {
    Style {
        payload_bytes: o.payload_bytes,
        lang: o.lang.into(),
        layers: false,
    }
}

pub fn printer<'a, W: Write + 'a>(o: &OutputArgs, out: W, live: bool) -> Box<dyn Printer + 'a> {
    match o.format {
        Format::Text => Box::new(TextPrinter::new(out, style(o), live)),
        Format::Json => Box::new(JsonPrinter::new(out, style(o), live)),
    }
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
