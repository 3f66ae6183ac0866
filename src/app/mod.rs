//! The binary's wiring, one file per subcommand: open the source, run frames through the
//! library's pipeline into a printer, and turn every I/O failure into a message that names
//! the file or device. Decisions and formatting live in the library.

mod demo;
mod read;
mod verify;
mod watch;

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use clap::Parser;

use crate::cli::{Cli, Command, Format, Generate, OutputArgs};
use synack::event::Sink;
use synack::report::{self, Style};

/// How a successful run ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// `verify`: some expectation was not met.
    Unmet,
}

pub fn run(cli: Cli) -> Result<Outcome> {
    if let Some(kind) = cli.generate {
        generate(kind, &mut io::stdout().lock())?;
        return Ok(Outcome::Ok);
    }
    match cli.command {
        Some(Command::Read(args)) => read::read(&args),
        Some(Command::Demo(args)) => demo::demo(&args),
        Some(Command::Watch(args)) => watch::watch(&args),
        Some(Command::Verify(args)) => verify::verify_file(&args),
        Some(Command::Follow(args)) => read::follow(&args),
        // No command: the main job, on safe defaults.
        None => match Cli::parse_from(["synack", "demo"]).command {
            Some(Command::Demo(args)) => demo::demo(&args),
            _ => bail!("internal error: default demo arguments"),
        },
    }
}

/// The printers' style from the output flags.
fn style(o: &OutputArgs) -> Style {
    Style {
        payload_bytes: o.payload_bytes,
        lang: o.lang.into(),
        layers: false,
        socket_calls: false,
        color: o.format == Format::Text && o.color.on_stdout(),
    }
}

fn format(f: Format) -> report::Format {
    match f {
        Format::Text => report::Format::Text,
        Format::Json => report::Format::Json,
    }
}

/// The printer the output flags ask for.
fn printer<'a, W: Write + 'a>(o: &OutputArgs, out: W, live: bool) -> Box<dyn Sink + 'a> {
    report::printer(format(o.format), style(o), out, live)
}

/// Writes the HTML report (with the checks, when verify ran).
fn write_html(
    path: &Path,
    report: &synack::report::html::HtmlReport,
    checks: Option<&[synack::verify::Check]>,
) -> Result<()> {
    let mut out = Vec::new();
    report.write(&mut out, checks)?;
    std::fs::write(path, out).with_context(|| format!("cannot write {}", path.display()))
}

/// A capture file, or standard input for `-`.
fn open_input(path: &Path) -> Result<Box<dyn Read + Send>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(io::stdin()));
    }
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        bail!("{} is a directory, not a capture file", path.display());
    }
    Ok(Box::new(f))
}

/// The man page (every subcommand with all its options) or a completion script.
fn generate(kind: Generate, out: &mut impl Write) -> Result<()> {
    use clap::CommandFactory;
    use clap_complete::Shell;
    let mut cmd = Cli::command();
    let shell = match kind {
        Generate::Man => {
            let man = clap_mangen::Man::new(cmd.clone());
            man.render(out)?;
            // One page for all: each subcommand's synopsis and options after the overview.
            for sub in cmd.get_subcommands() {
                let name = format!("synack-{}", sub.get_name());
                let page = clap_mangen::Man::new(
                    sub.clone().bin_name(format!("synack {}", sub.get_name())),
                );
                writeln!(out, ".SH \"{}\"", name.to_uppercase())?;
                page.render_description_section(out)?;
                page.render_synopsis_section(out)?;
                page.render_options_section(out)?;
            }
            return Ok(());
        }
        Generate::CompleteBash => Shell::Bash,
        Generate::CompleteZsh => Shell::Zsh,
        Generate::CompleteFish => Shell::Fish,
    };
    clap_complete::generate(shell, &mut cmd, "synack", out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every subcommand has its section and every visible long flag appears in the man page
    /// (the flags are enumerated from the CLI itself, so a new one cannot be forgotten).
    #[test]
    fn test_man_page_covers_every_subcommand_and_flag() {
        let mut out = Vec::new();
        generate(Generate::Man, &mut out).expect("render");
        let man = String::from_utf8(out).expect("utf-8");
        let mut flags = 0;
        for sub in Cli::command().get_subcommands() {
            let name = sub.get_name();
            assert!(
                man.contains(&format!("SYNACK-{}", name.to_uppercase())),
                "{name}"
            );
            for a in sub.get_arguments().filter(|a| !a.is_hide_set()) {
                if let Some(long) = a.get_long() {
                    // roff escapes the dashes of a long option.
                    assert!(
                        man.contains(&format!("\\-\\-{}", long.replace('-', "\\-"))),
                        "{name} --{long} missing from the man page"
                    );
                    flags += 1;
                }
            }
        }
        assert!(flags > 50, "{flags}");
    }
}
