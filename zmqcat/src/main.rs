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

use crate::args::Linger;
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
    failed |= loss_reported(&outcome);
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Reports (and returns true for) messages zmqcat itself knows were not
/// sent: refused by libzmq, or still queued when the exit's --linger ran out.
fn loss_reported(outcome: &session::Outcome) -> bool {
    let mut failed = false;
    if outcome.refused > 0 {
        let n = outcome.refused;
        let (were, each) = if n == 1 {
            ("was", "it was")
        } else {
            ("were", "each was")
        };
        let messages = counted(n, "message", "messages");
        eprintln!("zmqcat: {messages} {were} refused by the socket ({each} reported above)");
        failed = true;
    }
    if outcome.undelivered > 0 {
        let messages = counted(
            outcome.undelivered as u64,
            "queued message",
            "queued messages",
        );
        let within = match outcome.linger {
            Linger::For(d) => format!("within --linger ({})", session::show_duration(d)),
            Linger::Forever => "before the exit".to_owned(),
        };
        eprintln!("zmqcat: {messages} not sent: the socket did not take them {within}");
        failed = true;
    }
    failed
}

/// Reports (and returns true for) what ZeroMQ shows was not delivered: a
/// REQ request without its reply, or messages handed to libzmq while no
/// peer ever connected.
fn delivery_failed(delivery: &session::Delivery) -> bool {
    let mut failed = false;
    if delivery.unanswered > 0 {
        let n = delivery.unanswered;
        let were = if n == 1 { "was" } else { "were" };
        let requests = counted(n, "request", "requests");
        eprintln!("zmqcat: {requests} {were} handed to libzmq but never answered");
        failed = true;
    }
    if delivery.nobody_connected() {
        let messages = counted(delivery.handed_over, "message", "messages");
        eprintln!(
            "zmqcat: warning: {messages} handed to libzmq, but no peer ever connected: \
             nothing was delivered"
        );
        failed = true;
    }
    failed
}

/// `n` and the noun in the right number: "1 message", "3 messages".
fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
