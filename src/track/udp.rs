//! UDP conversations, numbered like Wireshark's `udp.stream`, with request/reply pairing:
//! a datagram from the first sender answered by one from its peer.

use std::net::IpAddr;

use super::tcp::{Exchange, Step};
use super::{FlowKey, PacketInfo};
use crate::time::{Duration, Timestamp};
use crate::wire::UdpDatagram;

#[derive(Debug, Clone)]
pub struct UdpConv {
    pub stream: u32,
    pub key: FlowKey,
    /// Canonical side of the first sender.
    client: usize,
    first_frame: u64,
    last_frame: u64,
    first_ts: Timestamp,
    pub last_ts: Timestamp,
    packets: [u64; 2],
    bytes: [u64; 2],
    /// The newest unanswered request: frame, time, start in `text`.
    pending: Option<(u64, Timestamp, usize)>,
    exchanges: Vec<Exchange>,
    text: Vec<u8>,
    resumed: bool,
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

impl UdpConv {
    pub fn new(stream: u32, key: FlowKey, side: usize, frame: u64, ts: Timestamp) -> Self {
        UdpConv {
            stream,
            key,
            client: side,
            first_frame: frame,
            last_frame: frame,
            first_ts: ts,
            last_ts: ts,
            packets: [0; 2],
            bytes: [0; 2],
            pending: None,
            exchanges: Vec::new(),
            text: Vec::new(),
            resumed: false,
        }
    }

    /// A flow summed up earlier that came back: its stream number and client again.
    pub fn resume(t: super::Tomb, key: FlowKey, frame: u64, ts: Timestamp) -> Self {
        UdpConv {
            resumed: true,
            ..UdpConv::new(t.stream, key, usize::from(t.client), frame, ts)
        }
    }

    /// What is kept of this flow once it leaves memory.
    pub fn tomb(&self) -> super::Tomb {
        super::Tomb {
            stream: self.stream,
            client: self.client as u8,
            bases: [None; 2],
            burial: 0,
            tcp: None,
        }
    }

    /// A datagram of this flow that carried a tunnelled frame (VXLAN, Geneve): counted, but
    /// its payload belongs to the inner conversation.
    pub fn carries(&mut self, frame: u64, ts: Timestamp, side: usize) {
        self.packets[side] += 1;
        self.last_frame = frame;
        self.last_ts = ts;
    }

    pub fn datagram(
        &mut self,
        info: &mut PacketInfo,
        frame: u64,
        ts: Timestamp,
        side: usize,
        dg: &UdpDatagram<'_>,
        keep: usize,
    ) {
        self.packets[side] += 1;
        self.bytes[side] += dg.len as u64;
        self.last_frame = frame;
        self.last_ts = ts;
        info.from_client = side == self.client;
        info.step = Some(Step::Datagram);
        let body = &dg.payload[..dg.payload.len().min(keep)];
        if side == self.client {
            // The newest request is the one a reply answers; an unanswered older one is
            // forgotten, so the buffer stays bounded when nothing ever replies.
            let start = match self.pending {
                Some((_, _, old)) => {
                    self.text.truncate(old);
                    old
                }
                None => self.text.len(),
            };
            self.text.extend_from_slice(body);
            self.pending = Some((frame, ts, start));
        } else if let Some((req_frame, req_ts, start)) = self.pending.take() {
            let rtt = ts.since(req_ts);
            info.reply_to = Some((req_frame, rtt));
            let request = start..self.text.len();
            self.text.extend_from_slice(body);
            self.exchanges.push(Exchange {
                request_frame: req_frame,
                reply_frame: frame,
                reply: request.end..self.text.len(),
                request,
                rtt,
            });
        }
    }

    pub fn packets(&self) -> u64 {
        self.packets[0] + self.packets[1]
    }

    pub fn summary(self) -> FlowSummary {
        let c = self.client;
        let s = 1 - c;
        FlowSummary {
            stream: self.stream,
            client: self.key.endpoint(c),
            server: self.key.endpoint(s),
            first_frame: self.first_frame,
            last_frame: self.last_frame,
            packets: self.packets[0] + self.packets[1],
            packets_c2s: self.packets[c],
            packets_s2c: self.packets[s],
            bytes_c2s: self.bytes[c],
            bytes_s2c: self.bytes[s],
            duration: self.last_ts.since(self.first_ts),
            exchanges: self.exchanges,
            text: self.text,
            ended: super::Ended::EndOfInput,
            resumed: self.resumed,
        }
    }
}
