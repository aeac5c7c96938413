//! Replies in place: a handler in `receive_in_place` mode sends the
//! received message back (or a changed copy) without taking it out of the
//! source, and the frame is received into again.

mod support;

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::{Event, SendError, ZmqSource, zmq};
use support::run_until;

#[derive(Debug, Default)]
struct Seen {
    replies: usize,
}

#[test]
fn rep_echoes_in_place_and_sends_changed_copies() {
    let ctx = zmq::Context::new();
    let rep = ZmqSource::builder(ctx.socket(zmq::SocketType::Rep).unwrap())
        .receive_in_place()
        .build()
        .unwrap();
    rep.bind("inproc://reply-in-place").unwrap();
    let req = ctx.socket(zmq::SocketType::Req).unwrap();
    req.connect("inproc://reply-in-place").unwrap();

    let mut event_loop: EventLoop<Seen> = EventLoop::try_new().unwrap();
    rep.insert(&event_loop.handle(), |event, socket, seen| {
        if let Event::Message(_) = event {
            // Every other reply is a changed copy: one frame more.
            if seen.replies % 2 == 1 {
                socket.received_mut().push("changed");
            }
            socket.send_received().expect("REP can reply once");
            // Sent: what is left is one emptied frame (or nothing, for the
            // two-frame copies), and REP takes no second reply anyway.
            match socket.send_received() {
                Err(SendError::Failed { message, error }) => {
                    assert_eq!(message.byte_len(), 0, "{message:?}");
                    assert!(
                        matches!(error, zmq::Error::EFSM | zmq::Error::EINVAL),
                        "{error}"
                    );
                }
                other => panic!("a second reply went through: {other:?}"),
            }
            seen.replies += 1;
        }
    })
    .unwrap();

    let mut seen = Seen::default();
    for i in 0..5 {
        req.send(format!("hello {i}").as_str(), 0).unwrap();
        run_until(&mut event_loop, &mut seen, "the reply sent", |s| {
            s.replies == i + 1
        });
        let reply = support::recv_within(&req, "the reply");
        let mut expected = vec![format!("hello {i}").into_bytes()];
        if i % 2 == 1 {
            expected.push(b"changed".to_vec());
        }
        assert_eq!(reply, expected);
    }
}

#[test]
fn send_received_without_a_message_says_einval() {
    let ctx = zmq::Context::new();
    let mut push = ZmqSource::new(ctx.socket(zmq::SocketType::Push).unwrap()).unwrap();
    let err = push.handle().send_received().unwrap_err();
    assert!(
        matches!(err, SendError::Failed { error: zmq::Error::EINVAL, ref message } if message.is_empty()),
        "{err}"
    );
}

#[test]
fn send_received_that_libzmq_refuses_comes_back_whole() {
    let ctx = zmq::Context::new();
    let rep = ZmqSource::builder(ctx.socket(zmq::SocketType::Rep).unwrap())
        .receive_in_place()
        .build()
        .unwrap();
    rep.bind("inproc://reply-in-place-twice").unwrap();
    let req = ctx.socket(zmq::SocketType::Req).unwrap();
    req.connect("inproc://reply-in-place-twice").unwrap();
    let mut event_loop: EventLoop<Option<(Vec<Vec<u8>>, zmq::Error)>> =
        EventLoop::try_new().unwrap();
    rep.insert(&event_loop.handle(), |event, socket, refused| {
        if let Event::Message(_) = event {
            socket.send("first reply").unwrap();
            // A second reply: REP refuses it (EFSM), the message comes back.
            if let Err(SendError::Failed { message, error }) = socket.send_received() {
                *refused = Some((message.to_vecs(), error));
            }
        }
    })
    .unwrap();
    req.send("ask", 0).unwrap();
    let mut refused = None;
    run_until(&mut event_loop, &mut refused, "the refused reply", |r| {
        r.is_some()
    });
    assert_eq!(refused, Some((vec![b"ask".to_vec()], zmq::Error::EFSM)));
}
