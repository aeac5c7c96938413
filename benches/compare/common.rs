//! What every workload shares: transports, endpoints, contexts, payloads,
//! timestamps with CPU time, and bounded waits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use calloop_zmq::zmq;

/// Bound on any single wait in the runner. A measurement that stalls this
/// long is broken, not slow: the runner stops with a message instead of
/// hanging CI.
pub const WAIT: Duration = Duration::from_secs(30);

/// The same bound in milliseconds, for `ZMQ_SNDTIMEO` / `ZMQ_RCVTIMEO`.
pub const WAIT_MS: i32 = 30_000;

/// Message sizes measured, in bytes.
pub const SIZES: [usize; 3] = [16, 1024, 65536];

/// The largest payload, shared by every sender; sliced to the size in use.
static PAYLOAD: [u8; 65536] = [0xA5; 65536];

/// The payload of `size` bytes.
pub fn payload(size: usize) -> &'static [u8] {
    &PAYLOAD[..size]
}

/// Where the two sockets of a measurement meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Inproc,
    Ipc,
    Tcp,
}

impl Transport {
    pub const ALL: [Transport; 3] = [Transport::Inproc, Transport::Ipc, Transport::Tcp];

    pub fn name(self) -> &'static str {
        match self {
            Transport::Inproc => "inproc",
            Transport::Ipc => "ipc",
            Transport::Tcp => "tcp",
        }
    }
}

/// A size as the table prints it: `16B`, `1K`, `64K`.
pub fn size_name(size: usize) -> String {
    if size >= 1024 && size.is_multiple_of(1024) {
        format!("{}K", size / 1024)
    } else {
        format!("{size}B")
    }
}

/// The contexts of one measurement and the endpoint the peer binds.
///
/// For ipc and tcp the peer and the variant under test get a context each, so
/// each side has its own libzmq I/O thread and neither side's I/O thread
/// serves the other. inproc needs one shared context (and uses no I/O
/// thread for data).
pub struct Site {
    pub variant: zmq::Context,
    pub peer: zmq::Context,
    pub bind: String,
}

impl Site {
    pub fn new(transport: Transport, ipc_dir: &std::path::Path) -> Site {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let variant = zmq::Context::new();
        let (peer, bind) = match transport {
            Transport::Inproc => (variant.clone(), format!("inproc://compare-{seq}")),
            Transport::Ipc => (
                zmq::Context::new(),
                format!("ipc://{}/compare-{seq}.sock", ipc_dir.display()),
            ),
            Transport::Tcp => (zmq::Context::new(), "tcp://127.0.0.1:*".to_owned()),
        };
        Site {
            variant,
            peer,
            bind,
        }
    }
}

/// A socket of `kind` with send and receive timeouts of [`WAIT`] (a blocking
/// call that stalls fails instead of hanging) and a bounded linger.
pub fn socket(ctx: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let s = ctx
        .socket(kind)
        .unwrap_or_else(|e| panic!("create a {kind:?} socket: {e}"));
    s.set_sndtimeo(WAIT_MS).expect("set ZMQ_SNDTIMEO");
    s.set_rcvtimeo(WAIT_MS).expect("set ZMQ_RCVTIMEO");
    s.set_linger(WAIT_MS).expect("set ZMQ_LINGER");
    s
}

/// Binds `s` to `endpoint` and returns the endpoint peers connect to (for
/// tcp, with the ephemeral port filled in).
pub fn bind(s: &zmq::Socket, endpoint: &str) -> String {
    s.bind(endpoint)
        .unwrap_or_else(|e| panic!("bind {endpoint}: {e}"));
    s.last_endpoint().expect("read the bound endpoint")
}

/// A frame that points at `data` without copying it; libzmq never frees
/// it (`Frame::from_static`).
pub fn static_frame(data: &'static [u8]) -> zmq::Frame {
    zmq::Frame::from_static(data)
}

/// Sends `frame` with blocking `zmq_msg_send`. A sent frame is empty (libzmq
/// took its content), so it is forgotten rather than closed, as raw libzmq
/// code does; a refused one is closed and the run stops.
#[inline]
pub fn send_frame(s: &zmq::Socket, mut frame: zmq::Frame, what: &str) {
    match s.send_frame(&mut frame, 0) {
        Ok(_) => std::mem::forget(frame),
        Err(e) => panic!("{what}: send failed: {e}"),
    }
}

/// Sends `data` without copying it: the message points at the static payload
/// and libzmq never frees it. Keeps the peer's cost per message as low as it
/// can be, so that the peer is not what limits a measurement.
#[inline]
pub fn send_static(s: &zmq::Socket, data: &'static [u8], what: &str) {
    send_frame(s, static_frame(data), what);
}

/// A point in a measurement: wall clock and the CPU time the whole process
/// (every thread, libzmq's I/O threads included) had used so far.
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    pub at: Instant,
    pub cpu: Duration,
}

impl Mark {
    pub fn now() -> Mark {
        Mark {
            at: Instant::now(),
            cpu: process_cpu(),
        }
    }
}

/// User plus system CPU time of this process, from `getrusage`.
pub fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct we hand it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage(RUSAGE_SELF) failed");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// One measurement's result.
#[derive(Clone, Copy, Debug)]
pub enum Sample {
    /// Messages per second, and process CPU seconds per message.
    Rate { per_sec: f64, cpu_per_msg: f64 },
    /// Round-trip latency percentiles in seconds, and process CPU seconds per
    /// round trip.
    Latency {
        p50: f64,
        p99: f64,
        cpu_per_msg: f64,
    },
}

impl Sample {
    /// A throughput sample: `msgs` messages between `start` and `end`.
    pub fn rate(msgs: usize, start: Mark, end: Mark) -> Sample {
        let secs = end.at.duration_since(start.at).as_secs_f64();
        let cpu = end.cpu.saturating_sub(start.cpu).as_secs_f64();
        Sample::Rate {
            per_sec: msgs as f64 / secs.max(1e-9),
            cpu_per_msg: cpu / msgs as f64,
        }
    }

    /// The figure ratios are taken of: rate, or p50 latency.
    pub fn headline(&self) -> f64 {
        match *self {
            Sample::Rate { per_sec, .. } => per_sec,
            Sample::Latency { p50, .. } => p50,
        }
    }

    pub fn cpu_per_msg(&self) -> f64 {
        match *self {
            Sample::Rate { cpu_per_msg, .. } | Sample::Latency { cpu_per_msg, .. } => cpu_per_msg,
        }
    }
}

/// Waits on `rx` for at most [`WAIT`]; panics naming `what` otherwise.
pub fn wait_for<T>(rx: &mpsc::Receiver<T>, what: &str) -> T {
    rx.recv_timeout(WAIT)
        .unwrap_or_else(|e| panic!("timed out after {WAIT:?} waiting for {what} ({e})"))
}

/// Panics naming `what` once `deadline` has passed.
pub fn check_deadline(deadline: Instant, what: &str) {
    assert!(
        Instant::now() < deadline,
        "timed out after {WAIT:?} waiting for {what}"
    );
}

/// Spawns a named peer thread.
pub fn spawn<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .unwrap_or_else(|e| panic!("spawn the {name} thread: {e}"))
}

/// Joins a peer thread, passing on its panic with context.
pub fn join<T>(handle: std::thread::JoinHandle<T>, what: &str) -> T {
    handle
        .join()
        .unwrap_or_else(|_| panic!("the {what} thread panicked (see above)"))
}

/// Percentile `p` (0..=100) of sorted `xs`, nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// With `COMPARE_STATS=1` in the environment, prints a calloop-zmq source's
/// counters after a run (EAGAINs, budget stops, wake-ups): what to look at
/// first when a calloop-zmq figure looks off.
pub fn print_stats(what: &str, stats: &calloop_zmq::Stats) {
    if std::env::var_os("COMPARE_STATS").is_some_and(|v| v == "1") {
        eprintln!("# stats {what}: {:?}", stats.snapshot());
    }
}

/// A calloop-zmq source with the library's defaults, or with the budget and
/// outbox capacity from `COMPARE_BUDGET` / `COMPARE_OUTBOX` when set (for
/// finding out what a figure depends on; the published figures use the
/// defaults).
pub fn zmq_source(socket: zmq::Socket) -> calloop_zmq::ZmqSource {
    zmq_builder(socket)
        .build()
        .expect("calloop-zmq: build the source")
}

/// The builder [`zmq_source`] uses, for variants that set more options.
pub fn zmq_builder(socket: zmq::Socket) -> calloop_zmq::Builder {
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
    };
    let mut builder = calloop_zmq::ZmqSource::builder(socket);
    if let Some(n) = env("COMPARE_BUDGET") {
        builder = builder.budget(n);
    }
    if let Some(n) = env("COMPARE_OUTBOX") {
        builder = builder.outbox_capacity(n);
    }
    builder
}
