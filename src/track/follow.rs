//! Follow a conversation: both directions' payload in order, with the bytes and in the
//! order of Wireshark 4.0's Follow TCP/UDP Stream (`follow_tcp_tap_listener` and
//! `check_follow_fragments` in packet-tcp.c): retransmitted bytes once, out-of-order
//! segments held until the gap before them fills, and a marker where the peer acknowledged
//! bytes the capture never had.

use std::net::IpAddr;

use super::flow::{ByRole, Role};
use super::seq::SeqNumber;

/// One piece of a followed conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Sent by the server (Wireshark's Node 1); the client is the first packet's sender.
    pub from_server: bool,
    pub frame: u64,
    pub data: Vec<u8>,
}

/// A segment held until the bytes before it arrive.
#[derive(Debug, Clone)]
struct Fragment {
    seq: u32,
    frame: u64,
    data: Vec<u8>,
}

/// The follow state of one TCP conversation.
#[derive(Debug, Default)]
pub struct TcpFollow {
    client: Option<(IpAddr, u16)>,
    /// Next expected sequence number of each side (0 = not yet known), bytes written.
    seq: ByRole<u32>,
    written: ByRole<u64>,
    fragments: ByRole<Vec<Fragment>>,
    pub chunks: Vec<Chunk>,
}

fn gt(a: u32, b: u32) -> bool {
    SeqNumber(a) > SeqNumber(b)
}

fn lt(a: u32, b: u32) -> bool {
    SeqNumber(a) < SeqNumber(b)
}

/// One TCP segment as the follow tap sees it.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    pub frame: u64,
    pub src: (IpAddr, u16),
    pub dst: (IpAddr, u16),
    pub seq: u32,
    pub ack: u32,
    pub syn: bool,
    /// `tcp.len`: the segment length from the IP lengths.
    pub len: u32,
    /// The captured payload (shorter than `len` when the snaplen cut it).
    pub payload: &'a [u8],
}

impl TcpFollow {
    pub fn segment(&mut self, s: Segment<'_>) {
        let client = *self.client.get_or_insert(s.src);
        let side = if s.src == client {
            Role::Client
        } else {
            Role::Server
        };
        let other = side.other();
        // Segments of the other side that this one acknowledges were seen by its receiver,
        // even if not by the capture.
        while !self.fragments[other].is_empty() && self.apply_fragment(other, s.ack, s.frame, true)
        {
        }
        let mut sequence = s.seq.wrapping_add(u32::from(s.syn));
        let mut length = s.len;
        let mut offset = 0usize;
        let mut data_len = s.payload.len();
        if self.written[side] == 0 && self.seq[side] == 0 {
            self.seq[side] = sequence;
        }
        if lt(sequence, self.seq[side]) {
            // Dated, but a retransmission may carry more than was seen.
            let next = sequence.wrapping_add(length);
            if gt(next, self.seq[side]) {
                offset = self.seq[side].wrapping_sub(sequence) as usize;
                data_len = data_len.saturating_sub(offset);
                sequence = self.seq[side];
                length = next.wrapping_sub(self.seq[side]);
            }
        }
        if data_len == 0 || lt(sequence, self.seq[side]) {
            return;
        }
        let data = s.payload[offset..offset + data_len].to_vec();
        if sequence == self.seq[side] {
            self.seq[side] = self.seq[side].wrapping_add(length);
            self.written[side] += data.len() as u64;
            self.chunks.push(Chunk {
                from_server: side == Role::Server,
                frame: s.frame,
                data,
            });
            while self.apply_fragment(side, 0, s.frame, false) {}
        } else {
            self.fragments[side].push(Fragment {
                seq: sequence,
                frame: s.frame,
                data,
            });
        }
    }

    /// Applies one held fragment of `side` that now fits (or marks bytes its peer
    /// acknowledged as missing); false when none can be applied.
    fn apply_fragment(&mut self, side: Role, acked: u32, frame: u64, use_ack: bool) -> bool {
        let expected = self.seq[side];
        let frags = &mut self.fragments[side];
        let Some(first) = frags.first() else {
            return false;
        };
        let mut lowest = first.seq;
        for i in 0..frags.len() {
            let f = &frags[i];
            if gt(lowest, f.seq) {
                lowest = f.seq;
            }
            if lt(f.seq, expected) {
                let f = frags.remove(i);
                let end = f.seq.wrapping_add(f.data.len() as u32);
                if gt(end, expected) {
                    let at = expected.wrapping_sub(f.seq) as usize;
                    if f.data.len() > at {
                        self.chunks.push(Chunk {
                            from_server: side == Role::Server,
                            frame: f.frame,
                            data: f.data[at..].to_vec(),
                        });
                    }
                    self.seq[side] = expected.wrapping_add((f.data.len() - at) as u32);
                }
                return true;
            }
            if f.seq == expected {
                let f = frags.remove(i);
                self.seq[side] = expected.wrapping_add(f.data.len() as u32);
                if !f.data.is_empty() {
                    self.chunks.push(Chunk {
                        from_server: side == Role::Server,
                        frame: f.frame,
                        data: f.data,
                    });
                }
                return true;
            }
        }
        if use_ack && gt(acked, lowest) {
            // Wireshark writes the marker as a C string, its NUL included.
            let mut data = format!(
                "[{} bytes missing in capture file]",
                lowest.wrapping_sub(expected) as i32
            )
            .into_bytes();
            data.push(0);
            self.seq[side] = lowest;
            self.chunks.push(Chunk {
                from_server: side == Role::Server,
                frame,
                data,
            });
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(frame: u64, from_client: bool, seq: u32, ack: u32, data: &[u8]) -> Segment<'_> {
        let c: (IpAddr, u16) = ("127.0.0.1".parse().expect("test data"), 40000);
        let s: (IpAddr, u16) = ("127.0.0.1".parse().expect("test data"), 80);
        let (src, dst) = if from_client { (c, s) } else { (s, c) };
        Segment {
            frame,
            src,
            dst,
            seq,
            ack,
            syn: false,
            len: data.len() as u32,
            payload: data,
        }
    }

    fn text(f: &TcpFollow) -> Vec<(bool, String)> {
        f.chunks
            .iter()
            .map(|c| (c.from_server, String::from_utf8_lossy(&c.data).to_string()))
            .collect()
    }

    #[test]
    fn test_retransmission_and_out_of_order() {
        let mut f = TcpFollow::default();
        f.segment(seg(1, true, 100, 0, b"abc"));
        f.segment(seg(2, true, 106, 0, b"ghi")); // out of order: held
        f.segment(seg(3, true, 100, 0, b"abcdef")); // retransmission with 3 new bytes
        f.segment(seg(4, false, 500, 109, b"ok"));
        assert_eq!(
            text(&f),
            [
                (false, "abc".into()),
                (false, "def".into()),
                (false, "ghi".into()),
                (true, "ok".into())
            ]
        );
    }

    #[test]
    fn test_acknowledged_gap_is_marked() {
        let mut f = TcpFollow::default();
        f.segment(seg(1, true, 100, 0, b"abc"));
        f.segment(seg(2, true, 110, 0, b"xyz")); // 7 bytes missing before it
        f.segment(seg(3, false, 500, 113, b"")); // the server saw them
        let t = text(&f);
        assert_eq!(t[1].1, "[7 bytes missing in capture file]\0");
        assert_eq!(t[2].1, "xyz");
    }
}
