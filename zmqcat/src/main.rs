//! zmqcat: netcat for ZeroMQ, built on calloop-zmq.
//!
//! Opens one socket of any type, binds and connects it as told, sends what
//! comes on stdin and prints what arrives on stdout. See `zmqcat --help`.
//!
//! The program is one calloop event loop: the socket (a
//! `calloop_zmq::ZmqSource`), a SIGINT/SIGTERM source, timers for
//! `--timeout` and the rate line, and a channel from the thread that reads
//! stdin. Modules: [`args`] (the command line), [`mod@format`] (output formats
//! and input parsing), [`input`] (the stdin thread), [`progress`] (rates and
//! summary), [`session`] (the loop).

mod args;
mod format;
mod input;
mod progress;
mod session;

use std::process::ExitCode;

use clap::Parser;

use crate::session::Stop;

fn main() -> ExitCode {
    let args = args::Args::parse();
    let settings = match args.settle() {
        Ok(settings) => settings,
        Err(why) => {
            eprintln!("zmqcat: {why}\n\nFor more information, try '--help'.");
            return ExitCode::from(2);
        }
    };
    let outcome = match session::run(settings) {
        Ok(outcome) => outcome,
        Err(why) => {
            eprintln!("zmqcat: {why}");
            return ExitCode::FAILURE;
        }
    };
    match outcome.stop {
        Stop::Failed(why) => {
            eprintln!("zmqcat: {why}");
            ExitCode::FAILURE
        }
        Stop::Timeout if outcome.count.is_some_and(|n| outcome.received < n) => {
            eprintln!(
                "zmqcat: --timeout passed after receiving {} of --count {} messages",
                outcome.received,
                outcome.count.unwrap_or(0)
            );
            ExitCode::FAILURE
        }
        _ => ExitCode::SUCCESS,
    }
}
