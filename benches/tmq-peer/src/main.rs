//! The tmq side of calloop-zmq's `compare` benchmark, in a process of its
//! own.
//!
//! tmq 0.5 is built on rust-zmq (`zmq` 0.10, `zmq-sys` 0.12), which builds
//! and links its own libzmq (4.3.4) under `links = "zmq"`, as calloop-zmq-sys
//! does for libzmq 4.3.5: the two cannot share a binary or a Cargo
//! resolution. So the compare runner builds this program and starts it once
//! per tmq measurement:
//!
//! ```text
//! tmq-peer version
//!     -> libzmq 4.3.4
//! tmq-peer <tmq|raw> <recv|send|rtt> <inproc|ipc|tcp> <size> <warmup> <count> <ipc-dir>
//!     -> SAMPLE rate <messages per second> <process CPU seconds per message>
//!     -> SAMPLE latency <p50 seconds> <p99 seconds> <process CPU seconds per round trip>
//! ```
//!
//! The program runs **both sides** of the workload, as the runner does for
//! its own variants: the same blocking peer (a PUSH flooding without copies,
//! a PULL sink, a REQ client that times each round trip), on its own thread,
//! with its own context for ipc and tcp and a shared one for inproc (which
//! cannot cross processes anyway), the same warm-up, clock and
//! acknowledgements. The variant is tmq on a current-thread tokio runtime,
//! or, with `raw`, the runner's `raw` loop on rust-zmq: a reference that
//! tells how far this process and its libzmq 4.3.4 differ from the runner's
//! own `raw` on calloop-zmq's libzmq 4.3.5. Every wait is bounded (30 s);
//! a stalled run panics (exit code 101) with a message on stderr.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};

/// Bound on any single wait (as in the runner).
const WAIT: Duration = Duration::from_secs(30);
const WAIT_MS: i32 = 30_000;

/// The largest payload; sliced to the size in use.
static PAYLOAD: [u8; 65536] = [0xA5; 65536];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Tmq,
    Raw,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Inproc,
    Ipc,
    Tcp,
}

struct Spec {
    transport: Transport,
    size: usize,
    warmup: usize,
    count: usize,
    ipc_dir: String,
}

enum Sample {
    Rate {
        per_sec: f64,
        cpu_per_msg: f64,
    },
    Latency {
        p50: f64,
        p99: f64,
        cpu_per_msg: f64,
    },
}

const USAGE: &str = "usage: tmq-peer version\n       tmq-peer <tmq|raw> <recv|send|rtt> <inproc|ipc|tcp> <size> <warmup> <count> <ipc-dir>";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("version") {
        let (major, minor, patch) = zmq::version();
        println!("libzmq {major}.{minor}.{patch}");
        return;
    }
    let parsed = parse(&args);
    let Some((variant, workload, spec)) = parsed else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let sample = match workload.as_str() {
        "recv" => recv(variant, &spec),
        "send" => send(variant, &spec),
        _ => rtt(variant, &spec),
    };
    match sample {
        Sample::Rate {
            per_sec,
            cpu_per_msg,
        } => println!("SAMPLE rate {per_sec:e} {cpu_per_msg:e}"),
        Sample::Latency {
            p50,
            p99,
            cpu_per_msg,
        } => println!("SAMPLE latency {p50:e} {p99:e} {cpu_per_msg:e}"),
    }
}

fn parse(args: &[String]) -> Option<(Variant, String, Spec)> {
    let [variant, workload, transport, size, warmup, count, ipc_dir] = args else {
        return None;
    };
    let variant = match variant.as_str() {
        "tmq" => Variant::Tmq,
        "raw" => Variant::Raw,
        _ => return None,
    };
    if !matches!(workload.as_str(), "recv" | "send" | "rtt") {
        return None;
    }
    let transport = match transport.as_str() {
        "inproc" => Transport::Inproc,
        "ipc" => Transport::Ipc,
        "tcp" => Transport::Tcp,
        _ => return None,
    };
    let size: usize = size.parse().ok().filter(|&s| s <= PAYLOAD.len())?;
    let spec = Spec {
        transport,
        size,
        warmup: warmup.parse().ok()?,
        count: count.parse().ok().filter(|&n| n > 0)?,
        ipc_dir: ipc_dir.clone(),
    };
    Some((variant, workload.clone(), spec))
}

// ---------------------------------------------------------------- common

/// The contexts of one measurement and the endpoint the peer binds: one
/// context per side for ipc and tcp (each its own I/O thread), one shared
/// context for inproc.
struct Site {
    variant: zmq::Context,
    peer: zmq::Context,
    bind: String,
}

impl Site {
    fn new(spec: &Spec) -> Site {
        let variant = zmq::Context::new();
        let pid = std::process::id();
        let (peer, bind) = match spec.transport {
            Transport::Inproc => (variant.clone(), format!("inproc://tmq-peer-{pid}")),
            Transport::Ipc => (
                zmq::Context::new(),
                format!("ipc://{}/tmq-peer-{pid}.sock", spec.ipc_dir),
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

fn payload(size: usize) -> &'static [u8] {
    &PAYLOAD[..size]
}

/// A socket with bounded send, receive and linger times.
fn socket(ctx: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let s = ctx
        .socket(kind)
        .unwrap_or_else(|e| panic!("create a {kind:?} socket: {e}"));
    s.set_sndtimeo(WAIT_MS).expect("set ZMQ_SNDTIMEO");
    s.set_rcvtimeo(WAIT_MS).expect("set ZMQ_RCVTIMEO");
    s.set_linger(WAIT_MS).expect("set ZMQ_LINGER");
    s
}

/// Binds and returns the endpoint peers connect to.
fn bind(s: &zmq::Socket, endpoint: &str) -> String {
    s.bind(endpoint)
        .unwrap_or_else(|e| panic!("bind {endpoint}: {e}"));
    s.get_last_endpoint()
        .expect("read the bound endpoint")
        .expect("the bound endpoint is UTF-8")
}

/// Sends `data` without copying it (as the runner's peers do).
fn send_static(s: &mut zmq::Socket, data: &'static [u8], what: &str) {
    let mut msg = zmq_sys::zmq_msg_t { __: [0; 64] };
    // SAFETY: `data` lives for the whole program and libzmq only reads it
    // (no free function is given, so it never frees it). On success libzmq
    // owns `msg`; on failure we close it.
    unsafe {
        let rc = zmq_sys::zmq_msg_init_data(
            &mut msg,
            data.as_ptr() as *mut std::ffi::c_void,
            data.len(),
            None,
            std::ptr::null_mut(),
        );
        assert_eq!(rc, 0, "{what}: zmq_msg_init_data failed");
        if zmq_sys::zmq_msg_send(&mut msg, s.as_mut_ptr(), 0) == -1 {
            let e = zmq::Error::from_raw(zmq_sys::zmq_errno());
            zmq_sys::zmq_msg_close(&mut msg);
            panic!("{what}: send failed: {e}");
        }
    }
}

/// Wall clock and the CPU time of the whole process so far.
#[derive(Clone, Copy)]
struct Mark {
    at: Instant,
    cpu: Duration,
}

impl Mark {
    fn now() -> Mark {
        Mark {
            at: Instant::now(),
            cpu: process_cpu(),
        }
    }
}

fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct we hand it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage(RUSAGE_SELF) failed");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn rate(msgs: usize, start: Mark, end: Mark) -> Sample {
    let secs = end.at.duration_since(start.at).as_secs_f64();
    let cpu = end.cpu.saturating_sub(start.cpu).as_secs_f64();
    Sample::Rate {
        per_sec: msgs as f64 / secs.max(1e-9),
        cpu_per_msg: cpu / msgs as f64,
    }
}

fn wait_for<T>(rx: &mpsc::Receiver<T>, what: &str) -> T {
    rx.recv_timeout(WAIT)
        .unwrap_or_else(|e| panic!("timed out after {WAIT:?} waiting for {what} ({e})"))
}

fn spawn<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .unwrap_or_else(|e| panic!("spawn the {name} thread: {e}"))
}

fn join<T>(handle: std::thread::JoinHandle<T>, what: &str) -> T {
    handle
        .join()
        .unwrap_or_else(|_| panic!("the {what} thread panicked (see above)"))
}

/// A current-thread tokio runtime, as a tmq user on one thread would build.
fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a tokio current-thread runtime")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

// ---------------------------------------------------------------- recv

/// A blocking PUSH floods (warm-up, go signal, measured messages, then waits
/// for the acknowledgement); the variant receives on a PULL.
fn recv(variant: Variant, spec: &Spec) -> Sample {
    let site = Site::new(spec);
    let (ep_tx, ep_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (ack_tx, ack_rx) = mpsc::channel::<()>();
    let (peer_ctx, bind_ep, data) = (site.peer.clone(), site.bind.clone(), payload(spec.size));
    let (warmup, count) = (spec.warmup, spec.count);
    let flood = spawn("recv-flood", move || {
        let mut s = socket(&peer_ctx, zmq::PUSH);
        let _ = ep_tx.send(bind(&s, &bind_ep));
        for _ in 0..warmup {
            send_static(&mut s, data, "flood warm-up");
        }
        wait_for(&go_rx, "the go signal");
        for _ in 0..count {
            send_static(&mut s, data, "flood");
        }
        wait_for(&ack_rx, "the receiver's acknowledgement");
    });
    let ep = wait_for(&ep_rx, "the flood's endpoint");
    let go = move || go_tx.send(()).expect("the flood thread is gone");
    let ctx = &site.variant;
    let sample = match variant {
        Variant::Raw => {
            let s = socket(ctx, zmq::PULL);
            s.connect(&ep).expect("raw: connect");
            let mut msg = zmq::Message::new();
            for _ in 0..spec.warmup {
                s.recv(&mut msg, 0).expect("raw: warm-up recv");
            }
            let start = Mark::now();
            go();
            for _ in 0..spec.count {
                s.recv(&mut msg, 0).expect("raw: recv");
            }
            rate(spec.count, start, Mark::now())
        }
        Variant::Tmq => tokio_runtime().block_on(async {
            let mut pull = tmq::pull(ctx).connect(&ep).expect("tmq: connect");
            let work = async {
                for _ in 0..spec.warmup {
                    pull.next()
                        .await
                        .expect("tmq: stream ended")
                        .expect("tmq: recv");
                }
                let start = Mark::now();
                go();
                for _ in 0..spec.count {
                    pull.next()
                        .await
                        .expect("tmq: stream ended")
                        .expect("tmq: recv");
                }
                rate(spec.count, start, Mark::now())
            };
            tokio::time::timeout(WAIT, work)
                .await
                .expect("tmq: timed out receiving")
        }),
    };
    let _ = ack_tx.send(());
    join(flood, "recv flood");
    sample
}

// ---------------------------------------------------------------- send

/// The variant sends to a blocking PULL, which reports the warm-up and the
/// mark of the last measured message.
fn send(variant: Variant, spec: &Spec) -> Sample {
    let site = Site::new(spec);
    let (ep_tx, ep_rx) = mpsc::channel();
    let (warm_tx, warm) = mpsc::channel();
    let (done_tx, done) = mpsc::channel();
    let (peer_ctx, bind_ep) = (site.peer.clone(), site.bind.clone());
    let (warmup, count) = (spec.warmup, spec.count);
    let pull = spawn("send-sink", move || {
        let s = socket(&peer_ctx, zmq::PULL);
        let _ = ep_tx.send(bind(&s, &bind_ep));
        let mut msg = zmq::Message::new();
        for _ in 0..warmup {
            s.recv(&mut msg, 0).expect("sink: warm-up recv");
        }
        let _ = warm_tx.send(());
        for _ in 0..count {
            s.recv(&mut msg, 0).expect("sink: recv");
        }
        let _ = done_tx.send(Mark::now());
    });
    let ep = wait_for(&ep_rx, "the sink's endpoint");
    let ctx = &site.variant;
    let data = payload(spec.size);
    let (start, end) = match variant {
        Variant::Raw => {
            let s = socket(ctx, zmq::PUSH);
            s.connect(&ep).expect("raw: connect");
            for _ in 0..spec.warmup {
                s.send(data, 0).expect("raw: warm-up send");
            }
            wait_for(&warm, "the warm-up to arrive");
            let start = Mark::now();
            for _ in 0..spec.count {
                s.send(data, 0).expect("raw: send");
            }
            (start, wait_for(&done, "the sink to get everything"))
        }
        Variant::Tmq => tokio_runtime().block_on(async {
            let mut push = tmq::push(ctx).connect(&ep).expect("tmq: connect");
            let work = async {
                for _ in 0..spec.warmup {
                    push.send(vec![data]).await.expect("tmq: warm-up send");
                }
                wait_for(&warm, "the warm-up to arrive");
                let start = Mark::now();
                for _ in 0..spec.count {
                    push.send(vec![data]).await.expect("tmq: send");
                }
                (start, wait_for(&done, "the sink to get everything"))
            };
            tokio::time::timeout(WAIT, work)
                .await
                .expect("tmq: timed out sending")
        }),
    };
    join(pull, "send sink");
    rate(spec.count, start, end)
}

// ---------------------------------------------------------------- rtt

/// A blocking REQ sends one request at a time and times each round trip; the
/// variant answers on a REP.
fn rtt(variant: Variant, spec: &Spec) -> Sample {
    let site = Site::new(spec);
    let (ep_tx, ep_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let (peer_ctx, bind_ep, data) = (site.peer.clone(), site.bind.clone(), payload(spec.size));
    let (warmup, count) = (spec.warmup, spec.count);
    let client = spawn("rtt-client", move || {
        let mut s = socket(&peer_ctx, zmq::REQ);
        let _ = ep_tx.send(bind(&s, &bind_ep));
        let mut reply = zmq::Message::new();
        for _ in 0..warmup {
            send_static(&mut s, data, "client warm-up");
            s.recv(&mut reply, 0).expect("client: warm-up reply");
        }
        let mut rtts = Vec::with_capacity(count);
        let start = Mark::now();
        for _ in 0..count {
            let t = Instant::now();
            send_static(&mut s, data, "client");
            s.recv(&mut reply, 0).expect("client: reply");
            rtts.push(t.elapsed().as_secs_f64());
        }
        let end = Mark::now();
        let _ = done_tx.send(());
        (rtts, end.cpu.saturating_sub(start.cpu))
    });
    let ep = wait_for(&ep_rx, "the client's endpoint");
    let total = spec.warmup + spec.count;
    let ctx = &site.variant;
    match variant {
        Variant::Raw => {
            // rust-zmq's own idiom: receive a message, send it back (the
            // runner's `raw` before calloop-zmq had its own binding).
            let s = socket(ctx, zmq::REP);
            s.connect(&ep).expect("raw: connect");
            for _ in 0..total {
                let msg = s.recv_msg(0).expect("raw: recv");
                s.send(msg, 0).expect("raw: send");
            }
            wait_for(&done_rx, "the client to finish");
        }
        Variant::Tmq => tokio_runtime().block_on(async {
            let mut rep = tmq::reply(ctx).connect(&ep).expect("tmq: connect");
            let work = async move {
                for _ in 0..total {
                    let (msg, sender) = rep.recv().await.expect("tmq: recv");
                    rep = sender.send(msg).await.expect("tmq: send");
                }
            };
            tokio::time::timeout(WAIT, work)
                .await
                .expect("tmq: timed out answering");
            wait_for(&done_rx, "the client to finish");
        }),
    }
    let (mut rtts, cpu) = join(client, "rtt client");
    rtts.sort_by(f64::total_cmp);
    Sample::Latency {
        p50: percentile(&rtts, 50.0),
        p99: percentile(&rtts, 99.0),
        cpu_per_msg: cpu.as_secs_f64() / spec.count as f64,
    }
}
