//! The demo's own text around the packet lines: the header saying where it captures and
//! which servers start, and the transcript of what the classic programs printed.

use std::io::{self, Write};
use std::net::SocketAddr;

use super::Lang;
use crate::demo::Transcript;

/// "capturing on lo (filter: …)" and the servers started, before any packet line.
pub fn header(
    out: &mut impl Write,
    device: &str,
    filter: &str,
    tcp: Option<SocketAddr>,
    udp: Option<SocketAddr>,
    lang: Lang,
) -> io::Result<()> {
    let zh = lang == Lang::Zh;
    if zh {
        writeln!(out, "正在 {device} 上抓包 (过滤器: {filter})")?;
    } else {
        writeln!(out, "capturing on {device} (filter: {filter})")?;
    }
    let mut servers = Vec::new();
    if let Some(a) = tcp {
        servers.push(if zh {
            format!("TCP 回显 {a} (socket, bind, listen backlog 5)")
        } else {
            format!("TCP echo {a} (socket, bind, listen backlog 5)")
        });
    }
    if let Some(a) = udp {
        servers.push(if zh {
            format!("UDP 接收端 {a} (socket, bind)")
        } else {
            format!("UDP receiver {a} (socket, bind)")
        });
    }
    let starting = if zh {
        "启动服务器"
    } else {
        "starting servers"
    };
    writeln!(out, "{starting}: {}\n", servers.join(", "))
}

/// What the classic programs would have printed.
pub fn transcript(
    out: &mut impl Write,
    t: &Transcript,
    tcp: Option<SocketAddr>,
    udp: Option<SocketAddr>,
    lang: Lang,
) -> io::Result<()> {
    let zh = lang == Lang::Zh;
    if tcp.is_some() {
        for (sent, reply) in t.server_received.iter().zip(&t.replies) {
            if zh {
                writeln!(out, "TCP 服务器收到: {sent}    客户端收到回复: {reply}")?;
            } else {
                writeln!(out, "TCP server got: {sent}    client got back: {reply}")?;
            }
        }
    }
    if let (Some(_), Some((msg, from))) = (udp, &t.udp_received) {
        if zh {
            writeln!(out, "UDP 服务器收到: {msg} 来自 {from}")?;
        } else {
            writeln!(out, "UDP server got: {msg} from {from}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_header_names_device_filter_and_servers() {
        let tcp: SocketAddr = "127.0.0.1:12345".parse().expect("test data");
        let mut out = Vec::new();
        header(&mut out, "lo", "tcp port 12345", Some(tcp), None, Lang::En).expect("vec");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "capturing on lo (filter: tcp port 12345)\nstarting servers: TCP echo \
             127.0.0.1:12345 (socket, bind, listen backlog 5)\n\n"
        );
    }
}
