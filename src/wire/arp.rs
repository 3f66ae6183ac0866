//! ARP over Ethernet/IPv4 (who-has / is-at), the only kind a loopback or LAN capture shows.

use std::net::Ipv4Addr;

use pnet_packet::arp::ArpPacket as PnetArp;

use super::numbers::EtherType;
use super::{Parsed, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpPacket {
    pub operation: u16,
    /// Sender and target protocol addresses when they are IPv4.
    pub sender: Option<Ipv4Addr>,
    pub target: Option<Ipv4Addr>,
}

pub fn parse(span: Span<'_>) -> Parsed<ArpPacket> {
    if let Err(s) = span.need("ARP", 8) {
        return (None, Some(s));
    }
    let b = span.bytes;
    let operation = u16::from_be_bytes([b[6], b[7]]);
    let (hlen, plen, ptype) = (b[4], b[5], u16::from_be_bytes([b[2], b[3]]));
    let mut a = ArpPacket {
        operation,
        sender: None,
        target: None,
    };
    if hlen == 6 && plen == 4 && EtherType::from(ptype) == EtherType::Ipv4 {
        if let Err(s) = span.need("ARP", 28) {
            return (None, Some(s));
        }
        if let Some(p) = PnetArp::new(b) {
            a.sender = Some(p.get_sender_proto_addr());
            a.target = Some(p.get_target_proto_addr());
        }
    }
    (Some(a), None)
}
