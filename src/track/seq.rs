//! The byte ranges a direction has sent, counted once however often they are sent, over
//! sequence numbers (the wrapping `SeqNumber` of `wire::tcp`).

pub use crate::wire::tcp::SeqNumber;

/// The byte ranges of one direction's stream seen so far, relative to its base, so that a
/// retransmission counts no byte twice and a hole filled later still counts.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    /// Sorted, disjoint, half-open ranges.
    ranges: Vec<(u32, u32)>,
}

impl Coverage {
    /// Bounds the list on hostile input; beyond it the closest ranges merge (over-coverage).
    const MAX_RANGES: usize = 64;

    pub fn compact(&mut self) {
        self.ranges.shrink_to_fit();
    }

    /// How many bytes of [lo, hi) are covered.
    pub fn count_in(&self, lo: u32, hi: u32) -> u32 {
        self.ranges
            .iter()
            .map(|&(s, e)| e.min(hi).saturating_sub(s.max(lo)))
            .sum()
    }

    /// Adds [start, start+len) and returns how many of its bytes are new.
    pub fn add(&mut self, start: u32, len: u32) -> u32 {
        if len == 0 {
            return 0;
        }
        let end = start.saturating_add(len);
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
            new = new.saturating_sub(overlap);
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
        assert_eq!(c.ranges, [(0, 350)]);
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
