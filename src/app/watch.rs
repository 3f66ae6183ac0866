//! `synack watch`: live capture. A capture thread only drains libpcap (and writes `-w`); a
//! tracking thread decodes and tracks what it hands over (and ticks the clock when nothing
//! arrives); this thread prints. Printing costs as much as the rest: on one thread with the
//! tracking, the analysis once fell 221,696 frames behind a 224 k packets/s replay (the
//! savefile stayed complete).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender, channel, sync_channel};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};

use super::{Outcome, printer};
use crate::cli::{FollowProto, WatchArgs};
use synack::capture::live::{Batch, CaptureThread, Live, LiveOptions, list_devices};
use synack::event::{ConnsOnly, Decoder, Decodes, LiveStats, OneStream, Pipeline, Recorded, Sink};
use synack::lang::Lang;
use synack::report;
use synack::time::{self, Timestamp};

pub fn watch(args: &WatchArgs) -> Result<Outcome> {
    if args.list {
        list_interfaces()?;
        return Ok(Outcome::Ok);
    }
    let live = open(args)?;
    // Ctrl-C must be handled before anyone is told to start sending.
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("cannot install the Ctrl-C / SIGTERM handler")?;
    // From here every packet is captured (the capture is active with its filter installed):
    // say so, on stderr and, for scripts, with the ready file.
    let link = synack::wire::numbers::LinkType::from(live.linktype).name();
    match Lang::from(args.output.lang) {
        Lang::En => eprintln!(
            "synack: listening on {}, link type {} ({link}); Ctrl-C to stop",
            live.device, live.linktype
        ),
        Lang::Zh => eprintln!(
            "synack: 正在 {} 上抓包, 链路类型 {} ({link}); 按 Ctrl-C 停止",
            live.device, live.linktype
        ),
    }
    if let Some(p) = &args.ready_file {
        std::fs::write(p, format!("{}\n", live.device))
            .with_context(|| format!("cannot write the ready file {}", p.display()))?;
    }
    let device = live.device.clone();
    let mut capture = CaptureThread::spawn(live, args.queue.max(1), args.count, Arc::clone(&stop));

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
                tcp: args.table.stream_proto == FollowProto::Tcp,
                stream,
            };
            &mut one
        }
        None => sink,
    };
    let mut limits = args.table.limits();
    if let Some(idle) = args.idle {
        limits.tcp_idle = time::Duration::from_secs_f64(idle);
        limits.udp_idle = time::Duration::from_secs_f64(idle);
    }
    let mut pipeline = Pipeline::new(args.output.payload_bytes, limits);
    let (batches, recycle) = capture.take_batches();
    if let Err(e) = analyse(batches, recycle, &mut pipeline, sink, args, &stop) {
        // Our output was closed (`| head`): stop capturing, but leave -w complete.
        stop.store(true, Ordering::SeqCst);
        capture.join()?;
        return Err(e.into());
    }
    let end = capture.join()?;
    if end.not_analysed > 0 {
        let saved = args.write.is_some();
        match Lang::from(args.output.lang) {
            Lang::En => eprintln!(
                "synack: {} of {} frames were captured{} but not analysed: the analysis fell behind",
                end.not_analysed,
                end.frames,
                if saved { " and saved" } else { "" }
            ),
            Lang::Zh => eprintln!(
                "synack: 抓到{} {} 帧中有 {} 帧未分析: 分析跟不上抓包",
                if saved { "并保存" } else { "" },
                end.frames,
                end.not_analysed
            ),
        }
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

/// `-D`: the interfaces, numbered as tcpdump numbers them.
fn list_interfaces() -> Result<()> {
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
    Ok(())
}

/// The device opened with its filter, `-w` started, root given up for `-Z`.
fn open(args: &WatchArgs) -> Result<Live> {
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
    })
    .map_err(|e| anyhow!(report::errors::capture_error(&e, args.output.lang.into())))?;
    if let Some(w) = &args.write {
        live.write_to(w)?;
    }
    if let Some(u) = &args.user {
        drop_privileges(u)?;
    }
    Ok(live)
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

/// Analyses the capture thread's batches until it ends: tracked on a thread of its own,
/// printed on this one. `--duration` and `--until-idle` stop the capture as Ctrl-C does.
fn analyse(
    batches: Receiver<Batch>,
    recycle: Sender<Batch>,
    pipeline: &mut Pipeline,
    sink: &mut dyn Sink,
    args: &WatchArgs,
    stop: &AtomicBool,
) -> io::Result<()> {
    // A hand-to-hand channel: no queue of its own between tracking and printing, so
    // `--queue` still bounds what waits for the analysis (one batch more is in the
    // printer's hands than when one thread did both). When the printer is stuck, the
    // capture thread counts what it cannot hand over instead of this thread piling it up.
    let (tx, rx) = sync_channel::<Recorded>(0);
    let (back_tx, back_rx) = channel::<Recorded>();
    thread::scope(|scope| {
        let packets = !args.table.conns;
        scope.spawn(move || track(batches, recycle, pipeline, packets, args, stop, tx, back_rx));
        let printed = (|| -> io::Result<()> {
            for recorded in rx.iter() {
                recorded.replay(sink)?;
                sink.flush()?;
                // Back to the tracking thread, which frees what it allocated.
                let _ = back_tx.send(recorded);
            }
            Ok(())
        })();
        // Our output was closed: the tracking thread stops when it next hands over.
        drop(rx);
        printed
    })
}

/// The tracking half of `analyse`: capture batches → recorded events, handed over after
/// every batch (the live view's latency) and every tick of the clock.
#[allow(clippy::too_many_arguments)]
fn track(
    batches: Receiver<Batch>,
    recycle: Sender<Batch>,
    pipeline: &mut Pipeline,
    packets: bool,
    args: &WatchArgs,
    stop: &AtomicBool,
    tx: SyncSender<Recorded>,
    recycled: Receiver<Recorded>,
) {
    let started = Instant::now();
    let mut last_packet = Instant::now();
    let mut decoder = Decoder::new();
    let mut spare: Vec<Decodes> = Vec::new();
    let mut out = Recorded::default();
    loop {
        match batches.recv_timeout(Duration::from_millis(100)) {
            Ok(batch) => {
                last_packet = Instant::now();
                let mut decoded = spare.pop().unwrap_or_default();
                decoded.clear();
                for frame in batch.frames() {
                    decoder.frame(&frame, &mut decoded);
                }
                // The batch's buffers go back for reuse (if the pool is gone, it is simply
                // dropped).
                let _ = recycle.send(batch);
                if let Some(back) = pipeline.record(decoded, &mut out, packets) {
                    spare.push(back);
                }
            }
            // No packet: time still passes for the conversations (live time is wall time).
            Err(RecvTimeoutError::Timeout) => pipeline.record_tick(Timestamp::now(), &mut out),
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let mut next = recycled.try_recv().unwrap_or_default();
        spare.extend(pipeline.reclaim(&mut next));
        if tx.send(std::mem::replace(&mut out, next)).is_err() {
            return;
        }
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
}
