//! A frame above the receiver's `ZMQ_MAXMSGSIZE` (issue 25, item 3). libzmq
//! (4.3.5) sends it, the receiver's decoder refuses it and drops the
//! connection with it and what followed, and neither side is told why. The
//! crate makes that loss reported: a sender told the peer's limit hands the
//! message back (`SendError::TooLarge`), and the receiver's monitor marks
//! the `Disconnected` with the limit that may explain it. Over tcp
//! (127.0.0.1) and ipc (a temp dir).

mod support;

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::monitor::{EventKind, EventMask, Monitor, MonitorEvent};
use calloop_zmq::{AsyncSocket, SendError, ZmqSource, zmq};
use support::{IpcDir, recv_within, run_task, run_until};

const LIMIT: u64 = 1000;

/// A PULL bound to `endpoint` that refuses frames above [`LIMIT`].
fn limited_pull(ctx: &zmq::Context, endpoint: &str) -> (zmq::Socket, String) {
    let pull = ctx.socket(zmq::SocketType::Pull).unwrap();
    pull.set_maxmsgsize(LIMIT as i64).unwrap();
    pull.set_linger(0).unwrap();
    let endpoint = if endpoint.starts_with("tcp") {
        support::bind_tcp(&pull)
    } else {
        pull.bind(endpoint).unwrap();
        endpoint.to_owned()
    };
    (pull, endpoint)
}

/// The sender told the peer's limit hands an oversized message back whole,
/// with the frame, its size and the limit, and the connection stays up: the
/// messages before and after it arrive.
fn sender_hands_the_oversized_message_back(endpoint: &str) {
    let ctx = zmq::Context::new();
    let (pull, endpoint) = limited_pull(&ctx, endpoint);
    let push = ZmqSource::new(ctx.socket(zmq::SocketType::Push).unwrap()).unwrap();
    push.socket().set_linger(0).unwrap();
    push.connect(&endpoint).unwrap();
    let mut event_loop: EventLoop<Option<Vec<String>>> = EventLoop::try_new().unwrap();
    let socket = AsyncSocket::insert(push, &event_loop.handle(), 4).unwrap();
    socket.set_peer_max_frame(Some(LIMIT));
    assert_eq!(socket.peer_max_frame(), Some(LIMIT));
    let big = vec![7u8; LIMIT as usize + 1];
    let said = run_task(
        &mut event_loop,
        async move {
            let mut said = Vec::new();
            socket.send("before").await.unwrap();
            match socket.send(("head", big.clone())).await {
                Err(SendError::TooLarge {
                    message,
                    frame,
                    size,
                    limit,
                }) => {
                    assert_eq!(message.frame(1), Some(&big[..]), "handed back whole");
                    said.push(format!("frame {frame} size {size} limit {limit}"));
                }
                other => said.push(format!("unexpected: {other:?}")),
            }
            let err = socket.send(big.clone()).await.unwrap_err();
            said.push(err.to_string());
            // Frames within the limit each pass, whatever their sum.
            let half = vec![1u8; LIMIT as usize];
            socket.send((half.clone(), half)).await.unwrap();
            socket.send("after").await.unwrap();
            socket.flush().await;
            said
        },
        "the sends",
    );
    assert_eq!(said[0], format!("frame 1 size {} limit {LIMIT}", LIMIT + 1));
    assert!(said[1].contains("above the peer's limit"), "{}", said[1]);
    assert!(said[1].contains("handed back"), "{}", said[1]);
    assert_eq!(recv_within(&pull, "before"), [b"before".to_vec()]);
    assert_eq!(recv_within(&pull, "the two halves").len(), 2);
    assert_eq!(recv_within(&pull, "after"), [b"after".to_vec()]);
}

#[test]
fn tcp_sender_hands_the_oversized_message_back() {
    sender_hands_the_oversized_message_back("tcp");
}

#[test]
fn ipc_sender_hands_the_oversized_message_back() {
    let dir = IpcDir::new();
    sender_hands_the_oversized_message_back(&dir.endpoint("oversize-send"));
}

/// The receiver's side: a sender that was not told the limit sends an
/// oversized frame; the receiver still gets what came before it, and its
/// monitor's `Disconnected` carries the limit as the possible reason.
fn receiver_reports_the_dropped_connection_with_its_limit(endpoint: &str) {
    let ctx = zmq::Context::new();
    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    pull.socket().set_maxmsgsize(LIMIT as i64).unwrap();
    let monitor = Monitor::watch_source(&pull, EventMask::ALL).unwrap();
    let endpoint = if endpoint.starts_with("tcp") {
        support::bind_tcp(pull.socket())
    } else {
        pull.bind(endpoint).unwrap();
        endpoint.to_owned()
    };
    let push = ctx.socket(zmq::SocketType::Push).unwrap();
    push.set_linger(0).unwrap();
    push.connect(&endpoint).unwrap();

    #[derive(Debug, Default)]
    struct Seen {
        received: Vec<Vec<Vec<u8>>>,
        events: Vec<MonitorEvent>,
    }
    let mut event_loop: EventLoop<Seen> = EventLoop::try_new().unwrap();
    pull.insert(&event_loop.handle(), |event, _, seen: &mut Seen| {
        if let calloop_zmq::Event::Message(msg) = event {
            seen.received.push(msg.to_vecs());
        }
    })
    .unwrap();
    monitor
        .insert(&event_loop.handle(), |event, seen: &mut Seen| {
            seen.events.push(event)
        })
        .unwrap();
    let mut seen = Seen::default();
    run_until(&mut event_loop, &mut seen, "the handshake", |s| {
        s.events
            .iter()
            .any(|e| e.kind == EventKind::HandshakeSucceeded)
    });
    push.send("before", 0).unwrap();
    run_until(&mut event_loop, &mut seen, "the message before", |s| {
        !s.received.is_empty()
    });
    push.send(vec![0u8; LIMIT as usize + 1], 0).unwrap();
    run_until(&mut event_loop, &mut seen, "the dropped connection", |s| {
        s.events.iter().any(|e| e.kind == EventKind::Disconnected)
    });
    let dropped = seen
        .events
        .iter()
        .find(|e| e.kind == EventKind::Disconnected)
        .unwrap();
    assert_eq!(dropped.may_be_oversize(), Some(LIMIT), "{dropped:?}");
    assert_eq!(dropped.receive_limit, Some(LIMIT));
    assert_eq!(seen.received, [vec![b"before".to_vec()]]);
    // Events other than the disconnect name no size limit.
    assert!(
        seen.events
            .iter()
            .filter(|e| e.kind != EventKind::Disconnected)
            .all(|e| e.may_be_oversize().is_none())
    );
}

#[test]
fn tcp_receiver_reports_the_dropped_connection_with_its_limit() {
    receiver_reports_the_dropped_connection_with_its_limit("tcp");
}

#[test]
fn ipc_receiver_reports_the_dropped_connection_with_its_limit() {
    let dir = IpcDir::new();
    receiver_reports_the_dropped_connection_with_its_limit(&dir.endpoint("oversize-recv"));
}

/// Without a limit on the monitored socket, a `Disconnected` names none.
#[test]
fn an_unlimited_receiver_names_no_limit() {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::SocketType::Pull).unwrap();
    let monitor = Monitor::watch(&pull, EventMask::ALL).unwrap();
    let endpoint = support::bind_tcp(&pull);
    let push = ctx.socket(zmq::SocketType::Push).unwrap();
    push.set_linger(0).unwrap();
    push.connect(&endpoint).unwrap();
    let mut event_loop: EventLoop<Vec<MonitorEvent>> = EventLoop::try_new().unwrap();
    monitor
        .insert(
            &event_loop.handle(),
            |event, seen: &mut Vec<MonitorEvent>| seen.push(event),
        )
        .unwrap();
    let mut seen = Vec::new();
    run_until(&mut event_loop, &mut seen, "the handshake", |s| {
        s.iter().any(|e| e.kind == EventKind::HandshakeSucceeded)
    });
    drop(push);
    run_until(&mut event_loop, &mut seen, "the hang-up", |s| {
        s.iter().any(|e| e.kind == EventKind::Disconnected)
    });
    assert!(
        seen.iter().all(|e| e.may_be_oversize().is_none()),
        "{seen:?}"
    );
}
