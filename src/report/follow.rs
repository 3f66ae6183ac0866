//! `synack follow`: one conversation's payload, both directions in order, as Wireshark's
//! Follow TCP/UDP Stream shows it: text with the sides marked, hex, raw bytes, or JSON
//! (`follow` and `data` records of the contract).

use std::io::{self, Write};
use std::net::IpAddr;

use super::{PacketEvent, Sink, Summary, endpoint, escape_payload};
use crate::track::Finished;
use crate::track::follow::{Chunk, Segment, TcpFollow};
use crate::wire::Transport;

/// How `follow` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowFormat {
    Text,
    Hex,
    Raw,
    Json,
}

/// A sink that keeps one conversation's payload.
pub struct Follow {
    tcp: bool,
    stream: u32,
    follow: TcpFollow,
    /// UDP: every datagram's payload in order.
    udp: Vec<Chunk>,
    /// The two ends, client (Wireshark's Node 0) first.
    ends: Option<((IpAddr, u16), (IpAddr, u16))>,
}

impl Follow {
    pub fn new(tcp: bool, stream: u32) -> Self {
        Follow {
            tcp,
            stream,
            follow: TcpFollow::default(),
            udp: Vec::new(),
            ends: None,
        }
    }

    pub fn chunks(&self) -> &[Chunk] {
        if self.tcp {
            &self.follow.chunks
        } else {
            &self.udp
        }
    }

    /// The conversation was seen (a stream number beyond the capture's is not).
    pub fn found(&self) -> bool {
        self.ends.is_some()
    }

    /// Writes the conversation in `format`.
    pub fn write(&self, out: &mut impl Write, format: FollowFormat, color: bool) -> io::Result<()> {
        let Some((client, server)) = self.ends else {
            return Ok(());
        };
        let proto = if self.tcp { "tcp" } else { "udp" };
        let mut c = String::new();
        endpoint(&mut c, client.0, client.1);
        let mut s = String::new();
        endpoint(&mut s, server.0, server.1);
        match format {
            FollowFormat::Raw => {
                for ch in self.chunks() {
                    out.write_all(&ch.data)?;
                }
            }
            FollowFormat::Hex => {
                writeln!(out, "Node 0: {c}\nNode 1: {s}")?;
                for ch in self.chunks() {
                    if ch.from_server {
                        out.write_all(b"\t")?;
                    }
                    writeln!(out, "{}", hex(&ch.data))?;
                }
            }
            FollowFormat::Json => {
                let head = serde_json::json!({
                    "type": "follow", "proto": proto, "stream": self.stream,
                    "client": c, "server": s,
                });
                writeln!(out, "{head}")?;
                for ch in self.chunks() {
                    let v = serde_json::json!({
                        "type": "data", "stream": self.stream,
                        "from": if ch.from_server { "server" } else { "client" },
                        "frame": ch.frame, "hex": hex(&ch.data),
                    });
                    writeln!(out, "{v}")?;
                }
            }
            FollowFormat::Text => {
                writeln!(
                    out,
                    "{proto} stream {}: client {c} (lines marked >), server {s} (lines marked <)",
                    self.stream
                )?;
                let mut text = String::new();
                for ch in self.chunks() {
                    text.clear();
                    escape_payload(&ch.data, usize::MAX, &mut text);
                    // `\x0a` is how the payload text shows a line break: break there.
                    let (mark, style) = if ch.from_server {
                        ("< ", super::colors::SERVER)
                    } else {
                        ("> ", super::colors::CLIENT)
                    };
                    for line in text.split_inclusive("\\x0a") {
                        if color {
                            writeln!(
                                out,
                                "{}{mark}{line}{}",
                                style.render(),
                                style.render_reset()
                            )?;
                        } else {
                            writeln!(out, "{mark}{line}")?;
                        }
                    }
                }
            }
        }
        out.flush()
    }
}

impl Follow {
    /// Wireshark's UDP follow tap: every UDP layer of a frame that belongs to the stream
    /// (a tunnel's outer datagram and the one it carries, when either is the stream) adds
    /// its payload; sides are told by the frame's innermost addresses and ports, which is
    /// what the tap sees once the frame is dissected.
    fn udp_frame(&mut self, ev: &PacketEvent<'_, '_>) {
        let d = ev.decoded;
        let inner_udp = match &d.transport {
            Transport::Udp(dg) => Some(dg),
            _ => None,
        };
        let inner = inner_udp.is_some() && ev.info.stream == Some(self.stream);
        let outer = ev.info.outer_stream == Some(self.stream);
        if !inner && !outer {
            return;
        }
        let Some(ip) = d.ip else { return };
        let (sport, dport) = match &d.transport {
            Transport::Tcp(s) => (s.sport, s.dport),
            Transport::Udp(u) => (u.sport, u.dport),
            _ => (0, 0),
        };
        let src = (ip.src, sport);
        let (client, _) = *self.ends.get_or_insert((src, (ip.dst, dport)));
        let from_server = src != client;
        let mut push = |data: &[u8]| {
            if !data.is_empty() {
                self.udp.push(Chunk {
                    from_server,
                    frame: ev.frame.number,
                    data: data.to_vec(),
                });
            }
        };
        if d.outer_udp_ports.is_some() {
            push(d.outer_udp_payload);
        }
        if let Some(dg) = inner_udp {
            push(dg.payload);
        }
    }
}

fn hex(b: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(HEX[(x >> 4) as usize] as char);
        s.push(HEX[(x & 15) as usize] as char);
    }
    s
}

impl Sink for Follow {
    fn packet(&mut self, ev: &PacketEvent<'_, '_>) -> io::Result<()> {
        if !self.tcp {
            self.udp_frame(ev);
            return Ok(());
        }
        if ev.info.stream != Some(self.stream) {
            return Ok(());
        }
        let Some(ip) = ev.decoded.ip else {
            return Ok(());
        };
        let Transport::Tcp(seg) = &ev.decoded.transport else {
            return Ok(());
        };
        let src = (ip.src, seg.sport);
        let dst = (ip.dst, seg.dport);
        // Wireshark's follow tap sees a segment only once its whole header (options
        // included) was dissected, and the stream's ends are those of the first it sees.
        let (Some(f), Some(len)) = (seg.fixed, seg.len) else {
            return Ok(());
        };
        if f.bogus_offset() || !seg.dissected_whole() {
            return Ok(());
        }
        self.ends.get_or_insert((src, dst));
        self.follow.segment(Segment {
            frame: ev.frame.number,
            src,
            dst,
            seq: f.seq.0,
            ack: f.ack.0,
            syn: f.flags.syn(),
            len,
            payload: seg.payload,
        });
        Ok(())
    }

    fn conn(&mut self, _: &Finished) -> io::Result<()> {
        Ok(())
    }

    fn summary(&mut self, _: &Summary) -> io::Result<()> {
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
