//! The `tmq` variant (and the opt-in `rust-zmq-raw` reference), measured by
//! a separate program, benches/tmq-peer.
//!
//! tmq 0.5 is built on rust-zmq (`zmq` 0.10, `zmq-sys` 0.12), which builds
//! its own libzmq (4.3.4) under `links = "zmq"`, as calloop-zmq-sys does for
//! libzmq 4.3.5. Two `links = "zmq"` packages cannot be in one Cargo
//! resolution, let alone one binary, so benches/tmq-peer is a Cargo project
//! of its own (its own `[workspace]` and Cargo.lock). The runner builds it
//! once per run (`cargo build --release --manifest-path
//! benches/tmq-peer/Cargo.toml --target-dir <target>/tmq-peer`) and starts it
//! once per measurement; the program prints its sample on stdout.
//!
//! **The program runs both sides of each workload itself**, on every
//! transport: the same blocking peer as the runner's (a PUSH flooding
//! without copies, a PULL sink, a REQ client timing each round trip) on its
//! own thread, with the same warm-up, clock, acknowledgements and bounded
//! waits, against tmq on a current-thread tokio runtime. inproc cannot cross
//! processes, so there it has to; for ipc and tcp it does so too, because
//! then every variant's sample means the same thing:
//!
//! - the clock starts and stops in the process that runs the variant, on the
//!   same events, with no signal crossing a process boundary inside the
//!   measured part;
//! - `cpu/msg` is `getrusage(RUSAGE_SELF)` of one process holding the
//!   variant, its peer and both sides' libzmq I/O threads, as for the
//!   variants measured in the runner;
//! - tmq's peer runs on rust-zmq's libzmq 4.3.4, as tmq itself does: a tmq
//!   user gets that library with tmq.
//!
//! What stays different is the library underneath: libzmq 4.3.4 (vendored
//! by zmq-sys 0.12) for tmq against 4.3.5 for everything else. The
//! `rust-zmq-raw` variant (`--rust-zmq-raw`, or name it in `--only`) runs
//! the runner's `raw` loop on rust-zmq in the same kind of child process,
//! which measures exactly that difference (process, libzmq version,
//! binding): when it is near 1.0 of `raw`, the RATIO and TARGET lines
//! against tmq compare tmq with calloop-zmq and nothing else. Rounds stay
//! interleaved: each round starts a fresh child for tmq after the runner's
//! own variants ran.
//!
//! If the program cannot be built, the runner says so and runs without tmq
//! figures (the vs-tmq TARGET lines then say SKIP). How peer programs are
//! built and run is `peer.rs`.

use std::path::Path;

use crate::Variant;
use crate::common::Sample;
use crate::peer::{self, Program, Reply};
use crate::recv::Spec;

/// The built tmq peer program.
pub struct Peer {
    program: Program,
    /// What the program reports about its libzmq (`libzmq 4.3.4`).
    pub libzmq: String,
}

/// Builds benches/tmq-peer (release profile, its own target directory
/// `<target>/tmq-peer`) and checks that it runs.
pub fn build() -> Result<Peer, String> {
    let program = peer::build("tmq-peer", "tmq-peer", "libzmq 4.3.4")?;
    if !program.about.starts_with("libzmq ") {
        return Err(format!("tmq-peer version: {:?}", program.about));
    }
    let libzmq = program.about.clone();
    Ok(Peer { program, libzmq })
}

/// Runs one measurement of `variant` (`tmq` or `rust-zmq-raw`) in a fresh
/// child process and returns its sample. Stalls and failures stop the run,
/// as in every other variant.
pub fn measure(
    peer: &Peer,
    variant: Variant,
    workload: &str,
    spec: &Spec,
    ipc_dir: &Path,
) -> Sample {
    let which = match variant {
        Variant::Tmq => "tmq",
        Variant::RustZmqRaw => "raw",
        v => unreachable!("{v:?} is not measured by the tmq peer"),
    };
    let what = format!(
        "tmq peer ({which} {workload} {} {})",
        spec.transport.name(),
        spec.size
    );
    match peer::run(&peer.program, which, workload, spec, ipc_dir) {
        Reply::Sample(sample) => sample,
        Reply::Unsupported(why) | Reply::Failed(why) => {
            panic!("{what} failed: {why} (its message is above)")
        }
    }
}
