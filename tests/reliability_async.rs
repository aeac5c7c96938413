//! A slow async consumer behind `AsyncSocket`'s bounded inbox: a million
//! messages, memory flat, nothing lost or reordered.

mod reliability_common;
mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::calloop::futures::executor;
use calloop_zmq::{AsyncSocket, ZmqSource, zmq};
use reliability_common::rss_bytes;
use support::{run_until_within, yield_now};

#[test]
fn reliability_async_slow_consumer_memory_stays_flat() {
    let n: u64 = std::env::var("RELIABILITY_SOAK_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    const INBOX: usize = 64;
    let ctx = zmq::Context::new();
    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    pull.socket().set_rcvhwm(1000).unwrap();
    pull.bind("inproc://reliability-async").unwrap();
    let push = ctx.socket(zmq::SocketType::Push).unwrap();
    push.set_sndhwm(1000).unwrap();
    push.set_sndtimeo(30_000).unwrap();
    push.connect("inproc://reliability-async").unwrap();
    let producer = thread::spawn(move || {
        for seq in 0..n {
            push.send(&seq.to_le_bytes()[..], 0)
                .expect("the consumer's pushback released the producer within 30 s");
        }
    });

    let mut event_loop: EventLoop<Option<u64>> = EventLoop::try_new().unwrap();
    let socket = AsyncSocket::insert(pull, &event_loop.handle(), INBOX).unwrap();
    let (exec, scheduler) = executor().unwrap();
    event_loop
        .handle()
        .insert_source(exec, |bad, _, done| *done = Some(bad))
        .unwrap();
    let peak_inbox = Rc::new(Cell::new(0usize));
    let peak_in = peak_inbox.clone();
    let rss = Rc::new(Cell::new((0u64, 0u64))); // (after warm-up, peak)
    let rss_in = rss.clone();
    scheduler
        .schedule(async move {
            let mut out_of_order = 0;
            for expected in 0..n {
                let msg = socket.recv().await.expect("socket open");
                let seq = u64::from_le_bytes(msg.frame(0).unwrap().try_into().unwrap());
                if seq != expected {
                    out_of_order += 1;
                }
                peak_in.set(peak_in.get().max(socket.buffered()));
                // Slow: every message waits for a turn of the loop.
                yield_now().await;
                if expected == 10_000 {
                    rss_in.set((rss_bytes(), rss_bytes()));
                } else if expected % 10_000 == 0 {
                    let (start, peak) = rss_in.get();
                    rss_in.set((start, peak.max(rss_bytes())));
                }
            }
            out_of_order
        })
        .unwrap();
    let started = Instant::now();
    let mut done = None;
    run_until_within(
        &mut event_loop,
        &mut done,
        Duration::from_secs(300),
        "a million messages through the async inbox",
        |d| d.is_some(),
    );
    producer.join().unwrap();
    let took = started.elapsed();
    let (start, peak) = rss.get();
    let growth = peak.saturating_sub(start);
    println!(
        "RELIABILITY async_slow_consumer messages={n} took={:.2}s out_of_order={} inbox_peak={} rss_start={:.1}MiB rss_peak={:.1}MiB",
        took.as_secs_f64(),
        done.unwrap(),
        peak_inbox.get(),
        start as f64 / 1048576.0,
        peak as f64 / 1048576.0,
    );
    assert_eq!(done, Some(0), "messages out of order");
    assert!(peak_inbox.get() <= INBOX);
    // Flat: the inbox holds at most 64 messages and libzmq at most its HWMs;
    // anything beyond a few MiB would be buffering without bound.
    assert!(
        growth < 16 * 1024 * 1024,
        "RSS grew by {growth} bytes after warm-up"
    );
}
