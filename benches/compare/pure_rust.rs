//! The `zmq.rs` and `rzmq` variants: the pure-Rust ZeroMQ stacks zmq.rs
//! (crate `zeromq` 0.7) and rzmq (0.5), each on a tokio multi-thread
//! runtime, against libzmq, measured by the peer programs
//! benches/zeromq-peer and benches/rzmq-peer.
//!
//! They have no libzmq I/O thread and are what a user weighs calloop-zmq
//! against when a pure-Rust stack would do. They are separate programs so
//! that their tokio trees stay out of the library's build; both build into
//! one target directory (`<target>/peers`), so libzmq, tokio and the
//! shared libzmq side (benches/peer-harness) compile once for both.
//!
//! As in the tmq peer, each program runs both sides of a workload: the
//! libzmq side is benches/peer-harness, which runs this runner's own
//! blocking peer code (`common.rs`) on calloop-zmq's binding and libzmq
//! 4.3.5, as `raw` does. The only thing that changes against `raw` is the
//! socket under test (and the process). What they cannot do is a row of
//! its own: inproc (in-process to libzmq) reads `n/a: ...`, and a stack that
//! fails against libzmq in a cell (a handshake it does not finish, an
//! error) reads `FAILED: ...` there instead of disappearing.

use std::path::Path;

use crate::Variant;
use crate::common::Sample;
use crate::peer::{self, Program, Reply};
use crate::recv::Spec;

/// The built programs; `None` where a build failed or was not wanted.
#[derive(Default)]
pub struct Peers {
    pub zeromq: Option<Program>,
    pub rzmq: Option<Program>,
}

impl Peers {
    /// The program that measures `variant`, if built.
    pub fn program(&self, variant: Variant) -> Option<&Program> {
        match variant {
            Variant::ZmqRs => self.zeromq.as_ref(),
            Variant::Rzmq => self.rzmq.as_ref(),
            _ => None,
        }
    }
}

/// The project and the name it answers to on its command line.
fn project(variant: Variant) -> (&'static str, &'static str) {
    match variant {
        Variant::ZmqRs => ("zeromq-peer", "zeromq"),
        Variant::Rzmq => ("rzmq-peer", "rzmq"),
        v => unreachable!("{v:?} is not a pure-Rust peer"),
    }
}

/// Builds the program of `variant` into `<target>/peers`.
pub fn build(variant: Variant) -> Result<Program, String> {
    peer::build(
        project(variant).0,
        "peers",
        "libzmq 4.3.5, tokio and the stack",
    )
}

/// Runs one measurement of `variant` in a fresh child process: its sample,
/// or what the table prints in its place.
pub fn measure(
    program: &Program,
    variant: Variant,
    workload: &str,
    spec: &Spec,
    ipc_dir: &Path,
) -> Result<Sample, String> {
    match peer::run(program, project(variant).1, workload, spec, ipc_dir) {
        Reply::Sample(sample) => Ok(sample),
        Reply::Unsupported(why) => Err(format!("n/a: {why}")),
        Reply::Failed(why) => {
            eprintln!(
                "# {} {workload} {} {}: FAILED: {why}",
                variant.name(),
                spec.transport.name(),
                spec.size
            );
            Err(format!("FAILED: {why}"))
        }
    }
}
