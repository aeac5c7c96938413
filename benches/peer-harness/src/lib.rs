//! The libzmq side of calloop-zmq's `compare` benchmark for the peers that
//! run a pure-Rust ZeroMQ stack (benches/zeromq-peer, benches/rzmq-peer),
//! and their command line.
//!
//! Each peer is a program of its own, so that its tokio tree stays out of
//! the library's build; the runner builds it and starts it once per
//! measurement (see benches/compare/peer.rs):
//!
//! ```text
//! <peer> version
//!     -> <stack and version>; libzmq 4.3.5 on the other side
//! <peer> <stack> <recv|send|rtt> <inproc|ipc|tcp> <size> <warmup> <count> <ipc-dir>
//!     -> SAMPLE rate <messages per second> <process CPU seconds per message>
//!     -> SAMPLE latency <p50 seconds> <p99 seconds> <process CPU seconds per round trip>
//!     -> UNSUPPORTED <why>   (exit 0: the stack cannot do this cell with libzmq)
//!     -> FAILED <why>        (exit 1: it should, and did not)
//! ```
//!
//! As in the tmq peer, the program runs **both sides** of the workload: the
//! runner's own blocking libzmq peer (a PUSH flooding without copies, a PULL
//! sink, a REQ client timing each round trip; the same `common.rs`, the same
//! binding and libzmq 4.3.5 as the runner's `raw`) on its own thread and
//! context, against the stack under test on a tokio runtime. So the clock
//! starts and stops in one process on the same events as for every other
//! variant, `cpu/msg` covers both sides, and what is measured is how the
//! stack talks to libzmq, which is what a user replacing one side of a
//! libzmq system gets.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use calloop_zmq::zmq;

/// The runner's shared code: contexts, sockets, payload, clock, samples.
#[allow(dead_code)]
#[path = "../../compare/common.rs"]
pub mod common;
/// The runner's libzmq side of each workload.
#[path = "../../compare/sides.rs"]
pub mod sides;

use common::Site;
pub use common::{Mark, Sample, Transport, WAIT, payload};
pub use sides::Sink;

/// One measurement, from the command line.
pub struct Spec {
    pub transport: Transport,
    pub size: usize,
    pub warmup: usize,
    pub count: usize,
    /// Where this process makes its ipc endpoints (its own directory, so
    /// that its names never meet the runner's).
    pub ipc_dir: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    Recv,
    Send,
    Rtt,
}

/// How a measurement ended without a sample.
pub enum Refusal {
    /// The stack cannot do this with libzmq at all (a transport it lacks).
    Unsupported(String),
    /// It should have, and did not (an error, a timeout).
    Failed(String),
}

/// For `map_err`: a failure of `what`, with the error's own words.
pub fn failed<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> Refusal + '_ {
    move |e| Refusal::Failed(format!("{what}: {e}"))
}

pub type Outcome<T> = Result<T, Refusal>;

/// A stack under test: its three workloads against libzmq.
pub trait Stack {
    /// What `version` prints, e.g. `zmq.rs (zeromq 0.7)`.
    const ABOUT: &'static str;
    /// The first argument of a measurement.
    const NAME: &'static str;

    /// Receive on a PULL connected to `ep`: the warm-up, then call
    /// [`Recv::start`], then `count` messages, then [`Recv::stop`].
    fn recv(&self, ep: &str, spec: &Spec, clock: Recv) -> Outcome<Sample>;

    /// Send from a PUSH connected to `ep`: the warm-up, await
    /// [`Sink::warm`], take the start mark, send `count` messages, await
    /// [`Sink::done`] (the end mark) before closing.
    fn send(&self, ep: &str, spec: &Spec, sink: Sink) -> Outcome<(Mark, Mark)>;

    /// Answer `total` requests on a REP connected to `ep` (each reply is the
    /// request), then await `done` before closing.
    fn rtt(&self, ep: &str, total: usize, done: mpsc::Receiver<()>) -> Outcome<()>;
}

/// Parses the command line, runs one measurement and prints its result;
/// never returns.
pub fn main<S: Stack>(stack: S) -> ! {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("version") {
        let (major, minor, patch) = zmq::version();
        println!(
            "{}; libzmq {major}.{minor}.{patch} on the other side; tokio {}",
            S::ABOUT,
            flavor_name()
        );
        std::process::exit(0);
    }
    let Some((workload, spec)) = parse::<S>(&args) else {
        eprintln!(
            "usage: {0} version\n       {0} {1} <recv|send|rtt> <inproc|ipc|tcp> <size> <warmup> <count> <ipc-dir>",
            S::NAME,
            S::NAME
        );
        std::process::exit(2);
    };
    let outcome = if spec.transport == Transport::Inproc {
        // libzmq's inproc is a queue inside one libzmq context; no other
        // stack can reach it.
        Err(Refusal::Unsupported(
            "inproc is in-process to libzmq".to_owned(),
        ))
    } else {
        match workload {
            Workload::Recv => recv(&stack, &spec),
            Workload::Send => send(&stack, &spec),
            Workload::Rtt => rtt(&stack, &spec),
        }
    };
    match outcome {
        Ok(Sample::Rate {
            per_sec,
            cpu_per_msg,
        }) => println!("SAMPLE rate {per_sec:e} {cpu_per_msg:e}"),
        Ok(Sample::Latency {
            p50,
            p99,
            cpu_per_msg,
        }) => println!("SAMPLE latency {p50:e} {p99:e} {cpu_per_msg:e}"),
        Err(Refusal::Unsupported(why)) => println!("UNSUPPORTED {}", one_line(&why)),
        Err(Refusal::Failed(why)) => {
            println!("FAILED {}", one_line(&why));
            // The libzmq side may still be blocked on its peer; exiting
            // ends it (its waits are bounded anyway).
            std::process::exit(1);
        }
    }
    std::process::exit(0);
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn parse<S: Stack>(args: &[String]) -> Option<(Workload, Spec)> {
    let [name, workload, transport, size, warmup, count, ipc_dir] = args else {
        return None;
    };
    if name != S::NAME {
        return None;
    }
    let workload = match workload.as_str() {
        "recv" => Workload::Recv,
        "send" => Workload::Send,
        "rtt" => Workload::Rtt,
        _ => return None,
    };
    let transport = Transport::ALL
        .into_iter()
        .find(|t| t.name() == transport.as_str())?;
    let size: usize = size.parse().ok().filter(|&s| s <= common::SIZES[2])?;
    // Its own directory for ipc endpoints: the runner's Site numbers its
    // endpoints from 0 as this process's does.
    let ipc_dir = Path::new(ipc_dir).join(format!("{}-{}", S::NAME, std::process::id()));
    std::fs::create_dir_all(&ipc_dir).ok()?;
    let spec = Spec {
        transport,
        size,
        warmup: warmup.parse().ok()?,
        count: count.parse().ok().filter(|&n| n > 0)?,
        ipc_dir,
    };
    Some((workload, spec))
}

// ---------------------------------------------------------------- runtime

/// `PEER_TOKIO=current-thread` runs the stack on a current-thread runtime
/// (for diagnosis); the default is tokio's multi-thread runtime, what
/// `#[tokio::main]` gives.
fn current_thread() -> bool {
    std::env::var("PEER_TOKIO").is_ok_and(|v| v == "current-thread")
}

fn flavor_name() -> &'static str {
    if current_thread() {
        "current-thread"
    } else {
        "multi-thread"
    }
}

/// Runs `work` on a fresh tokio runtime, bounded by [`WAIT`].
pub fn block_on<T>(what: &str, work: impl Future<Output = Outcome<T>>) -> Outcome<T> {
    let mut builder = if current_thread() {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let rt = builder
        .enable_all()
        .build()
        .map_err(failed("start a tokio runtime"))?;
    rt.block_on(async {
        match tokio::time::timeout(WAIT, work).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Refusal::Failed(format!("{what}: not done after {WAIT:?}"))),
        }
    })
}

/// Awaits a message from a libzmq-side thread without blocking the
/// runtime's threads (the stack's own tasks must keep running meanwhile).
/// Call it before the measured part and await the future after it, so the
/// waiting thread is started outside the clock.
pub fn wait_async<T: Send + 'static>(
    rx: mpsc::Receiver<T>,
    what: &'static str,
) -> impl Future<Output = Outcome<T>> {
    let waiter = tokio::task::spawn_blocking(move || {
        rx.recv_timeout(WAIT)
            .map_err(|e| Refusal::Failed(format!("waiting for {what}: {e}")))
    });
    async move { waiter.await.map_err(failed(what))? }
}

// ---------------------------------------------------------------- recv

/// Start and stop of a `recv` measurement.
pub struct Recv {
    go: Option<Box<dyn FnOnce()>>,
    start: Option<Mark>,
}

impl Recv {
    /// After the warm-up: takes the start mark and lets the flood go.
    pub fn start(&mut self) -> Outcome<()> {
        let go = self
            .go
            .take()
            .ok_or_else(|| Refusal::Failed("started twice".to_owned()))?;
        self.start = Some(Mark::now());
        go();
        Ok(())
    }

    /// After the last measured message.
    pub fn stop(self, count: usize) -> Outcome<Sample> {
        let start = self
            .start
            .ok_or_else(|| Refusal::Failed("stopped before the start".to_owned()))?;
        Ok(Sample::rate(count, start, Mark::now()))
    }
}

/// The runner's flood ([`sides::Flood`]) against the stack's PULL.
fn recv<S: Stack>(stack: &S, spec: &Spec) -> Outcome<Sample> {
    let site = Site::new(spec.transport, &spec.ipc_dir);
    let flood = sides::Flood::start(&site, spec.size, spec.warmup, spec.count);
    let clock = Recv {
        go: Some(Box::new(flood.go())),
        start: None,
    };
    let sample = stack.recv(&flood.side.ep, spec, clock)?;
    flood.finish();
    Ok(sample)
}

/// The runner's sink ([`sides::sink`]) against the stack's PUSH.
fn send<S: Stack>(stack: &S, spec: &Spec) -> Outcome<Sample> {
    let site = Site::new(spec.transport, &spec.ipc_dir);
    let (pull, sink) = sides::sink(&site, spec.warmup, spec.count);
    let (start, end) = stack.send(&pull.ep, spec, sink)?;
    pull.join();
    Ok(Sample::rate(spec.count, start, end))
}

/// The runner's REQ client ([`sides::client`]) against the stack's REP.
fn rtt<S: Stack>(stack: &S, spec: &Spec) -> Outcome<Sample> {
    let site = Site::new(spec.transport, &spec.ipc_dir);
    let (client, done) = sides::client(&site, spec.size, spec.warmup, spec.count);
    stack.rtt(&client.ep, spec.warmup + spec.count, done)?;
    Ok(client.join().sample())
}
