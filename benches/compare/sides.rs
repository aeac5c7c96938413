//! The blocking libzmq side of each workload, on its own thread: the PUSH
//! that floods `recv`, the PULL that sinks `send`, the REQ that times `rtt`.
//!
//! Shared by the runner's own variants and by the pure-Rust peer programs
//! (benches/peer-harness includes this file), so every variant but tmq's
//! meets the very same peer on the same libzmq.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use calloop_zmq::zmq;

use crate::common::{
    Mark, Sample, Site, bind, join, payload, percentile, send_static, socket, spawn, wait_for,
};

/// A peer thread and the endpoint it bound, which the variant connects to.
pub struct Side<T> {
    pub ep: String,
    name: &'static str,
    thread: JoinHandle<T>,
}

impl<T> Side<T> {
    /// Starts `name` on its own thread; `run` binds a socket, sends its
    /// endpoint, then does its part.
    fn start(
        name: &'static str,
        run: impl FnOnce(mpsc::Sender<String>) -> T + Send + 'static,
    ) -> Side<T>
    where
        T: Send + 'static,
    {
        let (ep_tx, ep_rx) = mpsc::channel();
        let thread = spawn(name, move || run(ep_tx));
        let ep = wait_for(&ep_rx, "the peer's endpoint");
        Side { ep, name, thread }
    }

    /// Waits for the thread to finish its part.
    pub fn join(self) -> T {
        join(self.thread, self.name)
    }
}

/// `recv`'s flood: sends the warm-up (which also proves the connection is
/// up), waits for [`Flood::go`], sends the measured messages without
/// copying them, and closes only after [`Flood::ack`] (libzmq#4660).
pub struct Flood {
    pub side: Side<()>,
    go: mpsc::Sender<()>,
    ack: mpsc::Sender<()>,
}

impl Flood {
    pub fn start(site: &Site, size: usize, warmup: usize, count: usize) -> Flood {
        let (go, go_rx) = mpsc::channel::<()>();
        let (ack, ack_rx) = mpsc::channel::<()>();
        let (ctx, bind_ep, data) = (site.peer.clone(), site.bind.clone(), payload(size));
        let side = Side::start("recv-flood", move |ep| {
            let s = socket(&ctx, zmq::SocketType::Push);
            let _ = ep.send(bind(&s, &bind_ep));
            for _ in 0..warmup {
                send_static(&s, data, "flood warm-up");
            }
            wait_for(&go_rx, "the go signal");
            for _ in 0..count {
                send_static(&s, data, "flood");
            }
            wait_for(&ack_rx, "the receiver's acknowledgement");
        });
        Flood { side, go, ack }
    }

    /// What the variant calls right after it took its start mark.
    pub fn go(&self) -> impl FnOnce() + Send + 'static {
        let go = self.go.clone();
        move || go.send(()).expect("the flood thread is gone")
    }

    /// The variant has everything: the flood may close.
    pub fn finish(self) {
        let _ = self.ack.send(());
        self.side.join();
    }
}

/// What `send`'s PULL reports.
pub struct Sink {
    /// The warm-up arrived.
    pub warm: mpsc::Receiver<()>,
    /// The last measured message arrived, at this mark.
    pub done: mpsc::Receiver<Mark>,
}

/// `send`'s PULL: receives the warm-up, reports it, receives the measured
/// messages and reports the mark of the last one.
pub fn sink(site: &Site, warmup: usize, count: usize) -> (Side<()>, Sink) {
    let (warm_tx, warm) = mpsc::channel();
    let (done_tx, done) = mpsc::channel();
    let (ctx, bind_ep) = (site.peer.clone(), site.bind.clone());
    let side = Side::start("send-sink", move |ep| {
        let s = socket(&ctx, zmq::SocketType::Pull);
        let _ = ep.send(bind(&s, &bind_ep));
        let mut msg = zmq::Frame::new();
        for _ in 0..warmup {
            s.recv_into(&mut msg, 0).expect("sink: warm-up recv");
        }
        let _ = warm_tx.send(());
        for _ in 0..count {
            s.recv_into(&mut msg, 0).expect("sink: recv");
        }
        let _ = done_tx.send(Mark::now());
    });
    (side, Sink { warm, done })
}

/// The round trips `rtt`'s REQ timed, and its process CPU time meanwhile.
pub struct Trips {
    rtts: Vec<f64>,
    cpu: Duration,
}

impl Trips {
    pub fn sample(mut self) -> Sample {
        self.rtts.sort_by(f64::total_cmp);
        Sample::Latency {
            p50: percentile(&self.rtts, 50.0),
            p99: percentile(&self.rtts, 99.0),
            cpu_per_msg: self.cpu.as_secs_f64() / self.rtts.len().max(1) as f64,
        }
    }
}

/// `rtt`'s REQ: sends one request at a time, without copies, and times each
/// round trip; the receiver says when it has the last reply (the variant
/// closes only after that).
pub fn client(
    site: &Site,
    size: usize,
    warmup: usize,
    count: usize,
) -> (Side<Trips>, mpsc::Receiver<()>) {
    let (done_tx, done) = mpsc::channel::<()>();
    let (ctx, bind_ep, data) = (site.peer.clone(), site.bind.clone(), payload(size));
    let side = Side::start("rtt-client", move |ep| {
        let s = socket(&ctx, zmq::SocketType::Req);
        let _ = ep.send(bind(&s, &bind_ep));
        let mut reply = zmq::Frame::new();
        for _ in 0..warmup {
            send_static(&s, data, "client warm-up");
            s.recv_into(&mut reply, 0).expect("client: warm-up reply");
        }
        let mut rtts = Vec::with_capacity(count);
        let start = Mark::now();
        for _ in 0..count {
            let t = Instant::now();
            send_static(&s, data, "client");
            s.recv_into(&mut reply, 0).expect("client: reply");
            rtts.push(t.elapsed().as_secs_f64());
        }
        let end = Mark::now();
        let _ = done_tx.send(());
        Trips {
            rtts,
            cpu: end.cpu.saturating_sub(start.cpu),
        }
    });
    (side, done)
}
