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

use clap::{CommandFactory, FromArgMatches};

use crate::session::Stop;

fn main() -> ExitCode {
    let args = match args::Args::from_arg_matches(
        &args::Args::command()
            .long_version(args::long_version())
            .get_matches(),
    ) {
        Ok(args) => args,
        Err(e) => e.exit(),
    };
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
    let mut failed = match &outcome.stop {
        Stop::Failed(why) => {
            eprintln!("zmqcat: {why}");
            true
        }
        Stop::Timeout if outcome.count.is_some_and(|n| outcome.received < n) => {
            eprintln!(
                "zmqcat: --timeout passed after receiving {} of --count {} messages",
                outcome.received,
                outcome.count.unwrap_or(0)
            );
            true
        }
        _ => false,
    };
    failed |= delivery_failed(&outcome.delivery);
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Reports (and returns true for) what ZeroMQ shows was not delivered: a
/// REQ request without its reply, or messages handed to libzmq while no
/// peer ever connected.
fn delivery_failed(delivery: &session::Delivery) -> bool {
    let mut failed = false;
    if delivery.unanswered > 0 {
        let n = delivery.unanswered;
        let (requests, were) = if n == 1 {
            ("request", "was")
        } else {
            ("requests", "were")
        };
        eprintln!("zmqcat: {n} {requests} {were} handed to libzmq but never answered");
        failed = true;
    }
    if delivery.nobody_connected() {
        let n = delivery.handed_over;
        let messages = if n == 1 { "message" } else { "messages" };
        eprintln!(
            "zmqcat: warning: {n} {messages} handed to libzmq, but no peer ever connected: \
             nothing was delivered"
        );
        failed = true;
    }
    failed
}
