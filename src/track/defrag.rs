//! IPv4 and IPv6 reassembly, as Wireshark does by default: fragments are held until the
//! datagram is whole, and its transport is decoded in the frame that completes it.

use std::net::IpAddr;

use rustc_hash::FxHashMap;

use super::seq::Coverage;
use crate::wire::Decoded;

/// Largest datagram we will rebuild (IPv4's limit; IPv6 jumbograms are not fragmented).
const MAX_DATAGRAM: u32 = 65_535;
/// Datagrams being rebuilt at once; the oldest is dropped beyond this.
const MAX_PENDING: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    protocol: u8,
}

#[derive(Debug)]
struct Pending {
    data: Vec<u8>,
    have: Coverage,
    got: u32,
    total: Option<u32>,
    first_frame: u64,
}

#[derive(Debug, Default)]
pub struct Reassembler {
    pending: FxHashMap<Key, Pending>,
}

impl Reassembler {
    pub fn new() -> Self {
        Reassembler::default()
    }

    /// Takes a frame; returns the whole datagram's payload when this frame completes it.
    pub fn feed(&mut self, frame: u64, d: &Decoded<'_>) -> Option<Vec<u8>> {
        let bytes = d.fragment?;
        let ip = d.ip?;
        let off = ip.fragment.offset;
        let end = off.checked_add(bytes.len() as u32)?;
        if end > MAX_DATAGRAM {
            return None;
        }
        let key = Key {
            src: ip.src,
            dst: ip.dst,
            id: ip.id,
            protocol: ip.protocol,
        };
        if !self.pending.contains_key(&key) && self.pending.len() >= MAX_PENDING {
            let oldest = self
                .pending
                .iter()
                .min_by_key(|(_, p)| p.first_frame)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.pending.remove(&k);
            }
        }
        let p = self.pending.entry(key).or_insert_with(|| Pending {
            data: Vec::new(),
            have: Coverage::default(),
            got: 0,
            total: None,
            first_frame: frame,
        });
        if p.data.len() < end as usize {
            p.data.resize(end as usize, 0);
        }
        p.data[off as usize..end as usize].copy_from_slice(bytes);
        p.got += p.have.add(u64::from(off), bytes.len() as u32);
        if !ip.fragment.more {
            p.total = Some(end);
        }
        match p.total {
            Some(t) if p.got >= t => {
                let mut whole = self.pending.remove(&key)?.data;
                whole.truncate(t as usize);
                Some(whole)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire;

    /// Ethernet + IPv4 fragment of a UDP datagram.
    fn frag(id: u16, off: u16, more: bool, data: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
        f.extend_from_slice(&((20 + data.len()) as u16).to_be_bytes());
        f.extend_from_slice(&id.to_be_bytes());
        let ff = (off / 8) | if more { 0x2000 } else { 0 };
        f.extend_from_slice(&ff.to_be_bytes());
        f.extend_from_slice(&[64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(data);
        f
    }

    #[test]
    fn test_out_of_order_fragments_reassemble_in_the_completing_frame() {
        let mut dg = vec![0x13, 0x88, 0x1f, 0x91, 0, 48, 0, 0];
        dg.extend_from_slice(&[b'A'; 40]);
        let (a, b) = (frag(7, 0, true, &dg[..24]), frag(7, 24, false, &dg[24..]));
        let mut r = Reassembler::new();
        let d = wire::decode(1, &b, b.len() as u32);
        assert!(
            r.feed(2, &d).is_none(),
            "the last fragment alone is not a datagram"
        );
        let d = wire::decode(1, &a, a.len() as u32);
        let whole = r.feed(3, &d).expect("complete");
        assert_eq!(whole, dg);
        let re = wire::decode_reassembled(&d, &whole);
        assert_eq!(re.proto, wire::Proto::Udp);
        match re.transport {
            wire::Transport::Udp(u) => assert_eq!((u.sport, u.dport, u.len), (5000, 8081, 40)),
            _ => panic!("no UDP"),
        }
    }

    #[test]
    fn test_fragments_of_other_datagrams_do_not_mix() {
        let mut r = Reassembler::new();
        let a = frag(1, 0, true, &[0; 16]);
        let b = frag(2, 16, false, &[0; 16]);
        for (n, f) in [(1, a), (2, b)] {
            let d = wire::decode(1, &f, f.len() as u32);
            assert!(r.feed(n, &d).is_none());
        }
    }
}
