//! The known traps of driving libzmq's edge-triggered `ZMQ_FD` from a loop.

mod support;

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use calloop_zmq::calloop::{Dispatcher, EventLoop};
use calloop_zmq::{Event, ZmqSource, zmq};
use support::{WAIT, bind_tcp, recv_within, run_until, run_until_showing};

#[test]
fn hundred_thousand_req_rep_round_trips_on_one_loop() {
    const ROUNDS: u64 = 100_000;
    let ctx = zmq::Context::new();
    let rep = ZmqSource::new(ctx.socket(zmq::SocketType::Rep).unwrap()).unwrap();
    let endpoint = bind_tcp(rep.socket());
    let req = ZmqSource::new(ctx.socket(zmq::SocketType::Req).unwrap()).unwrap();
    req.connect(&endpoint).unwrap();
    req.sender().try_send(0u64.to_le_bytes().to_vec()).unwrap();

    let mut event_loop: EventLoop<u64> = EventLoop::try_new().unwrap();
    rep.insert(&event_loop.handle(), |event, socket, _| {
        if let Event::Message(msg) = event {
            socket.send(msg).expect("REP reply from the handler");
        }
    })
    .unwrap();
    req.insert(&event_loop.handle(), |event, socket, replies: &mut u64| {
        let Event::Message(msg) = event else {
            panic!("unexpected event {event:?}")
        };
        let n = u64::from_le_bytes(msg[0].try_into().unwrap());
        assert_eq!(n, *replies, "replies arrive in order");
        *replies += 1;
        if *replies < ROUNDS {
            socket
                .send(replies.to_le_bytes().to_vec())
                .expect("next request");
        }
    })
    .unwrap();

    let mut replies = 0;
    run_until_showing(
        &mut event_loop,
        &mut replies,
        Duration::from_secs(120),
        &format!("{ROUNDS} round trips"),
        |r| *r >= ROUNDS,
    );
}

/// A PUSH source connected to a plain PULL, both with a high-water mark of
/// 5, over `inproc` when given, else tcp loopback.
fn small_hwm_pair(ctx: &zmq::Context, inproc: Option<&str>) -> (ZmqSource, zmq::Socket) {
    let pull = ctx.socket(zmq::SocketType::Pull).unwrap();
    pull.set_rcvhwm(5).unwrap();
    let endpoint = match inproc {
        Some(endpoint) => {
            pull.bind(endpoint).unwrap();
            endpoint.to_owned()
        }
        None => bind_tcp(&pull),
    };
    let push = ctx.socket(zmq::SocketType::Push).unwrap();
    push.set_sndhwm(5).unwrap();
    let push = ZmqSource::new(push).unwrap();
    push.connect(&endpoint).unwrap();
    (push, pull)
}

#[test]
fn push_at_high_water_mark_resumes_once_the_peer_drains() {
    const N: usize = 500;
    let ctx = zmq::Context::new();
    let (push, pull) = small_hwm_pair(&ctx, None);
    let stats = push.stats();
    let sender = push.sender();
    for i in 0..N {
        sender.try_send(format!("{i}")).unwrap();
    }

    let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    push.insert(&event_loop.handle(), |_, _, _| {}).unwrap();
    // The socket must hit its HWM: nobody reads yet.
    run_until(&mut event_loop, &mut (), "PUSH to reach its HWM", |_| {
        stats.snapshot().send_eagain > 0
    });
    let stuck_at = stats.snapshot().messages_out;
    assert!(stuck_at < N as u64, "HWM never reached");

    // Now drain on another thread; the loop must notice without help.
    let reader = thread::spawn(move || {
        (0..N)
            .map(|i| {
                let msg = recv_within(&pull, &format!("message {i}"));
                String::from_utf8(msg[0].clone()).unwrap()
            })
            .collect::<Vec<_>>()
    });
    run_until(&mut event_loop, &mut (), "PUSH to send everything", |_| {
        stats.snapshot().messages_out == N as u64
    });
    let got = reader.join().unwrap();
    assert_eq!(got, (0..N).map(|i| i.to_string()).collect::<Vec<_>>());
}

#[test]
fn messages_queued_before_insertion_are_received() {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::SocketType::Pull).unwrap();
    pull.bind("inproc://queued-before").unwrap();
    let push = ctx.socket(zmq::SocketType::Push).unwrap();
    push.connect("inproc://queued-before").unwrap();
    for i in 0..10 {
        push.send(format!("{i}").as_bytes(), 0).unwrap();
    }
    // Consume the fd's edge the way a careless user would: the source must
    // still find the messages when it is inserted.
    assert_eq!(
        pull.poll(zmq::POLLIN, WAIT.as_millis() as i64).unwrap(),
        zmq::POLLIN
    );
    assert!(pull.events().unwrap().contains(zmq::POLLIN));

    let source = ZmqSource::new(pull).unwrap();
    let mut event_loop: EventLoop<Vec<String>> = EventLoop::try_new().unwrap();
    source
        .insert(&event_loop.handle(), |event, _, got: &mut Vec<String>| {
            if let Event::Message(m) = event {
                got.push(m.frame_str(0).unwrap().to_owned());
            }
        })
        .unwrap();
    let mut got = Vec::new();
    run_until(&mut event_loop, &mut got, "10 pre-queued messages", |g| {
        g.len() == 10
    });
    assert_eq!(got, (0..10).map(|i| i.to_string()).collect::<Vec<_>>());
}

#[test]
fn remove_and_reinsert_keeps_every_message() {
    let ctx = zmq::Context::new();
    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    let endpoint = bind_tcp(pull.socket());
    let push = ZmqSource::new(ctx.socket(zmq::SocketType::Push).unwrap()).unwrap();
    push.connect(&endpoint).unwrap();
    let out = push.sender();

    let mut event_loop: EventLoop<Vec<String>> = EventLoop::try_new().unwrap();
    let handle = event_loop.handle();
    handle.insert_source(push, |_, _, _| {}).unwrap();
    let collect: support::Callback<Vec<String>> = Box::new(|event, _, got| {
        if let Event::Message(m) = event {
            got.push(m.frame_str(0).unwrap().to_owned());
        }
    });
    let dispatcher = Dispatcher::new(pull, collect);
    let token = handle.register_dispatcher(dispatcher.clone()).unwrap();

    let mut got = Vec::new();
    for i in 0..5 {
        out.try_send(format!("{i}")).unwrap();
    }
    run_until(&mut event_loop, &mut got, "first 5", |g| g.len() == 5);

    // Removed: messages keep arriving into libzmq meanwhile.
    handle.remove(token);
    send_while_away(&mut event_loop, &mut got, &out, 5..10);

    let token = handle.register_dispatcher(dispatcher.clone()).unwrap();
    run_until(&mut event_loop, &mut got, "5 more after re-insert", |g| {
        g.len() == 10
    });

    // Disable/enable goes through `reregister`.
    handle.disable(&token).unwrap();
    send_while_away(&mut event_loop, &mut got, &out, 10..15);
    handle.enable(&token).unwrap();
    run_until(&mut event_loop, &mut got, "5 more after enable", |g| {
        g.len() == 15
    });
    assert_eq!(got, (0..15).map(|i| i.to_string()).collect::<Vec<_>>());
}

/// Sends `range` while the PULL source is out of the loop and checks that
/// libzmq took every message and the source delivered none of them.
fn send_while_away(
    event_loop: &mut EventLoop<Vec<String>>,
    got: &mut Vec<String>,
    out: &calloop_zmq::Sender,
    range: std::ops::Range<usize>,
) {
    let before = got.len();
    for i in range {
        out.try_send(format!("{i}")).unwrap();
    }
    run_until(event_loop, got, "the PUSH side to send them", |_| {
        out.is_empty()
    });
    assert_eq!(
        got.len(),
        before,
        "a source out of the loop must not deliver"
    );
}

#[test]
fn several_sources_share_one_loop() {
    const SOURCES: usize = 4;
    const N: usize = 2_000;
    let ctx = zmq::Context::new();
    let mut event_loop: EventLoop<Vec<usize>> = EventLoop::try_new().unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    let mut feeders = Vec::new();
    for s in 0..SOURCES {
        let source = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
        let endpoint = bind_tcp(source.socket());
        source
            .insert(
                &event_loop.handle(),
                move |event, _, counts: &mut Vec<usize>| {
                    if let Event::Message(m) = event {
                        assert_eq!(m.frame_str(0), Some(&*counts[s].to_string()));
                        counts[s] += 1;
                    }
                },
            )
            .unwrap();
        let ctx = ctx.clone();
        let done_tx = done_tx.clone();
        feeders.push(thread::spawn(move || {
            let push = ctx.socket(zmq::SocketType::Push).unwrap();
            push.connect(&endpoint).unwrap();
            for i in 0..N {
                push.send(i.to_string().as_bytes(), 0).unwrap();
            }
            done_tx.send(()).unwrap();
            // Keep the socket open until the loop got everything (see the
            // notes on libzmq#4660): dropped when the test ends.
            push
        }));
    }
    let mut counts = vec![0; SOURCES];
    run_until(
        &mut event_loop,
        &mut counts,
        "every source to get all",
        |c| c.iter().all(|&n| n == N),
    );
    for _ in 0..SOURCES {
        done_rx.recv_timeout(WAIT).unwrap();
    }
    for f in feeders {
        drop(f.join().unwrap());
    }
}

/// After a dispatch that drained the socket, the source skips reading
/// `ZMQ_EVENTS` before sleeping. Reaching the socket from outside the
/// callback (here `ZMQ_EVENTS` itself, which makes libzmq process the
/// notification the loop was about to wait for) must bring the check back.
#[test]
fn touching_the_socket_between_dispatches_loses_no_wakeup() {
    let ctx = zmq::Context::new();
    let (pull, push) = support::source_bound(
        &ctx,
        zmq::SocketType::Pull,
        "inproc://touched-between",
        zmq::SocketType::Push,
    );

    let mut event_loop: EventLoop<Vec<String>> = EventLoop::try_new().unwrap();
    let collect: support::Callback<Vec<String>> = Box::new(|event, _, got| {
        if let Event::Message(m) = event {
            got.push(m.frame_str(0).unwrap().to_owned());
        }
    });
    let dispatcher = Dispatcher::new(pull, collect);
    event_loop
        .handle()
        .register_dispatcher(dispatcher.clone())
        .unwrap();

    let mut got = Vec::new();
    push.send("first", 0).unwrap();
    run_until(&mut event_loop, &mut got, "the first message", |g| {
        g.len() == 1
    });
    // inproc signals the reader inside `send`, so the notification is
    // already waiting; reading ZMQ_EVENTS through the source consumes it.
    push.send("second", 0).unwrap();
    let events = dispatcher.as_source_mut().socket().events().unwrap();
    assert!(events.contains(zmq::POLLIN));
    run_until(&mut event_loop, &mut got, "the second message", |g| {
        g.len() == 2
    });
    assert_eq!(got, ["first", "second"]);
}

/// Sender messages that arrive while the loop still holds messages the
/// socket pushed back on wait in the senders' queue; once the held ones are
/// out, the loop must take and send them too, all of them and in order.
#[test]
fn messages_queued_while_the_socket_pushes_back_follow_in_order() {
    const BATCH: usize = 60;
    let ctx = zmq::Context::new();
    // inproc: the pipe holds at most the two HWMs, with no kernel buffers
    // behind it, so the PUSH stays blocked until the reader reads.
    let (push, pull) = small_hwm_pair(&ctx, Some("inproc://queued-while-blocked"));
    let (stats, sender) = (push.stats(), push.sender());
    let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    push.insert(&event_loop.handle(), |_, _, _| {}).unwrap();

    for i in 0..BATCH {
        sender.try_send(format!("{i}")).unwrap();
    }
    run_until(&mut event_loop, &mut (), "PUSH to reach its HWM", |_| {
        stats.snapshot().send_eagain > 0
    });
    // The loop holds the rest of the first batch; these wait behind it.
    for i in BATCH..2 * BATCH {
        sender.try_send(format!("{i}")).unwrap();
    }
    event_loop
        .dispatch(Some(Duration::ZERO), &mut ())
        .expect("dispatch while blocked");
    assert!(
        stats.snapshot().messages_out < BATCH as u64,
        "HWM never held"
    );

    let reader = thread::spawn(move || {
        (0..2 * BATCH)
            .map(|i| {
                let msg = recv_within(&pull, &format!("message {i}"));
                String::from_utf8(msg[0].clone()).unwrap()
            })
            .collect::<Vec<_>>()
    });
    run_until(
        &mut event_loop,
        &mut (),
        "PUSH to send both batches",
        |_| stats.snapshot().messages_out == 2 * BATCH as u64,
    );
    let got = reader.join().unwrap();
    assert_eq!(
        got,
        (0..2 * BATCH).map(|i| i.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(sender.len(), 0);
}
