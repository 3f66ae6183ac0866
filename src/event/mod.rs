//! The pipeline every command shares: each frame is decoded, reassembled and tracked, and the
//! events it causes (a `packet`, the `conn` records of conversations that are over, the
//! final `summary`) go to a `Sink`, which the printers and `verify` implement.

pub mod payload;

use std::io;
use std::ops::Range;

use crate::capture::Frame;
use crate::time::Timestamp;
use crate::track::defrag::Reassembler;
use crate::track::facts::FactsSide;
use crate::track::{DetachedFacts, Facts, Finished, Limits, PacketInfo, Totals, Tracker};
use crate::wire::checksum::Checksum;
use crate::wire::{self, Checksums, Decoded};

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
    /// Where the tracker writes a frame's `PacketInfo` (in the cache, reused): a printed
    /// packet's record takes its small form from here (`Recorded::slim`).
    scratch: PacketInfo,
}

impl Pipeline {
    /// `keep_bytes` of each request and reply are kept for the `exchanges`.
    pub fn new(keep_bytes: usize, limits: Limits) -> Self {
        Pipeline {
            tracker: Tracker::with_limits(keep_bytes, limits),
            reassembler: Reassembler::new(),
            scratch: PacketInfo::default(),
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
        self.track(frame, |decoded, info| {
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
        then: impl FnOnce(&Decoded<'_>, PacketInfo) -> R,
    ) -> R {
        let m = &frame.meta;
        let (packet, len) = m.packet(frame.data);
        let first = wire::decode(m.linktype, packet, len);
        let whole = self.reassembler.feed(m.number, &first);
        let reassembled;
        let decoded = match &whole {
            Some(datagram) => {
                reassembled = wire::decode_reassembled(&first, datagram);
                &reassembled
            }
            None => &first,
        };
        let info = self.tracker.packet(m.number, m.ts, &Facts::of(decoded));
        then(decoded, info)
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

    /// Tracks a batch of decoded frames, recording their events into `out` instead of
    /// handing them to a sink: what the thread that tracks does for the thread that prints.
    /// With `packets`, `out` takes the batch along (the printer needs the decodes);
    /// without, only conversation records are kept and the batch is given back.
    pub fn record(&mut self, batch: Decodes, out: &mut Recorded, packets: bool) -> Option<Decodes> {
        let b = out.decodes.len() as u32;
        // Only the facts are read here, not the frames' records (the printer's).
        for (i, detached) in batch.facts.iter().enumerate() {
            let ts = detached.ts();
            self.tracker.advance(ts);
            self.drain_into(out);
            let facts = detached.attach(&batch.bytes, &batch.side);
            self.scratch = PacketInfo::default();
            self.tracker
                .packet_into(detached.number(), ts, &facts, &mut self.scratch);
            if packets {
                let info = out.slim(&self.scratch);
                out.items.push(Item::Packet {
                    batch: b,
                    frame: i as u32,
                    info,
                });
            }
            self.drain_into(out);
        }
        if packets {
            out.decodes.push(batch);
            None
        } else {
            Some(batch)
        }
    }

    /// Empties a record the printer is done with: its conversation records' buffers go
    /// back to the tracker for new conversations; returns the decoded batches it held.
    pub fn reclaim<'r>(&mut self, rec: &'r mut Recorded) -> impl Iterator<Item = Decodes> + 'r {
        for c in rec.conns.drain(..) {
            self.tracker.recycle(c);
        }
        rec.items.clear();
        rec.details.clear();
        rec.summary = None;
        rec.decodes.drain(..)
    }

    /// Live capture: time passes without packets, so conversations can end in between; their
    /// records go into `out`.
    pub fn record_tick(&mut self, now: Timestamp, out: &mut Recorded) {
        self.tracker.advance_to(now);
        self.drain_into(out);
    }

    fn drain_into(&mut self, out: &mut Recorded) {
        while let Some(c) = self.tracker.pop_expired() {
            out.conn(c);
        }
    }

    /// `finish`, recorded: the remaining conversations and the summary.
    pub fn record_finish(&mut self, out: &mut Recorded) {
        for c in self.tracker.finish() {
            out.conn(c);
        }
        out.summary = Some(Box::new(self.summary(None)));
        out.items.push(Item::Summary);
    }

    /// Records of every conversation still in memory (the demo prints them before its
    /// verdicts and summary).
    pub fn take_conversations(&mut self) -> Vec<Finished> {
        self.tracker.finish()
    }
}

/// The first stage of the threaded pipeline: frames decoded (IP fragments reassembled) into a
/// batch that keeps their bytes, on a thread of its own.
#[derive(Default)]
pub struct Decoder {
    reassembler: Reassembler,
}

impl Decoder {
    pub fn new() -> Self {
        Decoder::default()
    }

    /// Decodes `frame` into `out`: its bytes (and a datagram it completes) and the facts the
    /// tracker needs.
    pub fn frame(&mut self, frame: &Frame<'_>, out: &mut Decodes) {
        let m = &frame.meta;
        // The frame's bytes without an FCS: all that is decoded, here and when printed.
        let (packet, len) = m.packet(frame.data);
        let data = out.keep(packet);
        // The common frame: its facts straight from its headers (no fragment to reassemble).
        // Taken by reference where it was made: moving it (some 200 bytes just written)
        // cost more than making the facts.
        let common = match &wire::decode_common(m.linktype, &out.bytes[data.clone()], len) {
            Some(c) => Some((
                DetachedFacts::of_common(c, &out.bytes, &mut out.side),
                c.transport.checksum(),
            )),
            None => None,
        };
        if let Some((facts, checksum)) = common {
            out.frames.push(DecodedFrame {
                meta: *m,
                data,
                whole: None,
                checksum,
            });
            out.facts.push(facts.at(m.number, m.ts));
            return;
        }
        let first = wire::decode(m.linktype, &out.bytes[data.clone()], len);
        let (facts, whole, checksum) = match self.reassembler.feed(m.number, &first) {
            None => (
                DetachedFacts::of(&first, &out.bytes, &mut out.side),
                None,
                first.checksum(),
            ),
            Some(datagram) => {
                // The datagram joins the batch's bytes, and the facts point into them (the
                // frame is decoded again from the reader's bytes for its headers: rare).
                let first = wire::decode(m.linktype, packet, len);
                let whole = out.keep(&datagram);
                let d = wire::decode_reassembled(&first, &out.bytes[whole.clone()]);
                let facts = DetachedFacts::of(&d, &out.bytes, &mut out.side);
                (facts, Some(whole), d.checksum())
            }
        };
        out.frames.push(DecodedFrame {
            meta: *m,
            data,
            whole,
            checksum,
        });
        out.facts.push(facts.at(m.number, m.ts));
    }
}

/// What the printer needs of a decoded frame (its facts for the tracker are kept apart).
struct DecodedFrame {
    meta: FrameMeta,
    /// The frame's bytes, and a reassembled datagram's, in `Decodes::bytes`.
    data: Range<usize>,
    whole: Option<Range<usize>>,
    /// The transport's checksum verdict, so that decoding the frame again for printing
    /// does not sum its bytes again.
    checksum: Checksum,
}

/// Decoded frames with their bytes, made by a `Decoder`; reused from batch to batch.
/// The tracker's facts of each frame are a vector of their own: a batch goes on to the
/// printing thread and comes back, and what that thread never reads stays in the cache of
/// the thread that writes it again (a cache line written by one core after the other read
/// it has to be fetched from that core first).
#[derive(Default)]
pub struct Decodes {
    frames: Vec<DecodedFrame>,
    facts: Vec<DetachedFacts>,
    /// What the facts point to beside the bytes.
    side: FactsSide,
    bytes: Vec<u8>,
}

impl Decodes {
    /// Batches are handed over at about this many frames, or this many bytes.
    const FRAMES: usize = 1024;
    const BYTES: usize = 4 << 20;

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Full enough to hand over.
    pub fn full(&self) -> bool {
        self.frames.len() >= Decodes::FRAMES || self.bytes.len() >= Decodes::BYTES
    }

    pub fn clear(&mut self) {
        self.frames.clear();
        self.facts.clear();
        self.side.clear();
        self.bytes.clear();
    }

    fn keep(&mut self, b: &[u8]) -> Range<usize> {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(b);
        start..self.bytes.len()
    }
}

/// One recorded event, small and without a destructor: a packet's tracking facts in their
/// usual size (its rare verdict details in `Recorded::details`), a conversation record by
/// its place in `Recorded::conns`. Items go from core to core, and back for reuse: a full
/// `PacketInfo` in each (some 300 bytes, mostly verdict evidence that only a flagged
/// segment's line shows) was most of the bytes the cores passed to each other.
#[derive(Clone, Copy)]
enum Item {
    /// Frame `frame` of batch `batch` in `Recorded::decodes`.
    Packet {
        batch: u32,
        frame: u32,
        info: Slim,
    },
    Conn(u32),
    Summary,
}

/// A `PacketInfo` without its verdict details and reply (`details`, when there are any).
#[derive(Clone, Copy)]
struct Slim {
    stream: Option<u32>,
    rel_seq: Option<u32>,
    rel_ack: Option<u32>,
    window: Option<u32>,
    outer_stream: Option<u32>,
    handshake: Option<crate::track::HandshakeNote>,
    analysis: crate::track::analysis::Flags,
    states: Option<(crate::track::TcpState, crate::track::TcpState)>,
    step: Option<crate::track::Step>,
    from_client: bool,
    /// Index in `Recorded::details`, or `NO_DETAILS`.
    details: u32,
}

const NO_DETAILS: u32 = u32::MAX;

/// What a `Slim` leaves out.
struct Details {
    verdict: crate::track::analysis::Verdict,
    reply_to: Option<(u64, crate::time::Duration)>,
}

/// Events of many frames, made on the thread that tracks and replayed into a sink on the
/// thread that prints, so that the cores share the work. Reused from batch to batch.
#[derive(Default)]
pub struct Recorded {
    items: Vec<Item>,
    conns: Vec<Finished>,
    details: Vec<Details>,
    summary: Option<Box<Summary>>,
    /// The decoded batches the packet items refer to, in order (`read` and `watch` hand
    /// over one per record; without packets there are none).
    decodes: Vec<Decodes>,
}

impl Recorded {
    /// Batches are handed over at about this size.
    pub const ITEMS: usize = 1024;

    fn conn(&mut self, c: Finished) {
        self.items.push(Item::Conn(self.conns.len() as u32));
        self.conns.push(c);
    }

    /// `info` in its small form; its details (verdict evidence, a reply) kept apart when a
    /// printer could show them: a flagged segment's `why`, a reply's request.
    fn slim(&mut self, info: &PacketInfo) -> Slim {
        let details = if info.analysis.is_empty() && info.reply_to.is_none() {
            NO_DETAILS
        } else {
            self.details.push(Details {
                verdict: info.verdict,
                reply_to: info.reply_to,
            });
            self.details.len() as u32 - 1
        };
        Slim {
            stream: info.stream,
            rel_seq: info.rel_seq,
            rel_ack: info.rel_ack,
            window: info.window,
            outer_stream: info.outer_stream,
            handshake: info.handshake,
            analysis: info.analysis,
            states: info.states,
            step: info.step,
            from_client: info.from_client,
            details,
        }
    }

    /// The whole `PacketInfo` again (what the printers read), on the printing thread, into
    /// `info` (the previous packet's): the verdict details are written only when this packet
    /// or the previous one had any, not cleared for every packet.
    fn fill(&self, info: &mut PacketInfo, s: &Slim, detailed: &mut bool) {
        info.stream = s.stream;
        info.from_client = s.from_client;
        info.rel_seq = s.rel_seq;
        info.rel_ack = s.rel_ack;
        info.window = s.window;
        info.step = s.step;
        info.handshake = s.handshake;
        info.states = s.states;
        info.analysis = s.analysis;
        info.outer_stream = s.outer_stream;
        match self.details.get(s.details as usize) {
            Some(d) => {
                info.verdict = d.verdict;
                info.reply_to = d.reply_to;
                *detailed = true;
            }
            None if *detailed => {
                info.verdict = Default::default();
                info.reply_to = None;
                *detailed = false;
            }
            None => {}
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Hands every event to `sink`, in order. Returns whether the summary was among them.
    pub fn replay(&self, sink: &mut dyn Sink) -> io::Result<bool> {
        let mut summary = false;
        let mut info = PacketInfo::default();
        let mut detailed = false;
        for item in &self.items {
            match item {
                Item::Packet {
                    batch,
                    frame,
                    info: slim,
                } => {
                    let Some((f, bytes)) = self
                        .decodes
                        .get(*batch as usize)
                        .and_then(|d| d.frames.get(*frame as usize).map(|f| (f, &d.bytes)))
                    else {
                        continue;
                    };
                    self.fill(&mut info, slim, &mut detailed);
                    // Decoded again from the bytes: cheaper than moving the decode itself
                    // (some 400 bytes) from core to core.
                    let meta = &f.meta;
                    let checks = Checksums::Known(f.checksum);
                    let data = &bytes[f.data.clone()];
                    // `data` is the frame without an FCS (`Decoder::frame` kept only that).
                    let len = meta.packet(data).1;
                    let first = wire::decode_with(meta.linktype, data, len, checks);
                    let reassembled;
                    let decoded = match &f.whole {
                        Some(w) => {
                            let datagram = &bytes[w.clone()];
                            reassembled = wire::decode_reassembled_with(&first, datagram, checks);
                            &reassembled
                        }
                        None => &first,
                    };
                    sink.packet(&PacketEvent {
                        frame: f.meta,
                        decoded,
                        info: &info,
                    })?;
                }
                Item::Conn(c) => {
                    if let Some(c) = self.conns.get(*c as usize) {
                        sink.conn(c)?;
                    }
                }
                Item::Summary => {
                    if let Some(s) = &self.summary {
                        sink.summary(s)?;
                        sink.flush()?;
                        summary = true;
                    }
                }
            }
        }
        Ok(summary)
    }
}
