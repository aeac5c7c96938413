//! Peer programs: variants measured in a process of their own, because
//! what they link cannot share this binary (tmq's libzmq) or should stay
//! out of the library's build (the tokio trees of zmq.rs and rzmq).
//!
//! Each is a Cargo project under benches/ with its own `[workspace]` and
//! Cargo.lock. The runner builds it once per run (release profile, a
//! target directory under its own) and starts it once per measurement with
//! the measurement on its command line; the program runs both sides of the
//! workload itself and prints one line of result on stdout:
//!
//! ```text
//! SAMPLE rate <per_sec> <cpu>  |  SAMPLE latency <p50> <p99> <cpu>
//! UNSUPPORTED <why>            (the variant cannot do this cell)
//! FAILED <why>                 (it should have and did not)
//! ```
//!
//! Its messages (and cargo's) go to the runner's stderr.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Sample, WAIT};
use crate::recv::Spec;

/// A built peer program.
pub struct Program {
    exe: PathBuf,
    /// The first line its `version` command prints.
    pub about: String,
}

/// What one run of a peer program came back with.
pub enum Reply {
    Sample(Sample),
    /// The variant cannot do this cell (e.g. a transport it lacks).
    Unsupported(String),
    /// It stopped without a sample: its message, or its exit status.
    Failed(String),
}

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

/// Builds benches/`project` (release profile, target directory
/// `<target>/<target_subdir>`, which projects may share) and checks that
/// its `version` command runs. `slow` says what makes a first build long.
/// The error says what failed; cargo's own output is on stderr.
pub fn build(project: &str, target_subdir: &str, slow: &str) -> Result<Program, String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches")
        .join(project)
        .join("Cargo.toml");
    let target = target_dir().join(target_subdir);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!(
        "# building the {project}: cargo build --release --manifest-path {} --target-dir {} \
         (the first build compiles {slow}: a few minutes)",
        manifest.display(),
        target.display()
    );
    let began = Instant::now();
    let status = Command::new(&cargo)
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("could not run {}: {e}", Path::new(&cargo).display()))?;
    if !status.success() {
        return Err(format!(
            "cargo build of {} failed ({status}; its errors are above)",
            manifest.display()
        ));
    }
    eprintln!("# {project} built in {:.1}s", began.elapsed().as_secs_f64());
    let exe = target.join("release").join(project);
    let out = Command::new(&exe)
        .arg("version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run {}: {e}", exe.display()))?;
    let about = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if !out.status.success() || about.is_empty() {
        return Err(format!(
            "{} version: {} {about:?} {}",
            exe.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(Program { exe, about })
}

/// Runs `program <which> <workload> <transport> <size> <warmup> <count>
/// <ipc_dir>` and reads its reply. The program bounds its own waits (30 s
/// each); the runner kills it if it is still running after several times
/// that.
pub fn run(program: &Program, which: &str, workload: &str, spec: &Spec, ipc_dir: &Path) -> Reply {
    let args: [OsString; 7] = [
        which.into(),
        workload.into(),
        spec.transport.name().into(),
        spec.size.to_string().into(),
        spec.warmup.to_string().into(),
        spec.count.to_string().into(),
        ipc_dir.into(),
    ];
    let mut child = match Command::new(&program.exe)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return Reply::Failed(format!("start {}: {e}", program.exe.display())),
    };
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
                return Reply::Failed(format!("still running after {:?}, killed", 4 * WAIT));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Reply::Failed(format!("wait: {e}")),
        }
    };
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut out);
    }
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("SAMPLE ") {
            if let Some(sample) = parse_sample(rest)
                && status.success()
            {
                return Reply::Sample(sample);
            }
        } else if let Some(why) = line.strip_prefix("UNSUPPORTED ") {
            return Reply::Unsupported(why.to_owned());
        } else if let Some(why) = line.strip_prefix("FAILED ") {
            return Reply::Failed(why.to_owned());
        }
    }
    Reply::Failed(format!("{status}, no result in its output {out:?}"))
}

/// `rate <per_sec> <cpu>` or `latency <p50> <p99> <cpu>`.
fn parse_sample(line: &str) -> Option<Sample> {
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
