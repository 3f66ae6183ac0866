//! The byte ranges a direction has sent, counted once however often they are sent, over
//! sequence numbers (the wrapping `SeqNumber` of `wire::tcp`).

use smallvec::SmallVec;

pub use crate::wire::tcp::SeqNumber;

/// The byte ranges of one direction's stream seen so far, relative to its base and in 64
/// bits (a stream goes on past 4 GiB: see `unwrap`), so that a retransmission counts no byte
/// twice and a hole filled later still counts.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    /// Sorted, disjoint, half-open ranges. Most streams are one range (two while a hole
    /// waits to be filled): those live inline, with no allocation per conversation.
    ranges: SmallVec<[(u64, u64); 2]>,
}

impl Coverage {
    /// Bounds the list on hostile input; beyond it the closest ranges merge (over-coverage).
    const MAX_RANGES: usize = 64;

    pub fn compact(&mut self) {
        self.ranges.shrink_to_fit();
    }

    /// How many bytes of [lo, hi) are covered.
    pub fn count_in(&self, lo: u64, hi: u64) -> u64 {
        self.ranges
            .iter()
            .map(|&(s, e)| e.min(hi).saturating_sub(s.max(lo)))
            .sum()
    }

    /// Adds [start, start+len) and returns how many of its bytes are new.
    pub fn add(&mut self, start: u64, len: u32) -> u32 {
        if len == 0 {
            return 0;
        }
        let end = start.saturating_add(u64::from(len));
        let mut new = len;
        let mut s = start;
        let mut e = end;
        let mut i = 0;
        while i < self.ranges.len() {
            let (rs, re) = self.ranges[i];
            if re < s || rs > e {
                i += 1;
                continue;
            }
            // Overlapping or touching: subtract the overlap, absorb the range.
            let overlap = re.min(end).saturating_sub(rs.max(start));
            new = new.saturating_sub(u32::try_from(overlap).unwrap_or(u32::MAX));
            s = s.min(rs);
            e = e.max(re);
            self.ranges.remove(i);
        }
        let at = self.ranges.partition_point(|r| r.0 < s);
        self.ranges.insert(at, (s, e));
        if self.ranges.len() > Self::MAX_RANGES {
            let k = (1..self.ranges.len())
                .min_by_key(|&k| self.ranges[k].0 - self.ranges[k - 1].1)
                .unwrap_or(1);
            let merged = (self.ranges[k - 1].0, self.ranges[k].1);
            self.ranges[k - 1] = merged;
            self.ranges.remove(k);
        }
        new
    }
}

/// A 32-bit offset from a stream's base as a 64-bit one: the candidate (one 2^32 lap back,
/// this lap, one ahead) nearest to `near`, the furthest offset seen so far. Sequence numbers
/// wrap every 4 GiB; the stream does not.
pub fn unwrap(near: u64, rel: u32) -> u64 {
    const LAP: u64 = 1 << 32;
    let this = (near & !(LAP - 1)) | u64::from(rel);
    let dist = |x: u64| x.abs_diff(near);
    let mut best = this;
    if let Some(back) = this.checked_sub(LAP)
        && dist(back) < dist(best)
    {
        best = back;
    }
    let ahead = this.saturating_add(LAP);
    if dist(ahead) < dist(best) {
        best = ahead;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_coverage_counts_each_byte_once() {
        let mut c = Coverage::default();
        assert_eq!(c.add(0, 100), 100);
        assert_eq!(c.add(200, 100), 100); // a hole at 100..200
        assert_eq!(c.add(0, 100), 0); // retransmission
        assert_eq!(c.add(100, 100), 100); // the hole filled late
        assert_eq!(c.add(50, 300), 50); // overlaps everything, 50 new at the end
        assert_eq!(c.ranges.as_slice(), [(0, 350)]);
    }

    #[test]
    fn test_unwrap_follows_the_stream_past_4_gib() {
        assert_eq!(unwrap(0, 1000), 1000);
        // Just past the wrap: the next lap.
        assert_eq!(unwrap(u64::from(u32::MAX) - 10, 5), (1 << 32) + 5);
        // A late segment from just before the wrap, after it: the previous lap.
        assert_eq!(
            unwrap((1 << 32) + 100, u32::MAX - 50),
            u64::from(u32::MAX) - 50
        );
        let mut c = Coverage::default();
        assert_eq!(c.add(u64::from(u32::MAX) - 9, 20), 20);
        assert_eq!(c.count_in(1 << 32, (1 << 32) + 100), 10);
    }

    #[test]
    fn test_count_in() {
        let mut c = Coverage::default();
        c.add(1, 100);
        c.add(201, 100);
        assert_eq!(c.count_in(1, 301), 200);
        assert_eq!(c.count_in(50, 250), 51 + 49);
        assert_eq!(c.count_in(101, 201), 0);
    }

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
