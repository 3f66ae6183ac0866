//! UDP conversations, numbered like Wireshark's `udp.stream`, with request/reply pairing:
//! a datagram from the first sender answered by one from its peer.

use super::facts::UdpFacts;
use super::flow::{BySide, FlowSummary, MoreRequest, Pairing, Side, Step};
use super::{FlowKey, PacketInfo};
use crate::time::Timestamp;

#[derive(Debug, Clone)]
pub struct UdpConv {
    pub stream: u32,
    pub key: FlowKey,
    /// Canonical side of the first sender.
    client: Side,
    first_frame: u64,
    last_frame: u64,
    first_ts: Timestamp,
    pub last_ts: Timestamp,
    packets: BySide<u64>,
    bytes: BySide<u64>,
    pairing: Pairing,
    resumed: bool,
}

impl UdpConv {
    pub fn new(stream: u32, key: FlowKey, side: Side, frame: u64, ts: Timestamp) -> Self {
        UdpConv {
            stream,
            key,
            client: side,
            first_frame: frame,
            last_frame: frame,
            first_ts: ts,
            last_ts: ts,
            packets: BySide::default(),
            bytes: BySide::default(),
            pairing: Pairing::default(),
            resumed: false,
        }
    }

    /// A flow summed up earlier that came back: its stream number and client again.
    pub fn resume(t: super::Tomb, key: FlowKey, frame: u64, ts: Timestamp) -> Self {
        UdpConv {
            resumed: true,
            ..UdpConv::new(t.stream, key, t.client, frame, ts)
        }
    }

    /// What is kept of this flow once it leaves memory.
    pub fn tomb(&self) -> super::Tomb {
        super::Tomb {
            stream: self.stream,
            client: self.client,
            bases: BySide::default(),
            burial: 0,
            tcp: None,
        }
    }

    /// A datagram of this flow that carried a tunnelled frame (VXLAN, Geneve): counted, but
    /// its payload belongs to the inner conversation.
    pub fn carries(&mut self, frame: u64, ts: Timestamp, side: Side) {
        self.packets[side] += 1;
        self.last_frame = frame;
        self.last_ts = ts;
    }

    pub fn datagram(
        &mut self,
        info: &mut PacketInfo,
        frame: u64,
        ts: Timestamp,
        side: Side,
        dg: &UdpFacts<'_>,
        keep: &mut super::flow::Keep,
    ) {
        self.packets[side] += 1;
        self.bytes[side] += dg.len as u64;
        self.last_frame = frame;
        self.last_ts = ts;
        info.from_client = side == self.client;
        info.step = Some(Step::Datagram);
        if side == self.client {
            self.pairing
                .request(frame, ts, dg.payload, keep, MoreRequest::Replaces);
        } else if let Some(r) = self.pairing.reply(frame, ts, dg.payload, keep) {
            info.reply_to = Some(r);
        }
    }

    pub fn packets(&self) -> u64 {
        self.packets.0.iter().sum()
    }

    /// The record; the conversation gives up its exchanges (see `TcpConv::summary`).
    pub fn summary(&mut self) -> FlowSummary {
        let c = self.client;
        let s = c.other();
        let (exchanges, text) = std::mem::take(&mut self.pairing).into_parts();
        FlowSummary {
            stream: self.stream,
            client: self.key.endpoint(c),
            server: self.key.endpoint(s),
            first_frame: self.first_frame,
            last_frame: self.last_frame,
            packets: self.packets.0.iter().sum(),
            packets_c2s: self.packets[c],
            packets_s2c: self.packets[s],
            bytes_c2s: self.bytes[c],
            bytes_s2c: self.bytes[s],
            duration: self.last_ts.since(self.first_ts),
            exchanges,
            text,
            ended: super::Ended::EndOfInput,
            resumed: self.resumed,
        }
    }
}
