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

/// The sum of an address's big-endian 16-bit words, unfolded (at most 8 × 0xffff).
fn address_sum(a: IpAddr) -> u64 {
    // Words two at a time: the low word of each 32-bit lane, plus the high one.
    let lanes = |x: u128| -> u64 {
        const LOW: u128 = 0x0000_ffff_0000_ffff_0000_ffff_0000_ffff;
        let s = (x & LOW) + ((x >> 16) & LOW);
        (s as u32 as u64)
            + ((s >> 32) as u32 as u64)
            + ((s >> 64) as u32 as u64)
            + ((s >> 96) as u32 as u64)
    };
    match a {
        IpAddr::V4(x) => lanes(u128::from(u32::from_be_bytes(x.octets()))),
        IpAddr::V6(x) => lanes(u128::from_be_bytes(x.octets())),
    }
}

/// The pseudo-header's sum (addresses, protocol, transport length). An IPv4 address beside
/// an IPv6 one (never from the decoder) counts as its IPv4-mapped form.
fn pseudo(src: IpAddr, dst: IpAddr, protocol: u8, len: u32) -> u64 {
    let addrs = match (src, dst) {
        (IpAddr::V4(_), IpAddr::V4(_)) => address_sum(src) + address_sum(dst),
        (s, d) => {
            let v6 = |a: IpAddr| match a {
                IpAddr::V4(x) => IpAddr::V6(x.to_ipv6_mapped()),
                v6 => v6,
            };
            address_sum(v6(s)) + address_sum(v6(d))
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
    // Built from a 4-, 2- and 1-byte piece (a copy of variable length would be a call).
    let rest = chunks.remainder();
    let (mut w, mut at) = (0u64, 0usize);
    if let Some(p) = rest.get(..4) {
        w = u64::from(u32::from_le_bytes([p[0], p[1], p[2], p[3]]));
        at = 4;
    }
    if let Some(p) = rest.get(at..at + 2) {
        w |= u64::from(u16::from_le_bytes([p[0], p[1]])) << (8 * at);
        at += 2;
    }
    if let Some(&b) = rest.get(at) {
        w |= u64::from(b) << (8 * at);
    }
    add(w);
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

    /// The pseudo-header's sum is the byte-pair sum of the pseudo-header's bytes (RFC 793's
    /// for IPv4, RFC 8200's for IPv6), for addresses of every byte value.
    #[test]
    fn test_pseudo_header_sum_is_the_reference_sum() {
        let mut x: u32 = 7;
        let mut byte = || {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        };
        for round in 0..2000 {
            let fill = |f: &mut dyn FnMut() -> u8, n: usize| -> Vec<u8> {
                (0..n)
                    .map(|_| if round % 7 == 0 { 0xff } else { f() })
                    .collect()
            };
            let (s4, d4) = (fill(&mut byte, 4), fill(&mut byte, 4));
            let (s6, d6) = (fill(&mut byte, 16), fill(&mut byte, 16));
            let len = u32::from_be_bytes([0, byte(), byte(), byte()]);
            let v4 = |b: &[u8]| IpAddr::from([b[0], b[1], b[2], b[3]]);
            let v6 = |b: &[u8]| {
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                IpAddr::from(a)
            };
            let wire = [s4.as_slice(), &d4, &[0, 6], &(len as u16).to_be_bytes()].concat();
            assert_eq!(
                fold(pseudo(v4(&s4), v4(&d4), 6, u32::from(len as u16))),
                fold(reference_sum(&wire, 0))
            );
            let wire = [s6.as_slice(), &d6, &len.to_be_bytes(), &[0, 0, 0, 17]].concat();
            assert_eq!(
                fold(pseudo(v6(&s6), v6(&d6), 17, len)),
                fold(reference_sum(&wire, 0))
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
