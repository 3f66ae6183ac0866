//! Live capture through libpcap: device choice (tcpdump's default, or the loopback), BPF
//! filter, immediate mode, a read timeout so callers can stop, a savefile written as packets
//! arrive, and libpcap's drop statistics.

use std::fmt;
use std::path::Path;

use pcap::{Active, Capture, Device, Precision, Savefile};

use super::{Frame, FrameMeta};
use crate::time::Timestamp;

/// Why a live capture could not start or continue.
#[derive(Debug)]
pub enum CaptureError {
    /// No root and no CAP_NET_RAW.
    Permission {
        device: String,
        detail: String,
    },
    NoSuchDevice {
        device: String,
        detail: String,
    },
    NoDevice,
    BadFilter {
        filter: String,
        detail: String,
    },
    Savefile {
        path: String,
        detail: String,
    },
    Other {
        device: String,
        detail: String,
    },
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Permission { device, detail } => write!(
                f,
                "capturing on {device} needs root or CAP_NET_RAW ({detail}); run as root, or \
                 grant the capability once with `sudo setcap cap_net_raw,cap_net_admin=eip \
                 $(command -v synack)`"
            ),
            CaptureError::NoSuchDevice { device, detail } => write!(
                f,
                "no capture interface named {device} ({detail}); `synack watch -D` lists them"
            ),
            CaptureError::NoDevice => write!(f, "no interface to capture on was found"),
            CaptureError::BadFilter { filter, detail } => {
                write!(f, "bad filter expression `{filter}`: {detail}")
            }
            CaptureError::Savefile { path, detail } => {
                write!(f, "cannot write {path}: {detail}")
            }
            CaptureError::Other { device, detail } => {
                write!(f, "capture on {device} failed: {detail}")
            }
        }
    }
}

impl std::error::Error for CaptureError {}

fn classify(device: &str, e: pcap::Error) -> CaptureError {
    let detail = e.to_string();
    let lower = detail.to_ascii_lowercase();
    if lower.contains("permitted") || lower.contains("permission") {
        CaptureError::Permission {
            device: device.to_string(),
            detail,
        }
    } else if lower.contains("no such device") || lower.contains("doesn't exist") {
        CaptureError::NoSuchDevice {
            device: device.to_string(),
            detail,
        }
    } else {
        CaptureError::Other {
            device: device.to_string(),
            detail,
        }
    }
}

/// What to open.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// None: the loopback interface when `loopback`, else libpcap's default (as tcpdump).
    pub device: Option<String>,
    pub loopback: bool,
    pub filter: Option<String>,
    pub snaplen: i32,
    pub buffer_size: Option<i32>,
    pub immediate: bool,
    /// How long one read may block, so the caller can check whether to stop.
    pub timeout_ms: i32,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            device: None,
            loopback: false,
            filter: None,
            snaplen: 262_144,
            buffer_size: None,
            immediate: true,
            timeout_ms: 100,
        }
    }
}

/// libpcap's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub received: u64,
    pub dropped: u64,
    pub if_dropped: u64,
}

/// Interfaces as `tcpdump -D` lists them.
pub fn list_devices() -> Result<Vec<(String, Option<String>, bool)>, CaptureError> {
    let devs = Device::list().map_err(|e| classify("(list)", e))?;
    Ok(devs
        .into_iter()
        .map(|d| {
            let lo = d.flags.is_loopback();
            (d.name, d.desc, lo)
        })
        .collect())
}

fn pick_device(opts: &LiveOptions) -> Result<String, CaptureError> {
    if let Some(d) = &opts.device {
        return Ok(d.clone());
    }
    if opts.loopback {
        let devs = Device::list().map_err(|e| classify("loopback", e))?;
        return devs
            .into_iter()
            .find(|d| d.flags.is_loopback())
            .map(|d| d.name)
            .ok_or(CaptureError::NoSuchDevice {
                device: "loopback".into(),
                detail: "no interface has the loopback flag".into(),
            });
    }
    // tcpdump's choice: the first up, non-loopback interface libpcap lists.
    match Device::lookup() {
        Ok(Some(d)) => Ok(d.name),
        Ok(None) => Err(CaptureError::NoDevice),
        Err(e) => Err(classify("(default)", e)),
    }
}

pub struct Live {
    cap: Capture<Active>,
    pub device: String,
    pub linktype: u16,
    savefile: Option<Savefile>,
    frames: u64,
    /// The stamps are in nanoseconds. libpcap's own Linux capture honours the request for
    /// them; its netfilter module (NFLOG, NFQUEUE) ignores it and stamps microseconds, and
    /// the pcap crate does not say which was granted.
    nanos: bool,
}

impl Live {
    /// Opens and activates the capture; from this moment packets are being captured.
    pub fn open(opts: &LiveOptions) -> Result<Live, CaptureError> {
        let device = pick_device(opts)?;
        let mut inactive = Capture::from_device(device.as_str())
            .map_err(|e| classify(&device, e))?
            .immediate_mode(opts.immediate)
            .snaplen(opts.snaplen)
            .timeout(opts.timeout_ms.max(1))
            .precision(Precision::Nano);
        if let Some(b) = opts.buffer_size {
            inactive = inactive.buffer_size(b);
        }
        // Non-blocking: with TPACKET_V3 a blocking read waits until the kernel retires a
        // ring block, and an empty block is never retired, so a quiet interface would block
        // forever and the caller could never stop. `next` backs off 1 ms when idle instead.
        let mut cap = inactive
            .open()
            .and_then(|c| c.setnonblock())
            .map_err(|e| classify(&device, e))?;
        if let Some(f) = &opts.filter {
            cap.filter(f, true).map_err(|e| CaptureError::BadFilter {
                filter: f.clone(),
                detail: e.to_string(),
            })?;
        }
        // tcpdump 4.99 records `any` as Linux cooked v2, which keeps the interface index.
        if device == "any" {
            let _ = cap.set_datalink(pcap::Linktype(276));
        }
        let linktype = cap.get_datalink().0 as u16;
        let nanos = !(device.starts_with("nflog") || device.starts_with("nfqueue"));
        Ok(Live {
            cap,
            device,
            linktype,
            savefile: None,
            frames: 0,
            nanos,
        })
    }

    /// Writes every packet read from now on to a pcap file, stamped as libpcap stamps them
    /// (nanoseconds where it can; see `nanos`).
    pub fn write_to(&mut self, path: &Path) -> Result<(), CaptureError> {
        let sf = self
            .cap
            .savefile(path)
            .map_err(|e| CaptureError::Savefile {
                path: path.display().to_string(),
                detail: e.to_string(),
            })?;
        self.savefile = Some(sf);
        Ok(())
    }

    /// The next frame, or None when none is waiting (after a 1 ms pause).
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        match self.cap.next_packet() {
            Ok(p) => {
                if let Some(sf) = &mut self.savefile {
                    sf.write(&p);
                }
                self.frames += 1;
                let h = *p.header;
                // time_t and suseconds_t are 32 bits on some targets.
                #[allow(clippy::unnecessary_cast)]
                let (secs, frac) = (h.ts.tv_sec as i64, h.ts.tv_usec as i64);
                Ok(Some(Frame {
                    meta: FrameMeta {
                        number: self.frames,
                        has_ts: true,
                        ts: Timestamp {
                            secs,
                            // Nanosecond precision: libpcap puts nanoseconds in tv_usec.
                            nsecs: if self.nanos { frac } else { frac * 1000 } as i32,
                        },
                        caplen: h.caplen,
                        wirelen: h.len,
                        linktype: self.linktype,
                        fcs_len: 0,
                    },
                    data: p.data,
                    file_offset: 0,
                }))
            }
            Err(pcap::Error::TimeoutExpired) => {
                std::thread::sleep(std::time::Duration::from_millis(1));
                Ok(None)
            }
            Err(e) if nothing_waiting(&e) => {
                std::thread::sleep(std::time::Duration::from_millis(1));
                Ok(None)
            }
            Err(e) => Err(classify(&self.device, e)),
        }
    }

    /// Flushes the savefile so that what was captured so far is a complete pcap.
    pub fn flush(&mut self) -> Result<(), CaptureError> {
        if let Some(sf) = &mut self.savefile {
            sf.flush().map_err(|e| CaptureError::Savefile {
                path: "savefile".into(),
                detail: e.to_string(),
            })?;
        }
        Ok(())
    }

    pub fn stats(&mut self) -> Option<Stats> {
        self.cap.stats().ok().map(|s| Stats {
            received: s.received as u64,
            dropped: s.dropped as u64,
            if_dropped: s.if_dropped as u64,
        })
    }
}

/// One captured frame inside a `Batch`: its facts, and where its bytes are.
#[derive(Debug, Clone, Copy)]
struct Slot {
    meta: FrameMeta,
    start: usize,
    end: usize,
}

/// Frames handed from the capture thread to the analysis in one piece: the bytes of all
/// frames in one buffer, so a batch costs no allocation once the pool is warm.
#[derive(Debug, Default)]
pub struct Batch {
    slots: Vec<Slot>,
    bytes: Vec<u8>,
}

impl Batch {
    /// How full a batch gets before it is handed over (frames, bytes).
    const FRAMES: usize = 512;
    const BYTES: usize = 1 << 20;

    fn clear(&mut self) {
        self.slots.clear();
        self.bytes.clear();
    }

    fn push(&mut self, f: &Frame<'_>) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(f.data);
        self.slots.push(Slot {
            meta: f.meta,
            start,
            end: self.bytes.len(),
        });
    }

    fn full(&self) -> bool {
        self.slots.len() >= Batch::FRAMES || self.bytes.len() >= Batch::BYTES
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The frames, in capture order.
    pub fn frames(&self) -> impl Iterator<Item = Frame<'_>> {
        self.slots.iter().map(|s| Frame {
            meta: s.meta,
            data: &self.bytes[s.start..s.end],
            file_offset: 0,
        })
    }
}

/// How a capture thread ended.
#[derive(Debug, Default)]
pub struct CaptureEnd {
    pub stats: Stats,
    /// Frames captured (and saved) that the analysis never got: the queue was full.
    pub not_analysed: u64,
    pub frames: u64,
}

/// A thread that only drains libpcap (and writes `-w`), so the kernel's buffer never fills
/// because the analysis is slow: batches go to the analysis through a bounded queue, and when
/// that is full a batch is counted as not analysed instead of being waited for.
pub struct CaptureThread {
    pub batches: std::sync::mpsc::Receiver<Batch>,
    /// Used batches go back here for reuse.
    pub recycle: std::sync::mpsc::Sender<Batch>,
    handle: std::thread::JoinHandle<Result<CaptureEnd, CaptureError>>,
}

impl CaptureThread {
    /// Starts capturing on `live` until `stop` is set or `count` frames were captured.
    /// `queue` is the number of batches that may wait for the analysis.
    pub fn spawn(
        mut live: Live,
        queue: usize,
        count: Option<u64>,
        stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> CaptureThread {
        use std::sync::atomic::Ordering;
        use std::sync::mpsc::{TrySendError, channel, sync_channel};
        use std::time::{Duration, Instant};
        let (tx, rx) = sync_channel::<Batch>(queue.max(1));
        let (back_tx, back_rx) = channel::<Batch>();
        let handle = std::thread::spawn(move || {
            let mut end = CaptureEnd::default();
            let mut batch = Batch::default();
            let mut since = Instant::now();
            let mut last_drops = 0u64;
            let mut last_check = Instant::now();
            loop {
                let stopping =
                    stop.load(Ordering::SeqCst) || count.is_some_and(|c| end.frames >= c);
                // (`next_frame` writes -w, and pauses 1 ms when nothing is waiting.)
                let got = !stopping && {
                    match live.next_frame()? {
                        Some(f) => {
                            end.frames = f.meta.number;
                            batch.push(&f);
                            true
                        }
                        None => false,
                    }
                };
                // Hand over a full batch, or whatever is there after 10 ms, or at the end.
                if !batch.is_empty()
                    && (batch.full() || stopping || since.elapsed() >= Duration::from_millis(10))
                {
                    let next = back_rx.try_recv().unwrap_or_default();
                    let full = std::mem::replace(&mut batch, next);
                    batch.clear();
                    let n = full.len() as u64;
                    let sent = if stopping {
                        tx.send(full).map_err(|e| TrySendError::Disconnected(e.0))
                    } else {
                        tx.try_send(full)
                    };
                    match sent {
                        Ok(()) => {}
                        Err(TrySendError::Full(mut b)) => {
                            end.not_analysed += n;
                            b.clear();
                            batch = b;
                        }
                        Err(TrySendError::Disconnected(_)) => {
                            end.not_analysed += n;
                        }
                    }
                    since = Instant::now();
                }
                if stopping {
                    break;
                }
                if !got && batch.is_empty() {
                    since = Instant::now();
                }
                if last_check.elapsed() >= Duration::from_secs(1) {
                    last_check = Instant::now();
                    if let Some(st) = live.stats() {
                        let drops = st.dropped + st.if_dropped;
                        if drops > last_drops {
                            eprintln!("synack: libpcap has dropped {drops} packets so far");
                            last_drops = drops;
                        }
                    }
                    // Keep the savefile complete on disk as the capture goes on.
                    live.flush()?;
                }
            }
            live.flush()?;
            end.stats = live.stats().unwrap_or_default();
            Ok(end)
        });
        CaptureThread {
            batches: rx,
            recycle: back_tx,
            handle,
        }
    }

    /// The batches and the way back for their buffers, for an analysis on another thread.
    /// Once that thread drops the receiver, the capture thread counts what it cannot hand
    /// over as not analysed (and `batches` here is a closed channel).
    pub fn take_batches(
        &mut self,
    ) -> (
        std::sync::mpsc::Receiver<Batch>,
        std::sync::mpsc::Sender<Batch>,
    ) {
        let closed = std::sync::mpsc::sync_channel(0).1;
        (
            std::mem::replace(&mut self.batches, closed),
            self.recycle.clone(),
        )
    }

    /// Waits for the thread (after the stop flag was set or the count reached).
    pub fn join(self) -> Result<CaptureEnd, CaptureError> {
        drop(self.batches);
        self.handle.join().unwrap_or_else(|_| {
            Err(CaptureError::Other {
                device: "(capture thread)".into(),
                detail: "the capture thread panicked".into(),
            })
        })
    }
}

/// libpcap's netfilter reader (NFLOG) reports an empty non-blocking read as an error, "Can't
/// receive packet: " and EAGAIN's text, where the other readers return nothing.
fn nothing_waiting(e: &pcap::Error) -> bool {
    let pcap::Error::PcapError(msg) = e else {
        return false;
    };
    let eagain = std::io::Error::from_raw_os_error(nix::errno::Errno::EAGAIN as i32).to_string();
    // std appends " (os error N)" to the C library's text.
    let text = eagain.split(" (os error").next().unwrap_or_default();
    msg.starts_with("Can't receive packet") && !text.is_empty() && msg.ends_with(text)
}
