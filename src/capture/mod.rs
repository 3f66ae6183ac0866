//! Everything that produces frames: savefiles (read the way Wireshark reads them), live
//! libpcap capture with BPF filters and drop statistics, and writing savefiles.

pub mod compressed;
pub mod file;
pub mod filter;
pub mod live;

pub use crate::time::Timestamp;

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
