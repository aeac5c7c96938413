// The `AsyncSocket` cases, included once per executor by
// tests/async_socket.rs (`executor` and `Scheduler` come from there).

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::thread;
use std::time::Duration;

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::{AsyncSocket, Multipart, RecvError, ZmqSource, zmq};
use super::{Scheduler, executor};
use crate::support::{self, WAIT, run_until, yield_now};

const N: u64 = 100_000;

/// A PUSH on another thread sending `n` sequence numbers to `endpoint`
/// (blocking sends: the receiver's pushback is what is being tested).
fn producer(ctx: &zmq::Context, endpoint: &str, n: u64) -> thread::JoinHandle<()> {
    let push = ctx.socket(zmq::SocketType::Push).unwrap();
    push.set_sndhwm(16).unwrap();
    push.set_sndtimeo(WAIT.as_millis() as i32).unwrap();
    push.connect(endpoint).unwrap();
    thread::spawn(move || {
        for seq in 0..n {
            push.send(&seq.to_le_bytes()[..], 0)
                .expect("the receiver took the message within the timeout");
        }
    })
}

/// calloop's executor in `event_loop`; each task's output lands in the
/// loop's data.
fn output_executor<T: 'static>(event_loop: &EventLoop<'_, Option<T>>) -> Scheduler<T> {
    let (exec, scheduler) = executor().unwrap();
    event_loop
        .handle()
        .insert_source(exec, |out, _, slot: &mut Option<T>| *slot = Some(out))
        .unwrap();
    scheduler
}

fn seq_of(msg: &calloop_zmq::Multipart) -> u64 {
    u64::from_le_bytes(msg.frame(0).unwrap().try_into().unwrap())
}

/// Every `recv` is raced against "a timer that always wins first": polled
/// once, and when it has to wait it is dropped (as in a lost `select!`) on
/// alternate attempts and awaited on the others. Every message must arrive
/// exactly once and in order.
#[test]
fn cancelling_recv_at_every_await_point_loses_and_duplicates_nothing() {
    let ctx = zmq::Context::new();
    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    pull.bind("inproc://async-cancel").unwrap();
    let feeder = producer(&ctx, "inproc://async-cancel", N);

    let mut event_loop: EventLoop<Option<(u64, u64)>> = EventLoop::try_new().unwrap();
    let socket = AsyncSocket::insert(pull, &event_loop.handle(), 32).unwrap();
    let scheduler = output_executor(&event_loop);
    let peak = Rc::new(Cell::new(0));
    let peak_in = peak.clone();
    scheduler
        .schedule(async move {
            let mut out_of_order = 0;
            let mut cancelled = 0u64;
            for expected in 0..N {
                let msg = loop {
                    let mut recv = pin!(socket.recv());
                    let first = poll_fn(|cx| Poll::Ready(recv.as_mut().poll(cx))).await;
                    if let Poll::Ready(msg) = first {
                        break msg.expect("socket open");
                    }
                    // Let the loop run while the recv is pending, so messages
                    // can land before the "timer" wins and drops it.
                    yield_now().await;
                    cancelled += 1;
                    if cancelled.is_multiple_of(2) {
                        continue; // dropped: the race was lost
                    }
                    break recv.await.expect("socket open");
                };
                peak_in.set(peak_in.get().max(socket.buffered()));
                if seq_of(&msg) != expected {
                    out_of_order += 1;
                }
            }
            (out_of_order, cancelled)
        })
        .unwrap();
    let mut done = None;
    run_until(&mut event_loop, &mut done, "every message", |d| d.is_some());
    feeder.join().unwrap();
    let (out_of_order, cancelled) = done.unwrap();
    assert_eq!(out_of_order, 0);
    assert!(
        cancelled > 0,
        "recv never had to wait: nothing was cancelled"
    );
    assert!(peak.get() <= 32, "inbox held {} > 32", peak.get());
}

#[test]
fn a_full_inbox_pauses_receiving_and_resumes_when_read() {
    const TOTAL: u64 = 2_000;
    let ctx = zmq::Context::new();
    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    pull.socket().set_rcvhwm(16).unwrap();
    pull.bind("inproc://async-backpressure").unwrap();
    let feeder = producer(&ctx, "inproc://async-backpressure", TOTAL);

    let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    let socket = Rc::new(AsyncSocket::insert(pull, &event_loop.handle(), 4).unwrap());
    // Nobody awaits: the inbox fills to its capacity and stays there.
    for _ in 0..50 {
        event_loop
            .dispatch(Some(Duration::from_millis(5)), &mut ())
            .unwrap();
        assert!(socket.buffered() <= 4, "inbox holds {}", socket.buffered());
    }
    assert_eq!(socket.buffered(), 4);

    let (exec, scheduler) = executor().unwrap();
    event_loop
        .handle()
        .insert_source(exec, |(), _, _| {})
        .unwrap();
    let reader = socket.clone();
    let count = Rc::new(Cell::new(0u64));
    let count_in = count.clone();
    scheduler
        .schedule(async move {
            for expected in 0..TOTAL {
                let msg = reader.recv().await.expect("socket open");
                assert_eq!(seq_of(&msg), expected);
                assert!(reader.buffered() <= 4);
                count_in.set(count_in.get() + 1);
            }
        })
        .unwrap();
    run_until(
        &mut event_loop,
        &mut (),
        "every message after resuming",
        |_| count.get() == TOTAL,
    );
    feeder.join().unwrap();
}

#[test]
fn recv_on_a_broken_socket_says_why_once_then_ended() {
    let ctx = zmq::Context::new();
    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    pull.bind("inproc://async-broken").unwrap();
    let mut event_loop: EventLoop<Vec<String>> = EventLoop::try_new().unwrap();
    let socket = AsyncSocket::insert(pull, &event_loop.handle(), 4).unwrap();
    let (exec, scheduler) = executor().unwrap();
    event_loop
        .handle()
        .insert_source(exec, |said, _, log: &mut Vec<String>| log.extend(said))
        .unwrap();
    scheduler
        .schedule(async move {
            let first = socket.recv().await.unwrap_err();
            let second = socket.recv().await.unwrap_err();
            assert!(matches!(first, RecvError::Fatal(_)), "{first}");
            assert!(matches!(second, RecvError::Ended), "{second}");
            vec![first.to_string(), second.to_string()]
        })
        .unwrap();
    ctx.shutdown().unwrap();
    let mut log = Vec::new();
    run_until(&mut event_loop, &mut log, "the Fatal error", |l| {
        !l.is_empty()
    });
    assert!(log[0].contains("ETERM"), "{log:?}");
}

#[test]
fn an_inbox_of_zero_is_refused_and_the_source_handed_back() {
    let ctx = zmq::Context::new();
    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    let event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    let err = AsyncSocket::insert(pull, &event_loop.handle(), 0).unwrap_err();
    assert!(err.to_string().contains("at least 1"), "{err}");
    let _source: ZmqSource = err.into_source();
}

/// A PULL on another thread that takes `n` sequence numbers from `endpoint`
/// and returns how many came out of order (every receive bounded by
/// [`WAIT`]).
fn consumer(ctx: &zmq::Context, endpoint: &str, n: u64) -> thread::JoinHandle<u64> {
    let pull = ctx.socket(zmq::SocketType::Pull).unwrap();
    pull.set_rcvhwm(16).unwrap();
    pull.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    pull.connect(endpoint).unwrap();
    thread::spawn(move || {
        let mut frame = zmq::Frame::new();
        let mut out_of_order = 0;
        for expected in 0..n {
            pull.recv_into(&mut frame, 0)
                .expect("the next message came within the timeout");
            let seq = u64::from_le_bytes((&frame[..]).try_into().unwrap());
            if seq != expected {
                out_of_order += 1;
            }
        }
        out_of_order
    })
}

/// A PUSH source with a small outbox and `ZMQ_SNDHWM` 16, bound to
/// `endpoint`, so sends meet pushback early.
fn bound_push(ctx: &zmq::Context, endpoint: &str, outbox: usize) -> ZmqSource {
    let push = ZmqSource::builder(ctx.socket(zmq::SocketType::Push).unwrap())
        .outbox_capacity(outbox)
        .build()
        .unwrap();
    push.socket().set_sndhwm(16).unwrap();
    push.bind(endpoint).unwrap();
    push
}

/// Every send is a `reserve` raced against "a timer that always wins first":
/// when it has to wait it is dropped (a lost `select!`) on alternate
/// attempts and awaited on the others, and the message stays the caller's
/// until a permit takes it. The peer must get every message exactly once, in
/// order, and the outbox never holds more than its capacity.
#[test]
fn cancelling_reserve_at_every_await_point_loses_and_duplicates_nothing() {
    const CAP: usize = 8;
    let ctx = zmq::Context::new();
    let push = bound_push(&ctx, "inproc://async-send-cancel", CAP);
    let peer = consumer(&ctx, "inproc://async-send-cancel", N);

    let mut event_loop: EventLoop<Option<u64>> = EventLoop::try_new().unwrap();
    let socket = AsyncSocket::insert(push, &event_loop.handle(), 4).unwrap();
    let scheduler = output_executor(&event_loop);
    let peak = Rc::new(Cell::new(0));
    let peak_in = peak.clone();
    scheduler
        .schedule(async move {
            let mut cancelled = 0u64;
            for seq in 0..N {
                let permit = loop {
                    let mut reserve = pin!(socket.reserve());
                    let first = poll_fn(|cx| Poll::Ready(reserve.as_mut().poll(cx))).await;
                    if let Poll::Ready(permit) = first {
                        break permit.expect("socket open");
                    }
                    // Let the loop send while the reserve is pending.
                    yield_now().await;
                    cancelled += 1;
                    if cancelled.is_multiple_of(2) {
                        continue; // dropped: the race was lost
                    }
                    break reserve.await.expect("socket open");
                };
                permit.send(&seq.to_le_bytes()[..]).expect("a permit sends");
                peak_in.set(peak_in.get().max(socket.sender().len()));
            }
            cancelled
        })
        .unwrap();
    let mut done = None;
    run_until(&mut event_loop, &mut done, "every message queued", |d| {
        d.is_some()
    });
    let cancelled = done.unwrap();
    // The last messages may still be in the outbox: dispatch until the peer
    // has them all.
    run_until(
        &mut event_loop,
        &mut done,
        "the peer to get every message",
        |_| peer.is_finished(),
    );
    assert_eq!(peer.join().unwrap(), 0, "messages out of order");
    assert!(
        cancelled > 0,
        "reserve never had to wait: nothing was cancelled"
    );
    assert!(peak.get() <= CAP, "outbox held {} > {CAP}", peak.get());
}

/// A loop with `push` in it as an `AsyncSocket` and calloop's executor,
/// whose task sets the loop's flag when it finishes.
fn sending_loop(push: ZmqSource) -> (EventLoop<'static, bool>, AsyncSocket, Scheduler<()>) {
    let event_loop: EventLoop<bool> = EventLoop::try_new().unwrap();
    let socket = AsyncSocket::insert(push, &event_loop.handle(), 4).unwrap();
    let (exec, scheduler) = executor().unwrap();
    event_loop
        .handle()
        .insert_source(exec, |(), _, done| *done = true)
        .unwrap();
    (event_loop, socket, scheduler)
}

#[test]
fn send_awaits_room_and_keeps_order() {
    const TOTAL: u64 = 5_000;
    let ctx = zmq::Context::new();
    let push = bound_push(&ctx, "inproc://async-send", 4);
    let peer = consumer(&ctx, "inproc://async-send", TOTAL);
    let (mut event_loop, socket, scheduler) = sending_loop(push);
    scheduler
        .schedule(async move {
            for seq in 0..TOTAL {
                socket
                    .send(&seq.to_le_bytes()[..])
                    .await
                    .expect("socket open");
            }
            // Keep the socket (and its outbox) until the peer has everything.
            std::mem::forget(socket);
        })
        .unwrap();
    let mut done = false;
    run_until(&mut event_loop, &mut done, "every send", |d| *d);
    run_until(
        &mut event_loop,
        &mut done,
        "the peer to get every message",
        |_| peer.is_finished(),
    );
    assert_eq!(peer.join().unwrap(), 0, "messages out of order");
}

#[test]
fn a_direction_the_socket_type_lacks_is_an_error_at_once() {
    let ctx = zmq::Context::new();
    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    let push = ZmqSource::new(ctx.socket(zmq::SocketType::Push).unwrap()).unwrap();
    let event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    let pull = AsyncSocket::insert(pull, &event_loop.handle(), 4).unwrap();
    let push = AsyncSocket::insert(push, &event_loop.handle(), 4).unwrap();
    let now = |fut: std::pin::Pin<&mut dyn Future<Output = ()>>| {
        fut.poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
            .is_ready()
    };
    let mut send = pin!(async {
        let err = pull.send("x").await.unwrap_err();
        assert!(err.to_string().contains("ENOTSUP"), "{err}");
        assert_eq!(err.into_message().frame_str(0), Some("x"));
    });
    assert!(now(send.as_mut()), "send on PULL resolved at once");
    let mut reserve = pin!(async {
        let err = pull.reserve().await.unwrap_err();
        assert_eq!(
            err,
            calloop_zmq::ReserveError::CannotSend(zmq::SocketType::Pull)
        );
        assert_eq!(err.to_string(), "a PULL socket never sends");
    });
    assert!(now(reserve.as_mut()), "reserve on PULL resolved at once");
    let mut recv = pin!(async {
        let err = push.recv().await.unwrap_err();
        assert!(
            matches!(err, RecvError::CannotReceive(zmq::SocketType::Push)),
            "{err}"
        );
    });
    assert!(now(recv.as_mut()), "recv on PUSH resolved at once");
}

#[test]
fn send_on_a_closed_source_hands_the_message_back() {
    let ctx = zmq::Context::new();
    let push = ZmqSource::new(ctx.socket(zmq::SocketType::Push).unwrap()).unwrap();
    let mut event_loop: EventLoop<Option<String>> = EventLoop::try_new().unwrap();
    let socket = AsyncSocket::insert(push, &event_loop.handle(), 4).unwrap();
    let scheduler = output_executor(&event_loop);
    scheduler
        .schedule(async move {
            assert!(socket.close(Duration::ZERO));
            let err = socket.send("late").await.unwrap_err();
            assert_eq!(err.message().frame_str(0), Some("late"));
            assert!(matches!(
                socket.recv().await,
                Err(RecvError::CannotReceive(_))
            ));
            assert!(socket.ended().await.is_ok());
            assert!(matches!(socket.recv().await, Err(RecvError::Ended)));
            err.to_string()
        })
        .unwrap();
    let mut log = None;
    run_until(&mut event_loop, &mut log, "the closed send", |l| {
        l.is_some()
    });
    assert!(log.unwrap().contains("source closed"));
}

/// The futures-rs traits: a `Sink` that waits in `poll_ready` while the
/// outbox is full and keeps order, and a `Stream` that ends after the
/// source's last word.
#[cfg(feature = "futures")]
#[test]
fn sink_and_stream_carry_every_message_in_order_and_the_stream_ends() {
    use futures_core::Stream;
    use futures_sink::Sink;
    use std::pin::Pin;

    const TOTAL: u64 = 5_000;
    let ctx = zmq::Context::new();
    let push = bound_push(&ctx, "inproc://async-sink", 4);
    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    pull.connect("inproc://async-sink").unwrap();

    let mut event_loop: EventLoop<Option<(u64, u64)>> = EventLoop::try_new().unwrap();
    let mut push = AsyncSocket::insert(push, &event_loop.handle(), 4).unwrap();
    let mut pull = AsyncSocket::insert(pull, &event_loop.handle(), 8).unwrap();
    let (exec, scheduler) = executor().unwrap();
    event_loop
        .handle()
        .insert_source(exec, |outcome: Option<(u64, u64)>, _, done| {
            if outcome.is_some() {
                *done = outcome;
            }
        })
        .unwrap();
    scheduler
        .schedule(async move {
            let mut waited = 0u64;
            for seq in 0..TOTAL {
                let mut first = true;
                poll_fn(|cx| {
                    let ready = Sink::<&[u8]>::poll_ready(Pin::new(&mut push), cx);
                    if ready.is_pending() && first {
                        waited += 1;
                    }
                    first = false;
                    ready
                })
                .await
                .expect("the sink is open");
                Pin::new(&mut push)
                    .start_send(&seq.to_le_bytes()[..])
                    .expect("a ready sink takes a message");
            }
            poll_fn(|cx| Sink::<Multipart>::poll_flush(Pin::new(&mut push), cx))
                .await
                .unwrap();
            assert_eq!(push.sender().len(), 0, "poll_flush left messages queued");
            std::mem::forget(push); // keep sending until the peer has all
            Some((waited, 0))
        })
        .unwrap();
    scheduler
        .schedule(async move {
            let mut got = 0u64;
            while got < TOTAL {
                let msg = poll_fn(|cx| Pin::new(&mut pull).poll_next(cx))
                    .await
                    .expect("the stream goes on")
                    .expect("the socket is open");
                assert_eq!(seq_of(&msg), got);
                got += 1;
            }
            pull.close(Duration::ZERO);
            let last = poll_fn(|cx| Pin::new(&mut pull).poll_next(cx)).await;
            assert!(matches!(last, Some(Err(RecvError::Closed(_)))));
            let after = poll_fn(|cx| Pin::new(&mut pull).poll_next(cx)).await;
            assert!(after.is_none(), "the stream ends after the last word");
            Some((u64::MAX, got))
        })
        .unwrap();
    let mut done = None;
    let mut waited = None;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "sink and stream did not finish"
        );
        event_loop
            .dispatch(Some(Duration::from_millis(10)), &mut done)
            .unwrap();
        match done.take() {
            Some((u64::MAX, got)) => {
                assert_eq!(got, TOTAL);
                break;
            }
            Some((w, _)) => waited = Some(w),
            None => {}
        }
    }
    let waited = waited.expect("the sink task finished before the stream");
    assert!(waited > 0, "poll_ready never had to wait");
}

/// Options and subscriptions while the socket is in the loop: a SUB
/// subscribes through `with_socket` after `insert` and gets only its topic;
/// once the source has handed its socket back, `with_socket` says `None`.
#[test]
fn the_socket_is_reachable_after_insert_for_subscriptions() {
    let ctx = zmq::Context::new();
    let (sub, publisher) = support::source_connected(
        &ctx,
        zmq::SocketType::Sub,
        "inproc://async-subscribe",
        zmq::SocketType::Pub,
    );

    let mut event_loop: EventLoop<Option<String>> = EventLoop::try_new().unwrap();
    let sub = AsyncSocket::insert(sub, &event_loop.handle(), 8).unwrap();
    sub.with_socket(|socket| socket.set_subscribe(b"take"))
        .expect("the socket is in the loop")
        .unwrap();
    let scheduler = output_executor(&event_loop);
    scheduler
        .schedule(async move {
            let msg = sub.recv().await.expect("the socket is open");
            let text = msg.frame_str(0).unwrap().to_owned();
            sub.close(Duration::ZERO);
            assert!(sub.ended().await.is_ok());
            assert!(
                sub.with_socket(|_| ()).is_none(),
                "the socket was handed back"
            );
            text
        })
        .unwrap();
    // The subscription reaches the publisher asynchronously: publish both
    // topics until one arrives.
    let mut got = None;
    let deadline = std::time::Instant::now() + WAIT;
    while got.is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {WAIT:?} waiting for the subscribed topic"
        );
        publisher.send("skip", zmq::DONTWAIT).unwrap();
        publisher.send("take", zmq::DONTWAIT).unwrap();
        event_loop
            .dispatch(Some(Duration::from_millis(10)), &mut got)
            .unwrap();
    }
    assert_eq!(got.as_deref(), Some("take"));
}

/// Dropping an `AsyncSocket` ends its source: the loop removes it, and what
/// could not be delivered (queued on a PUSH nobody listens to) or was never
/// read (in a PULL's inbox) is counted, not lost without a word.
#[test]
fn dropping_the_socket_ends_its_source_and_counts_what_is_lost() {
    let ctx = zmq::Context::new();
    let push = support::stuck_push(&ctx, 8);
    let push_stats = push.stats();
    let push_sender = push.sender();
    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    pull.bind("inproc://async-drop").unwrap();
    let pull_stats = pull.stats();
    let feed = ctx.socket(zmq::SocketType::Push).unwrap();
    feed.connect("inproc://async-drop").unwrap();
    for _ in 0..5 {
        feed.send("unread", 0).unwrap();
    }

    let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    let push = AsyncSocket::insert(push, &event_loop.handle(), 4).unwrap();
    let pull = AsyncSocket::insert(pull, &event_loop.handle(), 16).unwrap();
    for _ in 0..3 {
        push_sender.try_send("undelivered").unwrap();
    }
    run_until(
        &mut event_loop,
        &mut (),
        "five messages in the inbox",
        |_| pull.buffered() == 5,
    );
    drop(push);
    drop(pull);
    run_until(&mut event_loop, &mut (), "both sources ended", |_| {
        push_stats.snapshot().dropped_at_drop == 3 && pull_stats.snapshot().dropped_unread == 5
    });
    assert!(
        !push_sender.close_source(Duration::ZERO),
        "the source has ended"
    );
    let err = push_sender.try_send("late").unwrap_err();
    assert_eq!(err.message().frame_str(0), Some("late"));
}

/// `flush` resolves only once the outbox has handed every queued message to
/// libzmq, and the `Sink`'s `poll_flush` likewise.
#[test]
fn flush_waits_until_the_outbox_is_empty() {
    const TOTAL: u64 = 2_000;
    let ctx = zmq::Context::new();
    let push = bound_push(&ctx, "inproc://async-flush", 64);
    let peer = consumer(&ctx, "inproc://async-flush", TOTAL);
    let mut event_loop: EventLoop<Option<usize>> = EventLoop::try_new().unwrap();
    let socket = AsyncSocket::insert(push, &event_loop.handle(), 4).unwrap();
    let scheduler = output_executor(&event_loop);
    scheduler
        .schedule(async move {
            let mut most = 0;
            for seq in 0..TOTAL {
                // Through the senders' queue, so messages wait in the outbox.
                let permit = socket.reserve().await.expect("socket open");
                permit.send(&seq.to_le_bytes()[..]).unwrap();
                most = most.max(socket.sender().len());
            }
            assert!(most > 1, "the outbox never held more than one message");
            socket.flush().await;
            let left = socket.sender().len();
            // Keep the socket until the peer has everything from libzmq.
            std::mem::forget(socket);
            left
        })
        .unwrap();
    let mut done = None;
    run_until(&mut event_loop, &mut done, "the flush", |d| d.is_some());
    assert_eq!(done, Some(0), "flush resolved with messages queued");
    assert_eq!(peer.join().unwrap(), 0, "messages out of order");
}

/// One message of `producer` (a tag byte) with sequence number `seq`.
fn tagged(producer: u8, seq: u64) -> Vec<u8> {
    let mut msg = vec![producer];
    msg.extend_from_slice(&seq.to_le_bytes());
    msg
}

/// `AsyncSocket::send` (straight to libzmq, after the loop's held messages,
/// or through the senders' queue) and another thread's blocking
/// `Sender::send` share one outbox of 4 and a `ZMQ_SNDHWM` of 16: each
/// producer's messages arrive exactly once and in its order.
#[test]
fn send_and_another_threads_sender_each_keep_their_order() {
    const EACH: u64 = 20_000;
    let ctx = zmq::Context::new();
    let push = bound_push(&ctx, "inproc://async-two-producers", 4);
    let pull = ctx.socket(zmq::SocketType::Pull).unwrap();
    pull.set_rcvhwm(16).unwrap();
    pull.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    pull.connect("inproc://async-two-producers").unwrap();
    let peer = thread::spawn(move || {
        let mut next = [0u64; 2];
        for _ in 0..2 * EACH {
            let msg = pull
                .recv_bytes(0)
                .expect("the next message came within the timeout");
            let producer = usize::from(msg[0] - b'a');
            let seq = u64::from_le_bytes(msg[1..].try_into().unwrap());
            assert_eq!(seq, next[producer], "producer {producer} out of order");
            next[producer] += 1;
        }
        next
    });
    let sender = push.sender();
    let other = thread::spawn(move || {
        for seq in 0..EACH {
            sender.send(tagged(b'b', seq)).expect("the source is open");
        }
    });

    let (mut event_loop, socket, scheduler) = sending_loop(push);
    scheduler
        .schedule(async move {
            for seq in 0..EACH {
                socket.send(tagged(b'a', seq)).await.expect("socket open");
                if seq % 64 == 0 {
                    yield_now().await; // let the other thread's messages in
                }
            }
            socket.flush().await;
            std::mem::forget(socket); // keep it until the peer has all
        })
        .unwrap();
    let mut done = false;
    run_until(&mut event_loop, &mut done, "every async send", |d| *d);
    run_until(
        &mut event_loop,
        &mut done,
        "the peer to get every message",
        |_| peer.is_finished(),
    );
    other.join().unwrap();
    assert_eq!(peer.join().unwrap(), [EACH, EACH]);
}

/// A task that keeps up with a flood takes messages straight from the
/// socket when its inbox is empty, but at most the source's budget of them
/// between two of the source's dispatches, so the loop still goes round and
/// other sources get their turn. All 50,000 messages wait in libzmq before
/// the loop starts: without that bound, one task poll would take them all.
#[test]
fn a_task_that_keeps_up_with_a_flood_still_lets_the_loop_go_round() {
    const TOTAL: u64 = 50_000;
    const INBOX: usize = 16;
    const BUDGET: usize = 64;
    let ctx = zmq::Context::new();
    let (pull, push) = waiting_pull(&ctx, "inproc://async-flood", BUDGET);
    let stats = pull.stats();
    for seq in 0..TOTAL {
        push.send(&seq.to_le_bytes()[..], zmq::DONTWAIT).unwrap();
    }
    receive_all(pull, INBOX, TOTAL, |msg, expected| {
        assert_eq!(seq_of(msg), expected, "out of order");
    });
    // Between two dispatches the task takes at most BUDGET straight from
    // the socket plus what the inbox held.
    let dispatches = stats.snapshot().dispatches;
    let least = TOTAL / (BUDGET + INBOX) as u64 - 1;
    assert!(
        dispatches >= least,
        "{dispatches} dispatches for {TOTAL} messages: the loop was held up (at least {least} expected)"
    );
}

/// An `AsyncSocket` that outlives its loop: its futures resolve with
/// `RecvError::Removed` (with what was waiting to go out) instead of
/// waiting forever, and its sender refuses new messages.
#[test]
fn a_socket_that_outlives_its_loop_says_removed_instead_of_hanging() {
    let ctx = zmq::Context::new();
    let push = support::stuck_push(&ctx, 8);
    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    pull.bind("inproc://async-removed").unwrap();
    let event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    let push = AsyncSocket::insert(push, &event_loop.handle(), 4).unwrap();
    let pull = AsyncSocket::insert(pull, &event_loop.handle(), 4).unwrap();
    push.sender().try_send("one").unwrap();
    push.sender().try_send("two").unwrap();
    drop(event_loop);

    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let said = match pin!(push.ended()).as_mut().poll(&mut cx) {
        Poll::Ready(said) => said,
        Poll::Pending => panic!("ended() waits for a loop that is gone"),
    };
    let Err(RecvError::Removed(undelivered)) = said else {
        panic!("expected Removed, got {said:?}");
    };
    let texts: Vec<_> = undelivered.iter().map(|m| m.frame_str(0)).collect();
    assert_eq!(texts, [Some("one"), Some("two")]);
    let err = push.sender().try_send("late").unwrap_err();
    assert!(matches!(err, calloop_zmq::SendError::Closed(_)), "{err:?}");
    match pin!(pull.recv()).as_mut().poll(&mut cx) {
        Poll::Ready(Err(RecvError::Removed(_))) => {}
        other => panic!("expected Removed at once, got {other:?}"),
    }
    match pin!(pull.recv()).as_mut().poll(&mut cx) {
        Poll::Ready(Err(RecvError::Ended)) => {}
        other => panic!("expected Ended after Removed, got {other:?}"),
    }
}

/// A `recv` that takes its budget's worth straight from the socket and then
/// waits, with messages still in libzmq, loses no wake-up: the direct
/// receives consumed the fd's edge, so the source must re-read `ZMQ_EVENTS`
/// before the loop sleeps, find the rest and fill the inbox.
#[test]
fn messages_left_after_direct_receives_reach_the_inbox() {
    const BUDGET: usize = 4;
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::SocketType::Pull).unwrap();
    let pull = ZmqSource::builder(pull).budget(BUDGET).build().unwrap();
    pull.bind("inproc://async-direct-edge").unwrap();
    let push = ctx.socket(zmq::SocketType::Push).unwrap();
    push.connect("inproc://async-direct-edge").unwrap();
    let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    let socket = AsyncSocket::insert(pull, &event_loop.handle(), 100).unwrap();
    // The source's first dispatches find nothing and end on EAGAIN, which
    // clears its pending ZMQ_EVENTS check.
    for _ in 0..3 {
        event_loop
            .dispatch(Some(Duration::from_millis(10)), &mut ())
            .unwrap();
    }
    for seq in 0..10u64 {
        push.send(&seq.to_le_bytes()[..], zmq::DONTWAIT).unwrap();
    }
    // Without dispatching: the task takes its budget straight from libzmq,
    // then has to wait.
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for expected in 0..BUDGET as u64 {
        match pin!(socket.recv()).as_mut().poll(&mut cx) {
            Poll::Ready(Ok(msg)) => assert_eq!(seq_of(&msg), expected),
            other => panic!("expected message {expected} at once, got {other:?}"),
        }
    }
    assert!(pin!(socket.recv()).as_mut().poll(&mut cx).is_pending());
    run_until(
        &mut event_loop,
        &mut (),
        "the other 6 messages in the inbox",
        |_| socket.buffered() == 6,
    );
}

/// Multipart messages come whole and in order through both receive paths
/// (the inbox and straight from the socket), with a budget small enough
/// that both are used.
#[test]
fn multipart_messages_arrive_whole_through_both_receive_paths() {
    const TOTAL: u64 = 1_000;
    let ctx = zmq::Context::new();
    let (pull, push) = waiting_pull(&ctx, "inproc://async-multipart", 3);
    for seq in 0..TOTAL {
        let body = vec![0u8; (seq % 5) as usize * 100];
        push.send_multipart(
            [&seq.to_le_bytes()[..], b"middle", &body[..]],
            zmq::DONTWAIT,
        )
        .unwrap();
    }
    receive_all(pull, 2, TOTAL, |msg, expected| {
        assert_eq!(msg.len(), 3, "message {expected} is not whole");
        assert_eq!(seq_of(msg), expected, "out of order");
        assert_eq!(msg.frame_str(1), Some("middle"));
        assert_eq!(msg.frame(2).unwrap().len(), (expected % 5) as usize * 100);
    });
}

/// A PULL source with `ZMQ_RCVHWM` 0 and the given budget, bound to
/// `endpoint`, and a PUSH with `ZMQ_SNDHWM` 0 connected to it: everything
/// pushed waits in libzmq until the source takes it.
fn waiting_pull(ctx: &zmq::Context, endpoint: &str, budget: usize) -> (ZmqSource, zmq::Socket) {
    let pull = ctx.socket(zmq::SocketType::Pull).unwrap();
    pull.set_rcvhwm(0).unwrap();
    let pull = ZmqSource::builder(pull).budget(budget).build().unwrap();
    pull.bind(endpoint).unwrap();
    let push = ctx.socket(zmq::SocketType::Push).unwrap();
    push.set_sndhwm(0).unwrap();
    push.connect(endpoint).unwrap();
    (pull, push)
}

/// Receives `total` messages through an `AsyncSocket` with an inbox of
/// `inbox` on calloop's executor, handing each with its index to `check`.
fn receive_all(
    pull: ZmqSource,
    inbox: usize,
    total: u64,
    check: impl Fn(&Multipart, u64) + 'static,
) {
    let mut event_loop: EventLoop<Option<u64>> = EventLoop::try_new().unwrap();
    let socket = AsyncSocket::insert(pull, &event_loop.handle(), inbox).unwrap();
    let scheduler = output_executor(&event_loop);
    scheduler
        .schedule(async move {
            for index in 0..total {
                let msg = socket.recv().await.expect("the socket is open");
                check(&msg, index);
            }
            total
        })
        .unwrap();
    let mut done = None;
    run_until(&mut event_loop, &mut done, "every message", |d| d.is_some());
}

/// A `send` waiting for the loop to send the message it holds gets its own
/// message back when the source closes meanwhile, and the held one comes
/// back in `RecvError::Closed`: nothing is lost while a send waits.
#[test]
fn a_send_waiting_behind_a_held_message_gets_it_back_when_the_source_closes() {
    let ctx = zmq::Context::new();
    let push = support::stuck_push(&ctx, 8);
    let sender = push.sender();
    let mut event_loop: EventLoop<Option<(String, Vec<String>)>> = EventLoop::try_new().unwrap();
    let socket = AsyncSocket::insert(push, &event_loop.handle(), 4).unwrap();
    let scheduler = output_executor(&event_loop);
    scheduler
        .schedule(async move {
            // Nobody listens: libzmq says EAGAIN and the loop holds it.
            socket.send("held").await.expect("queued");
            // Waits for the loop to send "held", which never happens.
            let err = socket.send("waiting").await.unwrap_err();
            let Ok(closed) = socket.ended().await else {
                panic!("expected Closed");
            };
            let undelivered = closed
                .undelivered
                .iter()
                .map(|m| m.frame_str(0).unwrap().to_owned())
                .collect();
            (err.message().frame_str(0).unwrap().to_owned(), undelivered)
        })
        .unwrap();
    for _ in 0..3 {
        event_loop
            .dispatch(Some(Duration::from_millis(10)), &mut None)
            .unwrap();
    }
    assert!(sender.close_source(Duration::ZERO));
    let mut done = None;
    run_until(&mut event_loop, &mut done, "the waiting send", |d| {
        d.is_some()
    });
    let (back, undelivered) = done.unwrap();
    assert_eq!(back, "waiting");
    assert_eq!(undelivered, ["held"]);
}
