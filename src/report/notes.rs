//! The human annotation of a packet (the contract's `note`), in English or in the classic
//! tutorial's Chinese terms (第一次握手, SYN_SEND, SYN_RECV, 客户端/服务器).

use std::fmt::Write;

use super::{PacketEvent, Style};
use crate::track::{HandshakeNote, PacketInfo, Step};
use crate::wire::{Proto, Transport};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

fn ok_mark(ok: bool) -> &'static str {
    if ok { "✓" } else { "✗" }
}

/// The socket call behind a segment, in the classic lesson's terms.
fn socket_call(info: &PacketInfo, zh: bool) -> Option<&'static str> {
    let c = info.from_client;
    Some(match (info.step?, c, zh) {
        (Step::Syn, _, false) => "← client connect()",
        (Step::Syn, _, true) => "← 客户端 connect()",
        (Step::SynAck, _, false) => "← the listen()ing socket answers",
        (Step::SynAck, _, true) => "← 服务器 listen() 的套接字应答",
        (Step::HandshakeAck, _, false) => "→ connect() returns; accept() returns on the server",
        (Step::HandshakeAck, _, true) => "→ connect() 返回; 服务器 accept() 返回",
        (Step::Data, true, false) => "← client send()",
        (Step::Data, true, true) => "← 客户端 send()",
        (Step::Data, false, false) => "← server send() (the reply)",
        (Step::Data, false, true) => "← 服务器 send() (回复)",
        (Step::Ack, _, false) => "(kernel ACK, no data)",
        (Step::Ack, _, true) => "(内核确认, 无数据)",
        (Step::Fin, true, false) => "← client close()",
        (Step::Fin, true, true) => "← 客户端 close()",
        (Step::Fin, false, false) => "← server close() after recv() returned 0",
        (Step::Fin, false, true) => "← 服务器 recv() 返回 0 后 close()",
        (Step::Rst, _, false) => "(connection reset)",
        (Step::Rst, _, true) => "(连接重置)",
        (Step::Datagram, true, false) => "← client sendto() → server recvfrom()",
        (Step::Datagram, true, true) => "← 客户端 sendto() → 服务器 recvfrom()",
        (Step::Datagram, false, false) => "← server sendto()",
        (Step::Datagram, false, true) => "← 服务器 sendto()",
    })
}

/// Writes the annotation of one packet into `out` (which the caller clears).
pub fn packet_note(out: &mut String, ev: &PacketEvent<'_, '_>, style: &Style) {
    let lang = style.lang;
    let zh = lang == Lang::Zh;
    let info = ev.info;
    let d = ev.decoded;
    match &d.transport {
        Transport::Tcp(seg) => {
            let who = match (info.from_client, zh) {
                (true, false) => "client",
                (false, false) => "server",
                (true, true) => "客户端",
                (false, true) => "服务器",
            };
            match info.handshake {
                Some(HandshakeNote::Syn { j, again }) => {
                    let _ = if zh {
                        write!(out, "第一次握手: SYN seq=j={j}")
                    } else {
                        write!(out, "handshake 1/3: SYN seq=j={j}")
                    };
                    if again {
                        out.push_str(if zh { " (重传)" } else { " (again)" });
                    }
                }
                Some(HandshakeNote::SynAck {
                    k,
                    ack,
                    expected,
                    again,
                }) => {
                    let _ = if zh {
                        write!(out, "第二次握手: SYN+ACK seq=k={k} ack=j+1={ack} ")
                    } else {
                        write!(out, "handshake 2/3: SYN+ACK seq=k={k} ack=j+1={ack} ")
                    };
                    match expected {
                        Some(e) if e == ack => out.push_str(ok_mark(true)),
                        Some(e) => {
                            let _ = write!(out, "{} (j+1={e})", ok_mark(false));
                        }
                        None => out.push_str(if zh {
                            "(未捕获 SYN)"
                        } else {
                            "(SYN not captured)"
                        }),
                    }
                    if again {
                        out.push_str(if zh { " (重传)" } else { " (again)" });
                    }
                }
                Some(HandshakeNote::Ack { ack, expected }) => {
                    let _ = if zh {
                        write!(out, "第三次握手: ACK ack=k+1={ack} ")
                    } else {
                        write!(out, "handshake 3/3: ACK ack=k+1={ack} ")
                    };
                    if ack == expected {
                        out.push_str(ok_mark(true));
                    } else {
                        let _ = write!(out, "{} (k+1={expected})", ok_mark(false));
                    }
                    if seg.len.unwrap_or(0) > 0 {
                        let _ = write!(
                            out,
                            "{}{} bytes",
                            if zh {
                                ", 携带数据 "
                            } else {
                                ", with data "
                            },
                            seg.len.unwrap_or(0)
                        );
                    }
                }
                Some(HandshakeNote::Refused) => {
                    let port = match d.transport {
                        Transport::Tcp(s) => s.sport,
                        _ => 0,
                    };
                    let _ = if zh {
                        write!(out, "连接被拒绝: RST 回应 SYN (端口 {port} 无人监听)")
                    } else {
                        write!(
                            out,
                            "connection refused: RST answers the SYN (nothing listens on port {port})"
                        )
                    };
                }
                None => match info.step {
                    Some(Step::Data) => {
                        let n = seg.len.unwrap_or(0);
                        let _ = if zh {
                            write!(out, "{who}发送数据 {n} 字节")
                        } else {
                            write!(out, "{who} sends {n} bytes")
                        };
                    }
                    Some(Step::Fin) => {
                        let _ = if zh {
                            write!(out, "FIN: {who}关闭发送方向")
                        } else {
                            write!(out, "FIN: {who} closes its side")
                        };
                    }
                    Some(Step::Rst) => {
                        let _ = if zh {
                            write!(out, "RST: {who}重置连接")
                        } else {
                            write!(out, "RST: {who} resets the connection")
                        };
                    }
                    Some(Step::Ack) => {
                        out.push_str(if zh { "确认 (ACK)" } else { "ACK" });
                    }
                    _ => {}
                },
            }
            if let Some((req, rtt)) = info.reply_to {
                let _ = if zh {
                    write!(out, ", 回复第 {req} 帧, 用时 {:.3} ms", rtt * 1e3)
                } else {
                    write!(out, ", reply to frame {req} after {:.3} ms", rtt * 1e3)
                };
            }
            if !info.analysis.is_empty() {
                analysis_words(out, info);
            }
            if let Some((c, s)) = info.states {
                let _ = if zh {
                    write!(
                        out,
                        " · 客户端 {} / 服务器 {}",
                        c.tutorial_name(),
                        s.tutorial_name()
                    )
                } else {
                    write!(out, " · client {c} / server {s}")
                };
            }
        }
        Transport::Udp(dg) => {
            let _ = if zh {
                write!(out, "UDP 数据报 {} 字节 (无握手)", dg.len)
            } else {
                write!(out, "datagram {} bytes (UDP: no handshake)", dg.len)
            };
            if let Some((req, rtt)) = info.reply_to {
                let _ = if zh {
                    write!(out, ", 回复第 {req} 帧, 用时 {:.3} ms", rtt * 1e3)
                } else {
                    write!(out, ", reply to frame {req} after {:.3} ms", rtt * 1e3)
                };
            }
        }
        Transport::Icmp(m) => {
            out.push_str(m.describe());
            if let Some(q) = m.quoted {
                let proto = match q.ip.protocol {
                    6 => "tcp",
                    17 => "udp",
                    _ => "ip",
                };
                let _ = write!(out, " about {proto} ");
                match (q.sport, q.dport) {
                    (Some(sp), Some(dp)) => {
                        super::endpoint(out, q.ip.src, sp);
                        out.push_str(" → ");
                        super::endpoint(out, q.ip.dst, dp);
                    }
                    _ => {
                        let _ = write!(out, "{} → {}", q.ip.src, q.ip.dst);
                    }
                }
            }
        }
        Transport::Arp(a) => {
            let _ = match (a.operation, a.sender, a.target) {
                (1, Some(s), Some(t)) => write!(out, "who has {t}? tell {s}"),
                (2, Some(s), _) => write!(out, "{s} is at the sender's address"),
                (op, _, _) => write!(out, "ARP operation {op}"),
            };
        }
        Transport::None => {
            if d.proto == Proto::Other
                && d.ip
                    .is_some_and(|h| h.fragment.offset != 0 || h.fragment.more)
            {
                out.push_str("IP fragment: the transport is shown when the datagram is whole");
            }
        }
    }
    if style.socket_calls
        && let Some(call) = socket_call(info, zh)
    {
        out.push(' ');
        out.push_str(call);
    }
    if let Some(t) = d.tunnel {
        let _ = write!(out, " (inside {t})");
    }
    if let Some(m) = d.malformed {
        let _ = write!(out, " — malformed: {m}");
    } else if let Some(s) = d.short {
        let _ = write!(out, " — cut by the snaplen: {s}");
    }
}

/// The expert verdicts in a learner's words, with the frames and times behind them.
fn analysis_words(out: &mut String, info: &PacketInfo) {
    use crate::track::analysis::Flags as F;
    let f = info.analysis;
    let v = &info.verdict;
    // Written straight into the line: no temporary strings for a flagged frame.
    macro_rules! say {
        ($($arg:tt)*) => {{
            out.push_str(" — ");
            let _ = write!(out, $($arg)*);
        }};
    }
    if f.has(F::FAST_RETRANSMISSION) {
        say!("fast retransmission (asked for by duplicate ACKs)");
    } else if f.has(F::SPURIOUS_RETRANSMISSION) {
        say!("spurious retransmission: the receiver had already acknowledged these bytes");
    } else if f.has(F::RETRANSMISSION) {
        match v.retrans_of {
            Some((frame, ns)) => say!(
                "retransmission of frame {frame} after {:.3} ms",
                ns as f64 / 1e6
            ),
            None => say!("retransmission"),
        }
    }
    if f.has(F::OUT_OF_ORDER) {
        say!("out of order: arrived after a later segment");
    }
    if f.has(F::LOST_PACKET) {
        say!("previous segment not captured (a hole in the sequence)");
    }
    if f.has(F::ACK_LOST_PACKET) {
        say!("acknowledges a segment the capture never saw");
    }
    if f.has(F::DUPLICATE_ACK) {
        match v.dup_ack {
            Some((n, frame)) => say!("dup ACK #{n} of frame {frame}"),
            None => say!("duplicate ACK"),
        }
    }
    if f.has(F::ZERO_WINDOW) {
        say!("receiver's window is zero: the sender must wait");
    }
    if f.has(F::ZERO_WINDOW_PROBE) {
        say!("zero-window probe (1 byte into a closed window)");
    }
    if f.has(F::ZERO_WINDOW_PROBE_ACK) {
        say!("ACK of the zero-window probe: still no room");
    }
    if f.has(F::KEEP_ALIVE) {
        say!("keep-alive probe (1 byte before the next expected seq)");
    }
    if f.has(F::KEEP_ALIVE_ACK) {
        say!("ACK of the keep-alive");
    }
    if f.has(F::WINDOW_UPDATE) {
        say!("window update: the receiver has room again");
    }
    if f.has(F::WINDOW_FULL) {
        say!("receiver's window is full");
    }
    if f.has(F::REUSED_PORTS) {
        say!("the same ports again: a new connection (new stream)");
    }
}
