//! The pipeline every command shares: each frame is decoded, reassembled and tracked, and the
//! events it causes (a `packet`, the `conn` records of conversations that are over, the
//! final `summary`) go to a `Sink`, which the printers and `verify` implement.

pub mod payload;

use std::io;
use std::ops::Range;

use crate::capture::Frame;
use crate::time::Timestamp;
use crate::track::defrag::Reassembler;
use crate::track::{Finished, Limits, PacketInfo, Totals, Tracker};
use crate::wire::{self, Decoded};

pub use crate::capture::FrameMeta;

/// One frame with everything known about it.
pub struct PacketEvent<'a, 'b> {
    pub frame: FrameMeta,
    pub decoded: &'b Decoded<'a>,
    pub info: &'b PacketInfo,
}

/// The last line's facts.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub totals: Totals,
    pub tcp_streams: u32,
    pub udp_streams: u32,
    /// Live capture only: libpcap's drop counts and the interface.
    pub live: Option<LiveStats>,
}

#[derive(Debug, Clone, Default)]
pub struct LiveStats {
    pub interface: String,
    pub received: u64,
    pub dropped: u64,
    pub if_dropped: u64,
    /// Frames captured (and saved with `-w`) that the analysis skipped because it fell behind.
    pub not_analysed: u64,
}

/// Where events go: a printer, `verify`'s collector, or both.
pub trait Sink {
    fn packet(&mut self, ev: &PacketEvent<'_, '_>) -> io::Result<()>;
    fn conn(&mut self, c: &Finished) -> io::Result<()>;
    fn summary(&mut self, s: &Summary) -> io::Result<()>;
    fn flush(&mut self) -> io::Result<()>;
}

/// `--conns`: conversation records and the summary only, with all the tracking behind them.
pub struct ConnsOnly<'a>(pub &'a mut dyn Sink);

impl Sink for ConnsOnly<'_> {
    fn packet(&mut self, _: &PacketEvent<'_, '_>) -> io::Result<()> {
        Ok(())
    }
    fn conn(&mut self, c: &Finished) -> io::Result<()> {
        self.0.conn(c)
    }
    fn summary(&mut self, s: &Summary) -> io::Result<()> {
        self.0.summary(s)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Every event to a sink and, when there is one, to a second (the HTML report beside a
/// printer).
pub struct Tee<'a>(pub &'a mut dyn Sink, pub Option<&'a mut dyn Sink>);

impl Sink for Tee<'_> {
    fn packet(&mut self, ev: &PacketEvent<'_, '_>) -> io::Result<()> {
        self.0.packet(ev)?;
        self.1.as_mut().map_or(Ok(()), |s| s.packet(ev))
    }
    fn conn(&mut self, c: &Finished) -> io::Result<()> {
        self.0.conn(c)?;
        self.1.as_mut().map_or(Ok(()), |s| s.conn(c))
    }
    fn summary(&mut self, s: &Summary) -> io::Result<()> {
        self.0.summary(s)?;
        self.1.as_mut().map_or(Ok(()), |t| t.summary(s))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()?;
        self.1.as_mut().map_or(Ok(()), |s| s.flush())
    }
}

/// `--stream N`: one conversation's packets and record (all of them still tracked, so the
/// numbers are the capture's), and the summary.
pub struct OneStream<'a> {
    pub inner: &'a mut dyn Sink,
    pub tcp: bool,
    pub stream: u32,
}

impl Sink for OneStream<'_> {
    fn packet(&mut self, ev: &PacketEvent<'_, '_>) -> io::Result<()> {
        let proto_ok = match ev.decoded.transport {
            crate::wire::Transport::Tcp(_) => self.tcp,
            crate::wire::Transport::Udp(_) => !self.tcp,
            _ => false,
        };
        if proto_ok && ev.info.stream == Some(self.stream) {
            self.inner.packet(ev)?;
        }
        Ok(())
    }
    fn conn(&mut self, c: &Finished) -> io::Result<()> {
        if matches!(c, Finished::Tcp(_)) == self.tcp && c.flow().stream == self.stream {
            self.inner.conn(c)?;
        }
        Ok(())
    }
    fn summary(&mut self, s: &Summary) -> io::Result<()> {
        self.inner.summary(s)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Decode → reassemble → track, with conversations leaving memory as they end.
pub struct Pipeline {
    tracker: Tracker,
    reassembler: Reassembler,
}

impl Pipeline {
    /// `keep_bytes` of each request and reply are kept for the `exchanges`.
    pub fn new(keep_bytes: usize, limits: Limits) -> Self {
        Pipeline {
            tracker: Tracker::with_limits(keep_bytes, limits),
            reassembler: Reassembler::new(),
        }
    }

    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// Runs one frame through: first the records of conversations whose time ran out before
    /// it, then its packet event, then records the tracker had to write to make room.
    pub fn frame(&mut self, frame: &Frame<'_>, sink: &mut dyn Sink) -> io::Result<()> {
        self.tracker.advance(frame.meta.ts);
        self.drain(sink)?;
        self.track(frame, |decoded, info, _| {
            sink.packet(&PacketEvent {
                frame: frame.meta,
                decoded,
                info: &info,
            })
        })?;
        self.drain(sink)
    }

    /// Decodes (reassembling IP fragments) and tracks one frame, and hands the result to
    /// `then` by reference (a decoded frame is a few hundred bytes: not copied around).
    fn track<R>(
        &mut self,
        frame: &Frame<'_>,
        then: impl FnOnce(&Decoded<'_>, PacketInfo, Option<&[u8]>) -> R,
    ) -> R {
        let m = &frame.meta;
        let first = wire::decode(m.linktype, frame.data, m.wirelen);
        let whole = self.reassembler.feed(m.number, &first);
        let reassembled;
        let decoded = match &whole {
            Some(datagram) => {
                reassembled = wire::decode_reassembled(&first, datagram);
                &reassembled
            }
            None => &first,
        };
        let info = self.tracker.packet(m.number, m.ts, decoded);
        then(decoded, info, whole.as_deref())
    }

    /// Live capture: time passes without packets, so conversations can end in between.
    pub fn tick(&mut self, now: Timestamp, sink: &mut dyn Sink) -> io::Result<()> {
        self.tracker.advance_to(now);
        self.drain(sink)
    }

    fn drain(&mut self, sink: &mut dyn Sink) -> io::Result<()> {
        while let Some(c) = self.tracker.pop_expired() {
            sink.conn(&c)?;
        }
        Ok(())
    }

    /// End of input: every conversation still in memory, in order of first frame, then the
    /// summary.
    pub fn finish(&mut self, sink: &mut dyn Sink, live: Option<LiveStats>) -> io::Result<()> {
        for c in self.tracker.finish() {
            sink.conn(&c)?;
        }
        sink.summary(&self.summary(live))?;
        sink.flush()
    }

    pub fn summary(&self, live: Option<LiveStats>) -> Summary {
        Summary {
            totals: self.tracker.totals,
            tcp_streams: self.tracker.tcp_streams(),
            udp_streams: self.tracker.udp_streams(),
            live,
        }
    }

    /// `frame`, recorded into `out` instead of handed to a sink: what a second thread needs
    /// to replay the events (the frame's bytes are decoded again there, which costs less than
    /// carrying the decoded form). Without `packets`, only conversation records are kept.
    pub fn record(&mut self, frame: &Frame<'_>, out: &mut Recorded, packets: bool) {
        self.tracker.advance(frame.meta.ts);
        self.drain_into(out);
        self.track(frame, |_, info, whole| {
            if packets {
                let data = out.keep(frame.data);
                let whole = whole.map(|w| out.keep(w));
                out.items.push(Item::Packet {
                    meta: frame.meta,
                    info,
                    data,
                    whole,
                });
            }
        });
        self.drain_into(out);
    }

    fn drain_into(&mut self, out: &mut Recorded) {
        while let Some(c) = self.tracker.pop_expired() {
            out.items.push(Item::Conn(c));
        }
    }

    /// `finish`, recorded: the remaining conversations and the summary.
    pub fn record_finish(&mut self, out: &mut Recorded) {
        for c in self.tracker.finish() {
            out.items.push(Item::Conn(c));
        }
        out.items.push(Item::Summary(Box::new(self.summary(None))));
    }

    /// Records of every conversation still in memory (the demo prints them before its
    /// verdicts and summary).
    pub fn take_conversations(&mut self) -> Vec<Finished> {
        self.tracker.finish()
    }
}

/// One recorded event. Items live in a reused vector and are not boxed: a packet item and a
/// conversation record are of a size, and boxing either would allocate once per event.
#[allow(clippy::large_enum_variant)]
enum Item {
    Packet {
        meta: FrameMeta,
        info: PacketInfo,
        /// The frame's bytes, and a reassembled datagram's, in `Recorded::bytes`.
        data: Range<usize>,
        whole: Option<Range<usize>>,
    },
    Conn(Finished),
    Summary(Box<Summary>),
}

/// Events of many frames, made on the thread that tracks and replayed into a sink on the
/// thread that prints, so that both cores work. Reused from batch to batch.
#[derive(Default)]
pub struct Recorded {
    items: Vec<Item>,
    bytes: Vec<u8>,
}

impl Recorded {
    /// Batches are handed over at about this size.
    pub const ITEMS: usize = 1024;

    fn keep(&mut self, b: &[u8]) -> Range<usize> {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(b);
        start..self.bytes.len()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn clear(&mut self) {
        self.items.clear();
        self.bytes.clear();
    }

    /// Hands every event to `sink`, in order. Returns whether the summary was among them.
    pub fn replay(&self, sink: &mut dyn Sink) -> io::Result<bool> {
        let mut summary = false;
        for item in &self.items {
            match item {
                Item::Packet {
                    meta,
                    info,
                    data,
                    whole,
                } => {
                    let first =
                        wire::decode(meta.linktype, &self.bytes[data.clone()], meta.wirelen);
                    let reassembled;
                    let decoded = match whole {
                        Some(w) => {
                            reassembled = wire::decode_reassembled(&first, &self.bytes[w.clone()]);
                            &reassembled
                        }
                        None => &first,
                    };
                    sink.packet(&PacketEvent {
                        frame: *meta,
                        decoded,
                        info,
                    })?;
                }
                Item::Conn(c) => sink.conn(c)?,
                Item::Summary(s) => {
                    sink.summary(s)?;
                    sink.flush()?;
                    summary = true;
                }
            }
        }
        Ok(summary)
    }
}
