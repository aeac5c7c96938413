//! Faults that are not the network's: a slow consumer, bad endpoints and
//! options, operations a socket type does not allow, and a source removed,
//! re-inserted and dropped with messages in flight.

mod reliability_common;
mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use calloop_zmq::calloop::{Dispatcher, EventLoop};
use calloop_zmq::{Error, Event, Multipart, SendError, SocketHandle, ZmqSource, zmq};
use reliability_common::{rss_bytes, seq_bytes, seq_of};
use support::run_until;

/// A consumer far slower than its producers: the outbox stays within its
/// bound, producers are told (`Full`, `Timeout`), and memory stays flat
/// while they keep trying.
#[test]
fn reliability_slow_consumer_backpressure() {
    const CAPACITY: usize = 256;
    const CONSUME: u64 = 4_000;
    const PAYLOAD: usize = 1024;
    let ctx = zmq::Context::new();

    let consumer = ctx.socket(zmq::SocketType::Pull).unwrap();
    consumer.set_rcvhwm(50).unwrap();
    consumer.set_linger(0).unwrap();
    consumer.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = consumer.last_endpoint().unwrap();

    let push = ctx.socket(zmq::SocketType::Push).unwrap();
    push.set_sndhwm(50).unwrap();
    push.set_linger(0).unwrap();
    let source = ZmqSource::builder(push)
        .outbox_capacity(CAPACITY)
        .build()
        .unwrap();
    source.connect(&endpoint).unwrap();
    let stats = source.stats();
    let sender = source.sender();

    let stop = Arc::new(AtomicBool::new(false));
    let loop_stop = stop.clone();
    let loop_thread = thread::spawn(move || {
        let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
        source
            .insert(&event_loop.handle(), |event, _, _| {
                if let Event::SendFailed(f) = event {
                    panic!("PUSH refused: {}", f.error);
                }
            })
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        while !loop_stop.load(Ordering::Relaxed) && Instant::now() < deadline {
            event_loop
                .dispatch(Some(Duration::from_millis(20)), &mut ())
                .unwrap();
        }
    });

    // Two producers hammer try_send, one uses send_timeout; all bounded by
    // the consumer finishing.
    let full = Arc::new(AtomicU64::new(0));
    let timeouts = Arc::new(AtomicU64::new(0));
    let accepted = Arc::new(AtomicU64::new(0));
    let mut producers = Vec::new();
    for p in 0..3u64 {
        let (sender, stop) = (sender.clone(), stop.clone());
        let (full, timeouts, accepted) = (full.clone(), timeouts.clone(), accepted.clone());
        producers.push(thread::spawn(move || {
            let mut attempts = 0u64;
            while !stop.load(Ordering::Relaxed) && attempts < 50_000_000 {
                attempts += 1;
                let msg = Multipart::from(vec![seq_bytes(p), vec![0u8; PAYLOAD]]);
                let result = if p == 2 {
                    sender.send_timeout(msg, Duration::from_millis(5))
                } else {
                    sender.try_send(msg)
                };
                match result {
                    Ok(()) => {
                        accepted.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(SendError::Full(_)) => {
                        full.fetch_add(1, Ordering::Relaxed);
                        thread::yield_now();
                    }
                    Err(SendError::Timeout(_)) => {
                        timeouts.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(SendError::Closed(_)) => break,
                    Err(e) => panic!("unexpected send error: {e}"),
                }
            }
        }));
    }

    // The slow consumer: one message per millisecond at most.
    let mut received = 0u64;
    let mut rss_warm = 0;
    let mut rss_peak = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while received < CONSUME {
        assert!(Instant::now() < deadline, "consumer starved at {received}");
        if !consumer.poll(zmq::POLLIN, 1000).unwrap().is_empty() {
            consumer.recv_multipart(0).unwrap();
            received += 1;
            let depth = stats.snapshot().outbox_depth;
            assert!(
                depth <= CAPACITY as u64,
                "outbox depth {depth} > {CAPACITY}"
            );
        }
        if received == CONSUME / 4 {
            rss_warm = rss_bytes();
        }
        if received > CONSUME / 4 && received.is_multiple_of(100) {
            rss_peak = rss_peak.max(rss_bytes());
        }
        thread::sleep(Duration::from_micros(500));
    }
    stop.store(true, Ordering::Relaxed);
    for p in producers {
        p.join().expect("producer");
    }
    loop_thread.join().expect("loop thread");
    let snap = stats.snapshot();
    let (full, timeouts, accepted) = (
        full.load(Ordering::Relaxed),
        timeouts.load(Ordering::Relaxed),
        accepted.load(Ordering::Relaxed),
    );
    println!(
        "RELIABILITY slow consumer: consumed={received} accepted={accepted} full={full} \
         timeouts={timeouts} outbox_peak={} capacity={CAPACITY} send_eagain={} \
         rss_warm={:.1}MiB rss_peak={:.1}MiB growth={:.1}MiB",
        snap.outbox_peak,
        snap.send_eagain,
        rss_warm as f64 / 1048576.0,
        rss_peak as f64 / 1048576.0,
        (rss_peak.saturating_sub(rss_warm)) as f64 / 1048576.0,
    );
    assert!(snap.outbox_peak <= CAPACITY as u64, "{snap:?}");
    assert!(full > 0, "producers saw Full");
    assert!(timeouts > 0, "the blocking producer saw Timeout");
    // What is held: the outbox (256 x 1 KiB) and two HWMs (50 each) plus
    // socket buffers; attempts ran into the millions, so unbounded growth
    // would show as far more than this.
    let growth = rss_peak.saturating_sub(rss_warm);
    assert!(
        growth < 16 * 1024 * 1024,
        "memory grew {growth} bytes under backpressure"
    );
}

fn expect_endpoint_error(result: calloop_zmq::Result<()>, endpoint: &str) {
    let err = result.expect_err(endpoint);
    let text = err.to_string();
    assert!(
        text.contains(&endpoint.replace('\0', "\\0")),
        "error names the endpoint {endpoint:?}: {text}"
    );
    println!("  {endpoint:?} -> {text}");
}

#[test]
fn reliability_bad_endpoints_and_options() {
    let ctx = zmq::Context::new();
    let source = ZmqSource::new(ctx.socket(zmq::SocketType::Dealer).unwrap()).unwrap();
    for ep in [
        "",
        "nonsense",
        "foo://127.0.0.1:1",
        "tcp://",
        "tcp://127.0.0.1",
        "tcp://256.0.0.1:1",
        "tcp://no-such-host.invalid:1",
        "ipc:///nonexistent-dir-calloop-zmq/sock",
        "inproc://",
        "tcp://127.0.0.1:1\0",
    ] {
        expect_endpoint_error(source.bind(ep), ep);
    }
    for ep in ["", "nonsense", "foo://x", "tcp://", "tcp://127.0.0.1:1\0"] {
        expect_endpoint_error(source.connect(ep), ep);
    }
    // A NUL byte never reaches libzmq: an endpoint error without a libzmq
    // error behind it.
    match source.bind("tcp://127.0.0.1:1\0") {
        Err(Error::Endpoint(e)) => {
            assert_eq!(e.zmq_error(), None, "{e}");
            assert_eq!(e.op(), "bind", "{e}");
            assert_eq!(e.endpoint(), "tcp://127.0.0.1:1\0", "{e}");
        }
        other => panic!("NUL endpoint: expected Error::Endpoint, got {other:?}"),
    }

    // Builder settings that make no sense.
    for build in [
        ZmqSource::builder(ctx.socket(zmq::SocketType::Push).unwrap()).outbox_capacity(0),
        ZmqSource::builder(ctx.socket(zmq::SocketType::Push).unwrap()).budget(0),
    ] {
        let err = build.build().expect_err("zero setting");
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
        assert!(err.to_string().contains("at least 1"), "{err}");
    }

    // Options libzmq refuses come back as errors, not panics.
    let s = source.socket();
    assert_eq!(s.set_sndhwm(-1), Err(zmq::Error::EINVAL));
    assert_eq!(s.set_linger(-2), Err(zmq::Error::EINVAL));
    assert_eq!(s.set_subscribe(b"x"), Err(zmq::Error::EINVAL));
    assert_eq!(s.set_routing_id(&[0u8; 300]), Err(zmq::Error::EINVAL));
    assert_eq!(
        s.set_plain_username(&"u".repeat(300)),
        Err(zmq::Error::EINVAL)
    );
}

/// What a handler saw, for the wrong-type checks.
#[derive(Default)]
struct Seen {
    failures: Vec<(Vec<Vec<u8>>, zmq::Error)>,
    messages: Vec<Vec<Vec<u8>>>,
    handler_errors: Vec<String>,
}

#[test]
fn reliability_wrong_type_operations() {
    let ctx = zmq::Context::new();
    let mut event_loop: EventLoop<Seen> = EventLoop::try_new().unwrap();
    let handle = event_loop.handle();
    let mut seen = Seen::default();

    let record = |event: Event, _: &mut SocketHandle, seen: &mut Seen| match event {
        Event::SendFailed(f) => seen.failures.push((f.message.to_vecs(), f.error)),
        Event::Message(m) => seen.messages.push(m.to_vecs()),
        _ => {}
    };
    // Sending on receive-only sockets: handed back with ENOTSUP.
    for kind in [zmq::SocketType::Pull, zmq::SocketType::Sub] {
        let src = ZmqSource::new(ctx.socket(kind).unwrap()).unwrap();
        src.sender().try_send(format!("to {kind:?}")).unwrap();
        src.insert(&handle, record).unwrap();
    }
    // An empty message: handed back with EINVAL.
    let pair = ZmqSource::new(ctx.socket(zmq::SocketType::Pair).unwrap()).unwrap();
    pair.bind("inproc://wrong-type-pair").unwrap();
    pair.sender().try_send(Multipart::new()).unwrap();
    pair.insert(&handle, record).unwrap();
    // ROUTER_MANDATORY to an unknown peer: handed back with EHOSTUNREACH.
    let router = ZmqSource::new(ctx.socket(zmq::SocketType::Router).unwrap()).unwrap();
    router.socket().set_router_mandatory(true).unwrap();
    router
        .sender()
        .try_send(vec![b"nobody".to_vec(), b"hello".to_vec()])
        .unwrap();
    router.insert(&handle, record).unwrap();

    run_until(&mut event_loop, &mut seen, "four refusals", |s| {
        s.failures.len() >= 4
    });
    let errors: Vec<zmq::Error> = seen.failures.iter().map(|(_, e)| *e).collect();
    println!("RELIABILITY wrong-type refusals: {:?}", seen.failures);
    assert_eq!(
        errors.iter().filter(|e| **e == zmq::Error::ENOTSUP).count(),
        2,
        "{errors:?}"
    );
    assert!(errors.contains(&zmq::Error::EINVAL), "{errors:?}");
    assert!(errors.contains(&zmq::Error::EHOSTUNREACH), "{errors:?}");
    // Every refused message came back whole.
    assert!(
        seen.failures
            .iter()
            .any(|(m, _)| m == &vec![b"nobody".to_vec(), b"hello".to_vec()])
    );

    // REP replying twice, and REQ sending twice, from the handler: EFSM,
    // message handed back in the error.
    let rep = ZmqSource::new(ctx.socket(zmq::SocketType::Rep).unwrap()).unwrap();
    rep.bind("inproc://wrong-type-rep").unwrap();
    rep.insert(&handle, |event, socket, seen: &mut Seen| {
        if let Event::Message(m) = event {
            seen.messages.push(m.to_vecs());
            socket.send("first reply").unwrap();
            match socket.send("second reply") {
                Err(SendError::Failed { message, error }) => {
                    assert_eq!(message.frame_str(0), Some("second reply"));
                    seen.handler_errors.push(format!("REP: {error}"));
                }
                other => panic!("second reply: {other:?}"),
            }
        }
    })
    .unwrap();
    let req = ZmqSource::new(ctx.socket(zmq::SocketType::Req).unwrap()).unwrap();
    req.connect("inproc://wrong-type-rep").unwrap();
    let req_sender = req.sender();
    req.insert(&handle, record).unwrap();
    req_sender.try_send("request").unwrap();
    req_sender.try_send("second request").unwrap();
    run_until(
        &mut event_loop,
        &mut seen,
        "REP double reply and REQ double send",
        |s| !s.handler_errors.is_empty() && s.failures.len() >= 5,
    );
    let last = seen.failures.last().unwrap();
    assert_eq!(last.1, zmq::Error::EFSM);
    assert_eq!(last.0, vec![b"second request".to_vec()]);

    // A blocking send on the loop's own thread is refused, not a deadlock.
    let full = ZmqSource::builder(ctx.socket(zmq::SocketType::Push).unwrap())
        .outbox_capacity(1)
        .build()
        .unwrap();
    let full_sender = full.sender();
    full.insert(&handle, |_, _, _| {}).unwrap();
    full_sender.try_send("fills it").unwrap();
    assert!(matches!(
        full_sender.send("would wait forever"),
        Err(SendError::WouldDeadlock(_))
    ));
    assert!(full_sender.flush(Duration::from_millis(10)).is_err());
    println!("RELIABILITY handler errors: {:?}", seen.handler_errors);
}

/// The peer's view of a PUSH stream, for the lifecycle test.
#[derive(Default)]
struct Flow {
    received: Vec<u64>,
    failures: u64,
}

/// A PUSH source inside a Dispatcher is removed from the loop, re-inserted,
/// removed again and closed while messages are queued; a second one is
/// dropped with messages queued. Every message is accounted for exactly
/// once: received by the peer, handed back by `close`, refused to the
/// producer, or counted in `dropped_at_drop`.
#[test]
fn reliability_remove_reinsert_close_and_drop() {
    const TOTAL: u64 = 20_000;
    const CAPACITY: usize = 500;
    let ctx = zmq::Context::new();
    let mut event_loop: EventLoop<Flow> = EventLoop::try_new().unwrap();
    let handle = event_loop.handle();

    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    pull.socket().set_rcvhwm(20).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = pull.socket().last_endpoint().unwrap();
    let pull_token = pull
        .insert(&handle, |event, _, flow: &mut Flow| {
            if let Event::Message(m) = event {
                flow.received.push(seq_of(&m[0]).expect("seq"));
            }
        })
        .unwrap();

    let push = ctx.socket(zmq::SocketType::Push).unwrap();
    push.set_sndhwm(20).unwrap();
    let push = ZmqSource::builder(push)
        .outbox_capacity(CAPACITY)
        .build()
        .unwrap();
    push.connect(&endpoint).unwrap();
    let sender = push.sender();
    let stats = push.stats();
    let dispatcher = Dispatcher::new(push, |event, _: &mut SocketHandle, flow: &mut Flow| {
        if let Event::SendFailed(_) = event {
            flow.failures += 1;
        }
    });
    let mut token = Some(handle.register_dispatcher(dispatcher.clone()).unwrap());

    let mut flow = Flow::default();
    let mut refused = Vec::new();
    let mut next = 0u64;
    let mut removals = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while next < TOTAL {
        assert!(Instant::now() < deadline, "lifecycle loop took too long");
        // Queue a batch, from this (the loop's) thread.
        for _ in 0..100 {
            if next == TOTAL {
                break;
            }
            match sender.try_send(seq_bytes(next)) {
                Ok(()) => {}
                Err(SendError::Full(m)) => refused.push(seq_of(&m[0]).unwrap()),
                Err(e) => panic!("send {next}: {e}"),
            }
            next += 1;
        }
        // Let the loop catch up a little (bounded), so that most messages
        // travel and some wait in the outbox.
        for _ in 0..20 {
            event_loop
                .dispatch(Some(Duration::from_millis(1)), &mut flow)
                .unwrap();
            if stats.snapshot().outbox_depth < CAPACITY as u64 / 2 {
                break;
            }
        }
        // Every 2,000 messages, take the source out of the loop for a few
        // batches (it keeps its queue), then put it back.
        if next.is_multiple_of(2_000) {
            if let Some(t) = token.take() {
                handle.remove(t);
                removals += 1;
            } else {
                token = Some(handle.register_dispatcher(dispatcher.clone()).unwrap());
            }
        }
    }
    if let Some(t) = token.take() {
        handle.remove(t);
    }
    // Drain what libzmq already took, with the PUSH out of the loop and
    // the outbox still holding messages.
    let queued_before_close = stats.snapshot().outbox_depth;
    let taken_by_libzmq = stats.snapshot().messages_out;
    run_until(
        &mut event_loop,
        &mut flow,
        "the peer receiving everything libzmq took",
        |f| f.received.len() as u64 >= taken_by_libzmq,
    );
    // The loop keeps a clone of the dispatcher until it next dispatches.
    event_loop
        .dispatch(Some(Duration::ZERO), &mut flow)
        .unwrap();
    let closed = dispatcher.into_source_inner().close();
    let undelivered: Vec<u64> = closed
        .undelivered
        .iter()
        .map(|m| seq_of(&m[0]).unwrap())
        .collect();
    assert!(matches!(
        sender.try_send("after close"),
        Err(SendError::Closed(_))
    ));
    handle.remove(pull_token);

    let mut all = HashSet::new();
    let mut twice = 0;
    for seq in flow.received.iter().chain(&undelivered).chain(&refused) {
        if !all.insert(*seq) {
            twice += 1;
        }
    }
    let reordered = flow.received.windows(2).filter(|w| w[0] >= w[1]).count();
    println!(
        "RELIABILITY lifecycle: messages={TOTAL} removals={removals} received={} \
         undelivered_at_close={} refused_full={} send_failures={} accounted={} twice={twice} \
         reordered={reordered}",
        flow.received.len(),
        undelivered.len(),
        refused.len(),
        flow.failures,
        all.len(),
    );
    assert_eq!(twice, 0, "a message was handed back twice");
    assert_eq!(all.len() as u64, TOTAL, "every message accounted for");
    assert_eq!(reordered, 0);
    assert_eq!(flow.failures, 0);
    assert_eq!(undelivered.len() as u64, queued_before_close);
    assert!(removals >= 3);

    // Drop (not close) a source holding messages: counted, and senders
    // learn it is gone.
    let lonely = ctx.socket(zmq::SocketType::Push).unwrap();
    // No pipe before a connection exists, so messages stay in the outbox;
    // and nothing may linger at context end (the port never answers).
    lonely.set_immediate(true).unwrap();
    lonely.set_linger(0).unwrap();
    let lonely = ZmqSource::new(lonely).unwrap();
    lonely.connect("tcp://127.0.0.1:1").unwrap();
    let lonely_sender = lonely.sender();
    let lonely_stats = lonely.stats();
    let d = Dispatcher::new(lonely, |_, _: &mut SocketHandle, _: &mut Flow| {});
    let t = handle.register_dispatcher(d.clone()).unwrap();
    for i in 0..7u64 {
        lonely_sender.try_send(seq_bytes(i)).unwrap();
    }
    event_loop
        .dispatch(Some(Duration::from_millis(5)), &mut flow)
        .unwrap();
    handle.remove(t);
    event_loop
        .dispatch(Some(Duration::ZERO), &mut flow)
        .unwrap();
    drop(d);
    let snap = lonely_stats.snapshot();
    println!(
        "RELIABILITY drop with queue: dropped_at_drop={}",
        snap.dropped_at_drop
    );
    assert_eq!(snap.dropped_at_drop, 7, "{snap:?}");
    assert!(matches!(
        lonely_sender.try_send("late"),
        Err(SendError::Closed(_))
    ));
}
