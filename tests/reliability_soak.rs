//! Soak: sequence-numbered messages through PUSH/PULL and DEALER/ROUTER over
//! tcp loopback, calloop-zmq on both ends (each end on its own thread and
//! loop). Zero lost, duplicated or reordered; memory measured throughout.
//!
//! `RELIABILITY_SOAK_MESSAGES` sets the count (default 1,000,000).

mod reliability_common;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::{Event, Multipart, SendError, ZmqSource, zmq};
use reliability_common::{SeqCheck, rss_bytes, seq_bytes, seq_of};
use support::{IpcDir, run_until_within};

/// Every soak must finish within this, or fail.
const SOAK_LIMIT: Duration = Duration::from_secs(300);

fn soak_count() -> u64 {
    std::env::var("RELIABILITY_SOAK_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// Samples this process's RSS every 50 ms until stopped; returns the peak.
struct MemWatch {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<thread::JoinHandle<()>>,
}

impl MemWatch {
    fn start() -> MemWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_bytes()));
        let (s, p) = (stop.clone(), peak.clone());
        let thread = thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_bytes(), Ordering::Relaxed);
                thread::sleep(Duration::from_millis(50));
            }
        });
        MemWatch {
            stop,
            peak,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().expect("memory watcher");
        }
        self.peak.load(Ordering::Relaxed)
    }
}

fn report(name: &str, n: u64, check: &SeqCheck, elapsed: Duration, rss_start: u64, peak: u64) {
    println!(
        "RELIABILITY {name}: messages={n} received={} duration={:.2}s rate={:.0}/s lost={} \
         duplicated={} reordered={} rss_start={:.1}MiB rss_peak={:.1}MiB",
        check.received,
        elapsed.as_secs_f64(),
        check.received as f64 / elapsed.as_secs_f64(),
        check.lost,
        check.duplicated,
        check.reordered,
        rss_start as f64 / 1048576.0,
        peak as f64 / 1048576.0,
    );
}

#[test]
fn reliability_soak_push_pull() {
    soak_push_pull("soak PUSH/PULL tcp", "tcp://127.0.0.1:*", 0);
}

/// The same over ipc, with three-frame messages: multipart atomicity and
/// order over another transport.
#[test]
fn reliability_soak_push_pull_ipc_multipart() {
    let dir = IpcDir::new();
    let endpoint = dir.endpoint("soak");
    soak_push_pull("soak PUSH/PULL ipc 3-frame", &endpoint, 2);
}

fn soak_push_pull(name: &str, bind: &str, extra_frames: usize) {
    let n = soak_count();
    let ctx = zmq::Context::new();
    let rss_start = rss_bytes();
    let mem = MemWatch::start();

    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    pull.bind(bind).unwrap();
    let endpoint = pull.socket().last_endpoint().unwrap();

    // Producer end: its own loop on its own thread, fed by a worker thread
    // through the blocking Sender (backpressure: it waits when the outbox
    // is full).
    let push = ZmqSource::new(ctx.socket(zmq::SocketType::Push).unwrap()).unwrap();
    push.connect(&endpoint).unwrap();
    let sender = push.sender();
    let producer_done = Arc::new(AtomicBool::new(false));
    let done = producer_done.clone();
    let producer = thread::spawn(move || {
        let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
        let stats = push.stats();
        push.insert(&event_loop.handle(), |event, _, _| {
            if let Event::SendFailed(f) = event {
                panic!("PUSH refused a message: {}", f.error);
            }
        })
        .unwrap();
        let deadline = Instant::now() + SOAK_LIMIT;
        while stats.snapshot().messages_out < n && Instant::now() < deadline {
            event_loop
                .dispatch(Some(Duration::from_millis(20)), &mut ())
                .unwrap();
        }
        // Keep the loop (and the socket) up until the consumer has all.
        while !done.load(Ordering::Relaxed) && Instant::now() < deadline {
            event_loop
                .dispatch(Some(Duration::from_millis(20)), &mut ())
                .unwrap();
        }
        stats.snapshot()
    });
    let feeder = thread::spawn(move || {
        for seq in 0..n {
            let mut msg = Multipart::from(seq_bytes(seq));
            for i in 0..extra_frames {
                msg.push(format!("frame {i} of {seq}").into_bytes());
            }
            if let Err(e) = sender.send_timeout(msg, Duration::from_secs(60)) {
                panic!("feeding {seq}: {e}");
            }
        }
    });

    let start = Instant::now();
    let mut event_loop: EventLoop<SeqCheck> = EventLoop::try_new().unwrap();
    pull.insert(&event_loop.handle(), |event, _, check: &mut SeqCheck| {
        if let Event::Message(msg) = event {
            let seq = seq_of(&msg[0]).expect("8-byte sequence frame");
            assert_eq!(msg.len(), 1 + extra_frames, "message {seq} arrived whole");
            if extra_frames > 0 {
                assert_eq!(
                    msg.frame_str(extra_frames),
                    Some(&*format!("frame {} of {seq}", extra_frames - 1))
                );
            }
            check.push(seq);
        }
    })
    .unwrap();
    let mut check = SeqCheck::default();
    run_until_within(
        &mut event_loop,
        &mut check,
        SOAK_LIMIT,
        "all PUSH/PULL messages",
        |c| c.next >= n || !c.clean(),
    );
    let elapsed = start.elapsed();
    producer_done.store(true, Ordering::Relaxed);
    feeder.join().expect("feeder");
    let out = producer.join().expect("producer loop");
    let peak = mem.finish();
    report(name, n, &check, elapsed, rss_start, peak);
    assert!(check.clean(), "{check:?}");
    assert_eq!(check.received, n);
    assert_eq!(out.messages_out, n);
    assert!(out.outbox_peak <= 1024, "outbox bound held: {out:?}");
}

/// DEALER sends numbered requests with a window of outstanding ones; the
/// ROUTER end echoes each from its handler; the DEALER checks the replies.
/// Both directions are checked for order.
#[test]
fn reliability_soak_dealer_router() {
    const WINDOW: u64 = 512;
    let n = soak_count();
    let ctx = zmq::Context::new();
    let rss_start = rss_bytes();
    let mem = MemWatch::start();

    let router = ZmqSource::new(ctx.socket(zmq::SocketType::Router).unwrap()).unwrap();
    // With MANDATORY a full peer pipe is EAGAIN (queued by the source), not
    // a silent drop.
    router.socket().set_router_mandatory(true).unwrap();
    router.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = router.socket().last_endpoint().unwrap();
    let server_done = Arc::new(AtomicBool::new(false));
    let done = server_done.clone();
    let server = thread::spawn(move || {
        let mut event_loop: EventLoop<SeqCheck> = EventLoop::try_new().unwrap();
        router
            .insert(
                &event_loop.handle(),
                |event, socket, check: &mut SeqCheck| match event {
                    Event::Message(msg) => {
                        check.push(seq_of(&msg[1]).expect("8-byte sequence frame"));
                        if let Err(e) = socket.send(msg) {
                            panic!("ROUTER reply not queued: {e}");
                        }
                    }
                    Event::SendFailed(f) => panic!("ROUTER refused a reply: {}", f.error),
                    _ => {}
                },
            )
            .unwrap();
        let mut check = SeqCheck::default();
        let deadline = Instant::now() + SOAK_LIMIT;
        while !done.load(Ordering::Relaxed) && Instant::now() < deadline {
            event_loop
                .dispatch(Some(Duration::from_millis(20)), &mut check)
                .unwrap();
        }
        check
    });

    struct Client {
        replies: SeqCheck,
        sent: u64,
        n: u64,
    }
    let dealer = ZmqSource::new(ctx.socket(zmq::SocketType::Dealer).unwrap()).unwrap();
    dealer.connect(&endpoint).unwrap();
    let sender = dealer.sender();
    let start = Instant::now();
    let mut event_loop: EventLoop<Client> = EventLoop::try_new().unwrap();
    dealer
        .insert(
            &event_loop.handle(),
            |event, socket, c: &mut Client| match event {
                Event::Message(msg) => {
                    c.replies
                        .push(seq_of(&msg[0]).expect("8-byte sequence frame"));
                    if c.sent < c.n {
                        match socket.send(seq_bytes(c.sent)) {
                            Ok(()) => c.sent += 1,
                            Err(SendError::Full(_)) => panic!("window exceeds the outbox"),
                            Err(e) => panic!("DEALER send: {e}"),
                        }
                    }
                }
                Event::SendFailed(f) => panic!("DEALER refused a request: {}", f.error),
                _ => {}
            },
        )
        .unwrap();
    let mut client = Client {
        replies: SeqCheck::default(),
        sent: 0,
        n,
    };
    while client.sent < WINDOW.min(n) {
        sender
            .try_send(Multipart::from(seq_bytes(client.sent)))
            .unwrap();
        client.sent += 1;
    }
    run_until_within(
        &mut event_loop,
        &mut client,
        SOAK_LIMIT,
        "all DEALER/ROUTER replies",
        |c| c.replies.next >= n || !c.replies.clean(),
    );
    let elapsed = start.elapsed();
    server_done.store(true, Ordering::Relaxed);
    let requests = server.join().expect("ROUTER loop");
    let peak = mem.finish();
    report(
        "soak DEALER/ROUTER tcp (requests at ROUTER)",
        n,
        &requests,
        elapsed,
        rss_start,
        peak,
    );
    report(
        "soak DEALER/ROUTER tcp (replies at DEALER)",
        n,
        &client.replies,
        elapsed,
        rss_start,
        peak,
    );
    assert!(requests.clean(), "requests: {requests:?}");
    assert!(client.replies.clean(), "replies: {:?}", client.replies);
    assert_eq!(requests.received, n);
    assert_eq!(client.replies.received, n);
}
