//! Every send that does not happen hands its message back, with the reason.

mod support;

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::{Event, Multipart, SendError, SendFailure, ZmqSource, zmq};
use support::{WAIT, run_until, stuck_push};

#[test]
fn try_send_on_a_full_outbox_hands_the_message_back() {
    let ctx = zmq::Context::new();
    let source = stuck_push(&ctx, 2);
    let sender = source.sender();
    sender.try_send("a").unwrap();
    sender.try_send("b").unwrap();
    match sender.try_send(vec![b"c".to_vec(), b"d".to_vec()]) {
        Err(SendError::Full(msg)) => assert_eq!(msg.to_vecs(), [b"c".to_vec(), b"d".to_vec()]),
        other => panic!("expected Full, got {other:?}"),
    }
    assert_eq!(sender.len(), 2);
    assert_eq!(source.stats().snapshot().outbox_peak, 2);
}

#[test]
fn send_timeout_hands_the_message_back() {
    let ctx = zmq::Context::new();
    let source = stuck_push(&ctx, 1);
    let sender = source.sender();
    sender.try_send("a").unwrap();
    let err = thread::spawn(move || sender.send_timeout("late", Duration::from_millis(20)))
        .join()
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&err, SendError::Timeout(m) if m.frame_str(0) == Some("late")),
        "{err:?}"
    );
    drop(source);
}

#[test]
fn blocking_send_on_the_loop_thread_refuses_instead_of_deadlocking() {
    let ctx = zmq::Context::new();
    let source = stuck_push(&ctx, 1);
    let sender = source.sender();
    sender.try_send("fills the outbox").unwrap();
    let event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    source.insert(&event_loop.handle(), |_, _, _| {}).unwrap();
    match sender.send("would wait forever") {
        Err(SendError::WouldDeadlock(m)) => assert_eq!(m.frame_str(0), Some("would wait forever")),
        other => panic!("expected WouldDeadlock, got {other:?}"),
    }
}

#[test]
fn blocking_send_from_a_worker_waits_for_room() {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::SocketType::Pull).unwrap();
    pull.bind("inproc://worker-waits").unwrap();
    let push = ctx.socket(zmq::SocketType::Push).unwrap();
    push.set_sndhwm(1).unwrap();
    let source = ZmqSource::builder(push).outbox_capacity(2).build().unwrap();
    source.connect("inproc://worker-waits").unwrap();
    let sender = source.sender();
    let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    source.insert(&event_loop.handle(), |_, _, _| {}).unwrap();

    let (done_tx, done_rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        for i in 0..50 {
            sender.send(format!("{i}")).unwrap();
        }
        sender.flush(WAIT).unwrap();
        done_tx.send(()).unwrap();
    });
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + WAIT;
    while got.len() < 50 {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of 50 arrived",
            got.len()
        );
        event_loop
            .dispatch(Some(Duration::from_millis(10)), &mut ())
            .unwrap();
        while let Ok(msg) = pull.recv_bytes(zmq::DONTWAIT) {
            got.push(String::from_utf8(msg).unwrap());
        }
    }
    run_until(&mut event_loop, &mut (), "the worker's flush", |_| {
        done_rx.try_recv().is_ok()
    });
    worker.join().unwrap();
    assert_eq!(got, (0..50).map(|i| i.to_string()).collect::<Vec<_>>());
}

#[test]
fn handler_send_refused_by_libzmq_comes_back() {
    let ctx = zmq::Context::new();
    let mut rep = ZmqSource::new(ctx.socket(zmq::SocketType::Rep).unwrap()).unwrap();
    // A REP socket may not speak first.
    match rep.handle().send("unprompted") {
        Err(SendError::Failed { message, error }) => {
            assert_eq!(error, zmq::Error::EFSM);
            assert_eq!(message.frame_str(0), Some("unprompted"));
        }
        other => panic!("expected EFSM, got {other:?}"),
    }
    assert_eq!(
        rep.stats().snapshot().send_failures,
        0,
        "published at the next dispatch"
    );
}

#[test]
fn queued_message_refused_by_libzmq_is_reported_as_an_event() {
    let ctx = zmq::Context::new();
    let (req, _rep) = support::source_connected(
        &ctx,
        zmq::SocketType::Req,
        "inproc://refused",
        zmq::SocketType::Rep,
    );
    let stats = req.stats();
    // Two requests without waiting for a reply: REQ refuses the second.
    req.sender().try_send("first").unwrap();
    req.sender()
        .try_send(vec![b"second".to_vec(), b"part".to_vec()])
        .unwrap();

    let mut event_loop: EventLoop<Vec<SendFailure>> = EventLoop::try_new().unwrap();
    req.insert(
        &event_loop.handle(),
        |event, _, failures: &mut Vec<SendFailure>| {
            if let Event::SendFailed(f) = event {
                failures.push(f);
            }
        },
    )
    .unwrap();
    let mut failures = Vec::new();
    run_until(&mut event_loop, &mut failures, "the EFSM failure", |f| {
        !f.is_empty()
    });
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].error, zmq::Error::EFSM);
    assert_eq!(
        failures[0].message.to_vecs(),
        [b"second".to_vec(), b"part".to_vec()]
    );
    let snap = stats.snapshot();
    assert_eq!(
        (snap.messages_out, snap.send_failures, snap.outbox_depth),
        (1, 1, 0)
    );
}

#[test]
fn empty_message_is_refused_not_sent() {
    let ctx = zmq::Context::new();
    let mut push = stuck_push(&ctx, 4);
    match push.handle().send(Multipart::new()) {
        Err(SendError::Failed { error, message }) => {
            assert_eq!(error, zmq::Error::EINVAL);
            assert!(message.is_empty());
        }
        other => panic!("expected EINVAL, got {other:?}"),
    }
}

#[test]
fn close_hands_back_every_queued_message_in_order() {
    let ctx = zmq::Context::new();
    let mut source = stuck_push(&ctx, 10);
    let sender = source.sender();
    for i in 0..3 {
        sender.try_send(format!("{i}")).unwrap();
    }
    // The handler's queue (taken by a flush attempt) and the senders' queue
    // both come back.
    match source.flush(Duration::from_millis(20)) {
        Err(calloop_zmq::Error::FlushTimeout { remaining }) => assert_eq!(remaining, 3),
        other => panic!("expected a flush timeout, got {other:?}"),
    }
    source.handle().send("3").unwrap();
    sender.try_send("4").unwrap();
    let closed = source.close();
    let got: Vec<_> = closed
        .undelivered
        .iter()
        .map(|m| m.frame_str(0).unwrap().to_owned())
        .collect();
    assert_eq!(got, ["0", "1", "2", "3", "4"]);
    assert!(closed.partial.is_empty());
    // The socket is still usable.
    closed.socket.set_linger(0).unwrap();
    match sender.try_send("after close") {
        Err(SendError::Closed(m)) => assert_eq!(m.frame_str(0), Some("after close")),
        other => panic!("expected Closed, got {other:?}"),
    }
    assert!(sender.is_closed());
}

#[test]
fn a_blocked_sender_is_released_when_the_source_closes() {
    let ctx = zmq::Context::new();
    let source = stuck_push(&ctx, 1);
    let sender = source.sender();
    sender.try_send("fills").unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        started_tx.send(()).unwrap();
        sender.send("waiting")
    });
    started_rx.recv_timeout(WAIT).unwrap();
    let closed = source.close();
    assert_eq!(closed.undelivered.len(), 1);
    match worker.join().unwrap() {
        // Whether the worker was already waiting or not, it gets its message back.
        Err(SendError::Closed(m)) => assert_eq!(m.frame_str(0), Some("waiting")),
        other => panic!("expected Closed, got {other:?}"),
    }
}

#[test]
fn drop_with_queued_messages_counts_them() {
    let ctx = zmq::Context::new();
    let source = stuck_push(&ctx, 10);
    let stats = source.stats();
    let sender = source.sender();
    sender.try_send("lost 1").unwrap();
    sender.try_send("lost 2").unwrap();
    drop(source);
    assert_eq!(stats.snapshot().dropped_at_drop, 2);
    assert!(matches!(sender.try_send("x"), Err(SendError::Closed(_))));
}

#[test]
fn flush_delivers_everything_before_close() {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::SocketType::Pull).unwrap();
    pull.bind("inproc://flush").unwrap();
    let mut source = ZmqSource::new(ctx.socket(zmq::SocketType::Push).unwrap()).unwrap();
    source.connect("inproc://flush").unwrap();
    for i in 0..100 {
        source.sender().try_send(format!("{i}")).unwrap();
    }
    let failures = source.flush(WAIT).unwrap();
    assert!(failures.is_empty());
    assert!(source.close().undelivered.is_empty());
    for i in 0..100 {
        assert_eq!(
            support::recv_within(&pull, "flushed message")[0],
            i.to_string().as_bytes()
        );
    }
}

#[test]
fn sender_flush_reports_what_is_left_and_refuses_the_loop_thread() {
    let ctx = zmq::Context::new();
    let source = stuck_push(&ctx, 4);
    let sender = source.sender();
    sender.try_send("stuck").unwrap();
    // Another thread, nothing drains: a timeout naming what remains.
    let worker = sender.clone();
    let err = thread::spawn(move || worker.flush(Duration::from_millis(20)))
        .join()
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(err, calloop_zmq::Error::FlushTimeout { remaining: 1 }),
        "{err:?}"
    );
    // The loop's own thread: refused at once, since only it drains.
    let event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    source.insert(&event_loop.handle(), |_, _, _| {}).unwrap();
    let err = sender.flush(WAIT).unwrap_err();
    assert!(err.to_string().contains("event loop's thread"), "{err}");
}
