//! What TCP and UDP conversations share: the `conn` record's common part (`FlowSummary`),
//! the packet's `step`, and request/reply pairing, written once.

use std::net::IpAddr;
use std::ops::Range;

use crate::time::{Duration, Timestamp};

/// What a segment or datagram does in its conversation (the contract's `step`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Syn,
    SynAck,
    HandshakeAck,
    Data,
    Ack,
    Fin,
    Rst,
    Datagram,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Syn => "syn",
            Step::SynAck => "syn-ack",
            Step::HandshakeAck => "handshake-ack",
            Step::Data => "data",
            Step::Ack => "ack",
            Step::Fin => "fin",
            Step::Rst => "rst",
            Step::Datagram => "datagram",
        }
    }
}

/// A request and the reply that answered it; the texts are ranges of the conversation's
/// `text` buffer, so keeping them costs no allocation per message.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    pub request_frame: u64,
    pub reply_frame: u64,
    pub request: Range<usize>,
    pub reply: Range<usize>,
    pub rtt: Duration,
}

/// What every `conn` line says, TCP or UDP: the two ends, the frames, the counts each way
/// and the request/reply exchanges.
#[derive(Debug, Clone)]
pub struct FlowSummary {
    pub stream: u32,
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    pub first_frame: u64,
    pub last_frame: u64,
    pub packets: u64,
    pub packets_c2s: u64,
    pub packets_s2c: u64,
    pub bytes_c2s: u64,
    pub bytes_s2c: u64,
    pub duration: Duration,
    pub exchanges: Vec<Exchange>,
    /// The bytes `exchanges` point into.
    pub text: Vec<u8>,
    /// Why the record was written.
    pub ended: super::Ended,
    /// The flow was summed up before and came back: this record continues that stream.
    pub resumed: bool,
}

/// Which end of a flow key a packet came from: the lower or the higher endpoint in the
/// key's canonical order (so either direction finds the conversation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Side {
    #[default]
    Lo,
    Hi,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Lo, Side::Hi];

    pub fn other(self) -> Side {
        match self {
            Side::Lo => Side::Hi,
            Side::Hi => Side::Lo,
        }
    }
}

/// What an endpoint is to the conversation: the client opened it (the first SYN's sender, or
/// the first datagram's), the server answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Client,
    Server,
}

impl Role {
    pub fn other(self) -> Role {
        match self {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }
    }
}

/// One value per side of a flow key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BySide<T>(pub [T; 2]);

impl<T> std::ops::Index<Side> for BySide<T> {
    type Output = T;
    fn index(&self, s: Side) -> &T {
        &self.0[s as usize]
    }
}

impl<T> std::ops::IndexMut<Side> for BySide<T> {
    fn index_mut(&mut self, s: Side) -> &mut T {
        &mut self.0[s as usize]
    }
}

impl<T> BySide<T> {
    /// Both values, the sender's first.
    pub fn split_mut(&mut self, first: Side) -> (&mut T, &mut T) {
        let [a, b] = &mut self.0;
        match first {
            Side::Lo => (a, b),
            Side::Hi => (b, a),
        }
    }

    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, T> {
        self.0.iter_mut()
    }
}

/// One value per role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ByRole<T>(pub [T; 2]);

impl<T> std::ops::Index<Role> for ByRole<T> {
    type Output = T;
    fn index(&self, r: Role) -> &T {
        &self.0[r as usize]
    }
}

impl<T> std::ops::IndexMut<Role> for ByRole<T> {
    fn index_mut(&mut self, r: Role) -> &mut T {
        &mut self.0[r as usize]
    }
}

/// What a second request does to one still unanswered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoreRequest {
    /// TCP: the client's next segment continues the same request (a byte stream).
    Continues,
    /// UDP: the newest datagram is the one a reply answers; the older one is forgotten, so
    /// the buffer stays bounded when nothing ever replies.
    Replaces,
}

/// A request waiting for its reply; its bytes start at `start` in the text buffer.
#[derive(Debug, Clone, Copy)]
struct Pending {
    frame: u64,
    ts: Timestamp,
    start: usize,
}

/// How many bytes of each request and reply are kept, and buffers to keep them in: those of
/// records that were printed, given back (`recycle`) and taken by a conversation when it
/// first pairs, so that a conversation that never does holds none.
#[derive(Debug, Default)]
pub struct Keep {
    pub bytes: usize,
    exchanges: Vec<Vec<Exchange>>,
    text: Vec<Vec<u8>>,
}

impl Keep {
    /// Records come back a batch at a time (up to a thousand: `Recorded::ITEMS`), and the
    /// next batch's conversations should all find buffers: two batches' worth.
    const SPARE: usize = 2048;
    /// Larger buffers are freed, so that a few long exchanges do not pin their memory; these
    /// are `Pairing::compact`'s limits, so a reused buffer is never shrunk there.
    const MAX_TEXT: usize = 1024;
    const MAX_EXCHANGES: usize = 16;

    pub fn new(bytes: usize) -> Keep {
        Keep {
            bytes,
            ..Keep::default()
        }
    }

    /// A printed record's buffers, for the next conversations (empty ones are not kept:
    /// they would only be allocated later).
    pub fn recycle(&mut self, mut exchanges: Vec<Exchange>, mut text: Vec<u8>) {
        if self.exchanges.len() < Keep::SPARE
            && (1..=Keep::MAX_EXCHANGES).contains(&exchanges.capacity())
        {
            exchanges.clear();
            self.exchanges.push(exchanges);
        }
        if self.text.len() < Keep::SPARE && (1..=Keep::MAX_TEXT).contains(&text.capacity()) {
            text.clear();
            self.text.push(text);
        }
    }
}

/// Request/reply pairing: the client's payload is a request until the server's first
/// payload after it, which is the reply. At most `keep` bytes of each are kept.
#[derive(Debug, Clone, Default)]
pub struct Pairing {
    pending: Option<Pending>,
    exchanges: Vec<Exchange>,
    text: Vec<u8>,
}

impl Pairing {
    /// Client payload.
    pub fn request(
        &mut self,
        frame: u64,
        ts: Timestamp,
        payload: &[u8],
        keep: &mut Keep,
        more: MoreRequest,
    ) {
        if self.text.capacity() == 0
            && let Some(t) = keep.text.pop()
        {
            self.text = t;
        }
        let usual = keep.bytes.min(256);
        if more == MoreRequest::Continues && self.text.capacity() < usual {
            // One allocation for the usual request and reply instead of a doubling series
            // (a datagram's request is kept whole at once: no series to save). A reused
            // buffer may be smaller than that.
            self.text.reserve(usual - self.text.len());
        }
        let keep = keep.bytes;
        let start = match (self.pending, more) {
            (Some(p), MoreRequest::Continues) => p.start,
            (Some(p), MoreRequest::Replaces) => {
                self.text.truncate(p.start);
                self.pending = Some(Pending { frame, ts, ..p });
                p.start
            }
            (None, _) => {
                let start = self.text.len();
                self.pending = Some(Pending { frame, ts, start });
                start
            }
        };
        let room = keep.saturating_sub(self.text.len() - start);
        self.text
            .extend_from_slice(&payload[..payload.len().min(room)]);
    }

    /// Server payload: the reply to the pending request, if there is one; returns the
    /// request's frame and the time it took (the packet's `reply_to`).
    pub fn reply(
        &mut self,
        frame: u64,
        ts: Timestamp,
        payload: &[u8],
        keep: &mut Keep,
    ) -> Option<(u64, Duration)> {
        let p = self.pending.take()?;
        if self.exchanges.capacity() == 0
            && let Some(e) = keep.exchanges.pop()
        {
            self.exchanges = e;
        }
        let keep = keep.bytes;
        let rtt = ts.since(p.ts);
        let request = p.start..self.text.len();
        self.text
            .extend_from_slice(&payload[..payload.len().min(keep)]);
        self.exchanges.push(Exchange {
            request_frame: p.frame,
            reply_frame: frame,
            reply: request.end..self.text.len(),
            request,
            rtt,
        });
        Some((p.frame, rtt))
    }

    /// Gives back spare capacity once the conversation is over, when there is much of it
    /// (a reallocation per conversation for a few hundred bytes costs more than it saves).
    pub fn compact(&mut self) {
        if self.exchanges.capacity() - self.exchanges.len() > 16 {
            self.exchanges.shrink_to_fit();
        }
        if self.text.capacity() - self.text.len() > 1024 {
            self.text.shrink_to_fit();
        }
    }

    /// The exchanges and the bytes they point into, for the record.
    pub fn into_parts(self) -> (Vec<Exchange>, Vec<u8>) {
        (self.exchanges, self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i32) -> Timestamp {
        Timestamp {
            secs: 100,
            nsecs: ms * 1_000_000,
        }
    }

    #[test]
    fn test_tcp_request_continues_until_the_reply() {
        let mut p = Pairing::default();
        let k = &mut Keep::new(1024);
        p.request(1, at(0), b"hel", k, MoreRequest::Continues);
        p.request(2, at(1), b"lo", k, MoreRequest::Continues);
        assert_eq!(
            p.reply(3, at(5), b"hi", k),
            Some((1, Duration::from_nanos(5_000_000)))
        );
        // A second server segment is not another reply.
        assert_eq!(p.reply(4, at(6), b"there", k), None);
        let (ex, text) = p.into_parts();
        assert_eq!(ex.len(), 1);
        assert_eq!(&text[ex[0].request.clone()], b"hello");
        assert_eq!(&text[ex[0].reply.clone()], b"hi");
    }

    #[test]
    fn test_udp_newest_request_is_answered_and_keep_bounds_both() {
        let mut p = Pairing::default();
        let k = &mut Keep::new(3);
        p.request(1, at(0), b"first", k, MoreRequest::Replaces);
        p.request(2, at(2), b"second", k, MoreRequest::Replaces);
        assert_eq!(
            p.reply(3, at(3), b"answer", k),
            Some((2, Duration::from_nanos(1_000_000)))
        );
        let (ex, text) = p.into_parts();
        assert_eq!(&text[ex[0].request.clone()], b"sec");
        assert_eq!(&text[ex[0].reply.clone()], b"ans");
        assert_eq!(text.len(), 6, "the forgotten request's bytes are gone");
    }

    #[test]
    fn test_printed_records_lend_their_buffers_to_the_next_pairings() {
        let k = &mut Keep::new(64);
        let mut p = Pairing::default();
        p.request(1, at(0), b"ping", k, MoreRequest::Continues);
        p.reply(2, at(1), b"pong", k);
        let (ex, text) = p.into_parts();
        let (ex_at, text_at) = (ex.as_ptr(), text.as_ptr());
        k.recycle(ex, text);
        // The next conversation pairs in the same memory, emptied.
        let mut q = Pairing::default();
        q.request(3, at(2), b"GET", k, MoreRequest::Continues);
        q.reply(4, at(3), b"OK", k);
        let (ex, text) = q.into_parts();
        assert_eq!((ex.as_ptr(), text.as_ptr()), (ex_at, text_at));
        assert_eq!(&text[ex[0].request.clone()], b"GET");
        assert_eq!(&text[ex[0].reply.clone()], b"OK");
        assert_eq!(ex.len(), 1);
        // Buffers too large to hold on to, and empty ones, are not kept.
        k.recycle(Vec::new(), Vec::with_capacity(Keep::MAX_TEXT + 1));
        let mut r = Pairing::default();
        r.request(5, at(4), b"x", k, MoreRequest::Replaces);
        assert!(r.into_parts().1.capacity() <= Keep::MAX_TEXT);
    }
}
