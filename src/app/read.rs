//! `synack read` and `synack follow`: a savefile through the pipeline on both cores (reading
//! and decoding, tracking, printing: two or three threads, see `read_into`), with a progress
//! line on a terminal.

use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, SyncSender, TrySendError, channel, sync_channel};
use std::thread;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};

use super::{Outcome, open_input, printer};
use crate::cli::{FollowArgs, FollowProto, ReadArgs};
use synack::capture::file::{FileError, FileReader, Format as FileFormat};
use synack::capture::filter::Filters;
use synack::event::{Decoder, Decodes, OneStream, Pipeline, Recorded, Sink, Tee};
use synack::lang::Lang;
use synack::report::html::HtmlReport;
use synack::track::Limits;
use synack::wire::numbers::LinkType;

pub fn read(args: &ReadArgs) -> Result<Outcome> {
    let (path, filter) = args.file_and_filter().map_err(|e| anyhow!(e))?;
    let stdout = io::stdout();
    let out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut printer = printer(&args.output, out, false);
    let mut html = args
        .html
        .as_ref()
        .map(|_| HtmlReport::new(&path.display().to_string(), args.output.lang.into()));
    let mut tee = Tee(printer.as_mut(), html.as_mut().map(|h| h as &mut dyn Sink));
    let mut one;
    let printer: &mut dyn Sink = match args.table.stream {
        Some(stream) => {
            one = OneStream {
                inner: &mut tee,
                tcp: args.table.stream_proto == crate::cli::FollowProto::Tcp,
                stream,
            };
            &mut one
        }
        None => &mut tee,
    };
    let job = ReadJob {
        path: path.clone(),
        filter,
        count: args.count,
        keep_bytes: args.output.payload_bytes,
        limits: args.table.limits(),
        packets: !args.table.conns,
        lang: args.output.lang.into(),
    };
    let damage = read_into(job, printer)?;
    if let (Some(h), Some(file)) = (&html, &args.html) {
        super::write_html(file, h, None)?;
    }
    if let Some(e) = damage {
        let e = synack::report::errors::file_error(&e, args.output.lang.into());
        return Err(anyhow!("{}: {e}", path.display()));
    }
    Ok(Outcome::Ok)
}

/// What to read and how.
pub(super) struct ReadJob {
    pub path: PathBuf,
    pub filter: Option<String>,
    pub count: Option<u64>,
    pub keep_bytes: usize,
    pub limits: Limits,
    /// False: conversation records and the summary only (`--conns`).
    pub packets: bool,
    /// The language of error messages about the file.
    pub lang: Lang,
}

/// Runs a savefile through the pipeline into `printer` (conversations and summary included).
/// This thread prints; reading, decoding and tracking run on one more thread when packets
/// are printed (printing is then the heavier half), on two more with `--conns` (tracking is
/// then the heavier part, and reading moves off its core). Decoded frames cross threads as
/// their bytes and the tracker's small `Facts`, never as a whole decode. Returns the damage
/// that stopped the reading early, after every good frame was printed.
pub(super) fn read_into(job: ReadJob, printer: &mut dyn Sink) -> Result<Option<FileError>> {
    let (tx, rx) = sync_channel::<Recorded>(4);
    let (back_tx, back_rx) = channel::<Recorded>();
    let (spare_tx, spare_rx) = channel::<Decodes>();
    let tracking = Tracking {
        pipeline: Pipeline::new(job.keep_bytes, job.limits),
        packets: job.packets,
        out: Recorded::default(),
        tx,
        recycled: back_rx,
        spare: spare_tx,
    };
    let (downstream, tracker) = if job.packets {
        (Downstream::Inline(Box::new(tracking)), None)
    } else {
        // `None` closes the input: without it (the file could not be read) nothing is
        // summed up.
        let (decoded_tx, decoded_rx) = sync_channel::<Option<Decodes>>(4);
        let handle = thread::spawn(move || tracking.run(decoded_rx));
        (Downstream::Thread(decoded_tx), Some(handle))
    };
    let reading = thread::spawn(move || read_file(job, downstream, spare_rx));
    let printed = (|| -> io::Result<()> {
        for batch in rx.iter() {
            batch.replay(printer)?;
            // The batch goes back for reuse, still full: the tracking thread that allocated
            // its conversation records frees them too (glibc locks an arena for a free from
            // another thread, and the two threads then wait on each other). If the tracker is
            // done, it is simply dropped.
            let _ = back_tx.send(batch);
        }
        Ok(())
    })();
    // Stops the other threads if printing failed (a closed pipe) before waiting for them.
    drop(rx);
    if let Some(t) = tracker {
        t.join()
            .map_err(|_| anyhow!("the tracking thread panicked"))?;
    }
    let read = reading
        .join()
        .map_err(|_| anyhow!("the reading thread panicked"))?;
    printed?;
    read
}

/// The tracking stage of `read_into`: decoded batches → recorded events for the printer.
/// Decoded batches go on to the printer when it prints packets, else straight back to the
/// reader (`spare`).
struct Tracking {
    pipeline: Pipeline,
    packets: bool,
    out: Recorded,
    tx: SyncSender<Recorded>,
    recycled: Receiver<Recorded>,
    spare: Sender<Decodes>,
}

impl Tracking {
    /// Tracks a batch. False once the printer has stopped (its error is reported there).
    fn take(&mut self, batch: Decodes) -> bool {
        if let Some(back) = self.pipeline.record(batch, &mut self.out, self.packets) {
            let _ = self.spare.send(back);
        }
        if self.packets || self.out.len() >= Recorded::ITEMS {
            let mut next = self.recycled.try_recv().unwrap_or_default();
            for d in self.pipeline.reclaim(&mut next) {
                let _ = self.spare.send(d);
            }
            return send_napping(&self.tx, std::mem::replace(&mut self.out, next));
        }
        true
    }

    /// End of input: the remaining conversations and the summary.
    fn finish(mut self) {
        self.pipeline.record_finish(&mut self.out);
        let _ = self.tx.send(self.out);
    }

    /// On a thread of its own: batches until the reader closes the input.
    fn run(mut self, input: Receiver<Option<Decodes>>) {
        for batch in input.iter() {
            match batch {
                Some(b) => {
                    if !self.take(b) {
                        return;
                    }
                }
                None => return self.finish(),
            }
        }
    }
}

/// Sends `value` down a bounded queue; false once the receiver is gone. When the queue is
/// full the sender naps and tries again rather than block in `send`: the receiver is then the
/// slower stage, and it would otherwise wake the blocked sender (a futex call and a switch,
/// on the busier core) for every batch it takes. A queue holds about a millisecond of work,
/// so a nap of a fifth of that never lets it run dry.
fn send_napping<T>(tx: &SyncSender<T>, mut value: T) -> bool {
    loop {
        match tx.try_send(value) {
            Ok(()) => return true,
            Err(TrySendError::Full(v)) => {
                value = v;
                thread::sleep(Duration::from_micros(200));
            }
            Err(TrySendError::Disconnected(_)) => return false,
        }
    }
}

/// Where the reader's batches go.
enum Downstream {
    Thread(SyncSender<Option<Decodes>>),
    Inline(Box<Tracking>),
}

impl Downstream {
    /// False once the rest of the pipeline has stopped.
    fn hand(&mut self, batch: Decodes) -> bool {
        match self {
            Downstream::Thread(tx) => send_napping(tx, Some(batch)),
            Downstream::Inline(t) => t.take(batch),
        }
    }

    fn finish(self) {
        match self {
            Downstream::Thread(tx) => {
                let _ = tx.send(None);
            }
            Downstream::Inline(t) => t.finish(),
        }
    }
}

/// The reading stage of `read_into`: frames → decoded batches, handed downstream.
fn read_file(
    job: ReadJob,
    mut downstream: Downstream,
    recycled: Receiver<Decodes>,
) -> Result<Option<FileError>> {
    let path = &job.path;
    let input = open_input(path)?;
    let mut reader = FileReader::new(input).map_err(|e| match e {
        FileError::Io(io) => anyhow!(io).context(format!("cannot read {}", path.display())),
        other => anyhow!(
            "{}: {}",
            path.display(),
            synack::report::errors::file_error(&other, job.lang)
        ),
    })?;
    // A pcap file of a link type synack does not decode: refused when tshark refuses it too;
    // when Wireshark reads it, its frames are listed as tshark lists them (time and lengths,
    // no protocols), and the file is refused after them.
    let mut undecoded = None;
    if let Some(lt) = reader.linktype()
        && matches!(reader.format(), FileFormat::Pcap { .. })
        && !LinkType::from(lt).supported()
    {
        let refusal = format!(
            "{}: unsupported link type {lt}{}; synack reads {}",
            path.display(),
            LinkType::wiretap_name(lt)
                .map(|n| format!(" ({n}): its frames are listed without their protocols"))
                .unwrap_or_default(),
            LinkType::supported_names().join(", ")
        );
        if LinkType::wiretap_name(lt).is_none() {
            bail!(refusal);
        }
        undecoded = Some(refusal);
    }
    let progress = progress_bar(path, reader.compression().is_some());
    let mut decoder = Decoder::new();
    let mut filters = Filters::new(job.filter);
    let mut shown = 0u64;
    let mut failure = None;
    let mut batch = Decodes::default();
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
        decoder.frame(&frame, &mut batch);
        if batch.full() {
            if let Some(p) = &progress {
                p.set_position(reader.offset());
            }
            let mut next = recycled.try_recv().unwrap_or_default();
            next.clear();
            if !downstream.hand(std::mem::replace(&mut batch, next)) {
                // The printing side stopped (its error is reported there).
                return Ok(None);
            }
        }
    }
    if let Some(p) = progress {
        p.finish_and_clear();
    }
    if downstream.hand(batch) {
        downstream.finish();
    }
    match (failure, undecoded) {
        (None, Some(refusal)) => bail!(refusal),
        (failure, _) => Ok(failure),
    }
}

/// Files smaller than this are read before a progress line would be worth drawing.
const PROGRESS_MIN_BYTES: u64 = 32 << 20;

/// A progress line on stderr while a large file is read, only when stderr is a terminal
/// (nothing is made, so nothing costs, otherwise). A compressed file's size says nothing of
/// how far the decompressed stream has come: it gets a count of the bytes read, no bar.
fn progress_bar(path: &Path, compressed: bool) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !io::stderr().is_terminal() || path.as_os_str() == "-" {
        return None;
    }
    let len = std::fs::metadata(path).ok()?.len();
    if len < PROGRESS_MIN_BYTES {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        (!compressed).then_some(len),
        indicatif::ProgressDrawTarget::stderr_with_hz(4),
    );
    let template = if compressed {
        "{spinner} reading {msg} {bytes} decompressed ({bytes_per_sec})"
    } else {
        "{spinner} reading {msg} {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)"
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.set_message(path.display().to_string());
    Some(bar)
}

/// `synack follow`: one conversation's payload, as Wireshark's Follow Stream.
pub fn follow(args: &FollowArgs) -> Result<Outcome> {
    use crate::cli::FollowFormatArg;
    use synack::report::follow::{Follow, FollowFormat};
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
        lang: Lang::En,
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
