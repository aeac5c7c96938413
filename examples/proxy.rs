//! A streamer device (PUSH -> [PULL | PUSH] -> PULL) as a calloop-zmq
//! [`Proxy`], timed against the same device as a blocking forwarding loop on
//! a dedicated thread (what `zmq_proxy` does: receive a frame, send it on).
//!
//! Both run in the same process, one after the other, with a producer
//! thread and a consumer thread over inproc. The proxy runs on the loop's
//! thread, the blocking device on one thread of its own: one forwarding
//! thread each, besides libzmq's I/O thread. Prints messages per second and
//! the ratio; measurements belong in BENCHMARKS.md, not here.
//!
//! `cargo run --release --example proxy [messages]` (default 200000).

use std::thread;
use std::time::{Duration, Instant};

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::proxy::Proxy;
use calloop_zmq::{ZmqSource, zmq};

/// Starts a producer of `count` messages of `size` bytes into `inlet` and
/// a consumer on `outlet`; returns the consumer, which reports how long the
/// messages took from the first to the last.
fn ends(
    ctx: &zmq::Context,
    inlet: &str,
    outlet: &str,
    count: usize,
    size: usize,
) -> (thread::JoinHandle<()>, thread::JoinHandle<Duration>) {
    let pull = ctx.socket(zmq::SocketType::Pull).expect("consumer socket");
    pull.connect(outlet).expect("connect consumer");
    let push = ctx.socket(zmq::SocketType::Push).expect("producer socket");
    push.connect(inlet).expect("connect producer");
    let consumer = thread::spawn(move || {
        let mut frame = zmq::Frame::new();
        pull.recv_into(&mut frame, 0).expect("first message");
        let start = Instant::now();
        for _ in 1..count {
            pull.recv_into(&mut frame, 0).expect("message");
        }
        start.elapsed()
    });
    let producer = thread::spawn(move || {
        let body = vec![7u8; size];
        for _ in 0..count {
            push.send(&body[..], 0).expect("send");
        }
        // Wait here until the consumer is done, so linger never matters.
        drop(push);
    });
    (producer, consumer)
}

fn on_the_loop(count: usize, size: usize) -> Duration {
    let ctx = zmq::Context::new();
    let frontend = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    frontend.bind("inproc://loop-in").unwrap();
    let backend = ZmqSource::new(ctx.socket(zmq::SocketType::Push).unwrap()).unwrap();
    backend.bind("inproc://loop-out").unwrap();
    let proxy = Proxy::new(frontend, backend).unwrap();
    let control = proxy.control();
    let (producer, consumer) = ends(&ctx, "inproc://loop-in", "inproc://loop-out", count, size);
    let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    proxy.insert(&event_loop.handle(), |_, _| {}).unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !consumer.is_finished() && Instant::now() < deadline {
        event_loop
            .dispatch(Some(Duration::from_millis(10)), &mut ())
            .unwrap();
    }
    producer.join().unwrap();
    let took = consumer.join().unwrap();
    assert_eq!(control.stats().frontend_to_backend, count as u64);
    took
}

fn blocking_thread(count: usize, size: usize) -> Duration {
    let ctx = zmq::Context::new();
    let frontend = ctx.socket(zmq::SocketType::Pull).unwrap();
    frontend.bind("inproc://thread-in").unwrap();
    let backend = ctx.socket(zmq::SocketType::Push).unwrap();
    backend.bind("inproc://thread-out").unwrap();
    let (producer, consumer) = ends(
        &ctx,
        "inproc://thread-in",
        "inproc://thread-out",
        count,
        size,
    );
    let device = thread::spawn(move || {
        let mut frame = zmq::Frame::new();
        for _ in 0..count {
            frontend.recv_into(&mut frame, 0).unwrap();
            backend.send_frame(&mut frame, 0).unwrap();
        }
    });
    producer.join().unwrap();
    device.join().unwrap();
    consumer.join().unwrap()
}

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200_000);
    for size in [16, 1024] {
        let device = blocking_thread(count, size);
        let proxy = on_the_loop(count, size);
        let rate = |d: Duration| count as f64 / d.as_secs_f64();
        println!(
            "{size:>5} B x {count}: blocking device thread {:>10.0} msg/s, Proxy on the loop {:>10.0} msg/s, ratio {:.2}",
            rate(device),
            rate(proxy),
            device.as_secs_f64() / proxy.as_secs_f64()
        );
    }
}
