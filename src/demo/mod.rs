//! The classic socket demos, on real `std::net` sockets: a TCP echo server (backlog 5,
//! `recv(1024)`, replying `Hi,you send me :[<ctime>] <message>`) with its client, and a UDP
//! receiver (`recvfrom(1024)`) with its sender. Sockets only: nothing here captures packets.

use std::io::{self, Read, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket,
};
use std::thread;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

/// The classic UDP client's datagram.
pub const UDP_MESSAGE: &str = "hello,this is a test info !";
/// The classic tutorial's ports.
pub const TCP_PORT: u16 = 12345;
pub const UDP_PORT: u16 = 8081;
/// What the classic client sends when the user names no messages.
pub const DEFAULT_MESSAGES: [&str; 3] = ["hello", "how are you", "你好"];

/// How long any demo socket may wait, so a stuck peer never hangs synack.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct DemoConfig {
    pub ipv6: bool,
    pub tcp_port: Option<u16>,
    pub udp_port: Option<u16>,
    pub messages: Vec<String>,
}

impl DemoConfig {
    fn host(&self) -> IpAddr {
        if self.ipv6 {
            IpAddr::V6(Ipv6Addr::LOCALHOST)
        } else {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        }
    }
}

/// Why a demo could not run.
#[derive(Debug)]
pub enum DemoError {
    PortInUse {
        proto: &'static str,
        addr: SocketAddr,
    },
    Bind {
        proto: &'static str,
        addr: SocketAddr,
        err: io::Error,
    },
    Io {
        what: &'static str,
        err: io::Error,
    },
}

impl std::fmt::Display for DemoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DemoError::PortInUse { proto, addr } => write!(
                f,
                "{proto} port {} on {} is already in use; stop the program using it, choose \
                 another with --port/--udp-port, or let synack pick free ones with --port 0",
                addr.port(),
                addr.ip()
            ),
            DemoError::Bind { proto, addr, err } => {
                write!(f, "cannot bind the {proto} server to {addr}: {err}")
            }
            DemoError::Io { what, err } => write!(f, "{what}: {err}"),
        }
    }
}

impl std::error::Error for DemoError {}

/// Servers bound (and the TCP one listening) but not yet serving: binding sends no packets,
/// so the capture can be opened on the ports they got before any traffic starts.
pub struct Bound {
    pub tcp: Option<(TcpListener, SocketAddr)>,
    pub udp: Option<(UdpSocket, SocketAddr)>,
}

fn bind_err(proto: &'static str, addr: SocketAddr, err: io::Error) -> DemoError {
    if err.kind() == io::ErrorKind::AddrInUse {
        DemoError::PortInUse { proto, addr }
    } else {
        DemoError::Bind { proto, addr, err }
    }
}

/// socket() → bind() → listen(5), as the classic server does.
pub fn bind(cfg: &DemoConfig) -> Result<Bound, DemoError> {
    let host = cfg.host();
    let tcp = match cfg.tcp_port {
        Some(port) => {
            let addr = SocketAddr::new(host, port);
            let domain = if cfg.ipv6 { Domain::IPV6 } else { Domain::IPV4 };
            let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))
                .map_err(|err| bind_err("TCP", addr, err))?;
            s.set_reuse_address(true)
                .map_err(|err| bind_err("TCP", addr, err))?;
            s.bind(&addr.into())
                .map_err(|err| bind_err("TCP", addr, err))?;
            s.listen(5).map_err(|err| bind_err("TCP", addr, err))?;
            let l: TcpListener = s.into();
            let got = l.local_addr().map_err(|err| bind_err("TCP", addr, err))?;
            Some((l, got))
        }
        None => None,
    };
    let udp = match cfg.udp_port {
        Some(port) => {
            let addr = SocketAddr::new(host, port);
            let s = UdpSocket::bind(addr).map_err(|err| bind_err("UDP", addr, err))?;
            let got = s.local_addr().map_err(|err| bind_err("UDP", addr, err))?;
            Some((s, got))
        }
        None => None,
    };
    Ok(Bound { tcp, udp })
}

/// What the programs printed, as the classic scripts would.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    /// The replies the TCP client received, one per message.
    pub replies: Vec<String>,
    /// What the TCP server received.
    pub server_received: Vec<String>,
    /// What the UDP receiver got, and from where.
    pub udp_received: Option<(String, SocketAddr)>,
    /// The client's own address (ephemeral port).
    pub tcp_client: Option<SocketAddr>,
    pub udp_client: Option<SocketAddr>,
}

/// Python's `time.ctime()`: local time, day of month space-padded.
pub fn ctime() -> String {
    chrono::Local::now()
        .format("%a %b %e %H:%M:%S %Y")
        .to_string()
}

/// A regular expression every `reply_for` output matches (the ctime varies): what `verify`
/// expects of the demo's replies.
pub const REPLY_PATTERN: &str =
    r"^Hi,you send me :\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}\] ";

/// The classic server's reply to one message.
pub fn reply_for(message: &str) -> String {
    format!("Hi,you send me :[{}] {}", ctime(), message)
}

fn io(what: &'static str) -> impl Fn(io::Error) -> DemoError {
    move |err| DemoError::Io { what, err }
}

/// accept() one connection, then recv(1024) and send the reply until the client closes.
fn serve_tcp(listener: TcpListener) -> Result<Vec<String>, DemoError> {
    let (mut conn, _) = listener
        .accept()
        .map_err(io("accept() on the TCP server"))?;
    conn.set_read_timeout(Some(IO_TIMEOUT))
        .map_err(io("set timeout"))?;
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = conn
            .read(&mut buf)
            .map_err(io("recv() on the TCP server"))?;
        if n == 0 {
            break;
        }
        let msg = String::from_utf8_lossy(&buf[..n]).to_string();
        conn.write_all(reply_for(&msg).as_bytes())
            .map_err(io("send() on the TCP server"))?;
        got.push(msg);
    }
    // close(): the server's FIN follows the client's.
    drop(conn);
    Ok(got)
}

/// connect(), then send() each message and recv(1024) its reply, then close().
fn run_tcp_client(
    addr: SocketAddr,
    messages: &[String],
) -> Result<(SocketAddr, Vec<String>), DemoError> {
    let mut s =
        TcpStream::connect_timeout(&addr, IO_TIMEOUT).map_err(io("connect() to the TCP server"))?;
    s.set_read_timeout(Some(IO_TIMEOUT))
        .map_err(io("set timeout"))?;
    let me = s.local_addr().map_err(io("getsockname()"))?;
    let mut replies = Vec::new();
    let mut buf = [0u8; 1024];
    for m in messages {
        s.write_all(m.as_bytes())
            .map_err(io("send() on the TCP client"))?;
        let n = s.read(&mut buf).map_err(io("recv() on the TCP client"))?;
        replies.push(String::from_utf8_lossy(&buf[..n]).to_string());
    }
    // close() as the classic client does; shutdown first so the FIN leaves now.
    let _ = s.shutdown(Shutdown::Write);
    let mut rest = [0u8; 64];
    // Wait for the server's FIN so the teardown completes while we watch.
    let _ = s.read(&mut rest);
    Ok((me, replies))
}

fn serve_udp(sock: UdpSocket) -> Result<(String, SocketAddr), DemoError> {
    sock.set_read_timeout(Some(IO_TIMEOUT))
        .map_err(io("set timeout"))?;
    let mut buf = [0u8; 1024];
    let (n, from) = sock
        .recv_from(&mut buf)
        .map_err(io("recvfrom() on the UDP server"))?;
    Ok((String::from_utf8_lossy(&buf[..n]).to_string(), from))
}

fn run_udp_client(addr: SocketAddr) -> Result<SocketAddr, DemoError> {
    let bind = if addr.is_ipv6() {
        SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0)
    } else {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)
    };
    let s = UdpSocket::bind(bind).map_err(io("socket() for the UDP client"))?;
    s.send_to(UDP_MESSAGE.as_bytes(), addr)
        .map_err(io("sendto() on the UDP client"))?;
    s.local_addr().map_err(io("getsockname()"))
}

/// Serves and runs the clients: TCP first, then UDP, like the lesson.
pub fn run(bound: Bound, cfg: &DemoConfig) -> Result<Transcript, DemoError> {
    let mut t = Transcript::default();
    if let Some((listener, addr)) = bound.tcp {
        let server = thread::spawn(move || serve_tcp(listener));
        let (me, replies) = run_tcp_client(addr, &cfg.messages)?;
        t.tcp_client = Some(me);
        t.replies = replies;
        t.server_received = server.join().map_err(|_| DemoError::Io {
            what: "TCP server thread",
            err: io::Error::other("panicked"),
        })??;
    }
    if let Some((sock, addr)) = bound.udp {
        let server = thread::spawn(move || serve_udp(sock));
        t.udp_client = Some(run_udp_client(addr)?);
        t.udp_received = Some(server.join().map_err(|_| DemoError::Io {
            what: "UDP server thread",
            err: io::Error::other("panicked"),
        })??);
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_ctime_looks_like_pythons() {
        let c = ctime();
        // "Wed Nov 25 15:13:42 2026" / "Wed Nov  5 15:13:42 2026"
        assert_eq!(c.len(), 24, "{c}");
        assert_eq!(&c[3..4], " ");
        assert_eq!(&c[13..14], ":");
    }

    #[test]
    fn test_reply_pattern_matches_the_replies() {
        let re = regex::Regex::new(REPLY_PATTERN).expect("a valid pattern");
        assert!(re.is_match(&reply_for("你好")), "{}", reply_for("你好"));
        assert!(!re.is_match("Hi,you send me : hello"));
    }

    #[test]
    fn test_demo_over_loopback_with_free_ports() {
        let cfg = DemoConfig {
            ipv6: false,
            tcp_port: Some(0),
            udp_port: Some(0),
            messages: vec!["one".into(), "二".into()],
        };
        let b = bind(&cfg).expect("test data");
        let t = run(b, &cfg).expect("test data");
        assert_eq!(t.server_received, ["one", "二"]);
        assert_eq!(t.replies.len(), 2);
        assert!(
            t.replies[1].starts_with("Hi,you send me :["),
            "{}",
            t.replies[1]
        );
        assert!(t.replies[1].ends_with("] 二"));
        assert_eq!(t.udp_received.expect("test data").0, UDP_MESSAGE);
    }

    #[test]
    fn test_port_in_use_is_named() {
        let busy = TcpListener::bind("127.0.0.1:0").expect("test data");
        let port = busy.local_addr().expect("test data").port();
        let cfg = DemoConfig {
            ipv6: false,
            tcp_port: Some(port),
            udp_port: None,
            messages: vec![],
        };
        // SO_REUSEADDR does not allow two listeners on one port.
        let e = bind(&cfg).err().expect("bind must fail");
        assert!(e.to_string().contains(&port.to_string()), "{e}");
    }
}
