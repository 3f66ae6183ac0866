//! Time as synack keeps it: capture timestamps exactly as Wireshark's `nstime_t`, and
//! durations in exact nanoseconds. Nothing here formats; printers do.

/// A capture timestamp as Wireshark keeps it: seconds and a signed 32-bit nanosecond field
/// that is not normalised, so damaged fractions print exactly as tshark prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timestamp {
    pub secs: i64,
    pub nsecs: i32,
}

impl Timestamp {
    /// Wireshark's `nstime_is_zero`: a zero time means "not set".
    pub fn is_zero(&self) -> bool {
        self.secs == 0 && self.nsecs == 0
    }

    /// Wireshark's `nstime_delta(b, a)`: seconds and nanoseconds subtracted apart and given
    /// the same sign, but never normalised beyond that (damaged fractions stay visible). It
    /// stays a `Timestamp` because tshark prints it with both fields as they are.
    pub fn delta(b: Timestamp, a: Timestamp) -> Timestamp {
        let mut secs = b.secs - a.secs;
        let mut nsecs = b.nsecs.wrapping_sub(a.nsecs);
        if b.secs == a.secs {
            secs = 0;
        } else if b.secs < a.secs {
            if nsecs > 0 {
                nsecs -= 1_000_000_000;
                secs += 1;
            }
        } else if nsecs < 0 {
            nsecs += 1_000_000_000;
            secs -= 1;
        }
        Timestamp { secs, nsecs }
    }

    /// Nanoseconds since the epoch, for exact differences (i128: seconds times 10^9 can
    /// leave i64 on a damaged timestamp).
    pub fn as_nanos(&self) -> i128 {
        self.secs as i128 * 1_000_000_000 + self.nsecs as i128
    }

    /// The time from `earlier` to `self`, exactly (negative when the capture's clock went
    /// back).
    pub fn since(&self, earlier: Timestamp) -> Duration {
        Duration(self.as_nanos() - earlier.as_nanos())
    }

    /// The wall clock now, for live capture's idle ticks.
    pub fn now() -> Timestamp {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => Timestamp {
                secs: d.as_secs() as i64,
                nsecs: d.subsec_nanos() as i32,
            },
            Err(_) => Timestamp::default(),
        }
    }
}

/// A span of time in exact nanoseconds: RTTs, conversation durations, timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Duration(i128);

impl Duration {
    pub const ZERO: Duration = Duration(0);

    pub const fn from_nanos(ns: i128) -> Duration {
        Duration(ns)
    }

    pub const fn from_secs(s: i64) -> Duration {
        Duration(s as i128 * 1_000_000_000)
    }

    /// From a user's option in seconds (negative means zero; fractions to the nanosecond).
    pub fn from_secs_f64(s: f64) -> Duration {
        Duration((s.max(0.0) * 1e9) as i128)
    }

    pub const fn as_nanos(&self) -> i128 {
        self.0
    }

    /// Seconds as a float, for comparisons with a user's limit and for printing.
    pub fn as_secs_f64(&self) -> f64 {
        self.0 as f64 / 1e9
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_delta_keeps_wiresharks_signs() {
        let a = Timestamp {
            secs: 10,
            nsecs: 900_000_000,
        };
        let b = Timestamp {
            secs: 11,
            nsecs: 100_000_000,
        };
        assert_eq!(
            Timestamp::delta(b, a),
            Timestamp {
                secs: 0,
                nsecs: 200_000_000
            }
        );
        assert_eq!(
            Timestamp::delta(a, b),
            Timestamp {
                secs: 0,
                nsecs: -200_000_000
            }
        );
    }

    #[test]
    fn test_since_is_exact() {
        let a = Timestamp {
            secs: 1_700_000_000,
            nsecs: 1,
        };
        let b = Timestamp {
            secs: 1_700_000_001,
            nsecs: 0,
        };
        assert_eq!(b.since(a), Duration::from_nanos(999_999_999));
        assert_eq!(a.since(b).as_nanos(), -999_999_999);
    }
}
