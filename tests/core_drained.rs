//! `Builder::notify_drained` and `AsyncSocket::ready`: the producer's
//! signal that the outbox emptied after the socket pushed back.

mod support;

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, Instant};

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::calloop::futures::executor;
use calloop_zmq::{AsyncSocket, Event, ReserveError, ZmqSource, zmq};
use support::run_until;

/// A PUSH whose pipe to `pull` holds only a couple of messages, so the
/// socket pushes back almost at once.
fn tight_pair(ctx: &zmq::Context, name: &str, drained: bool) -> (ZmqSource, zmq::Socket) {
    let endpoint = format!("inproc://{name}");
    let pull = ctx.socket(zmq::SocketType::Pull).unwrap();
    pull.set_rcvhwm(1).unwrap();
    pull.bind(&endpoint).unwrap();
    let push = ctx.socket(zmq::SocketType::Push).unwrap();
    push.set_sndhwm(1).unwrap();
    let builder = ZmqSource::builder(push);
    let source = if drained {
        builder.notify_drained().build().unwrap()
    } else {
        builder.build().unwrap()
    };
    source.connect(&endpoint).unwrap();
    (source, pull)
}

/// Everything `pull` holds now, without waiting.
fn read_available(pull: &zmq::Socket) -> usize {
    let mut n = 0;
    while pull.recv_multipart(zmq::DONTWAIT).is_ok() {
        n += 1;
    }
    n
}

/// A loop with `push` in it, counting its `Drained` events in the data.
fn counting_drained(push: ZmqSource) -> EventLoop<'static, usize> {
    let event_loop: EventLoop<usize> = EventLoop::try_new().unwrap();
    push.insert(&event_loop.handle(), |event, _, drained| {
        if let Event::Drained = event {
            *drained += 1;
        }
    })
    .unwrap();
    event_loop
}

#[derive(Debug, Default)]
struct Producer {
    drained: usize,
    sent: usize,
    /// `sent` when each `Drained` came.
    at: Vec<usize>,
}

#[test]
fn drained_comes_first_then_once_each_time_the_pushed_back_outbox_empties() {
    let ctx = zmq::Context::new();
    let (push, pull) = tight_pair(&ctx, "drained-once", true);
    let mut event_loop: EventLoop<Producer> = EventLoop::try_new().unwrap();
    push.insert(&event_loop.handle(), |event, socket, p| {
        if let Event::Drained = event {
            p.drained += 1;
            p.at.push(p.sent);
            assert_eq!(socket.queued(), 0, "Drained with messages still held");
            while socket.queued() == 0 && p.sent < 1000 {
                socket.send(format!("{}", p.sent)).unwrap();
                p.sent += 1;
            }
        }
    })
    .unwrap();

    let mut p = Producer::default();
    run_until(&mut event_loop, &mut p, "the first Drained", |p| {
        p.drained == 1
    });
    assert!(
        p.sent < 1000,
        "the socket never pushed back ({} sent)",
        p.sent
    );
    // Pushed back, nobody reads: no second Drained, however often it runs.
    for _ in 0..5 {
        event_loop
            .dispatch(Some(Duration::from_millis(10)), &mut p)
            .unwrap();
    }
    assert_eq!(p.drained, 1, "{p:?}");

    // The peer reads; the held message goes out and Drained comes again.
    let mut got = read_available(&pull);
    let before = p.sent;
    run_until(&mut event_loop, &mut p, "the second Drained", |p| {
        p.drained == 2
    });
    assert_eq!(p.at, [0, before]);

    // The peer keeps reading: the producer, driven by Drained alone, gets
    // all 1000 out.
    let deadline = Instant::now() + support::WAIT;
    while got < 1000 {
        assert!(
            Instant::now() < deadline,
            "only {got} of 1000 arrived: {p:?}"
        );
        got += read_available(&pull);
        event_loop
            .dispatch(Some(Duration::from_millis(5)), &mut p)
            .unwrap();
    }
    assert_eq!((got, p.sent), (1000, 1000));
    assert!(p.drained > 2, "{p:?}");
}

#[test]
fn drained_after_senders_messages_went_out() {
    let ctx = zmq::Context::new();
    let (push, pull) = tight_pair(&ctx, "drained-senders", true);
    let sender = push.sender();
    let mut event_loop = counting_drained(push);
    let mut drained = 0;
    run_until(&mut event_loop, &mut drained, "the first Drained", |d| {
        *d == 1
    });
    sender.try_send("from another thread's handle").unwrap();
    run_until(
        &mut event_loop,
        &mut drained,
        "Drained after the sender's message",
        |d| *d == 2,
    );
    assert_eq!(support::recv_within(&pull, "the sender's message").len(), 1);
}

#[test]
fn no_drained_event_unless_asked_for() {
    let ctx = zmq::Context::new();
    let (push, pull) = tight_pair(&ctx, "drained-off", false);
    let sender = push.sender();
    let mut event_loop = counting_drained(push);
    let mut drained = 0;
    sender.try_send("one").unwrap();
    run_until(&mut event_loop, &mut drained, "the message out", |_| {
        pull.poll(zmq::POLLIN, 0).unwrap().contains(zmq::POLLIN)
    });
    for _ in 0..5 {
        event_loop
            .dispatch(Some(Duration::from_millis(10)), &mut drained)
            .unwrap();
    }
    assert_eq!(drained, 0);
}

#[test]
fn async_ready_waits_while_pushed_back_and_resolves_when_libzmq_took_it_all() {
    let ctx = zmq::Context::new();
    let (push, pull) = tight_pair(&ctx, "async-ready", false);
    let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    let push = AsyncSocket::insert(push, &event_loop.handle(), 4).unwrap();
    let (exec, scheduler) = executor().unwrap();
    event_loop
        .handle()
        .insert_source(exec, |(), _, _| {})
        .unwrap();
    let progress = Rc::new(Cell::new((0usize, false)));
    let seen = progress.clone();
    scheduler
        .schedule(async move {
            let mut sent = 0;
            // Produce until the socket pushes back (a send queued, not sent).
            push.ready().await.unwrap();
            while push.queued() == 0 {
                push.send(format!("{sent}")).await.unwrap();
                sent += 1;
            }
            seen.set((sent, false));
            push.ready().await.unwrap();
            seen.set((sent, true));
            // The outbox accepts nothing once closed: ready says so.
            push.close(Duration::ZERO);
            assert!(matches!(push.ready().await, Err(ReserveError::Closed)));
        })
        .unwrap();

    let mut data = ();
    let p = progress.clone();
    run_until(
        &mut event_loop,
        &mut data,
        "the producer pushed back",
        |_| p.get().0 > 0,
    );
    for _ in 0..5 {
        event_loop
            .dispatch(Some(Duration::from_millis(10)), &mut data)
            .unwrap();
    }
    assert!(
        !progress.get().1,
        "ready resolved while the socket pushed back"
    );
    let sent = progress.get().0;
    let mut got = 0;
    let deadline = Instant::now() + support::WAIT;
    while !progress.get().1 || got < sent {
        assert!(
            Instant::now() < deadline,
            "ready: {:?}, {got} of {sent} read",
            progress.get()
        );
        got += read_available(&pull);
        event_loop
            .dispatch(Some(Duration::from_millis(5)), &mut data)
            .unwrap();
    }
    assert_eq!(got, sent);
}

#[test]
fn async_ready_on_a_socket_that_never_sends_says_so() {
    let ctx = zmq::Context::new();
    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    let event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    let pull = AsyncSocket::insert(pull, &event_loop.handle(), 4).unwrap();
    let ready = std::pin::pin!(pull.ready());
    let waker = std::task::Waker::noop();
    let polled = ready.poll(&mut std::task::Context::from_waker(waker));
    assert!(matches!(
        polled,
        std::task::Poll::Ready(Err(ReserveError::CannotSend(zmq::SocketType::Pull)))
    ));
}
