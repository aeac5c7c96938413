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
//! figures (the vs-tmq TARGET lines then say SKIP).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Variant;
use crate::common::{Sample, WAIT};
use crate::recv::Spec;

/// The built tmq peer program.
pub struct Peer {
    exe: PathBuf,
    /// What the program reports about its libzmq (`libzmq 4.3.4`).
    pub libzmq: String,
}

/// benches/tmq-peer's manifest.
const MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/tmq-peer/Cargo.toml");

/// The target directory this runner was built in: the executable is
/// `<target>/<profile>/deps/compare-<hash>`. Falls back to
/// `CARGO_TARGET_DIR`, then to the workspace's `target`.
fn target_dir() -> PathBuf {
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        let deps = exe.parent()?;
        (deps.file_name()? == "deps").then(|| deps.parent()?.parent().map(Path::to_path_buf))?
    });
    from_exe
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target")))
}

/// Builds benches/tmq-peer (release profile, its own target directory
/// `<target>/tmq-peer`) and checks that it runs. Cargo's own output goes to
/// stderr; the error says what failed.
pub fn build() -> Result<Peer, String> {
    let target = target_dir().join("tmq-peer");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!(
        "# building the tmq peer: cargo build --release --manifest-path {MANIFEST} --target-dir {} \
         (the first build compiles libzmq 4.3.4: a few minutes)",
        target.display()
    );
    let status = Command::new(&cargo)
        .args(["build", "--release", "--quiet", "--manifest-path", MANIFEST])
        .arg("--target-dir")
        .arg(&target)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("could not run {}: {e}", Path::new(&cargo).display()))?;
    if !status.success() {
        return Err(format!(
            "cargo build of {MANIFEST} failed ({status}; its errors are above)"
        ));
    }
    let exe = target.join("release").join("tmq-peer");
    let out = Command::new(&exe)
        .arg("version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run {}: {e}", exe.display()))?;
    let libzmq = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || !libzmq.starts_with("libzmq ") {
        return Err(format!(
            "{} version: {} {libzmq:?} {}",
            exe.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(Peer { exe, libzmq })
}

/// Runs one measurement of `variant` (`tmq` or `rust-zmq-raw`) in a fresh
/// child process and returns its sample. Stalls and failures stop the run,
/// as in every other variant: the child bounds its own waits (30 s each,
/// then it panics); the runner kills it if it is still running after
/// several times that.
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
        v => unreachable!("{v:?} runs in the runner"),
    };
    let mut child = Command::new(&peer.exe)
        .arg(which)
        .arg(workload)
        .arg(spec.transport.name())
        .arg(spec.size.to_string())
        .arg(spec.warmup.to_string())
        .arg(spec.count.to_string())
        .arg(ipc_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", peer.exe.display()));
    let what = format!(
        "tmq peer ({which} {workload} {} {})",
        spec.transport.name(),
        spec.size
    );
    // Polled rather than waited on, so that a stalled child can be killed;
    // the poll interval does not touch the measurement, which the child
    // times itself.
    let deadline = Instant::now() + 4 * WAIT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what}: still running after {:?}, killed", 4 * WAIT);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("{what}: wait: {e}"),
        }
    };
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut out);
    }
    assert!(
        status.success(),
        "{what} failed: {status} (its message is above)"
    );
    parse(&out).unwrap_or_else(|| panic!("{what}: no sample in its output {out:?}"))
}

/// `SAMPLE rate <per_sec> <cpu>` or `SAMPLE latency <p50> <p99> <cpu>`.
fn parse(out: &str) -> Option<Sample> {
    let line = out.lines().find_map(|l| l.strip_prefix("SAMPLE "))?;
    let mut words = line.split_whitespace();
    let kind = words.next()?;
    let nums: Vec<f64> = words.map(str::parse).collect::<Result<_, _>>().ok()?;
    match (kind, nums.as_slice()) {
        ("rate", &[per_sec, cpu_per_msg]) => Some(Sample::Rate {
            per_sec,
            cpu_per_msg,
        }),
        ("latency", &[p50, p99, cpu_per_msg]) => Some(Sample::Latency {
            p50,
            p99,
            cpu_per_msg,
        }),
        _ => None,
    }
}
