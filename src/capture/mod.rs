//! Everything that produces frames: savefiles (read the way Wireshark reads them), live
//! libpcap capture with BPF filters and drop statistics, and writing savefiles.

pub mod file;
pub mod live;

use std::fmt;

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

    /// Seconds as a float, for durations (RTT) and display.
    pub fn as_f64(&self) -> f64 {
        self.secs as f64 + self.nsecs as f64 * 1e-9
    }

    /// Wireshark's `nstime_delta(b, a)`: seconds and nanoseconds subtracted apart and given
    /// the same sign, but never normalised beyond that (damaged fractions stay visible).
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

    /// A relative time as tshark prints it: one sign for both parts, nanoseconds unpadded
    /// beyond nine digits.
    pub fn rel_text(&self) -> String {
        let neg = self.secs < 0 || self.nsecs < 0;
        format!(
            "{}{}.{:09}",
            if neg { "-" } else { "" },
            self.secs.unsigned_abs(),
            self.nsecs.unsigned_abs()
        )
    }

    /// Nanoseconds since the epoch, for exact differences.
    pub fn as_nanos(&self) -> i128 {
        self.secs as i128 * 1_000_000_000 + self.nsecs as i128
    }
}

impl fmt::Display for Timestamp {
    /// `frame.time_epoch`'s text: a negative fraction field prints as a leading minus sign
    /// followed by its magnitude.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nsecs < 0 {
            write!(f, "-{}.{:09}", self.secs, self.nsecs.unsigned_abs())
        } else {
            write!(f, "{}.{:09}", self.secs, self.nsecs)
        }
    }
}

/// A frame's facts without its bytes: what travels with events once it is decoded.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameMeta {
    /// 1-based position in the capture (`frame.number`).
    pub number: u64,
    pub ts: Timestamp,
    /// False for pcapng simple packet blocks, which carry no time (tshark prints none).
    pub has_ts: bool,
    pub caplen: u32,
    pub wirelen: u32,
    /// LINKTYPE_* value of the interface the frame was captured on.
    pub linktype: u16,
}

/// One captured frame, borrowed from the reader's buffer until the next one is read.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub meta: FrameMeta,
    pub data: &'a [u8],
    /// Where the record starts in the file (0 for live frames), for error messages.
    pub file_offset: u64,
}
