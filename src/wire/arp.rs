//! ARP over Ethernet/IPv4 (who-has / is-at), the only kind a loopback or LAN capture shows.

use std::net::Ipv4Addr;

use pnet_packet::arp::ArpPacket as PnetArp;

use super::{Shortfall, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpPacket {
    pub operation: u16,
    /// Sender and target protocol addresses when they are IPv4.
    pub sender: Option<Ipv4Addr>,
    pub target: Option<Ipv4Addr>,
}

pub fn parse(span: Span<'_>) -> Result<ArpPacket, Shortfall> {
    span.need("ARP", 8)?;
    let b = span.bytes;
    let operation = u16::from_be_bytes([b[6], b[7]]);
    let (hlen, plen, ptype) = (b[4], b[5], u16::from_be_bytes([b[2], b[3]]));
    let mut a = ArpPacket {
        operation,
        sender: None,
        target: None,
    };
    if hlen == 6 && plen == 4 && ptype == 0x0800 {
        span.need("ARP", 28)?;
        if let Some(p) = PnetArp::new(b) {
            a.sender = Some(p.get_sender_proto_addr());
            a.target = Some(p.get_target_proto_addr());
        }
    }
    Ok(a)
}
