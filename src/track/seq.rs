//! Sequence numbers as a wrapping type compared modulo 2³² (RFC 9293 §3.4).

use std::cmp::Ordering;
use std::ops::{Add, Sub};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl Add<u32> for SeqNumber {
    type Output = SeqNumber;
    fn add(self, n: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(n))
    }
}

impl Sub for SeqNumber {
    type Output = u32;
    /// Distance from `rhs` forward to `self`.
    fn sub(self, rhs: SeqNumber) -> u32 {
        self.0.wrapping_sub(rhs.0)
    }
}

impl PartialOrd for SeqNumber {
    /// `a < b` when b lies less than 2³¹ ahead of a: the only order that survives wrap-around.
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        let d = self.0.wrapping_sub(other.0) as i32;
        Some(d.cmp(&0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_wraparound_order() {
        let a = SeqNumber(u32::MAX - 1);
        let b = a + 5;
        assert_eq!(b.0, 3);
        assert!(a < b);
        assert!(b > a);
        assert_eq!(b - a, 5);
    }
}
