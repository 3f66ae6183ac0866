//! The human annotation of a packet (the contract's `note`), in English or in the classic
//! tutorial's Chinese terms (第一次握手, SYN_SEND, SYN_RECV, 客户端/服务器).

use std::fmt::Write;

use super::{PacketEvent, Style, push_num as num};
use crate::track::{HandshakeNote, PacketInfo, Step};
use crate::wire::icmp::IcmpMessage;
use crate::wire::numbers::IpProtocol;
use crate::wire::{Proto, TcpSegment, Transport};

pub use crate::lang::Lang;

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
    let zh = style.lang == Lang::Zh;
    let info = ev.info;
    let d = ev.decoded;
    match &d.transport {
        Transport::Tcp(seg) => tcp_note(out, info, seg, style.lang),
        Transport::Udp(dg) => {
            out.push_str(if zh { "UDP 数据报 " } else { "datagram " });
            num(out, dg.len);
            out.push_str(if zh {
                " 字节 (无握手)"
            } else {
                " bytes (UDP: no handshake)"
            });
            reply_words(out, info, zh);
        }
        Transport::Icmp(m) => icmp_note(out, m, zh),
        Transport::Arp(a) => {
            let _ = match (a.operation, a.sender, a.target, zh) {
                (1, Some(s), Some(t), false) => write!(out, "who has {t}? tell {s}"),
                (1, Some(s), Some(t), true) => write!(out, "谁是 {t}? 请告诉 {s}"),
                (2, Some(s), _, false) => write!(out, "{s} is at the sender's address"),
                (2, Some(s), _, true) => write!(out, "{s} 在发送方的地址"),
                (op, _, _, false) => write!(out, "ARP operation {op}"),
                (op, _, _, true) => write!(out, "ARP 操作 {op}"),
            };
        }
        Transport::None => {
            if d.proto == Proto::Other
                && d.ip
                    .is_some_and(|h| h.fragment.offset != 0 || h.fragment.more)
            {
                out.push_str(if zh {
                    "IP 分片: 数据报重组完整后再显示传输层"
                } else {
                    "IP fragment: the transport is shown when the datagram is whole"
                });
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
        let _ = if zh {
            write!(out, " (位于 {} 隧道内)", t.as_str())
        } else {
            write!(out, " (inside {})", t.as_str())
        };
    }
    if let Some(m) = d.malformed {
        let _ = write!(out, " — {}: ", if zh { "格式错误" } else { "malformed" });
        decode_error(out, &m, style.lang);
    } else if let Some(s) = d.short {
        let what = if zh {
            "被抓包长度截断"
        } else {
            "cut by the snaplen"
        };
        let _ = write!(out, " — {what}: ");
        decode_error(out, &s, style.lang);
    }
}

/// A TCP segment: its handshake step or what it does, the reply it is, the expert verdicts
/// and both endpoints' states.
fn tcp_note(out: &mut String, info: &PacketInfo, seg: &TcpSegment<'_>, lang: Lang) {
    let zh = lang == Lang::Zh;
    match info.handshake {
        Some(h) => handshake_words(out, h, seg, zh),
        None => step_words(out, info, seg, zh),
    }
    reply_words(out, info, zh);
    if !info.analysis.is_empty() {
        analysis_words(out, info, seg, lang);
    }
    if let Some((c, s)) = info.states {
        let (c, s, words) = if zh {
            (
                c.tutorial_name(),
                s.tutorial_name(),
                [" · 客户端 ", " / 服务器 "],
            )
        } else {
            (c.as_str(), s.as_str(), [" · client ", " / server "])
        };
        out.push_str(words[0]);
        out.push_str(c);
        out.push_str(words[1]);
        out.push_str(s);
    }
}

/// "handshake 1/3: SYN seq=j=…", 2/3 with j+1 checked, 3/3 with k+1 checked, or refused.
fn handshake_words(out: &mut String, h: HandshakeNote, seg: &TcpSegment<'_>, zh: bool) {
    let again = |out: &mut String, again: bool| {
        if again {
            out.push_str(if zh { " (重传)" } else { " (again)" });
        }
    };
    match h {
        HandshakeNote::Syn { j, again: a } => {
            out.push_str(if zh {
                "第一次握手: SYN seq=j="
            } else {
                "handshake 1/3: SYN seq=j="
            });
            num(out, j);
            again(out, a);
        }
        HandshakeNote::SynAck {
            k,
            ack,
            expected,
            again: a,
        } => {
            out.push_str(if zh {
                "第二次握手: SYN+ACK seq=k="
            } else {
                "handshake 2/3: SYN+ACK seq=k="
            });
            num(out, k);
            out.push_str(" ack=j+1=");
            num(out, ack);
            out.push(' ');
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
            again(out, a);
        }
        HandshakeNote::Ack { ack, expected } => {
            out.push_str(if zh {
                "第三次握手: ACK ack=k+1="
            } else {
                "handshake 3/3: ACK ack=k+1="
            });
            num(out, ack);
            out.push(' ');
            if ack == expected {
                out.push_str(ok_mark(true));
            } else {
                let _ = write!(out, "{} (k+1={expected})", ok_mark(false));
            }
            let n = seg.len.unwrap_or(0);
            if n > 0 {
                let _ = if zh {
                    write!(out, ", 携带数据 {n} 字节")
                } else {
                    write!(out, ", with data {n} bytes")
                };
            }
        }
        HandshakeNote::Refused => {
            let port = seg.sport;
            let _ = if zh {
                write!(out, "连接被拒绝: RST 回应 SYN (端口 {port} 无人监听)")
            } else {
                write!(
                    out,
                    "connection refused: RST answers the SYN (nothing listens on port {port})"
                )
            };
        }
    }
}

/// What a segment outside the handshake does: data, FIN, RST or a bare ACK.
fn step_words(out: &mut String, info: &PacketInfo, seg: &TcpSegment<'_>, zh: bool) {
    let who = match (info.from_client, zh) {
        (true, false) => "client",
        (false, false) => "server",
        (true, true) => "客户端",
        (false, true) => "服务器",
    };
    match info.step {
        Some(Step::Data) => {
            out.push_str(who);
            out.push_str(if zh { "发送数据 " } else { " sends " });
            num(out, seg.len.unwrap_or(0));
            out.push_str(if zh { " 字节" } else { " bytes" });
        }
        Some(Step::Fin) => {
            out.push_str("FIN: ");
            out.push_str(who);
            out.push_str(if zh {
                "关闭发送方向"
            } else {
                " closes its side"
            });
        }
        Some(Step::Rst) => {
            out.push_str("RST: ");
            out.push_str(who);
            out.push_str(if zh {
                "重置连接"
            } else {
                " resets the connection"
            });
        }
        Some(Step::Ack) => out.push_str(if zh { "确认 (ACK)" } else { "ACK" }),
        Some(Step::Syn | Step::SynAck | Step::HandshakeAck | Step::Datagram) | None => {}
    }
}

/// A time in milliseconds with three decimals, as `{:.3}` writes the `f64` (the notes have
/// always said it so). Whole microseconds, the usual capture precision, are written from
/// the integer (exact there: the `f64` is within far less than half a thousandth of the
/// three-decimal value, so it rounds to it); anything else goes through the float.
fn push_ms(out: &mut String, d: crate::time::Duration) {
    let ns = d.as_nanos();
    if (0..1 << 50).contains(&ns) && ns % 1000 == 0 {
        let us = ns / 1000;
        num(out, us / 1000);
        let frac = (us % 1000) as usize;
        out.push('.');
        out.push_str(
            &"000"[..3 - if frac >= 100 {
                3
            } else if frac >= 10 {
                2
            } else {
                1
            }],
        );
        num(out, frac);
    } else {
        let _ = write!(out, "{:.3}", d.as_secs_f64() * 1e3);
    }
}

/// ", reply to frame N after X ms" for the payload that answered a request.
fn reply_words(out: &mut String, info: &PacketInfo, zh: bool) {
    if let Some((req, rtt)) = info.reply_to {
        out.push_str(if zh {
            ", 回复第 "
        } else {
            ", reply to frame "
        });
        num(out, req);
        out.push_str(if zh { " 帧, 用时 " } else { " after " });
        push_ms(out, rtt);
        out.push_str(" ms");
    }
}

/// An ICMP message by name, and the datagram it quotes.
fn icmp_note(out: &mut String, m: &IcmpMessage, zh: bool) {
    out.push_str(icmp_words(m, zh));
    if let Some(q) = m.quoted {
        let proto = match IpProtocol::from(q.ip.protocol) {
            IpProtocol::Tcp => "tcp",
            IpProtocol::Udp => "udp",
            _ => "ip",
        };
        let _ = write!(out, " {} {proto} ", if zh { "关于" } else { "about" });
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

/// ICMP and ICMPv6 messages by type and code, as the lesson names them.
pub fn icmp_words(m: &IcmpMessage, zh: bool) -> &'static str {
    let (en, cn) = match (m.v6, m.icmp_type, m.code) {
        (false, 0, _) | (true, 129, _) => ("echo reply", "回显应答"),
        (false, 8, _) | (true, 128, _) => ("echo request", "回显请求"),
        (false, 3, 3) | (true, 1, 4) => ("port unreachable", "端口不可达"),
        (false, 3, _) | (true, 1, _) => ("destination unreachable", "目的不可达"),
        (false, 11, _) | (true, 3, _) => ("time exceeded", "超时"),
        (true, 2, _) => ("packet too big", "分组过大"),
        (false, 4, _) => ("source quench", "源抑制"),
        (false, 5, _) => ("redirect", "重定向"),
        (false, 12, _) | (true, 4, _) => ("parameter problem", "参数问题"),
        (true, 133, _) => ("router solicitation", "路由器请求"),
        (true, 134, _) => ("router advertisement", "路由器通告"),
        (true, 135, _) => ("neighbor solicitation", "邻居请求"),
        (true, 136, _) => ("neighbor advertisement", "邻居通告"),
        _ => ("message", "报文"),
    };
    if zh { cn } else { en }
}

/// The expert verdicts in a learner's words: each flag with its evidence (`why`). A fast or
/// spurious retransmission is also a plain one in Wireshark's count; the note names it once.
fn analysis_words(out: &mut String, info: &PacketInfo, seg: &TcpSegment<'_>, lang: Lang) {
    use crate::track::analysis::Flags as F;
    let special = info
        .analysis
        .has(F::FAST_RETRANSMISSION | F::SPURIOUS_RETRANSMISSION);
    for name in info.analysis.names() {
        if name == "retransmission" && special {
            continue;
        }
        out.push_str(" — ");
        out.push_str(match lang {
            Lang::En => name,
            Lang::Zh => finding_zh(name),
        });
        out.push_str(": ");
        why(out, name, info, seg, lang);
    }
}

/// An analysis flag's name in Chinese (the JSON keeps the identifiers).
pub fn finding_zh(name: &str) -> &str {
    match name {
        "retransmission" => "重传",
        "fast-retransmission" => "快速重传",
        "spurious-retransmission" => "虚假重传",
        "out-of-order" => "乱序",
        "previous-segment-not-captured" => "前一报文段未抓到",
        "ack-unseen-segment" => "确认了未抓到的报文段",
        "dup-ack" => "重复确认",
        "zero-window" => "零窗口",
        "zero-window-probe" => "零窗口探测",
        "zero-window-probe-ack" => "零窗口探测的确认",
        "keep-alive" => "保活",
        "keep-alive-ack" => "保活确认",
        "window-update" => "窗口更新",
        "window-full" => "窗口已满",
        "port-reused" => "端口重用",
        other => other,
    }
}

/// A decoding problem in the reader's language (`DecodeError`'s Display is the English).
pub fn decode_error(out: &mut String, e: &crate::wire::DecodeError, lang: Lang) {
    use crate::wire::Problem;
    if lang == Lang::En {
        let _ = write!(out, "{e}");
        return;
    }
    let layer = layer_zh(e.layer);
    let _ = match e.problem {
        Problem::Truncated { need, have } => {
            write!(
                out,
                "{layer} 头部不完整: 需要 {need} 字节, 只有 {have} 字节"
            )
        }
        Problem::BadField { field, value } => {
            write!(out, "{layer} {} 无效: {value}", field_zh(field))
        }
        Problem::BadLength {
            field,
            value,
            limit,
        } => write!(
            out,
            "{layer} {} {value} 超出了容纳它的 {limit} 字节",
            field_zh(field)
        ),
    };
}

/// Layer names the decoders use that are not protocol names, in Chinese.
fn layer_zh(layer: &str) -> &str {
    match layer {
        "frame" => "帧",
        "loopback" => "环回",
        "IPv6 extension" => "IPv6 扩展头",
        "IPv6 fragment" => "IPv6 分片头",
        "IPv6 authentication" => "IPv6 认证头",
        "Linux cooked" => "Linux SLL",
        "Linux cooked v2" => "Linux SLL2",
        "802.1ah I-tag" => "802.1ah I 标签",
        other => other,
    }
}

/// Header field names as the decoders name them, in Chinese.
fn field_zh(field: &str) -> &str {
    match field {
        "version" => "版本",
        "header length" => "头部长度",
        "total length" => "总长度",
        "length" => "长度",
        "data offset" => "数据偏移",
        "option length at option offset" => "选项长度 (位于选项偏移)",
        "option shorter than its fields, kind" => "选项短于其字段, 类型",
        "SACK option length" => "选择性确认选项长度",
        "captured length" => "抓包长度",
        "payload length" => "负载长度",
        "extension header length" => "扩展头长度",
        "option length" => "选项长度",
        other => other,
    }
}

/// The evidence for analysis flag `name` of this segment, as one sentence: the sequence
/// numbers (relative, as shown), frames and times that decided it.
pub fn why(out: &mut String, name: &str, info: &PacketInfo, seg: &TcpSegment<'_>, lang: Lang) {
    let (Some(f), Some(rel_seq)) = (seg.fixed, info.rel_seq) else {
        return;
    };
    let e = &info.verdict.evidence;
    // Relative numbers in the sender's space, and in the receiver's for its ACKs.
    let base = (f.seq - rel_seq).0;
    let rel = |x: u32| x.wrapping_sub(base);
    let peer_base = info.rel_ack.map(|r| (f.ack - r).0);
    let ms = |d: crate::time::Duration| d.as_nanos() as f64 / 1e6;
    let len = seg.len.unwrap_or(0);
    let w = Why {
        s: rel_seq,
        x: rel(e.expected),
        len,
        end: rel_seq.wrapping_add(len),
        acked: rel(e.peer_acked),
        frame: e.expected_frame,
        ago_ms: ms(e.expected_ago),
        threshold_ms: ms(e.threshold),
        dup_acks: e.peer_dup_acks,
        prev_window: e.prev_window,
        window: f.window,
        ack: info.rel_ack,
        max_seen: peer_base.map(|b| e.peer_max_seen.wrapping_sub(b)),
        dup: info.verdict.dup_ack,
    };
    let _ = match lang {
        Lang::En => why_en(out, name, &w),
        Lang::Zh => why_zh(out, name, &w),
    };
}

/// The numbers a `why` sentence cites, relative as the packet lines show them.
struct Why {
    /// This segment's seq, the sender's next expected seq, its length and end.
    s: u32,
    x: u32,
    len: u32,
    end: u32,
    /// What the receiver had acknowledged.
    acked: u32,
    /// The frame that reached `x`, how long before, and the out-of-order limit.
    frame: u64,
    ago_ms: f64,
    threshold_ms: f64,
    dup_acks: u32,
    prev_window: u32,
    window: u16,
    ack: Option<u32>,
    /// Where the peer's bytes seen in order end (Wireshark's "max seq to be acked").
    max_seen: Option<u32>,
    /// Duplicate ACK number and the frame it repeats.
    dup: Option<(u32, u64)>,
}

fn why_en(out: &mut String, name: &str, w: &Why) -> std::fmt::Result {
    let Why {
        s,
        x,
        len,
        end,
        acked,
        frame,
        ..
    } = *w;
    match name {
        "retransmission" => write!(
            out,
            "seq {s} is below the next expected seq {x} (reached in frame {frame}, {:.3} ms earlier): these bytes were sent before",
            w.ago_ms
        ),
        "fast-retransmission" => write!(
            out,
            "the receiver asked for seq {s} again with {} duplicate ACKs, less than 20 ms before",
            w.dup_acks
        ),
        "spurious-retransmission" => write!(
            out,
            "seq {s} to {end} had already been acknowledged (the receiver's ACK was {acked})"
        ),
        "out-of-order" => write!(
            out,
            "seq {s} is below the next expected seq {x} only {:.3} ms after frame {frame} reached it, within {:.3} ms (the initial RTT, or 3 ms), and is not a copy of it",
            w.ago_ms, w.threshold_ms
        ),
        "previous-segment-not-captured" => write!(
            out,
            "seq {s} is beyond the next expected seq {x}: {} bytes before it were not captured",
            s.wrapping_sub(x)
        ),
        "ack-unseen-segment" => match (w.ack, w.max_seen) {
            (Some(a), Some(m)) => write!(
                out,
                "ACK {a} is beyond the peer's bytes seen in order (up to {m})"
            ),
            _ => Ok(()),
        },
        "dup-ack" => match (w.dup, w.ack) {
            (Some((n, f)), Some(a)) => write!(
                out,
                "ACK {a}, seq and window the same as in frame {f} and no data: duplicate #{n}"
            ),
            _ => Ok(()),
        },
        "zero-window" => out
            .write_str("the window field is 0: the sender of this segment has no room to receive"),
        "zero-window-probe" => write!(
            out,
            "1 byte at the next expected seq {x} while the peer's window is 0"
        ),
        "zero-window-probe-ack" => {
            out.write_str("answers the peer's zero-window probe with the window still 0")
        }
        "keep-alive" => write!(
            out,
            "{len} byte(s) at seq {s}, one before the next expected seq {x}: nothing new"
        ),
        "keep-alive-ack" => write!(
            out,
            "repeats ACK {} and the window right after the peer's keep-alive",
            w.ack.unwrap_or(0)
        ),
        "window-update" => write!(
            out,
            "no data, seq and ACK unchanged, the window field went from {} to {}",
            w.prev_window, w.window
        ),
        "window-full" => write!(
            out,
            "the data ends at seq {end}, the edge of the receiver's window (its ACK {acked} plus its window)"
        ),
        "port-reused" => out.write_str(
            "a SYN on the ports of an earlier connection, with another initial seq: a new stream",
        ),
        _ => Ok(()),
    }
}

fn why_zh(out: &mut String, name: &str, w: &Why) -> std::fmt::Result {
    let Why {
        s,
        x,
        len,
        end,
        acked,
        frame,
        ..
    } = *w;
    match name {
        "retransmission" => write!(
            out,
            "seq {s} 小于下一个期望的 seq {x} (第 {frame} 帧已发到那里, {:.3} ms 之前): 这些字节发过了",
            w.ago_ms
        ),
        "fast-retransmission" => write!(
            out,
            "接收方用 {} 个重复确认再次请求 seq {s}, 不到 20 ms 之前",
            w.dup_acks
        ),
        "spurious-retransmission" => {
            write!(
                out,
                "seq {s} 到 {end} 已经被确认过 (接收方的 ACK 是 {acked})"
            )
        }
        "out-of-order" => write!(
            out,
            "seq {s} 小于下一个期望的 seq {x}, 距第 {frame} 帧仅 {:.3} ms, 在 {:.3} ms (初始 RTT 或 3 ms) 之内, 且不是它的副本",
            w.ago_ms, w.threshold_ms
        ),
        "previous-segment-not-captured" => write!(
            out,
            "seq {s} 超过了下一个期望的 seq {x}: 之前有 {} 字节未被抓到",
            s.wrapping_sub(x)
        ),
        "ack-unseen-segment" => match (w.ack, w.max_seen) {
            (Some(a), Some(m)) => write!(out, "ACK {a} 超过了按顺序抓到的对方字节 (到 {m} 为止)"),
            _ => Ok(()),
        },
        "dup-ack" => match (w.dup, w.ack) {
            (Some((n, f)), Some(a)) => write!(
                out,
                "ACK {a}、seq 和窗口与第 {f} 帧相同且无数据: 第 {n} 个重复确认"
            ),
            _ => Ok(()),
        },
        "zero-window" => out.write_str("窗口字段为 0: 发送这个报文段的一方没有接收空间"),
        "zero-window-probe" => write!(out, "对方窗口为 0 时, 在下一个期望的 seq {x} 发 1 字节"),
        "zero-window-probe-ack" => out.write_str("回应对方的零窗口探测, 窗口仍为 0"),
        "keep-alive" => write!(
            out,
            "在 seq {s} 的 {len} 字节, 比下一个期望的 seq {x} 小 1: 没有新数据"
        ),
        "keep-alive-ack" => write!(
            out,
            "紧接对方的保活探测, 重复 ACK {} 和窗口",
            w.ack.unwrap_or(0)
        ),
        "window-update" => write!(
            out,
            "无数据, seq 和 ACK 不变, 窗口字段从 {} 变为 {}",
            w.prev_window, w.window
        ),
        "window-full" => write!(
            out,
            "数据结束于 seq {end}, 正好是接收窗口的边缘 (对方 ACK {acked} 加窗口)"
        ),
        "port-reused" => out.write_str("在之前连接的端口上出现 SYN, 初始 seq 不同: 新的流"),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    /// The integer path writes what the float path writes, for every microsecond count in
    /// the first ten seconds and around every power of ten up to 2^50 nanoseconds; and
    /// anything that is not whole microseconds takes the float path.
    #[test]
    fn test_milliseconds_as_the_float_writes_them() {
        let float = |ns: i128| format!("{:.3}", Duration::from_nanos(ns).as_secs_f64() * 1e3);
        let ours = |ns: i128| {
            let mut s = String::new();
            push_ms(&mut s, Duration::from_nanos(ns));
            s
        };
        let mut cases: Vec<i128> = (0..10_000_000).step_by(7).map(|us| us * 1000).collect();
        for p in 0..16 {
            let base = 10i128.pow(p) * 1000;
            cases.extend((0..2000).map(|d| base + d * 1000));
        }
        cases.extend([(1 << 50) - 1000, 1 << 50, 1_234_567, -1000, -1_500_000, 999]);
        for ns in cases {
            assert_eq!(ours(ns), float(ns), "{ns} ns");
        }
    }
}
