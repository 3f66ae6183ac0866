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
    /// Bytes of frame check sequence at the end of an Ethernet frame, as the file announces
    /// them (a pcap header's FCS bits, pcapng's if_fcslen or the packet's flags): not part
    /// of the packet, so not decoded.
    pub fcs_len: u8,
}

impl FrameMeta {
    /// The bytes to decode of a frame and the length they stand for: the frame without its
    /// FCS, as Wireshark's Ethernet dissector leaves it out of the payload (the frame's
    /// lengths stay what the file says). A frame shorter than its FCS is all FCS; a record
    /// that claims more captured bytes than the wire had keeps them all, so that the decode
    /// still finds it damaged.
    pub fn packet<'d>(&self, data: &'d [u8]) -> (&'d [u8], u32) {
        if self.fcs_len == 0 {
            return (data, self.wirelen);
        }
        let wirelen = self.wirelen.saturating_sub(u32::from(self.fcs_len));
        if data.len() > self.wirelen as usize {
            return (data, wirelen);
        }
        (&data[..data.len().min(wirelen as usize)], wirelen)
    }
}

/// One captured frame, borrowed from the reader's buffer until the next one is read.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub meta: FrameMeta,
    pub data: &'a [u8],
    /// Where the record starts in the file (0 for live frames), for error messages.
    pub file_offset: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_the_packet_of_a_frame_leaves_its_fcs_out() {
        let data = [1u8, 2, 3, 4, 5, 6, 7, 8];
        let mut m = FrameMeta {
            caplen: 8,
            wirelen: 8,
            ..FrameMeta::default()
        };
        assert_eq!(m.packet(&data), (&data[..], 8));
        m.fcs_len = 4;
        assert_eq!(m.packet(&data), (&data[..4], 4));
        // Cut by the snaplen before the FCS: the captured bytes stay, the length shrinks.
        m.wirelen = 100;
        assert_eq!(m.packet(&data), (&data[..], 96));
        // A frame shorter than its FCS.
        m.wirelen = 2;
        assert_eq!(m.packet(&data[..2]), (&data[..0], 0));
        // More captured than the wire had: all of it, to be found damaged.
        m.wirelen = 6;
        assert_eq!(m.packet(&data), (&data[..], 2));
    }
}
