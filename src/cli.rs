//! The command line: clap derive types whose doc comments are the help text, following
//! tcpdump's conventions (-r, -w, -i, -c, -s, -B, -Z, BPF filter as trailing words).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Lang;

/// synack — see the TCP handshake and UDP datagrams of the classic socket lesson on the wire.
///
/// With no command, runs `synack demo`: a TCP echo server (127.0.0.1:12345) and a UDP
/// receiver (127.0.0.1:8081) with their clients, captured on loopback and annotated.
#[derive(Debug, Parser)]
#[command(name = "synack", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read a pcap or pcapng file and annotate every handshake, segment and datagram.
    Read(ReadArgs),
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
    pub output: OutputArgs,
    /// FILE (unless -r is given), then an optional BPF filter such as `tcp port 12345`.
    #[arg(
        value_name = "FILE] [FILTER",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
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
        let (f, filt) = r.file_and_filter().unwrap();
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
        let (f, filt) = r.file_and_filter().unwrap();
        assert_eq!((f.to_str(), filt.as_deref()), (Some("x.pcap"), Some("udp")));
    }

    #[test]
    fn test_cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
