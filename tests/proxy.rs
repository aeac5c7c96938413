//! The steerable proxy: streamer and broker shapes over inproc and tcp, no
//! loss under a flood at small high-water marks, steering from another
//! thread, capture, a clean terminate and a broken side.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::proxy::{EndReason, Ended, Proxy, ProxyControl, ProxyEvent, Side};
use calloop_zmq::{Multipart, ZmqSource, zmq};

use support::{WAIT, run_until, run_until_within};

/// What the tests' loops record.
#[derive(Default)]
struct Seen {
    ended: Option<Box<Ended>>,
    refused: usize,
}

fn record(event: ProxyEvent, seen: &mut Seen) {
    match event {
        ProxyEvent::Ended(ended) => seen.ended = Some(ended),
        ProxyEvent::Refused { .. } => seen.refused += 1,
        _ => {}
    }
}

/// A source on `kind` with small high-water marks and a small outbox, so a
/// flood meets back-pressure at once.
fn tight(ctx: &zmq::Context, kind: zmq::SocketType, outbox: usize) -> ZmqSource {
    let socket = ctx.socket(kind).unwrap();
    socket.set_sndhwm(16).unwrap();
    socket.set_rcvhwm(16).unwrap();
    ZmqSource::builder(socket)
        .outbox_capacity(outbox)
        .build()
        .unwrap()
}

/// `tcp://127.0.0.1:*` or a fresh inproc name, bound on `source`.
fn bind(source: &ZmqSource, transport: &str, name: &str) -> String {
    if transport == "tcp" {
        support::bind_tcp(source.socket())
    } else {
        let endpoint = format!("inproc://proxy-test-{name}");
        source.bind(&endpoint).unwrap();
        endpoint
    }
}

/// The first frame of each message, as text.
fn texts(messages: &[Multipart]) -> Vec<&str> {
    messages.iter().map(|m| m.frame_str(0).unwrap()).collect()
}

fn encode(producer: u32, seq: u32) -> Vec<u8> {
    let mut body = producer.to_be_bytes().to_vec();
    body.extend_from_slice(&seq.to_be_bytes());
    body
}

fn decode(body: &[u8]) -> (u32, u32) {
    let producer = u32::from_be_bytes(body[0..4].try_into().unwrap());
    let seq = u32::from_be_bytes(body[4..8].try_into().unwrap());
    (producer, seq)
}

/// PUSH producers -> [PULL | PUSH] -> PULL consumer, `per_producer`
/// messages each: every sequence number arrives once, in order per producer.
fn streamer_floods_without_loss(transport: &str, producers: u32, per_producer: u32) {
    let ctx = zmq::Context::new();
    let frontend = tight(&ctx, zmq::SocketType::Pull, 8);
    let backend = tight(&ctx, zmq::SocketType::Push, 8);
    let inlet = bind(&frontend, transport, &format!("{transport}-flood-in"));
    let outlet = bind(&backend, transport, &format!("{transport}-flood-out"));
    let proxy = Proxy::new(frontend, backend).unwrap();
    let control = proxy.control();

    let total = (producers * per_producer) as usize;
    let received = Arc::new(AtomicUsize::new(0));
    let consumer = {
        let (ctx, received) = (ctx.clone(), received.clone());
        thread::spawn(move || {
            let pull = ctx.socket(zmq::SocketType::Pull).unwrap();
            pull.set_rcvhwm(16).unwrap();
            pull.connect(&outlet).unwrap();
            let mut next = vec![0u32; producers as usize];
            for _ in 0..total {
                let body = support::recv_within(&pull, "a forwarded message");
                let (producer, seq) = decode(&body[0]);
                assert_eq!(
                    seq, next[producer as usize],
                    "producer {producer} out of order"
                );
                next[producer as usize] += 1;
                received.fetch_add(1, Ordering::Relaxed);
            }
            next
        })
    };
    let senders: Vec<_> = (0..producers)
        .map(|p| {
            let (ctx, inlet) = (ctx.clone(), inlet.clone());
            thread::spawn(move || {
                let push = ctx.socket(zmq::SocketType::Push).unwrap();
                push.set_sndhwm(16).unwrap();
                push.connect(&inlet).unwrap();
                for seq in 0..per_producer {
                    // Blocking, bounded: the proxy's back-pressure holds it here.
                    let ready = push.poll(zmq::POLLOUT, WAIT.as_millis() as i64).unwrap();
                    assert!(ready.contains(zmq::POLLOUT), "producer {p} stuck at {seq}");
                    push.send(encode(p, seq), zmq::DONTWAIT).unwrap();
                }
            })
        })
        .collect();

    let mut event_loop: EventLoop<Seen> = EventLoop::try_new().unwrap();
    proxy.insert(&event_loop.handle(), record).unwrap();
    let mut seen = Seen::default();
    run_until_within(
        &mut event_loop,
        &mut seen,
        Duration::from_secs(120),
        "every flooded message through the proxy",
        |_| received.load(Ordering::Relaxed) == total,
    );
    for s in senders {
        s.join().expect("producer");
    }
    let next = consumer.join().expect("consumer");
    assert!(next.iter().all(|&n| n == per_producer), "{next:?}");
    let stats = control.stats();
    assert_eq!(stats.frontend_to_backend, total as u64);
    assert_eq!(stats.frontend_to_backend_bytes, 8 * total as u64);
    assert_eq!(stats.dropped, 0);
    assert!(
        stats.backpressure_pauses > 0,
        "the flood never met back-pressure: {stats:?}"
    );
    assert_eq!(seen.refused, 0);
    assert!(seen.ended.is_none());
}

#[test]
fn streamer_inproc_floods_at_hwm_without_loss() {
    streamer_floods_without_loss("inproc", 2, 100_000);
}

#[test]
fn streamer_tcp_floods_at_hwm_without_loss() {
    streamer_floods_without_loss("tcp", 2, 25_000);
}

/// The zguide's broker: REQ clients -> ROUTER | DEALER -> REP workers.
fn broker(transport: &str) {
    const CLIENTS: usize = 3;
    const WORKERS: usize = 2;
    const REQUESTS: usize = 50;
    let ctx = zmq::Context::new();
    let frontend = ZmqSource::new(ctx.socket(zmq::SocketType::Router).unwrap()).unwrap();
    let backend = ZmqSource::new(ctx.socket(zmq::SocketType::Dealer).unwrap()).unwrap();
    let clients_at = bind(&frontend, transport, &format!("{transport}-broker-front"));
    let workers_at = bind(&backend, transport, &format!("{transport}-broker-back"));
    let proxy = Proxy::new(frontend, backend).unwrap();
    let control = proxy.control();

    let served = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (ctx, at) = (ctx.clone(), workers_at.clone());
            thread::spawn(move || {
                let rep = ctx.socket(zmq::SocketType::Rep).unwrap();
                rep.set_linger(0).unwrap();
                rep.connect(&at).unwrap();
                loop {
                    // Ends when the test shuts the context down.
                    let Ok(request) = rep.recv_bytes(0) else {
                        return;
                    };
                    let mut reply = request;
                    reply.extend_from_slice(format!(" by worker {w}").as_bytes());
                    if rep.send(reply, 0).is_err() {
                        return;
                    }
                }
            })
        })
        .collect();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (ctx, at, served) = (ctx.clone(), clients_at.clone(), served.clone());
            thread::spawn(move || {
                let req = ctx.socket(zmq::SocketType::Req).unwrap();
                req.set_linger(0).unwrap();
                req.connect(&at).unwrap();
                for n in 0..REQUESTS {
                    let body = format!("client {c} request {n}");
                    req.send(body.as_str(), 0).unwrap();
                    let reply = support::recv_within(&req, "a reply through the broker");
                    let reply = String::from_utf8(reply[0].clone()).unwrap();
                    assert!(reply.starts_with(&body), "{reply} answers {body}");
                    served.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    let mut event_loop: EventLoop<Seen> = EventLoop::try_new().unwrap();
    proxy.insert(&event_loop.handle(), record).unwrap();
    let mut seen = Seen::default();
    run_until(&mut event_loop, &mut seen, "every reply", |_| {
        served.load(Ordering::Relaxed) == CLIENTS * REQUESTS
    });
    for c in clients {
        c.join().expect("client");
    }
    let stats = control.stats();
    assert_eq!(stats.frontend_to_backend, (CLIENTS * REQUESTS) as u64);
    assert_eq!(stats.backend_to_frontend, (CLIENTS * REQUESTS) as u64);
    control.terminate().unwrap();
    run_until(&mut event_loop, &mut seen, "the end", |s| s.ended.is_some());
    let ended = seen.ended.take().unwrap();
    assert!(matches!(ended.reason, EndReason::Terminated));
    // The workers wait in recv: shutting the context down ends them.
    drop(ended);
    ctx.shutdown().unwrap();
    for w in workers {
        w.join().expect("worker");
    }
}

#[test]
fn broker_router_dealer_inproc() {
    broker("inproc");
}

#[test]
fn broker_router_dealer_tcp() {
    broker("tcp");
}

/// Runs `f` on another thread and waits for it: steering must work from
/// anywhere.
fn from_another_thread<T: Send + 'static>(
    control: &ProxyControl,
    f: impl FnOnce(ProxyControl) -> T + Send + 'static,
) -> T {
    let control = control.clone();
    thread::spawn(move || f(control))
        .join()
        .expect("steering thread")
}

#[test]
fn pause_resume_terminate_from_another_thread_then_steering_is_an_error() {
    let ctx = zmq::Context::new();
    let frontend = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    let backend = ZmqSource::new(ctx.socket(zmq::SocketType::Push).unwrap()).unwrap();
    let inlet = bind(&frontend, "inproc", "steer-in");
    let outlet = bind(&backend, "inproc", "steer-out");
    let proxy = Proxy::new(frontend, backend).unwrap();
    let control = proxy.control();
    let push = ctx.socket(zmq::SocketType::Push).unwrap();
    push.connect(&inlet).unwrap();
    let pull = ctx.socket(zmq::SocketType::Pull).unwrap();
    pull.connect(&outlet).unwrap();

    let mut event_loop: EventLoop<Seen> = EventLoop::try_new().unwrap();
    proxy.insert(&event_loop.handle(), record).unwrap();
    let mut seen = Seen::default();

    from_another_thread(&control, |c| c.pause()).unwrap();
    assert!(control.is_paused());
    for i in 0..10 {
        push.send(format!("m{i}").as_str(), 0).unwrap();
    }
    // A bounded look for what must not happen: nothing crosses while paused.
    let until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < until {
        event_loop
            .dispatch(Some(Duration::from_millis(10)), &mut seen)
            .unwrap();
    }
    assert_eq!(
        control.stats().frontend_to_backend,
        0,
        "forwarded while paused"
    );

    from_another_thread(&control, |c| c.resume()).unwrap();
    run_until(&mut event_loop, &mut seen, "the ten after resume", |_| {
        control.stats().frontend_to_backend == 10
    });
    for i in 0..10 {
        let got = support::recv_within(&pull, "a message after resume");
        assert_eq!(got, [format!("m{i}").into_bytes()]);
    }

    from_another_thread(&control, |c| c.terminate()).unwrap();
    run_until(&mut event_loop, &mut seen, "the end", |s| s.ended.is_some());
    let ended = seen.ended.take().unwrap();
    assert!(matches!(ended.reason, EndReason::Terminated));
    assert!(ended.frontend.socket.is_some() && ended.backend.socket.is_some());
    assert_eq!(ended.stats.frontend_to_backend, 10);

    for result in from_another_thread(&control, |c| [c.pause(), c.resume(), c.terminate()]) {
        let error = result.expect_err("steering after the end");
        assert!(error.to_string().contains("ended"), "{error}");
    }
    assert!(control.has_ended());
    assert_eq!(
        control.stats().frontend_to_backend,
        10,
        "stats stay readable"
    );
}

#[test]
fn capture_gets_a_copy_of_every_message_both_ways() {
    const N: usize = 200;
    let ctx = zmq::Context::new();
    let frontend = ZmqSource::new(ctx.socket(zmq::SocketType::Router).unwrap()).unwrap();
    let backend = ZmqSource::new(ctx.socket(zmq::SocketType::Dealer).unwrap()).unwrap();
    let capture = tight(&ctx, zmq::SocketType::Push, 2);
    let clients_at = bind(&frontend, "inproc", "capture-front");
    let workers_at = bind(&backend, "inproc", "capture-back");
    let captured_at = bind(&capture, "inproc", "capture-copy");
    let proxy = Proxy::new(frontend, backend)
        .unwrap()
        .with_capture(capture)
        .unwrap();
    let control = proxy.control();
    let tap = ctx.socket(zmq::SocketType::Pull).unwrap();
    tap.set_rcvhwm(4).unwrap();
    tap.connect(&captured_at).unwrap();
    let rep = ctx.socket(zmq::SocketType::Rep).unwrap();
    rep.connect(&workers_at).unwrap();
    let req = ctx.socket(zmq::SocketType::Req).unwrap();
    req.connect(&clients_at).unwrap();

    let mut event_loop: EventLoop<Seen> = EventLoop::try_new().unwrap();
    proxy.insert(&event_loop.handle(), record).unwrap();
    let mut seen = Seen::default();
    let mut copies = Vec::new();
    for i in 0..N {
        req.send(format!("ask {i}").as_str(), 0).unwrap();
        run_until(
            &mut event_loop,
            &mut seen,
            "the request at the worker",
            |_| rep.poll(zmq::POLLIN, 0).unwrap().contains(zmq::POLLIN),
        );
        let ask = rep.recv_bytes(0).unwrap();
        rep.send(ask, 0).unwrap();
        run_until(
            &mut event_loop,
            &mut seen,
            "the reply at the client",
            |_| req.poll(zmq::POLLIN, 0).unwrap().contains(zmq::POLLIN),
        );
        assert_eq!(req.recv_bytes(0).unwrap(), format!("ask {i}").into_bytes());
        // Drain the tap as we go; its small HWM pushes back on the proxy.
        while tap.poll(zmq::POLLIN, 0).unwrap().contains(zmq::POLLIN) {
            copies.push(tap.recv_multipart(0).unwrap());
        }
    }
    run_until(&mut event_loop, &mut seen, "every copy", |_| {
        while tap.poll(zmq::POLLIN, 0).unwrap().contains(zmq::POLLIN) {
            copies.push(tap.recv_multipart(0).unwrap());
        }
        copies.len() == 2 * N
    });
    // Each copy is the whole message, envelope and all: [id, "", body].
    for (i, pair) in copies.chunks(2).enumerate() {
        let body = format!("ask {i}").into_bytes();
        for copy in pair {
            assert_eq!(copy.len(), 3, "{copy:?}");
            assert_eq!(copy[2], body);
        }
    }
    assert_eq!(control.stats().captured, 2 * N as u64);
}

#[test]
fn a_clean_terminate_hands_back_what_was_queued_in_order() {
    let ctx = zmq::Context::new();
    let frontend = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    let inlet = bind(&frontend, "inproc", "terminate-in");
    // No consumer ever connects: the backend takes nothing.
    let backend = support::stuck_push(&ctx, 4);
    let proxy = Proxy::new(frontend, backend).unwrap();
    let control = proxy.control();
    let push = ctx.socket(zmq::SocketType::Push).unwrap();
    push.connect(&inlet).unwrap();
    for i in 0..20 {
        push.send(format!("m{i}").as_str(), 0).unwrap();
    }

    let mut event_loop: EventLoop<Seen> = EventLoop::try_new().unwrap();
    proxy.insert(&event_loop.handle(), record).unwrap();
    let mut seen = Seen::default();
    // Four fill the backend's outbox, the fifth waits for room, and then the
    // frontend is no longer read.
    run_until(&mut event_loop, &mut seen, "the backend full", |_| {
        control.stats().backpressure_pauses == 1
    });
    control.terminate().unwrap();
    run_until(&mut event_loop, &mut seen, "the end", |s| s.ended.is_some());
    let ended = seen.ended.take().unwrap();
    assert!(matches!(ended.reason, EndReason::Terminated));
    let held = texts(&ended.backend.undelivered);
    assert_eq!(held, ["m0", "m1", "m2", "m3", "m4"]);
    assert_eq!(ended.stats.frontend_to_backend, 5);
    assert!(ended.frontend.undelivered.is_empty());
    // The other fifteen never left libzmq: the frontend socket still has them.
    let frontend = ended.frontend.socket.expect("the frontend comes back");
    let mut rest = 0;
    while frontend.poll(zmq::POLLIN, 0).unwrap().contains(zmq::POLLIN) {
        frontend.recv_bytes(0).unwrap();
        rest += 1;
    }
    assert_eq!(rest, 15);
}

#[test]
fn a_broken_side_ends_the_proxy_with_what_it_held_and_the_loop_goes_on() {
    let ctx = zmq::Context::new();
    let frontend = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    let inlet = bind(&frontend, "inproc", "broken-in");
    let backend = support::stuck_push(&ctx, 2);
    let proxy = Proxy::new(frontend, backend).unwrap();
    let control = proxy.control();
    let push = ctx.socket(zmq::SocketType::Push).unwrap();
    push.set_linger(0).unwrap();
    push.connect(&inlet).unwrap();
    for i in 0..5 {
        push.send(format!("m{i}").as_str(), 0).unwrap();
    }
    drop(push);

    let mut event_loop: EventLoop<Seen> = EventLoop::try_new().unwrap();
    proxy.insert(&event_loop.handle(), record).unwrap();
    let mut seen = Seen::default();
    run_until(&mut event_loop, &mut seen, "the backend full", |_| {
        control.stats().backpressure_pauses == 1
    });
    // Terminating the context breaks every socket in it (ETERM).
    let shutdown = ctx.clone();
    shutdown.shutdown().unwrap();
    run_until(&mut event_loop, &mut seen, "the end", |s| s.ended.is_some());
    let ended = seen.ended.take().unwrap();
    let EndReason::Failed { side, error } = &ended.reason else {
        panic!("ended by {:?}", ended.reason);
    };
    assert!(matches!(side, Side::Frontend | Side::Backend), "{side}");
    assert_eq!(error.zmq_error(), Some(zmq::Error::ETERM), "{error}");
    let held = texts(&ended.backend.undelivered);
    assert_eq!(held, ["m0", "m1", "m2"], "nothing lost without a word");
    assert!(control.pause().is_err());
    // The loop itself is fine.
    event_loop
        .dispatch(Some(Duration::from_millis(10)), &mut seen)
        .unwrap();
    for remains in [ended.frontend, ended.backend] {
        if let Some(socket) = remains.socket {
            socket.set_linger(0).ok();
        }
    }
}
