//! One broken socket ends only its own source: the callback hears why and
//! gets every message back, the loop and its other sources go on.

mod support;

use std::time::Duration;

use calloop_zmq::calloop::{Dispatcher, EventLoop};
use calloop_zmq::monitor::{EventMask, Monitor};
use calloop_zmq::{Authenticator, Event, Fatal, SendError, ZmqSource, zmq};
use support::{WAIT, run_until};

#[derive(Default)]
struct Seen {
    fatal: Option<Fatal>,
    received: usize,
    other_events: usize,
}

#[test]
fn a_terminated_context_ends_only_its_own_source() {
    // Source A: a DEALER on its own context, with messages queued that no
    // peer will take.
    let ctx_a = zmq::Context::new();
    let dealer = ctx_a.socket(zmq::SocketType::Dealer).unwrap();
    // No pipe until a peer connects, so sends push back and stay queued;
    // linger 0 so that dropping `ctx_a` at the end cannot wait on them.
    dealer.set_immediate(true).unwrap();
    dealer.set_linger(0).unwrap();
    let a = ZmqSource::new(dealer).unwrap();
    a.connect("tcp://127.0.0.1:1").unwrap(); // nobody listens
    let a_sender = a.sender();
    for i in 0..3 {
        a_sender.try_send(format!("queued {i}")).unwrap();
    }

    // Source B: a PULL on another context, fed throughout.
    let ctx_b = zmq::Context::new();
    let push = ctx_b.socket(zmq::SocketType::Push).unwrap();
    push.bind("inproc://fault-isolation-b").unwrap();
    let b = ZmqSource::new(ctx_b.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    b.connect("inproc://fault-isolation-b").unwrap();

    let mut event_loop: EventLoop<Seen> = EventLoop::try_new().unwrap();
    a.insert(
        &event_loop.handle(),
        |event, _, seen: &mut Seen| match event {
            Event::Fatal(fatal) => seen.fatal = Some(fatal),
            _ => seen.other_events += 1,
        },
    )
    .unwrap();
    b.insert(&event_loop.handle(), |event, _, seen: &mut Seen| {
        if let Event::Message(_) = event {
            seen.received += 1;
        }
    })
    .unwrap();

    let mut seen = Seen::default();
    push.send("before", 0).unwrap();
    run_until(&mut event_loop, &mut seen, "B's first message", |s| {
        s.received == 1
    });

    ctx_a.shutdown().unwrap();
    run_until(&mut event_loop, &mut seen, "A's Fatal event", |s| {
        s.fatal.is_some()
    });
    let fatal = seen.fatal.take().unwrap();
    assert_eq!(
        fatal.error.zmq_error(),
        Some(zmq::Error::ETERM),
        "{}",
        fatal.error
    );
    let undelivered: Vec<_> = fatal
        .undelivered
        .iter()
        .map(|m| m.frame_str(0).unwrap().to_owned())
        .collect();
    assert_eq!(undelivered, ["queued 0", "queued 1", "queued 2"]);
    assert!(fatal.partial.is_empty());
    assert_eq!(seen.other_events, 0);
    // A's senders learn it is gone, message in hand.
    assert!(matches!(
        a_sender.try_send("late"),
        Err(SendError::Closed(_))
    ));
    assert!(a_sender.is_closed());

    // B goes on, and every dispatch is Ok (run_until checks).
    for i in 0..100 {
        push.send(format!("after {i}").as_str(), 0).unwrap();
    }
    run_until(&mut event_loop, &mut seen, "B's later messages", |s| {
        s.received == 101
    });
    // A left the loop: it never speaks again.
    assert!(seen.fatal.is_none() && seen.other_events == 0);
}

#[test]
fn a_broken_monitor_or_authenticator_leaves_the_rest_running() {
    let doomed = zmq::Context::new();
    let watched = doomed.socket(zmq::SocketType::Pull).unwrap();
    let monitor = Monitor::attach(&watched, &doomed, EventMask::ALL).unwrap();
    let auth = Authenticator::new(&doomed).unwrap();

    let ctx = zmq::Context::new();
    let push = ctx.socket(zmq::SocketType::Push).unwrap();
    push.bind("inproc://fault-isolation-survivor").unwrap();
    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    pull.connect("inproc://fault-isolation-survivor").unwrap();

    let mut event_loop: EventLoop<usize> = EventLoop::try_new().unwrap();
    monitor.insert(&event_loop.handle(), |_, _| {}).unwrap();
    auth.insert(&event_loop.handle(), |_, _| {}).unwrap();
    pull.insert(&event_loop.handle(), |event, _, got: &mut usize| {
        if let Event::Message(_) = event {
            *got += 1;
        }
    })
    .unwrap();

    drop(watched);
    doomed.shutdown().unwrap();
    let mut got = 0;
    for i in 0..50 {
        push.send(format!("{i}").as_str(), 0).unwrap();
    }
    // Both of the doomed context's sources hit ETERM while this runs; every
    // dispatch stays Ok.
    run_until(&mut event_loop, &mut got, "the survivor's messages", |g| {
        *g == 50
    });
    for _ in 0..5 {
        event_loop
            .dispatch(Some(Duration::from_millis(10)), &mut got)
            .expect("dispatch after the monitor and authenticator broke");
    }
}

#[test]
fn close_from_the_loop_drains_then_hands_back_the_socket() {
    let ctx = zmq::Context::new();
    let (push, pull) = support::source_connected(
        &ctx,
        zmq::SocketType::Push,
        "inproc://close-from-loop",
        zmq::SocketType::Pull,
    );
    let sender = push.sender();
    for i in 0..5 {
        sender.try_send(format!("{i}")).unwrap();
    }

    let mut event_loop: EventLoop<Option<calloop_zmq::Closed>> = EventLoop::try_new().unwrap();
    push.insert(&event_loop.handle(), |event, _, closed| {
        if let Event::Closed(c) = event {
            *closed = Some(c);
        }
    })
    .unwrap();
    assert!(sender.close_source(WAIT));
    // Accepting stops at once.
    assert!(matches!(sender.try_send("late"), Err(SendError::Closed(_))));

    let mut closed = None;
    run_until(&mut event_loop, &mut closed, "Event::Closed", |c| {
        c.is_some()
    });
    let closed = closed.unwrap();
    assert!(closed.undelivered.is_empty(), "{closed:?}");
    assert_eq!(closed.socket.socket_type(), zmq::SocketType::Push);
    for i in 0..5 {
        let msg = support::recv_within(&pull, "a flushed message");
        assert_eq!(msg, [format!("{i}").into_bytes()]);
    }
    // The source is gone; asking again says so.
    assert!(!sender.close_source(WAIT));
    event_loop
        .dispatch(Some(Duration::from_millis(10)), &mut None)
        .unwrap();
}

#[test]
fn close_from_the_loop_hands_back_what_missed_the_deadline() {
    let ctx = zmq::Context::new();
    // No peer (and no pipe before one connects): nothing can go out, so the
    // deadline must end the close.
    let socket = ctx.socket(zmq::SocketType::Push).unwrap();
    socket.set_immediate(true).unwrap();
    socket.set_linger(0).unwrap();
    let push = ZmqSource::new(socket).unwrap();
    push.connect("tcp://127.0.0.1:1").unwrap();
    let sender = push.sender();
    for i in 0..3 {
        sender.try_send(format!("{i}")).unwrap();
    }
    let mut event_loop: EventLoop<Option<calloop_zmq::Closed>> = EventLoop::try_new().unwrap();
    push.insert(&event_loop.handle(), |event, _, closed| {
        if let Event::Closed(c) = event {
            *closed = Some(c);
        }
    })
    .unwrap();
    sender.close_source(Duration::from_millis(50));
    let mut closed = None;
    // Nothing but the source's own deadline timer can wake it now: without
    // it this times out and fails.
    run_until(
        &mut event_loop,
        &mut closed,
        "Event::Closed at the deadline",
        |c| c.is_some(),
    );
    let undelivered: Vec<_> = closed
        .unwrap()
        .undelivered
        .iter()
        .map(|m| m.frame_str(0).unwrap().to_owned())
        .collect();
    assert_eq!(undelivered, ["0", "1", "2"]);
}

#[test]
fn a_handler_closes_its_source_after_replying() {
    let ctx = zmq::Context::new();
    let (rep, req) = support::source_bound(
        &ctx,
        zmq::SocketType::Rep,
        "inproc://close-from-handler",
        zmq::SocketType::Req,
    );
    req.send("last request", 0).unwrap();

    #[derive(Default)]
    struct State {
        closed: Option<calloop_zmq::Closed>,
        late_send: Option<SendError>,
    }
    let mut event_loop: EventLoop<State> = EventLoop::try_new().unwrap();
    rep.insert(&event_loop.handle(), |event, socket, state: &mut State| {
        match event {
            Event::Message(request) => {
                socket.send(request).unwrap();
                socket.close(WAIT);
                // Closing: nothing new is accepted.
                state.late_send = socket.send("extra").err();
            }
            Event::Closed(c) => state.closed = Some(c),
            other => panic!("unexpected {other:?}"),
        }
    })
    .unwrap();
    let mut state = State::default();
    run_until(&mut event_loop, &mut state, "Event::Closed", |s| {
        s.closed.is_some()
    });
    assert!(matches!(state.late_send, Some(SendError::Closed(_))));
    assert!(state.closed.unwrap().undelivered.is_empty());
    assert_eq!(
        support::recv_within(&req, "the reply"),
        [b"last request".to_vec()]
    );
}

#[test]
fn a_source_that_ended_is_refused_by_insert_and_handed_back() {
    let ctx = zmq::Context::new();
    let source = ZmqSource::new(ctx.socket(zmq::SocketType::Push).unwrap()).unwrap();
    let sender = source.sender();
    let callback: support::Callback<bool> = Box::new(|event, _, closed| {
        if let Event::Closed(_) = event {
            *closed = true;
        }
    });
    let dispatcher = Dispatcher::new(source, callback);
    let mut event_loop: EventLoop<bool> = EventLoop::try_new().unwrap();
    let token = event_loop
        .handle()
        .register_dispatcher(dispatcher.clone())
        .unwrap();
    sender.close_source(WAIT);
    let mut closed = false;
    run_until(&mut event_loop, &mut closed, "Event::Closed", |c| *c);
    event_loop.handle().remove(token);
    let source = dispatcher.into_source_inner();
    let mut other_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    let err = source
        .insert(&other_loop.handle(), |_, _, _| {})
        .expect_err("an ended source cannot join a loop");
    assert!(err.to_string().contains("ended"), "{err}");
    let (source, _why) = err.into_parts();
    assert!(format!("{source:?}").contains("ended: true"));
    other_loop.dispatch(Some(Duration::ZERO), &mut ()).unwrap();
}
