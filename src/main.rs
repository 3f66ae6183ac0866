//! The `synack` binary: parse the command line, run it, map the result to an exit code
//! (0 ok, 1 expectations not met, 2 error; a closed output pipe is not an error).

use std::io;
use std::process::ExitCode;

mod app;
mod cli;

use clap::Parser;

use app::Outcome;
use cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match app::run(cli) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Unmet) => ExitCode::from(1),
        Err(e) => {
            // `synack read big.pcap | head` closes our stdout: that is the reader's choice.
            if e.chain().any(|c| {
                c.downcast_ref::<io::Error>()
                    .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("synack: {e:#}");
            ExitCode::from(2)
        }
    }
}
