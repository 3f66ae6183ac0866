//! TCP and UDP checksums (RFC 1071 one's complement over the IP pseudo-header and the
//! segment), with the verdicts of the contract: good, bad, offload, unverified.

use std::net::IpAddr;

/// A checksum verdict (the contract's `checksum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Checksum {
    Good,
    Bad,
    /// The field holds only the pseudo-header's sum: what Linux leaves for the NIC to finish
    /// (checksum offload), seen on loopback and on outgoing packets. Not an error.
    Offload,
    /// Not checkable: cut by the snaplen, a UDP checksum of zero (none sent), a header that
    /// contradicts itself.
    #[default]
    Unverified,
}

impl Checksum {
    pub fn as_str(self) -> &'static str {
        match self {
            Checksum::Good => "good",
            Checksum::Bad => "bad",
            Checksum::Offload => "offload",
            Checksum::Unverified => "unverified",
        }
    }
}

fn fold(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The pseudo-header's sum (addresses, protocol, transport length).
fn pseudo(src: IpAddr, dst: IpAddr, protocol: u8, len: u32) -> u64 {
    let addrs = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            u64::from(ones_sum(&s.octets())) + u64::from(ones_sum(&d.octets()))
        }
        (s, d) => {
            let v6 = |a: IpAddr| match a {
                IpAddr::V6(x) => x.octets(),
                IpAddr::V4(x) => x.to_ipv6_mapped().octets(),
            };
            u64::from(ones_sum(&v6(s))) + u64::from(ones_sum(&v6(d)))
        }
    };
    addrs + u64::from(protocol) + u64::from(len >> 16) + u64::from(len & 0xffff)
}

/// The one's complement sum of `bytes` as big-endian 16-bit words (an odd last byte padded
/// with zero), folded to 16 bits. The sum does not depend on byte order (RFC 1071 §2 B), so
/// whole 64-bit words are added in the machine's order with end-around carry (§2 C) and the
/// folded result is swapped at the end: every packet's checksum goes through here.
fn ones_sum(bytes: &[u8]) -> u16 {
    let mut acc: u64 = 0;
    let mut add = |w: u64| {
        acc = acc.wrapping_add(w);
        // End-around carry: the sum wrapped past 2^64, so one more.
        if acc < w {
            acc += 1;
        }
    };
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        add(u64::from_le_bytes(w));
    }
    // The rest, zero-padded: its 16-bit words stay where they were (the chunks are eight
    // bytes from the start), and an odd last byte gets its zero partner, as RFC 1071 pads.
    let rest = chunks.remainder();
    let mut w = [0u8; 8];
    w[..rest.len()].copy_from_slice(rest);
    add(u64::from_le_bytes(w));
    fold(acc).swap_bytes()
}

/// The verdict on a whole transport segment (`bytes`, header included) whose checksum
/// field is at `field_at`. The caller passes only segments captured whole.
pub fn verdict(src: IpAddr, dst: IpAddr, protocol: u8, bytes: &[u8]) -> Checksum {
    let field_at = if protocol == 6 { 16 } else { 6 };
    let Some(f) = bytes.get(field_at..field_at + 2) else {
        return Checksum::Unverified;
    };
    let field = u16::from_be_bytes([f[0], f[1]]);
    let pseudo = pseudo(src, dst, protocol, bytes.len() as u32);
    if fold(u64::from(ones_sum(bytes)) + pseudo) == 0xffff {
        Checksum::Good
    } else if field == fold(pseudo) {
        Checksum::Offload
    } else {
        Checksum::Bad
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: big-endian 16-bit words added pair by pair (an odd last byte padded
    /// with zero) to `acc`, not folded.
    fn reference_sum(bytes: &[u8], mut acc: u64) -> u64 {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            // Adding the two 32-bit halves keeps room for carries in 64 bits.
            acc += (w >> 32) + (w & 0xffff_ffff);
        }
        let rest = chunks.remainder();
        let mut pairs = rest.chunks_exact(2);
        for p in &mut pairs {
            acc += u64::from(u16::from_be_bytes([p[0], p[1]]));
        }
        if let [last] = pairs.remainder() {
            acc += u64::from(*last) << 8;
        }
        acc
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test data")
    }

    /// A UDP datagram 127.0.0.1:1 → 127.0.0.1:2 carrying `data`, with `check` in its field.
    fn udp(data: &[u8], check: u16) -> Vec<u8> {
        let mut b = vec![0, 1, 0, 2];
        b.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
        b.extend_from_slice(&check.to_be_bytes());
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn test_good_bad_and_offload() {
        let lo = ip("127.0.0.1");
        // Fill in the right checksum: ones' complement of the sum with the field zero.
        let mut b = udp(b"hello", 0);
        let right = !fold(reference_sum(&b, pseudo(lo, lo, 17, b.len() as u32)));
        b[6..8].copy_from_slice(&right.to_be_bytes());
        assert_eq!(verdict(lo, lo, 17, &b), Checksum::Good);
        b[9] ^= 1;
        assert_eq!(verdict(lo, lo, 17, &b), Checksum::Bad);
        // What Linux leaves for offload: the pseudo-header's sum, not complemented.
        let partial = fold(pseudo(lo, lo, 17, b.len() as u32));
        let b = udp(b"hello", partial);
        assert_eq!(verdict(lo, lo, 17, &b), Checksum::Offload);
    }

    #[test]
    fn test_odd_lengths_and_ipv6() {
        let (a, z) = (ip("2001:db8::1"), ip("::1"));
        for len in 0..20 {
            let data: Vec<u8> = (0..len as u8).map(|x| x.wrapping_mul(37)).collect();
            let mut b = udp(&data, 0);
            let right = !fold(reference_sum(&b, pseudo(a, z, 17, b.len() as u32)));
            b[6..8].copy_from_slice(&right.to_be_bytes());
            assert_eq!(verdict(a, z, 17, &b), Checksum::Good, "length {len}");
        }
    }

    /// The word-at-a-time sum is the byte-pair sum, for every length and alignment of the
    /// end, and sums that carry many times.
    #[test]
    fn test_fast_sum_is_the_reference_sum() {
        let mut x: u32 = 1;
        for len in 0..300usize {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (x >> 16) as u8
                })
                .collect();
            assert_eq!(
                ones_sum(&data),
                fold(reference_sum(&data, 0)),
                "length {len}"
            );
            let ones = vec![0xffu8; len];
            assert_eq!(
                ones_sum(&ones),
                fold(reference_sum(&ones, 0)),
                "0xff × {len}"
            );
        }
    }

    #[test]
    fn test_truncated_header_is_unverified() {
        assert_eq!(
            verdict(ip("10.0.0.1"), ip("10.0.0.2"), 6, &[0; 10]),
            Checksum::Unverified
        );
    }
}
