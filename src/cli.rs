//! The command line: clap derive types whose doc comments are the help text, following
//! tcpdump's conventions (-r, -w, -i, -c, -s, -B, -Z, BPF filter as trailing words).

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Args, FromArgMatches, Parser, Subcommand, ValueEnum};

use synack::report::Lang;
use synack::verify::expect::{self, Kind};
use synack::verify::{Expectations, Value};

/// synack — see the TCP handshake and UDP datagrams of the classic socket lesson on the wire.
///
/// With no command, runs `synack demo`: a TCP echo server (127.0.0.1:12345) and a UDP
/// receiver (127.0.0.1:8081) with their clients, captured on loopback and annotated.
#[derive(Debug, Parser)]
#[command(name = "synack", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Print the man page (`man`) or a shell completion script (`complete-bash`,
    /// `complete-zsh`, `complete-fish`) and exit.
    #[arg(long, value_enum, value_name = "KIND")]
    pub generate: Option<Generate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Generate {
    Man,
    CompleteBash,
    CompleteZsh,
    CompleteFish,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the classic TCP echo and UDP demos over loopback, capture and annotate them (default).
    Demo(DemoArgs),
    /// Read a pcap or pcapng file and annotate every handshake, segment and datagram.
    Read(ReadArgs),
    /// Capture live on any interface and annotate handshakes as they happen.
    Watch(WatchArgs),
    /// Check a capture against expectations; exit 0 (met), 1 (not met) or 2 (could not check).
    Verify(VerifyArgs),
    /// One conversation's payload, both directions in order, as Wireshark's Follow Stream.
    Follow(FollowArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum FollowProto {
    #[default]
    Tcp,
    Udp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum FollowFormatArg {
    /// The payload as text, client lines marked `>`, server lines `<`.
    #[default]
    Text,
    /// One line of hex per chunk, server chunks indented (as `tshark -z follow,…,raw`).
    Hex,
    /// The bytes themselves, both directions in order.
    Raw,
    /// A `follow` record, then one `data` record per chunk.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct FollowArgs {
    /// The capture file (`-` for standard input), as tcpdump -r.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Option<PathBuf>,
    /// The conversation: its `stream` number (tcp.stream / udp.stream).
    #[arg(long, value_name = "N")]
    pub stream: u32,
    /// TCP or UDP stream.
    #[arg(long, value_enum, default_value_t = FollowProto::Tcp)]
    pub proto: FollowProto,
    #[arg(long, value_enum, default_value_t = FollowFormatArg::Text)]
    pub format: FollowFormatArg,
    /// Colour the two sides in text: `auto` when stdout is a terminal and NO_COLOR is unset.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
    /// FILE (unless -r is given).
    #[arg(value_name = "FILE")]
    pub words: Vec<String>,
}

/// Expectations, from a TOML file and/or flags (flags win). The flags are made from
/// `verify::expect::ALL`, where each expectation is defined once.
#[derive(Debug, Clone, Default)]
pub struct ExpectArgs {
    /// A TOML file of expectations.
    pub expect: Option<PathBuf>,
    /// The expectations the flags name.
    pub flags: Expectations,
    /// Also write the verdicts as a JUnit XML report.
    pub junit: Option<PathBuf>,
}

impl Args for ExpectArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let cmd = cmd.arg(
            Arg::new("expect")
                .long("expect")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("A TOML file of expectations (keys as the flags below, with underscores)"),
        );
        let cmd = expect::ALL.iter().fold(cmd, |cmd, d| {
            let Some(flag) = d.flag else {
                return cmd;
            };
            let help = d.help.trim_end_matches('.');
            let arg = Arg::new(d.key).long(flag).help(help);
            cmd.arg(match d.kind {
                Kind::Switch => arg.action(ArgAction::SetTrue),
                Kind::Count => arg
                    .value_name(d.value_name())
                    .value_parser(clap::value_parser!(u64)),
                Kind::Millis => arg
                    .value_name(d.value_name())
                    .value_parser(clap::value_parser!(f64)),
                Kind::Pattern => arg.value_name(d.value_name()),
                Kind::Texts => arg.value_name(d.value_name()).action(ArgAction::Append),
            })
        });
        cmd.arg(
            Arg::new("junit")
                .long("junit")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("Also write the verdicts as a JUnit XML report"),
        )
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for ExpectArgs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = Expectations::default();
        for d in expect::ALL.iter().filter(|d| d.flag.is_some()) {
            let v = match d.kind {
                Kind::Switch => m.get_flag(d.key).then_some(Value::On),
                Kind::Count => m.get_one::<u64>(d.key).map(|n| Value::Count(*n)),
                Kind::Millis => m.get_one::<f64>(d.key).map(|x| Value::Millis(*x)),
                Kind::Pattern => m.get_one::<String>(d.key).cloned().map(Value::Pattern),
                Kind::Texts => m
                    .get_many::<String>(d.key)
                    .map(|v| Value::Texts(v.cloned().collect())),
            };
            if let Some(v) = v {
                flags.set(d, v);
            }
        }
        Ok(ExpectArgs {
            expect: m.get_one::<PathBuf>("expect").cloned(),
            flags,
            junit: m.get_one::<PathBuf>("junit").cloned(),
        })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The capture to check (`-` for standard input), as tcpdump -r.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Option<PathBuf>,
    #[command(flatten)]
    pub expect: ExpectArgs,
    /// Verdicts as text, or as JSON lines (`check` objects, then a `verdict`).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The verdicts' words: English, or the classic tutorial's Chinese.
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    pub lang: LangArg,
    /// Also write one self-contained HTML page: summary, conversations, ladder, every
    /// packet's annotation and layers (opened by a click), and the checks when there are some.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Compare the capture's events (`read --format json`) with this golden file, ignoring
    /// what changes from run to run: times (ts, durations, RTTs, iRTT), raw seq/ack numbers
    /// and TCP timestamp values, ports of 1024 and above (numbered by first appearance),
    /// loopback addresses, libpcap's received count, the demo replies' ctime, long numbers
    /// and times inside notes. Exit 1 with the first differences.
    #[arg(long, value_name = "EXPECTED.jsonl")]
    pub golden: Option<PathBuf>,
    /// Write the capture's events as the golden file instead of comparing.
    #[arg(long, requires = "golden")]
    pub update_golden: bool,
    /// FILE (unless -r is given), then an optional BPF filter.
    #[arg(value_name = "FILE] [FILTER")]
    pub words: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Interface to capture on (default: as tcpdump chooses; `any` for all, Linux cooked v2).
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: Option<String>,
    /// List the interfaces synack can capture on, and exit.
    #[arg(short = 'D', long = "list-interfaces")]
    pub list: bool,
    /// Stop after N packets.
    #[arg(short = 'c', long = "count", value_name = "N")]
    pub count: Option<u64>,
    /// Bytes to capture of each packet (0 = 262144, as tcpdump).
    #[arg(
        short = 's',
        long = "snapshot-length",
        value_name = "SNAPLEN",
        default_value_t = 262_144
    )]
    pub snaplen: i32,
    /// Capture buffer size in KiB, as tcpdump -B.
    #[arg(short = 'B', long = "buffer-size", value_name = "KiB")]
    pub buffer_kib: Option<i32>,
    /// Deliver each packet at once instead of in kernel batches (at most 50 ms late). On
    /// Linux this switches libpcap to a ring of snaplen-sized slots, which a burst overflows
    /// (drops) unless -B is large or -s small; off by default, as in tcpdump.
    #[arg(long, overrides_with = "no_immediate_mode")]
    pub immediate_mode: bool,
    /// The default (kept for scripts written for earlier versions).
    #[arg(long, hide = true)]
    pub no_immediate_mode: bool,
    /// Also write the packets to a pcap file (complete and readable even after Ctrl-C).
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// After opening the interface and the -w file, run as USER (as tcpdump -Z).
    #[arg(short = 'Z', long = "relinquish-privileges", value_name = "USER")]
    pub user: Option<String>,
    /// Create FILE (holding the interface's name) once capturing has started with the filter
    /// installed: every packet sent after it exists is captured. For scripts, instead of
    /// `sleep`; "listening on" is printed on stderr at the same moment.
    #[arg(long, value_name = "FILE")]
    pub ready_file: Option<PathBuf>,
    /// Stop after this many seconds (as Ctrl-C would).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Stop once no packet has matched for this many seconds (counted from the start too).
    #[arg(long, value_name = "SECONDS")]
    pub until_idle: Option<f64>,
    /// Idle timeout for TCP and UDP alike, in seconds (overrides --tcp-timeout/--udp-timeout).
    #[arg(long, value_name = "SECONDS")]
    pub idle: Option<f64>,
    /// Batches (of up to 512 frames) that may wait for the analysis; when the analysis falls
    /// further behind, frames are still saved with -w and counted as not analysed.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub queue: usize,
    #[command(flatten)]
    pub table: TableArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// A BPF filter, such as `tcp port 12345`.
    #[arg(value_name = "FILTER")]
    pub filter: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Run over ::1 instead of 127.0.0.1.
    #[arg(long)]
    pub ipv6: bool,
    /// The TCP echo server's port (0: pick free ports for both servers).
    #[arg(long, default_value_t = synack::demo::TCP_PORT)]
    pub port: u16,
    /// The UDP receiver's port (default 8081; free with --port 0).
    #[arg(long)]
    pub udp_port: Option<u16>,
    /// How many messages the TCP client sends.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub messages: usize,
    /// A message for the TCP client to send (repeatable; any UTF-8; replaces the defaults).
    #[arg(long = "message", value_name = "TEXT")]
    pub message: Vec<String>,
    /// Only the TCP echo demo.
    #[arg(long, conflicts_with = "udp_only")]
    pub tcp_only: bool,
    /// Only the UDP demo.
    #[arg(long)]
    pub udp_only: bool,
    /// Also write the captured packets to a pcap file (Wireshark and `synack read` open it).
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Show each packet's headers layer by layer (link, network, transport, application).
    #[arg(long)]
    pub layers: bool,
    /// Write the ladder diagram as a standalone SVG.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Also write one self-contained HTML page: summary, conversations, ladder, every
    /// packet's annotation and layers (opened by a click), and the checks when there are some.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Run the demos only, without capturing (like the classic tutorial).
    #[arg(long)]
    pub no_capture: bool,
    /// Seconds to wait for the teardown to appear on the wire before giving up.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub timeout: f64,
    /// Check the run (exit 1 if not met): against --expect/flags, or by default against what
    /// the demo sent (every message answered in the classic format, complete handshake, FIN
    /// close, the datagram, no drops).
    #[arg(long)]
    pub verify: bool,
    #[command(flatten)]
    pub expect: ExpectArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

impl DemoArgs {
    /// The messages the client sends: the user's, or the lesson's defaults.
    pub fn message_list(&self) -> Vec<String> {
        if !self.message.is_empty() {
            return self.message.clone();
        }
        (0..self.messages)
            .map(|i| {
                synack::demo::DEFAULT_MESSAGES
                    .get(i)
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| format!("message {}", i + 1))
            })
            .collect()
    }

    pub fn udp_port(&self) -> u16 {
        match (self.udp_port, self.port) {
            (Some(p), _) => p,
            (None, 0) => 0,
            (None, _) => synack::demo::UDP_PORT,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// One line per packet with its annotation, then one line per conversation.
    #[default]
    Text,
    /// JSON Lines (packet, conn and summary objects), a stable contract for tools.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LangArg {
    #[default]
    En,
    /// The classic tutorial's Chinese terms (第一次握手, SYN_SEND, 客户端/服务器).
    Zh,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Lang {
        match l {
            LangArg::En => Lang::En,
            LangArg::Zh => Lang::Zh,
        }
    }
}

/// Output options shared by every command that prints packets.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Show at most this many bytes of each payload (JSON: `payload_truncated` when cut).
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub payload_bytes: usize,
    /// Language of the annotations.
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    pub lang: LangArg,
    /// Colour in text output: `auto` when stdout is a terminal and NO_COLOR is not set.
    /// Never in JSON.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorArg {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorArg {
    /// Whether to colour what goes to stdout.
    pub fn on_stdout(self) -> bool {
        match self {
            ColorArg::Always => true,
            ColorArg::Never => false,
            // anstream's rules: a terminal, and NO_COLOR / CLICOLOR / TERM=dumb respected.
            ColorArg::Auto => {
                anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
            }
        }
    }
}

/// How conversations are summed up and leave memory (times are packet time).
#[derive(Debug, Clone, Args)]
pub struct TableArgs {
    /// Print only conversation records and the summary (as Zeek's conn.log), no packet lines.
    #[arg(long)]
    pub conns: bool,
    /// Show one conversation only: the TCP stream N (tcp.stream), or the UDP one with
    /// --stream-proto udp. Everything is still tracked, so numbers stay the capture's.
    #[arg(long, value_name = "N")]
    pub stream: Option<u32>,
    /// The protocol of --stream.
    #[arg(long, value_enum, default_value_t = FollowProto::Tcp, requires = "stream")]
    pub stream_proto: FollowProto,
    /// A TCP connection silent this long is summed up (Zeek's tcp_inactivity_timeout).
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0)]
    pub tcp_timeout: f64,
    /// A UDP conversation silent this long is summed up (Zeek's udp_inactivity_timeout).
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub udp_timeout: f64,
    /// After a TCP connection is over (FINs acknowledged, or RST), wait this long for late
    /// segments before its record is written (Zeek's tcp_close_delay).
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub close_delay: f64,
    /// Conversations held in memory at once; when full, the longest idle is summed up early
    /// (counted as `summed_up_early`).
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_conns: u64,
}

impl TableArgs {
    pub fn limits(&self) -> synack::track::Limits {
        use synack::time::Duration;
        synack::track::Limits {
            tcp_idle: Duration::from_secs_f64(self.tcp_timeout),
            udp_idle: Duration::from_secs_f64(self.udp_timeout),
            close_delay: Duration::from_secs_f64(self.close_delay),
            max_conns: usize::try_from(self.max_conns).unwrap_or(usize::MAX),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ReadArgs {
    /// The capture file to read (`-` for standard input), as tcpdump -r.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Option<PathBuf>,
    /// Stop after N frames that pass the filter.
    #[arg(short = 'c', long = "count", value_name = "N")]
    pub count: Option<u64>,
    #[command(flatten)]
    pub table: TableArgs,
    /// Also write one self-contained HTML page: summary, conversations, ladder, every
    /// packet's annotation and layers (opened by a click), and the checks when there are some.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// FILE (unless -r is given), then an optional BPF filter such as `tcp port 12345`.
    #[arg(value_name = "FILE] [FILTER")]
    pub words: Vec<String>,
}

impl ReadArgs {
    /// The file and the filter expression, tcpdump-style.
    pub fn file_and_filter(&self) -> Result<(PathBuf, Option<String>), String> {
        let mut words = self.words.iter();
        let file = match &self.read {
            Some(p) => p.clone(),
            None => match words.next() {
                Some(w) => PathBuf::from(w),
                None => return Err("no capture file given: synack read FILE [FILTER…]".into()),
            },
        };
        let rest: Vec<&str> = words.map(String::as_str).collect();
        let filter = (!rest.is_empty()).then(|| rest.join(" "));
        Ok((file, filter))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_read_file_then_filter_words() {
        let cli = Cli::parse_from(["synack", "read", "x.pcap", "tcp", "port", "12345"]);
        let Some(Command::Read(r)) = cli.command else {
            panic!("not read")
        };
        let (f, filt) = r.file_and_filter().expect("test data");
        assert_eq!(f, PathBuf::from("x.pcap"));
        assert_eq!(filt.as_deref(), Some("tcp port 12345"));
    }

    #[test]
    fn test_read_dash_r() {
        let cli = Cli::parse_from(["synack", "read", "-r", "x.pcap", "-c", "3", "udp"]);
        let Some(Command::Read(r)) = cli.command else {
            panic!("not read")
        };
        assert_eq!(r.count, Some(3));
        let (f, filt) = r.file_and_filter().expect("test data");
        assert_eq!((f.to_str(), filt.as_deref()), (Some("x.pcap"), Some("udp")));
    }

    #[test]
    fn test_no_command_is_demo_defaults() {
        let cli = Cli::parse_from(["synack", "demo"]);
        let Some(Command::Demo(d)) = cli.command else {
            panic!("not demo")
        };
        assert_eq!((d.port, d.udp_port(), d.messages), (12345, 8081, 3));
        assert_eq!(d.message_list(), ["hello", "how are you", "你好"]);
        let cli = Cli::parse_from(["synack", "demo", "--port", "0", "--messages", "4"]);
        let Some(Command::Demo(d)) = cli.command else {
            panic!("not demo")
        };
        assert_eq!(d.udp_port(), 0);
        assert_eq!(
            d.message_list().last().map(String::as_str),
            Some("message 4")
        );
    }

    #[test]
    fn test_flags_after_the_file_are_flags() {
        let cli = Cli::parse_from([
            "synack", "read", "x.pcap", "--format", "json", "tcp", "-c", "2",
        ]);
        let Some(Command::Read(r)) = cli.command else {
            panic!("not read")
        };
        assert_eq!(r.output.format, Format::Json);
        assert_eq!(r.count, Some(2));
        assert_eq!(
            r.file_and_filter().expect("test data").1.as_deref(),
            Some("tcp")
        );
    }

    #[test]
    fn test_cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
