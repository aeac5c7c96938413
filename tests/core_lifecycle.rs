//! Dropping never blocks; fatal errors end the dispatch with a clear error;
//! bad input gives errors, not panics; counters add up.

mod support;

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use calloop_zmq::calloop::{Dispatcher, EventLoop};
use calloop_zmq::{Error, Event, ZmqSource, zmq};
use support::{WAIT, run_until};

#[test]
fn dropping_a_source_never_blocks_even_with_infinite_linger() {
    let (done_tx, done_rx) = mpsc::channel();
    // The whole loop lives on its own thread, so a hang fails the test
    // instead of freezing it.
    thread::spawn(move || {
        let ctx = zmq::Context::new();
        let push = ctx.socket(zmq::SocketType::Push).unwrap();
        push.set_linger(-1).unwrap();
        // Nobody listens on port 1: the message waits in libzmq's pipe
        // forever, so terminating the context would block (rust-zmq#382).
        push.connect("tcp://127.0.0.1:1").unwrap();
        let source = ZmqSource::new(push).unwrap();
        let sender = source.sender();
        sender.try_send("never delivered").unwrap();
        let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
        let token = source.insert(&event_loop.handle(), |_, _, _| {}).unwrap();
        run_until(
            &mut event_loop,
            &mut (),
            "libzmq to take the message",
            |_| sender.is_empty(),
        );
        // Our context handle goes first: the source holds the last reference.
        drop(ctx);
        event_loop.handle().remove(token);
        drop(event_loop);
        done_tx.send(()).unwrap();
    });
    done_rx
        .recv_timeout(WAIT)
        .expect("dropping the source blocked (context termination with linger -1?)");
}

#[test]
fn context_termination_ends_the_source_with_a_clear_error_not_the_dispatch() {
    let ctx = zmq::Context::new();
    let source = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    source.bind("inproc://terminated").unwrap();
    let mut event_loop: EventLoop<Option<String>> = EventLoop::try_new().unwrap();
    source
        .insert(&event_loop.handle(), |event, _, fatal| {
            if let Event::Fatal(f) = event {
                *fatal = Some(f.error.to_string());
            }
        })
        .unwrap();
    // zmq_ctx_shutdown makes every operation on the context's sockets fail
    // with ETERM; the context itself is terminated once the source (its
    // last socket) is dropped.
    ctx.shutdown().unwrap();
    drop(ctx);
    let mut fatal = None;
    // Every dispatch returns Ok (`run_until` fails the test otherwise).
    run_until(&mut event_loop, &mut fatal, "the Fatal event", |f| {
        f.is_some()
    });
    let text = fatal.unwrap();
    assert!(text.contains("Context was terminated (ETERM)"), "{text}");
    drop(event_loop);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let ctx = zmq::Context::new();
    let source = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();

    let err = source.bind("tcp://127.0.0.1\0:1").unwrap_err();
    assert!(
        matches!(&err, Error::Endpoint(e) if e.op() == "bind" && e.zmq_error().is_none()),
        "{err:?}"
    );
    assert!(err.to_string().contains("NUL"), "{err}");

    let err = source.connect("bogus://nowhere").unwrap_err();
    assert_eq!(err.zmq_error(), Some(zmq::Error::EPROTONOSUPPORT));
    assert!(
        err.to_string().contains("connect \"bogus://nowhere\""),
        "{err}"
    );

    let err = source.bind("tcp://no.such.interface:*").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("bind \"tcp://no.such.interface:*\" failed"),
        "{err}"
    );

    let err = source.socket().unbind("tcp://127.0.0.1:9").unwrap_err();
    assert!(err.to_string().contains("unbind"), "{err}");

    for (capacity, budget) in [(0, 1), (1, 0)] {
        let err = ZmqSource::builder(ctx.socket(zmq::SocketType::Push).unwrap())
            .outbox_capacity(capacity)
            .budget(budget)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    }

    // Sending on a receive-only socket: refused by libzmq, message handed back.
    let mut sub = ZmqSource::new(ctx.socket(zmq::SocketType::Sub).unwrap()).unwrap();
    let err = sub.handle().send("nope").unwrap_err();
    assert!(err.to_string().contains("handed back"), "{err}");
    assert_eq!(err.into_message().frame_str(0), Some("nope"));
}

#[test]
fn stats_count_messages_bytes_and_wakeups() {
    const N: u64 = 1_000;
    let ctx = zmq::Context::new();
    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    pull.bind("inproc://stats").unwrap();
    let push = ZmqSource::new(ctx.socket(zmq::SocketType::Push).unwrap()).unwrap();
    push.connect("inproc://stats").unwrap();
    let (pull_stats, push_stats, sender) = (pull.stats(), push.stats(), push.sender());

    let mut event_loop: EventLoop<u64> = EventLoop::try_new().unwrap();
    pull.insert(&event_loop.handle(), |event, _, n: &mut u64| {
        if let Event::Message(_) = event {
            *n += 1;
        }
    })
    .unwrap();
    push.insert(&event_loop.handle(), |_, _, _| {}).unwrap();
    // Queue everything before the loop runs: one batch, one wake-up.
    for _ in 0..N {
        sender
            .try_send(vec![b"ab".to_vec(), b"cde".to_vec()])
            .unwrap();
    }
    let mut received = 0;
    run_until(&mut event_loop, &mut received, "all messages", |&n| n == N);
    run_until(&mut event_loop, &mut received, "stats to settle", |_| {
        pull_stats.snapshot().messages_in == N
    });
    let (i, o) = (pull_stats.snapshot(), push_stats.snapshot());
    assert_eq!((i.messages_in, i.bytes_in), (N, 5 * N));
    assert_eq!((o.messages_out, o.bytes_out), (N, 5 * N));
    assert_eq!(o.outbox_depth, 0);
    assert_eq!(o.outbox_peak, N);
    assert_eq!(o.outbox_wakeups, 1, "one wake-up for one batch");
    assert!(o.budget_exhausted >= N / calloop_zmq::DEFAULT_BUDGET as u64 - 1);
    // Every budget stop is a dispatch of its own, plus at least the last one.
    assert!(o.dispatches > o.budget_exhausted);
    assert!(i.dispatches > 0);
    assert_eq!(o.send_failures, 0);
}

#[test]
fn pause_and_resume_receiving() {
    let ctx = zmq::Context::new();
    let (pull, push) = support::source_bound(
        &ctx,
        zmq::SocketType::Pull,
        "inproc://pause",
        zmq::SocketType::Push,
    );

    let mut event_loop: EventLoop<Vec<String>> = EventLoop::try_new().unwrap();
    let take_one: support::Callback<Vec<String>> = Box::new(|event, socket, got| {
        if let Event::Message(m) = event {
            got.push(m.frame_str(0).unwrap().to_owned());
            // Flow control: take one message, then pause.
            socket.pause_recv();
        }
    });
    let dispatcher = Dispatcher::new(pull, take_one);
    event_loop
        .handle()
        .register_dispatcher(dispatcher.clone())
        .unwrap();
    for i in 0..3 {
        push.send(i.to_string().as_bytes(), 0).unwrap();
    }
    let mut got = Vec::new();
    run_until(&mut event_loop, &mut got, "the first message", |g| {
        g.len() == 1
    });
    for _ in 0..5 {
        event_loop
            .dispatch(Some(Duration::from_millis(5)), &mut got)
            .unwrap();
    }
    assert_eq!(got, ["0"], "paused: no more messages");
    assert!(dispatcher.as_source_mut().handle().is_recv_paused());
    // Resume from outside the callback (a timer, another source...): the
    // source notices on the next loop iteration without any new edge.
    dispatcher.as_source_mut().handle().resume_recv();
    run_until(&mut event_loop, &mut got, "the second message", |g| {
        g.len() == 2
    });
    assert_eq!(got, ["0", "1"]);
}
