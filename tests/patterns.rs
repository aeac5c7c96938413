//! Every classic socket pattern, over every transport, on a calloop loop.
//!
//! The matrix at the bottom of this file turns each `fn pattern(Transport)`
//! below into one test per transport, named `<pattern>::<transport>` (run one
//! with `cargo test --test patterns pub_sub::tcp`). Each case runs both ends
//! as [`ZmqSource`](calloop_zmq::ZmqSource)s on one [`EventLoop`] where the pattern allows, and the
//! `*_thread_*` cases put a plain blocking rust-zmq socket on another thread
//! as the peer. Every case checks that multipart messages arrive whole with
//! their frames in order, the [`Multipart`] accessors, and the [`Stats`]
//! counters afterwards.
//!
//! STREAM speaks raw TCP to non-ZeroMQ peers; libzmq documents it for the
//! tcp transport only (zmq_socket(3)), so its cases run over tcp alone.
//!
//! Nothing here sleeps to synchronise: the PUB->SUB slow-joiner problem is
//! solved by publishing on a timer until the subscriber has heard something,
//! or by letting an XPUB see the subscription before it publishes.
//!
//! [`Stats`]: calloop_zmq::Stats

mod patterns_util;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::Duration;

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::calloop::timer::{TimeoutAction, Timer};
use calloop_zmq::{Event, Multipart, SendError, zmq};
use patterns_util::{
    Case, Traffic, Transport, assert_traffic, bytes, check_frames, expect_message, mp, peer_recv,
    peer_send, vecs,
};

// ---------------------------------------------------------------- PAIR

/// Two PAIR sources on one loop: a multipart (with an empty frame) goes one
/// way, the handler answers through `SocketHandle::send`.
fn pair(t: Transport) {
    let case = Case::new("PAIR<->PAIR", t);
    let a = case.source(zmq::PAIR);
    let endpoint = case.bind(a.socket());
    let b = case.source(zmq::PAIR);
    case.connect(b.socket(), &endpoint);
    let (a_stats, b_stats) = (a.stats(), b.stats());

    const PING: &[&str] = &["ping", "", "third frame"];
    const PONG: &[&str] = &["pong", "2"];
    a.sender().try_send(mp(PING)).expect("queue the ping");

    #[derive(Default)]
    struct Seen {
        at_a: Vec<Vec<Vec<u8>>>,
        at_b: Vec<Vec<Vec<u8>>>,
    }
    let mut event_loop: EventLoop<Seen> = EventLoop::try_new().unwrap();
    let who = case.step("PAIR b");
    b.insert(
        &event_loop.handle(),
        move |event, socket, seen: &mut Seen| {
            let msg = expect_message(&who, event);
            check_frames(&who, &msg, PING);
            seen.at_b.push(msg.to_vecs());
            socket
                .send(mp(PONG))
                .unwrap_or_else(|e| panic!("{who}: reply: {e}"));
        },
    )
    .unwrap();
    let who = case.step("PAIR a");
    a.insert(&event_loop.handle(), move |event, _, seen: &mut Seen| {
        let msg = expect_message(&who, event);
        check_frames(&who, &msg, PONG);
        seen.at_a.push(msg.to_vecs());
    })
    .unwrap();

    let mut seen = Seen::default();
    case.run_until(&mut event_loop, &mut seen, "the reply at a", |s| {
        !s.at_a.is_empty()
    });
    assert_eq!(seen.at_b, vec![vecs(PING)], "{case}");
    assert_eq!(seen.at_a, vec![vecs(PONG)], "{case}");
    let a_traffic = Traffic {
        messages_in: 1,
        bytes_in: bytes(PONG),
        messages_out: 1,
        bytes_out: bytes(PING),
        send_failures: 0,
    };
    assert_traffic(&case.step("PAIR a"), &a_stats, a_traffic);
    let b_traffic = Traffic {
        messages_in: 1,
        bytes_in: bytes(PING),
        messages_out: 1,
        bytes_out: bytes(PONG),
        send_failures: 0,
    };
    assert_traffic(&case.step("PAIR b"), &b_stats, b_traffic);
}

/// A PAIR source echoing to a blocking PAIR on another thread.
fn pair_thread_peer(t: Transport) {
    const ROUNDS: usize = 10;
    let case = Case::new("PAIR<->blocking PAIR", t);
    let echo = case.source(zmq::PAIR);
    let endpoint = case.bind(echo.socket());
    let stats = echo.stats();

    let peer_socket = case.peer_socket(zmq::PAIR);
    case.connect(&peer_socket, &endpoint);
    let what = case.step("blocking PAIR");
    let peer = case.spawn_peer("blocking PAIR", move || {
        let mut replies = Vec::new();
        for i in 0..ROUNDS {
            let n = i.to_string();
            peer_send(&peer_socket, &[b"echo", n.as_bytes(), b""], &what);
            replies.push(peer_recv(&peer_socket, &what));
        }
        (replies, peer_socket)
    });

    let mut event_loop: EventLoop<usize> = EventLoop::try_new().unwrap();
    let who = case.step("PAIR source");
    echo.insert(
        &event_loop.handle(),
        move |event, socket, echoed: &mut usize| {
            let msg = expect_message(&who, event);
            check_frames(&who, &msg, &["echo", &echoed.to_string(), ""]);
            *echoed += 1;
            socket
                .send(msg)
                .unwrap_or_else(|e| panic!("{who}: echo: {e}"));
        },
    )
    .unwrap();
    let mut echoed = 0;
    case.run_until(&mut event_loop, &mut echoed, "the peer to finish", |_| {
        peer.is_finished()
    });
    let (replies, _peer_socket) = peer.join();
    let expected: Vec<_> = (0..ROUNDS)
        .map(|i| vecs(&["echo", &i.to_string(), ""]))
        .collect();
    assert_eq!(replies, expected, "{case}");
    let payload: u64 = (0..ROUNDS).map(|i| 4 + i.to_string().len() as u64).sum();
    let traffic = Traffic {
        messages_in: ROUNDS as u64,
        bytes_in: payload,
        messages_out: ROUNDS as u64,
        bytes_out: payload,
        send_failures: 0,
    };
    assert_traffic(&case.step("PAIR source"), &stats, traffic);
}

// ---------------------------------------------------------------- PUB/SUB

/// PUB and SUB sources on one loop. A calloop timer publishes a filtered-out
/// topic and a subscribed one every few milliseconds until the subscriber
/// has heard three messages: that is how the slow joiner is handled without
/// sleeping (messages published before the subscription reached the PUB are
/// dropped by design).
fn pub_sub(t: Transport) {
    const WANTED: usize = 3;
    const PERIOD: Duration = Duration::from_millis(2);
    let case = Case::new("PUB->SUB", t);
    let publisher = case.source(zmq::PUB);
    let endpoint = case.bind(publisher.socket());
    let subscriber = case.source(zmq::SUB);
    subscriber.socket().set_subscribe(b"weather").unwrap();
    case.connect(subscriber.socket(), &endpoint);
    let (pub_stats, sub_stats) = (publisher.stats(), subscriber.stats());
    let out = publisher.sender();

    #[derive(Default)]
    struct State {
        ticks: u64,
        received: Vec<Vec<Vec<u8>>>,
    }
    let mut event_loop: EventLoop<State> = EventLoop::try_new().unwrap();
    let handle = event_loop.handle();
    let who = case.step("PUB");
    publisher
        .insert(&handle, move |event, _, _| {
            panic!("{who}: a PUB source has nothing to report, got {event:?}")
        })
        .unwrap();
    let who = case.step("SUB");
    subscriber
        .insert(&handle, move |event, _, state: &mut State| {
            let msg = expect_message(&who, event);
            let seq = msg.frame_str(1).unwrap_or_default().to_owned();
            check_frames(&who, &msg, &["weather", &seq, "sunny"]);
            state.received.push(msg.to_vecs());
        })
        .unwrap();
    let who = case.step("publishing timer");
    handle
        .insert_source(
            Timer::from_duration(PERIOD),
            move |_, _, state: &mut State| {
                if state.received.len() >= WANTED {
                    return TimeoutAction::Drop;
                }
                let seq = state.ticks.to_string();
                state.ticks += 1;
                out.try_send(mp(&["news", &seq, "ignore me"]))
                    .unwrap_or_else(|e| panic!("{who}: {e}"));
                out.try_send(mp(&["weather", &seq, "sunny"]))
                    .unwrap_or_else(|e| panic!("{who}: {e}"));
                TimeoutAction::ToDuration(PERIOD)
            },
        )
        .unwrap();

    let mut state = State::default();
    case.run_until(&mut event_loop, &mut state, "3 weather messages", |s| {
        s.received.len() >= WANTED
    });
    // The SUB counted exactly what its handler saw.
    let sub_seen = sub_stats.snapshot();
    assert_eq!(
        sub_seen.messages_in,
        state.received.len() as u64,
        "{case}: SUB messages_in"
    );
    let sub_bytes: u64 = state
        .received
        .iter()
        .flatten()
        .map(|f| f.len() as u64)
        .sum();
    assert_eq!(sub_seen.bytes_in, sub_bytes, "{case}: SUB bytes_in");
    assert_eq!(sub_seen.messages_out, 0, "{case}: SUB messages_out");

    // Only the subscribed topic, in publishing order.
    let seqs: Vec<u64> = state
        .received
        .iter()
        .map(|m| {
            String::from_utf8_lossy(&m[1])
                .parse()
                .expect("numeric sequence")
        })
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "{case}: out of order: {seqs:?}"
    );

    // Every tick queued two messages; let the PUB flush the last batch, then
    // check it counted every one (PUB never pushes back: it drops at HWM).
    let ticks = state.ticks;
    case.run_until(&mut event_loop, &mut state, "the PUB to flush", |_| {
        out_flushed(&pub_stats, ticks)
    });
    let pub_seen = pub_stats.snapshot();
    assert_eq!(pub_seen.messages_in, 0, "{case}: PUB messages_in");
    assert_eq!(pub_seen.send_failures, 0, "{case}: PUB send_failures");
    let per_tick = |s: u64| {
        bytes(&["news", &s.to_string(), "ignore me"]) + bytes(&["weather", &s.to_string(), "sunny"])
    };
    assert_eq!(
        pub_seen.bytes_out,
        (0..ticks).map(per_tick).sum::<u64>(),
        "{case}: PUB bytes_out"
    );
}

fn out_flushed(stats: &calloop_zmq::Stats, ticks: u64) -> bool {
    stats.snapshot().messages_out == 2 * ticks
}

/// A SUB source fed by a blocking XPUB on another thread. The XPUB waits
/// until the subscription reaches it, so every message it then publishes
/// must arrive: an exact check, no slow joiner.
fn pub_sub_thread_publisher(t: Transport) {
    const N: usize = 5;
    let case = Case::new("blocking XPUB->SUB", t);
    let subscriber = case.source(zmq::SUB);
    subscriber.socket().set_subscribe(b"weather").unwrap();
    let endpoint = case.bind(subscriber.socket());
    let stats = subscriber.stats();

    let publisher = case.peer_socket(zmq::XPUB);
    case.connect(&publisher, &endpoint);
    let what = case.step("blocking XPUB");
    let peer = case.spawn_peer("blocking XPUB", move || {
        let subscription = peer_recv(&publisher, &what);
        assert_eq!(
            subscription,
            vec![b"\x01weather".to_vec()],
            "{what}: subscription"
        );
        for i in 0..N {
            let n = i.to_string();
            peer_send(&publisher, &[b"news", n.as_bytes()], &what);
            peer_send(&publisher, &[b"weather", n.as_bytes(), b"sunny"], &what);
        }
        publisher
    });

    let mut event_loop: EventLoop<Vec<Vec<Vec<u8>>>> = EventLoop::try_new().unwrap();
    let who = case.step("SUB source");
    subscriber
        .insert(&event_loop.handle(), move |event, _, got: &mut Vec<_>| {
            let msg = expect_message(&who, event);
            check_frames(&who, &msg, &["weather", &got.len().to_string(), "sunny"]);
            got.push(msg.to_vecs());
        })
        .unwrap();
    let mut got = Vec::new();
    case.run_until(&mut event_loop, &mut got, "5 weather messages", |g| {
        g.len() == N
    });
    let _publisher = peer.join();
    let payload: u64 = (0..N)
        .map(|i| bytes(&["weather", &i.to_string(), "sunny"]))
        .sum();
    let traffic = Traffic {
        messages_in: N as u64,
        bytes_in: payload,
        ..Traffic::default()
    };
    assert_traffic(&case.step("SUB source"), &stats, traffic);
}

// ---------------------------------------------------------------- REQ/REP

/// REQ and REP sources on one loop: the REP handler replies through
/// `SocketHandle::send`, the REQ handler sends the next request the same way.
fn req_rep(t: Transport) {
    const ROUNDS: usize = 20;
    let case = Case::new("REQ<->REP", t);
    let rep = case.source(zmq::REP);
    let endpoint = case.bind(rep.socket());
    let req = case.source(zmq::REQ);
    case.connect(req.socket(), &endpoint);
    let (req_stats, rep_stats) = (req.stats(), rep.stats());
    req.sender().try_send(mp(&["req", "0", "tail"])).unwrap();

    let mut event_loop: EventLoop<Vec<Vec<Vec<u8>>>> = EventLoop::try_new().unwrap();
    let who = case.step("REP");
    let mut served = 0usize;
    rep.insert(&event_loop.handle(), move |event, socket, _| {
        let msg = expect_message(&who, event);
        // libzmq strips the envelope: the handler sees only the body.
        check_frames(&who, &msg, &["req", &served.to_string(), "tail"]);
        socket
            .send(mp(&["rep", &served.to_string()]))
            .unwrap_or_else(|e| panic!("{who}: reply: {e}"));
        served += 1;
    })
    .unwrap();
    let who = case.step("REQ");
    req.insert(
        &event_loop.handle(),
        move |event, socket, replies: &mut Vec<_>| {
            let msg = expect_message(&who, event);
            check_frames(&who, &msg, &["rep", &replies.len().to_string()]);
            replies.push(msg.to_vecs());
            if replies.len() < ROUNDS {
                let next = replies.len().to_string();
                socket
                    .send(mp(&["req", &next, "tail"]))
                    .unwrap_or_else(|e| panic!("{who}: next request: {e}"));
            }
        },
    )
    .unwrap();

    let mut replies = Vec::new();
    case.run_until(&mut event_loop, &mut replies, "20 replies", |r| {
        r.len() == ROUNDS
    });
    let requests: u64 = (0..ROUNDS)
        .map(|i| bytes(&["req", &i.to_string(), "tail"]))
        .sum();
    let answers: u64 = (0..ROUNDS).map(|i| bytes(&["rep", &i.to_string()])).sum();
    let n = ROUNDS as u64;
    let req_traffic = Traffic {
        messages_in: n,
        bytes_in: answers,
        messages_out: n,
        bytes_out: requests,
        send_failures: 0,
    };
    assert_traffic(&case.step("REQ"), &req_stats, req_traffic);
    let rep_traffic = Traffic {
        messages_in: n,
        bytes_in: requests,
        messages_out: n,
        bytes_out: answers,
        send_failures: 0,
    };
    assert_traffic(&case.step("REP"), &rep_stats, rep_traffic);
}

/// A REP source serving a blocking REQ client on another thread.
fn req_rep_thread_client(t: Transport) {
    const ROUNDS: usize = 10;
    let case = Case::new("blocking REQ->REP", t);
    let rep = case.source(zmq::REP);
    let endpoint = case.bind(rep.socket());
    let stats = rep.stats();

    let client = case.peer_socket(zmq::REQ);
    case.connect(&client, &endpoint);
    let what = case.step("blocking REQ");
    let peer = case.spawn_peer("blocking REQ", move || {
        let replies: Vec<_> = (0..ROUNDS)
            .map(|i| {
                peer_send(&client, &[b"question", i.to_string().as_bytes()], &what);
                peer_recv(&client, &what)
            })
            .collect();
        (replies, client)
    });

    let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    let who = case.step("REP source");
    rep.insert(&event_loop.handle(), move |event, socket, _| {
        let msg = expect_message(&who, event);
        assert_eq!(msg.frame_str(0), Some("question"), "{who}");
        let answer = format!("answer {}", msg.frame_str(1).unwrap_or("?"));
        socket
            .send(answer)
            .unwrap_or_else(|e| panic!("{who}: reply: {e}"));
    })
    .unwrap();
    case.run_until(&mut event_loop, &mut (), "the client to finish", |_| {
        peer.is_finished()
    });
    let (replies, _client) = peer.join();
    let expected: Vec<_> = (0..ROUNDS)
        .map(|i| vec![format!("answer {i}").into_bytes()])
        .collect();
    assert_eq!(replies, expected, "{case}");
    let snapshot = stats.snapshot();
    assert_eq!(
        (snapshot.messages_in, snapshot.messages_out),
        (ROUNDS as u64, ROUNDS as u64),
        "{case}"
    );
}

/// A REQ source talking to a blocking REP server on another thread.
fn req_rep_thread_server(t: Transport) {
    const ROUNDS: usize = 10;
    let case = Case::new("REQ->blocking REP", t);
    let req = case.source(zmq::REQ);
    let endpoint = case.bind(req.socket());
    let stats = req.stats();
    req.sender().try_send(mp(&["q", "0"])).unwrap();

    let server = case.peer_socket(zmq::REP);
    case.connect(&server, &endpoint);
    let what = case.step("blocking REP");
    let peer = case.spawn_peer("blocking REP", move || {
        for _ in 0..ROUNDS {
            let mut request = peer_recv(&server, &what);
            request.push(b"seen".to_vec());
            let frames: Vec<&[u8]> = request.iter().map(Vec::as_slice).collect();
            peer_send(&server, &frames, &what);
        }
        server
    });

    let mut event_loop: EventLoop<Vec<Vec<Vec<u8>>>> = EventLoop::try_new().unwrap();
    let who = case.step("REQ source");
    req.insert(
        &event_loop.handle(),
        move |event, socket, replies: &mut Vec<_>| {
            let msg = expect_message(&who, event);
            check_frames(&who, &msg, &["q", &replies.len().to_string(), "seen"]);
            replies.push(msg.to_vecs());
            if replies.len() < ROUNDS {
                socket
                    .send(mp(&["q", &replies.len().to_string()]))
                    .unwrap_or_else(|e| panic!("{who}: next request: {e}"));
            }
        },
    )
    .unwrap();
    let mut replies = Vec::new();
    case.run_until(&mut event_loop, &mut replies, "10 replies", |r| {
        r.len() == ROUNDS
    });
    let _server = peer.join();
    let snapshot = stats.snapshot();
    assert_eq!(
        (snapshot.messages_in, snapshot.messages_out),
        (ROUNDS as u64, ROUNDS as u64),
        "{case}"
    );
}

/// REQ's strict send/receive alternation, from the handler and from the
/// outbox: a second request before the reply is refused with `EFSM` and the
/// message comes back whole, by return value from `SocketHandle::send`, as
/// `Event::SendFailed` from the outbox. The source keeps working after both.
fn req_efsm(t: Transport) {
    let case = Case::new("REQ twice (EFSM)", t);
    let rep = case.source(zmq::REP);
    let endpoint = case.bind(rep.socket());
    let req = case.source(zmq::REQ);
    case.connect(req.socket(), &endpoint);
    let stats = req.stats();
    // Two requests queued at once: the first goes, the second cannot.
    let out = req.sender();
    out.try_send(mp(&["first", "1"])).unwrap();
    out.try_send(mp(&["queued second", "2"])).unwrap();

    #[derive(Default)]
    struct State {
        replies: Vec<String>,
        refused_by_handle: Vec<(Vec<Vec<u8>>, zmq::Error)>,
        refused_from_outbox: Vec<(Vec<Vec<u8>>, zmq::Error)>,
    }
    let mut event_loop: EventLoop<State> = EventLoop::try_new().unwrap();
    let who = case.step("REP");
    rep.insert(&event_loop.handle(), move |event, socket, _| {
        let msg = expect_message(&who, event);
        socket
            .send(msg)
            .unwrap_or_else(|e| panic!("{who}: reply: {e}"));
    })
    .unwrap();
    let who = case.step("REQ");
    req.insert(
        &event_loop.handle(),
        move |event, socket, state: &mut State| match event {
            Event::Message(reply) => {
                state
                    .replies
                    .push(reply.frame_str(0).unwrap_or_default().to_owned());
                if state.replies.len() == 1 {
                    socket
                        .send(mp(&["second", "2"]))
                        .unwrap_or_else(|e| panic!("{who}: second request: {e}"));
                    match socket.send(mp(&["third", "3", ""])) {
                        Err(SendError::Failed { message, error }) => {
                            state.refused_by_handle.push((message.to_vecs(), error))
                        }
                        other => panic!(
                            "{who}: a send before the reply must fail with EFSM, got {other:?}"
                        ),
                    }
                }
            }
            Event::SendFailed(failure) => state
                .refused_from_outbox
                .push((failure.message.to_vecs(), failure.error)),
            other => panic!("{who}: unexpected {other:?}"),
        },
    )
    .unwrap();

    let mut state = State::default();
    case.run_until(&mut event_loop, &mut state, "both replies", |s| {
        s.replies.len() == 2
    });
    assert_eq!(state.replies, ["first", "second"], "{case}");
    assert_eq!(
        state.refused_from_outbox,
        vec![(vecs(&["queued second", "2"]), zmq::Error::EFSM)],
        "{case}: the queued second request is handed back as Event::SendFailed"
    );
    assert_eq!(
        state.refused_by_handle,
        vec![(vecs(&["third", "3", ""]), zmq::Error::EFSM)],
        "{case}: SocketHandle::send hands the refused request back"
    );
    let snapshot = stats.snapshot();
    assert_eq!(snapshot.messages_out, 2, "{case}: REQ messages_out");
    assert_eq!(snapshot.messages_in, 2, "{case}: REQ messages_in");
    assert_eq!(snapshot.send_failures, 2, "{case}: REQ send_failures");
    assert_eq!(snapshot.outbox_depth, 0, "{case}: nothing left queued");
}

// ---------------------------------------------------------------- DEALER/ROUTER

/// Two DEALER sources with routing ids and a ROUTER source on one loop. The
/// ROUTER sees `[routing id, frames...]` with empty frames preserved, and
/// routes each reply back to the right dealer.
fn dealer_router(t: Transport) {
    const JOBS: usize = 3;
    const DEALERS: [&str; 2] = ["dealer-a", "dealer-b"];
    let case = Case::new("DEALER<->ROUTER", t);
    let router = case.source(zmq::ROUTER);
    let endpoint = case.bind(router.socket());
    let router_stats = router.stats();

    type Got = Rc<RefCell<Vec<Vec<Vec<u8>>>>>;
    let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    let mut dealer_got: Vec<(Got, calloop_zmq::Stats)> = Vec::new();
    for name in DEALERS {
        let socket = case.socket(zmq::DEALER);
        socket.set_identity(name.as_bytes()).unwrap();
        let dealer = case.wrap(socket);
        case.connect(dealer.socket(), &endpoint);
        for job in 0..JOBS {
            dealer
                .sender()
                .try_send(mp(&["", "job", &job.to_string(), ""]))
                .unwrap();
        }
        let got: Got = Rc::default();
        dealer_got.push((got.clone(), dealer.stats()));
        let who = case.step(name);
        dealer
            .insert(&event_loop.handle(), move |event, _, _| {
                let msg = expect_message(&who, event);
                let n = got.borrow().len().to_string();
                check_frames(&who, &msg, &["", "done", &n, name]);
                got.borrow_mut().push(msg.to_vecs());
            })
            .unwrap();
    }
    let who = case.step("ROUTER");
    let mut per_dealer = [0usize; 2];
    router
        .insert(&event_loop.handle(), move |event, socket, _| {
            let msg = expect_message(&who, event);
            let id = msg
                .frame_str(0)
                .unwrap_or_else(|| panic!("{who}: routing id"));
            let d = DEALERS
                .iter()
                .position(|n| *n == id)
                .unwrap_or_else(|| panic!("{who}: unknown routing id {id:?}"));
            let n = per_dealer[d].to_string();
            check_frames(&who, &msg, &[DEALERS[d], "", "job", &n, ""]);
            per_dealer[d] += 1;
            socket
                .send(mp(&[DEALERS[d], "", "done", &n, DEALERS[d]]))
                .unwrap_or_else(|e| panic!("{who}: reply: {e}"));
        })
        .unwrap();

    case.run_until(&mut event_loop, &mut (), "every reply", |_| {
        dealer_got.iter().all(|(got, _)| got.borrow().len() == JOBS)
    });
    let mut router_traffic = Traffic::default();
    for (name, (got, stats)) in DEALERS.iter().zip(&dealer_got) {
        let sent: u64 = (0..JOBS)
            .map(|j| bytes(&["", "job", &j.to_string(), ""]))
            .sum();
        let received: u64 = (0..JOBS)
            .map(|j| bytes(&["", "done", &j.to_string(), name]))
            .sum();
        assert_eq!(got.borrow().len(), JOBS, "{case}: {name}");
        let traffic = Traffic {
            messages_in: JOBS as u64,
            bytes_in: received,
            messages_out: JOBS as u64,
            bytes_out: sent,
            send_failures: 0,
        };
        assert_traffic(&case.step(name), stats, traffic);
        // The ROUTER's side carries the routing id frame both ways.
        let id = (name.len() * JOBS) as u64;
        router_traffic.messages_in += JOBS as u64;
        router_traffic.bytes_in += sent + id;
        router_traffic.messages_out += JOBS as u64;
        router_traffic.bytes_out += received + id;
    }
    assert_traffic(&case.step("ROUTER"), &router_stats, router_traffic);
}

/// A ROUTER source serving a blocking DEALER on another thread.
fn dealer_router_thread_dealer(t: Transport) {
    const JOBS: usize = 5;
    let case = Case::new("blocking DEALER->ROUTER", t);
    let router = case.source(zmq::ROUTER);
    let endpoint = case.bind(router.socket());
    let stats = router.stats();

    let dealer = case.peer_socket(zmq::DEALER);
    dealer.set_identity(b"worker").unwrap();
    case.connect(&dealer, &endpoint);
    let what = case.step("blocking DEALER");
    let peer = case.spawn_peer("blocking DEALER", move || {
        for job in 0..JOBS {
            peer_send(&dealer, &[b"job", job.to_string().as_bytes(), b""], &what);
        }
        let replies: Vec<_> = (0..JOBS).map(|_| peer_recv(&dealer, &what)).collect();
        (replies, dealer)
    });

    let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    let who = case.step("ROUTER source");
    let mut seen = 0usize;
    router
        .insert(&event_loop.handle(), move |event, socket, _| {
            let mut msg = expect_message(&who, event);
            check_frames(&who, &msg, &["worker", "job", &seen.to_string(), ""]);
            seen += 1;
            // Reply by rewriting the message in place: same envelope.
            msg.frames_mut()[1] = zmq::Message::from("done");
            socket
                .send(msg)
                .unwrap_or_else(|e| panic!("{who}: reply: {e}"));
        })
        .unwrap();
    case.run_until(&mut event_loop, &mut (), "the dealer to finish", |_| {
        peer.is_finished()
    });
    let (replies, _dealer) = peer.join();
    let expected: Vec<_> = (0..JOBS)
        .map(|j| vecs(&["done", &j.to_string(), ""]))
        .collect();
    assert_eq!(replies, expected, "{case}");
    let jobs: u64 = (0..JOBS)
        .map(|j| bytes(&["worker", "job", &j.to_string(), ""]))
        .sum();
    let dones: u64 = (0..JOBS)
        .map(|j| bytes(&["worker", "done", &j.to_string(), ""]))
        .sum();
    let traffic = Traffic {
        messages_in: JOBS as u64,
        bytes_in: jobs,
        messages_out: JOBS as u64,
        bytes_out: dones,
        send_failures: 0,
    };
    assert_traffic(&case.step("ROUTER source"), &stats, traffic);
}

/// ROUTER with `ZMQ_ROUTER_MANDATORY`: a message to an unknown routing id is
/// refused with `EHOSTUNREACH` and handed back whole, both from the outbox
/// (as `Event::SendFailed`) and from `SocketHandle::send` (as
/// `SendError::Failed`); the source goes on serving a known peer.
fn router_mandatory_unknown_peer(t: Transport) {
    let case = Case::new("ROUTER_MANDATORY to an unknown peer", t);
    let socket = case.socket(zmq::ROUTER);
    socket.set_router_mandatory(true).unwrap();
    let router = case.wrap(socket);
    let endpoint = case.bind(router.socket());
    let stats = router.stats();
    router
        .sender()
        .try_send(mp(&["nobody", "lost?", "", "no"]))
        .unwrap();

    let dealer_socket = case.socket(zmq::DEALER);
    dealer_socket.set_identity(b"known").unwrap();
    let dealer = case.wrap(dealer_socket);
    case.connect(dealer.socket(), &endpoint);
    dealer.sender().try_send("hello").unwrap();

    #[derive(Default)]
    struct State {
        send_failed_events: Vec<(Vec<Vec<u8>>, zmq::Error)>,
        send_errors: Vec<(Vec<Vec<u8>>, zmq::Error)>,
        dealer_got: Vec<Vec<Vec<u8>>>,
    }
    let mut event_loop: EventLoop<State> = EventLoop::try_new().unwrap();
    let who = case.step("ROUTER");
    router
        .insert(
            &event_loop.handle(),
            move |event, socket, state: &mut State| match event {
                Event::SendFailed(failure) => state
                    .send_failed_events
                    .push((failure.message.to_vecs(), failure.error)),
                Event::Message(msg) => {
                    check_frames(&who, &msg, &["known", "hello"]);
                    match socket.send(mp(&["ghost", "boo"])) {
                        Err(SendError::Failed { message, error }) => {
                            state.send_errors.push((message.to_vecs(), error))
                        }
                        other => panic!("{who}: expected EHOSTUNREACH, got {other:?}"),
                    }
                    socket
                        .send(mp(&["known", "welcome"]))
                        .unwrap_or_else(|e| panic!("{who}: reply: {e}"));
                }
                other => panic!("{who}: unexpected {other:?}"),
            },
        )
        .unwrap();
    let who = case.step("DEALER");
    dealer
        .insert(&event_loop.handle(), move |event, _, state: &mut State| {
            state.dealer_got.push(expect_message(&who, event).to_vecs())
        })
        .unwrap();

    let mut state = State::default();
    case.run_until(&mut event_loop, &mut state, "the dealer's reply", |s| {
        !s.dealer_got.is_empty()
    });
    assert_eq!(
        state.send_failed_events,
        vec![(
            vecs(&["nobody", "lost?", "", "no"]),
            zmq::Error::EHOSTUNREACH
        )],
        "{case}: the queued message comes back whole in Event::SendFailed"
    );
    assert_eq!(
        state.send_errors,
        vec![(vecs(&["ghost", "boo"]), zmq::Error::EHOSTUNREACH)],
        "{case}: SocketHandle::send hands the message back"
    );
    assert_eq!(state.dealer_got, vec![vecs(&["welcome"])], "{case}");
    let traffic = Traffic {
        messages_in: 1,
        bytes_in: bytes(&["known", "hello"]),
        messages_out: 1,
        bytes_out: bytes(&["known", "welcome"]),
        send_failures: 2,
    };
    assert_traffic(&case.step("ROUTER"), &stats, traffic);
}

// ---------------------------------------------------------------- PUSH/PULL

/// PUSH and PULL sources on one loop: a batch queued before the loop runs
/// arrives whole and in order.
fn push_pull(t: Transport) {
    const N: usize = 200;
    let case = Case::new("PUSH->PULL", t);
    let pull = case.source(zmq::PULL);
    let endpoint = case.bind(pull.socket());
    let push = case.source(zmq::PUSH);
    case.connect(push.socket(), &endpoint);
    let (push_stats, pull_stats) = (push.stats(), pull.stats());
    let out = push.sender();
    for i in 0..N {
        out.try_send(mp(&["task", &i.to_string(), "", "end"]))
            .unwrap();
    }

    let mut event_loop: EventLoop<usize> = EventLoop::try_new().unwrap();
    let who = case.step("PUSH");
    push.insert(&event_loop.handle(), move |event, _, _| {
        panic!("{who}: a PUSH source has nothing to report, got {event:?}")
    })
    .unwrap();
    let who = case.step("PULL");
    pull.insert(&event_loop.handle(), move |event, _, got: &mut usize| {
        let msg = expect_message(&who, event);
        check_frames(&who, &msg, &["task", &got.to_string(), "", "end"]);
        *got += 1;
    })
    .unwrap();
    let mut got = 0;
    case.run_until(&mut event_loop, &mut got, "200 tasks", |g| *g == N);
    let payload: u64 = (0..N)
        .map(|i| bytes(&["task", &i.to_string(), "", "end"]))
        .sum();
    let n = N as u64;
    assert_traffic(
        &case.step("PUSH"),
        &push_stats,
        Traffic {
            messages_out: n,
            bytes_out: payload,
            ..Traffic::default()
        },
    );
    assert_traffic(
        &case.step("PULL"),
        &pull_stats,
        Traffic {
            messages_in: n,
            bytes_in: payload,
            ..Traffic::default()
        },
    );
}

/// Both directions against blocking peers: a blocking PUSH thread feeds a
/// PULL source, and a PUSH source feeds a blocking PULL thread.
fn push_pull_thread_peers(t: Transport) {
    const N: usize = 100;
    let case = Case::new("PUSH/PULL with blocking peers", t);
    let pull = case.source(zmq::PULL);
    let pull_endpoint = case.bind(pull.socket());
    let push = case.source(zmq::PUSH);
    let push_endpoint = case.bind(push.socket());
    let (push_stats, pull_stats) = (push.stats(), pull.stats());
    let out = push.sender();
    for i in 0..N {
        out.try_send(mp(&["down", &i.to_string()])).unwrap();
    }

    let feeder = case.peer_socket(zmq::PUSH);
    case.connect(&feeder, &pull_endpoint);
    let what = case.step("blocking PUSH");
    let feeder = case.spawn_peer("blocking PUSH", move || {
        for i in 0..N {
            peer_send(&feeder, &[b"up", i.to_string().as_bytes(), b""], &what);
        }
        feeder
    });
    let drain = case.peer_socket(zmq::PULL);
    case.connect(&drain, &push_endpoint);
    let what = case.step("blocking PULL");
    let drain = case.spawn_peer("blocking PULL", move || {
        let got: Vec<_> = (0..N).map(|_| peer_recv(&drain, &what)).collect();
        (got, drain)
    });

    let mut event_loop: EventLoop<usize> = EventLoop::try_new().unwrap();
    push.insert(&event_loop.handle(), |_, _, _| {}).unwrap();
    let who = case.step("PULL source");
    pull.insert(&event_loop.handle(), move |event, _, got: &mut usize| {
        let msg = expect_message(&who, event);
        check_frames(&who, &msg, &["up", &got.to_string(), ""]);
        *got += 1;
    })
    .unwrap();
    let mut got = 0;
    case.run_until(&mut event_loop, &mut got, "both directions", |g| {
        *g == N && drain.is_finished()
    });
    let _feeder = feeder.join();
    let (drained, _drain) = drain.join();
    let expected: Vec<_> = (0..N).map(|i| vecs(&["down", &i.to_string()])).collect();
    assert_eq!(drained, expected, "{case}: what the blocking PULL got");
    let up: u64 = (0..N).map(|i| bytes(&["up", &i.to_string(), ""])).sum();
    let down: u64 = (0..N).map(|i| bytes(&["down", &i.to_string()])).sum();
    let n = N as u64;
    assert_traffic(
        &case.step("PUSH source"),
        &push_stats,
        Traffic {
            messages_out: n,
            bytes_out: down,
            ..Traffic::default()
        },
    );
    assert_traffic(
        &case.step("PULL source"),
        &pull_stats,
        Traffic {
            messages_in: n,
            bytes_in: up,
            ..Traffic::default()
        },
    );
}

// ---------------------------------------------------------------- XPUB/XSUB

/// XPUB and XSUB sources on one loop. The XSUB subscribes by sending
/// `\x01topic`; the XPUB handler sees the subscription and publishes back,
/// first a message for another topic (which XPUB must filter out) then one
/// for the subscribed topic. The XSUB then unsubscribes (`\x00topic`), which
/// the XPUB handler sees too.
fn xpub_xsub(t: Transport) {
    let case = Case::new("XPUB<->XSUB", t);
    let xpub = case.source(zmq::XPUB);
    let endpoint = case.bind(xpub.socket());
    let xsub = case.source(zmq::XSUB);
    case.connect(xsub.socket(), &endpoint);
    let (xpub_stats, xsub_stats) = (xpub.stats(), xsub.stats());
    xsub.sender().try_send(&b"\x01topic"[..]).unwrap();

    #[derive(Default)]
    struct State {
        at_xpub: Vec<Vec<Vec<u8>>>,
        at_xsub: Vec<Vec<Vec<u8>>>,
    }
    let mut event_loop: EventLoop<State> = EventLoop::try_new().unwrap();
    let who = case.step("XPUB");
    xpub.insert(
        &event_loop.handle(),
        move |event, socket, state: &mut State| {
            let msg = expect_message(&who, event);
            assert_eq!(msg.len(), 1, "{who}: a subscription message is one frame");
            state.at_xpub.push(msg.to_vecs());
            if msg[0] == *b"\x01topic" {
                socket
                    .send(mp(&["other", "filtered"]))
                    .unwrap_or_else(|e| panic!("{who}: {e}"));
                socket
                    .send(mp(&["topic", "data", "1"]))
                    .unwrap_or_else(|e| panic!("{who}: {e}"));
            }
        },
    )
    .unwrap();
    let who = case.step("XSUB");
    xsub.insert(
        &event_loop.handle(),
        move |event, socket, state: &mut State| {
            let msg = expect_message(&who, event);
            check_frames(&who, &msg, &["topic", "data", "1"]);
            state.at_xsub.push(msg.to_vecs());
            socket
                .send(&b"\x00topic"[..])
                .unwrap_or_else(|e| panic!("{who}: unsubscribe: {e}"));
        },
    )
    .unwrap();

    let mut state = State::default();
    case.run_until(
        &mut event_loop,
        &mut state,
        "data at XSUB and the unsubscription at XPUB",
        |s| !s.at_xsub.is_empty() && s.at_xpub.len() == 2,
    );
    assert_eq!(
        state.at_xpub,
        vec![vec![b"\x01topic".to_vec()], vec![b"\x00topic".to_vec()]],
        "{case}"
    );
    assert_eq!(state.at_xsub, vec![vecs(&["topic", "data", "1"])], "{case}");
    // XPUB counts the filtered-out message as sent: libzmq took it.
    let published = bytes(&["other", "filtered"]) + bytes(&["topic", "data", "1"]);
    assert_traffic(
        &case.step("XPUB"),
        &xpub_stats,
        Traffic {
            messages_in: 2,
            bytes_in: 12,
            messages_out: 2,
            bytes_out: published,
            send_failures: 0,
        },
    );
    assert_traffic(
        &case.step("XSUB"),
        &xsub_stats,
        Traffic {
            messages_in: 1,
            bytes_in: bytes(&["topic", "data", "1"]),
            messages_out: 2,
            bytes_out: 12,
            send_failures: 0,
        },
    );
}

/// An XPUB source serving a blocking SUB on another thread: the handler
/// publishes as soon as it sees the subscription, so nothing is lost to the
/// slow joiner; the SUB's unsubscription reaches the handler as well.
fn xpub_thread_subscriber(t: Transport) {
    let case = Case::new("XPUB->blocking SUB", t);
    let xpub = case.source(zmq::XPUB);
    let endpoint = case.bind(xpub.socket());
    let stats = xpub.stats();

    let sub = case.peer_socket(zmq::SUB);
    sub.set_subscribe(b"news").unwrap();
    case.connect(&sub, &endpoint);
    let what = case.step("blocking SUB");
    let peer = case.spawn_peer("blocking SUB", move || {
        let got = peer_recv(&sub, &what);
        sub.set_unsubscribe(b"news").unwrap();
        (got, sub)
    });

    let mut event_loop: EventLoop<Vec<Vec<Vec<u8>>>> = EventLoop::try_new().unwrap();
    let who = case.step("XPUB source");
    xpub.insert(
        &event_loop.handle(),
        move |event, socket, seen: &mut Vec<_>| {
            let msg = expect_message(&who, event);
            if msg[0] == *b"\x01news" {
                socket
                    .send(mp(&["sport", "filtered"]))
                    .unwrap_or_else(|e| panic!("{who}: {e}"));
                socket
                    .send(mp(&["news", "", "headline"]))
                    .unwrap_or_else(|e| panic!("{who}: {e}"));
            }
            seen.push(msg.to_vecs());
        },
    )
    .unwrap();
    let mut seen = Vec::new();
    case.run_until(
        &mut event_loop,
        &mut seen,
        "subscribe and unsubscribe at XPUB",
        |s| s.len() == 2,
    );
    let (got, _sub) = peer.join();
    assert_eq!(
        got,
        vecs(&["news", "", "headline"]),
        "{case}: what the SUB got"
    );
    assert_eq!(
        seen,
        vec![vec![b"\x01news".to_vec()], vec![b"\x00news".to_vec()]],
        "{case}"
    );
    let snapshot = stats.snapshot();
    assert_eq!(
        (snapshot.messages_in, snapshot.bytes_in),
        (2, 10),
        "{case}: XPUB in"
    );
    assert_eq!(snapshot.messages_out, 2, "{case}: XPUB out");
}

// ---------------------------------------------------------------- STREAM

/// A STREAM source serving a raw `std::net::TcpStream` client. The source
/// sees a connect notification `[id, ""]`, then `[id, data]`; it answers with
/// `[id, DATA]` and closes the connection with `[id, ""]`. Data may arrive
/// in several pieces (it is a byte stream), so the handler accumulates.
fn stream(t: Transport) {
    assert_eq!(t, Transport::Tcp, "STREAM is tcp-only");
    const REQUEST: &[u8] = b"hello stream";
    let case = Case::new("STREAM<->raw TCP client", t);
    let stream = case.source(zmq::STREAM);
    let endpoint = case.bind(stream.socket());
    let stats = stream.stats();
    let addr = endpoint
        .strip_prefix("tcp://")
        .unwrap_or_else(|| panic!("{case}: not a tcp endpoint: {endpoint}"))
        .to_owned();

    let what = case.step("raw TCP client");
    let peer = case.spawn_peer("raw TCP client", move || {
        let mut conn = std::net::TcpStream::connect(&addr)
            .unwrap_or_else(|e| panic!("{what}: connect {addr}: {e}"));
        conn.set_read_timeout(Some(patterns_util::WAIT)).unwrap();
        conn.write_all(REQUEST)
            .unwrap_or_else(|e| panic!("{what}: write: {e}"));
        let mut reply = Vec::new();
        // Read until the server closes the connection.
        conn.read_to_end(&mut reply)
            .unwrap_or_else(|e| panic!("{what}: read to EOF: {e}"));
        reply
    });

    #[derive(Default)]
    struct State {
        id: Option<Vec<u8>>,
        notifications: usize,
        data: Vec<u8>,
        answered: bool,
    }
    let mut event_loop: EventLoop<State> = EventLoop::try_new().unwrap();
    let who = case.step("STREAM source");
    stream
        .insert(
            &event_loop.handle(),
            move |event, socket, state: &mut State| {
                let msg = expect_message(&who, event);
                assert_eq!(
                    msg.len(),
                    2,
                    "{who}: STREAM delivers [id, data], got {msg:?}"
                );
                let id = msg.first().unwrap().to_vec();
                assert!(!id.is_empty(), "{who}: empty routing id");
                if state.id.is_none() {
                    assert_eq!(
                        msg.frame(1),
                        Some(&b""[..]),
                        "{who}: first comes the connect notification"
                    );
                    state.id = Some(id);
                    state.notifications += 1;
                    return;
                }
                assert_eq!(state.id.as_ref(), Some(&id), "{who}: one client, one id");
                if msg[1].is_empty() {
                    state.notifications += 1; // the disconnect notification
                    return;
                }
                state.data.extend_from_slice(&msg[1]);
                if state.data == REQUEST {
                    let mut reply = Multipart::new();
                    reply.push(id.clone()).push(state.data.to_ascii_uppercase());
                    socket
                        .send(reply)
                        .unwrap_or_else(|e| panic!("{who}: reply: {e}"));
                    let mut close = Multipart::new();
                    close.push(id).push(Vec::<u8>::new());
                    socket
                        .send(close)
                        .unwrap_or_else(|e| panic!("{who}: close: {e}"));
                    state.answered = true;
                }
            },
        )
        .unwrap();
    let mut state = State::default();
    case.run_until(
        &mut event_loop,
        &mut state,
        "the client to read the reply and EOF",
        |_| peer.is_finished(),
    );
    let reply = peer.join();
    assert_eq!(
        reply,
        REQUEST.to_ascii_uppercase(),
        "{case}: what the client read"
    );
    assert!(state.answered, "{case}");
    let snapshot = stats.snapshot();
    assert_eq!(snapshot.messages_out, 2, "{case}: reply and close");
    let id_len = state.id.as_ref().map_or(0, Vec::len) as u64;
    assert_eq!(
        snapshot.bytes_out,
        2 * id_len + REQUEST.len() as u64,
        "{case}: bytes out"
    );
    assert_eq!(snapshot.send_failures, 0, "{case}");
}

// ---------------------------------------------------------------- the matrix

/// `matrix! { name: [transports...]; }` makes `mod name` with one `#[test]`
/// per transport, each calling `fn name(Transport)`.
macro_rules! matrix {
    ($($name:ident: [$($transport:ident),+];)+) => {$(
        mod $name {
            $(
                #[test]
                fn $transport() {
                    super::$name(super::Transport::from_name(stringify!($transport)));
                }
            )+
        }
    )+};
}

matrix! {
    pair: [inproc, ipc, tcp];
    pair_thread_peer: [inproc, ipc, tcp];
    pub_sub: [inproc, ipc, tcp];
    pub_sub_thread_publisher: [inproc, ipc, tcp];
    req_rep: [inproc, ipc, tcp];
    req_rep_thread_client: [inproc, ipc, tcp];
    req_rep_thread_server: [inproc, ipc, tcp];
    req_efsm: [inproc, ipc, tcp];
    dealer_router: [inproc, ipc, tcp];
    dealer_router_thread_dealer: [inproc, ipc, tcp];
    router_mandatory_unknown_peer: [inproc, ipc, tcp];
    push_pull: [inproc, ipc, tcp];
    push_pull_thread_peers: [inproc, ipc, tcp];
    xpub_xsub: [inproc, ipc, tcp];
    xpub_thread_subscriber: [inproc, ipc, tcp];
    // STREAM exchanges raw bytes with non-ZeroMQ peers and libzmq supports
    // it on tcp only (zmq_socket(3)), so inproc and ipc are skipped here.
    stream: [tcp];
}
