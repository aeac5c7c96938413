//! Ergonomics of the public API (issue 25, item 11 and item 10): messages
//! from arrays, vectors and tuples of strings or bytes; `AsyncSocket`'s
//! futures usable in `select!` without `pin!`; `ended()` saying a normal
//! close as a success; a monitor that needs no context argument; a clear
//! refusal of an inbox of zero.

mod support;

use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::monitor::{EventKind, EventMask, Monitor};
use calloop_zmq::{AsyncSocket, Event, Multipart, RecvError, ZmqSource, zmq};
use support::{recv_within, run_task, run_until};

/// Every way to write a two-frame message gives the same message.
#[test]
fn arrays_vectors_slices_and_tuples_of_strings_or_bytes_are_messages() {
    let expected = Multipart::from(vec![b"topic".to_vec(), b"body".to_vec()]);
    let words: &[&str] = &["topic", "body"];
    let same = [
        Multipart::from(["topic", "body"]),
        Multipart::from(vec!["topic", "body"]),
        Multipart::from(words),
        Multipart::from(vec![&b"topic"[..], &b"body"[..]]),
        Multipart::from(vec!["topic".to_string(), "body".to_string()]),
        Multipart::from([&b"topic"[..], b"body"]),
        Multipart::from(("topic", "body")),
        Multipart::from(("topic", b"body".to_vec())),
        Multipart::from((&b"topic"[..], String::from("body"))),
        Multipart::from((zmq::Frame::from("topic"), "body")),
    ];
    for (i, msg) in same.iter().enumerate() {
        assert_eq!(msg, &expected, "form {i}");
    }
    assert_eq!(Multipart::from(("a", "b", "c")).len(), 3);
    assert_eq!(Multipart::from(("a", "", b"c", vec![4u8])).len(), 4);
    assert_eq!(Multipart::from(["only"]).len(), 1);
    assert_eq!(Multipart::from(["only"]), Multipart::from("only"));
}

/// The forms work where sends take `impl Into<Multipart>`: the handler's
/// `send` and the thread-safe sender's `try_send`.
#[test]
fn send_takes_arrays_and_tuples() {
    let ctx = zmq::Context::new();
    let push = ZmqSource::new(ctx.socket(zmq::SocketType::Push).unwrap()).unwrap();
    push.bind("inproc://edges-send-forms").unwrap();
    let pull = ctx.socket(zmq::SocketType::Pull).unwrap();
    pull.connect("inproc://edges-send-forms").unwrap();
    let rep = ZmqSource::new(ctx.socket(zmq::SocketType::Rep).unwrap()).unwrap();
    rep.bind("inproc://edges-send-forms-rep").unwrap();
    let req = ctx.socket(zmq::SocketType::Req).unwrap();
    req.connect("inproc://edges-send-forms-rep").unwrap();

    push.sender().try_send(["topic", "array"]).unwrap();
    push.sender().try_send(("topic", "tuple")).unwrap();
    push.sender().try_send(vec!["topic", "vec"]).unwrap();

    let stats = push.stats();
    let mut event_loop: EventLoop<bool> = EventLoop::try_new().unwrap();
    push.insert(&event_loop.handle(), |_, _, _| {}).unwrap();
    rep.insert(&event_loop.handle(), |event, socket, replied| {
        if let Event::Message(_) = event {
            socket.send(("reply", b"tuple")).unwrap();
            *replied = true;
        }
    })
    .unwrap();
    req.send("ask", 0).unwrap();
    let mut replied = false;
    run_until(
        &mut event_loop,
        &mut replied,
        "the reply and 3 sends",
        |r| *r && stats.snapshot().messages_out == 3,
    );

    for body in ["array", "tuple", "vec"] {
        let got = recv_within(&pull, body);
        assert_eq!(got, vec![b"topic".to_vec(), body.as_bytes().to_vec()]);
    }
    assert_eq!(
        recv_within(&req, "the reply"),
        vec![b"reply".to_vec(), b"tuple".to_vec()]
    );
}

/// `AsyncSocket::insert` with an inbox of 0 says what is wrong and what to
/// use, not calloop's "other error during loop operation", and hands the
/// source back; `?` into the crate's error keeps that reason.
#[test]
fn an_inbox_of_zero_says_so_and_what_to_use() {
    let ctx = zmq::Context::new();
    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    let event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    let err = AsyncSocket::insert(pull, &event_loop.handle(), 0).unwrap_err();
    let text = err.to_string();
    assert!(
        !text.contains("other error during loop operation"),
        "{text}"
    );
    assert!(
        text.contains("inbox capacity of 0 is not allowed"),
        "{text}"
    );
    assert!(text.contains("use 1"), "{text}");
    assert!(
        matches!(err.refusal(), Some(calloop_zmq::Error::InvalidArgument(_))),
        "{err:?}"
    );
    let as_crate_error = calloop_zmq::Error::from(err);
    assert!(
        matches!(as_crate_error, calloop_zmq::Error::InvalidArgument(_)),
        "{as_crate_error:?}"
    );
    assert!(
        !as_crate_error.to_string().contains("event loop"),
        "{as_crate_error}"
    );
}

/// `recv`, `send`, `reserve` and `ended` are `Unpin`: they can be polled
/// through `Pin::new`, as `select!` does, without `pin!`.
#[test]
fn the_async_sockets_futures_are_unpin() {
    fn unpin<F: Future + Unpin>(future: F) -> F {
        future
    }
    let ctx = zmq::Context::new();
    let push = ZmqSource::new(ctx.socket(zmq::SocketType::Push).unwrap()).unwrap();
    push.bind("inproc://edges-unpin").unwrap();
    let pull = ctx.socket(zmq::SocketType::Pull).unwrap();
    pull.connect("inproc://edges-unpin").unwrap();
    let event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    let socket = AsyncSocket::insert(push, &event_loop.handle(), 4).unwrap();
    let mut cx = Context::from_waker(Waker::noop());

    let mut send = unpin(socket.send(("topic", "body")));
    assert!(matches!(
        Pin::new(&mut send).poll(&mut cx),
        Poll::Ready(Ok(()))
    ));
    let mut reserve = unpin(socket.reserve());
    let Poll::Ready(Ok(permit)) = Pin::new(&mut reserve).poll(&mut cx) else {
        panic!("an empty outbox has a place");
    };
    permit.send(["after", "reserve"]).unwrap();
    let mut ended = unpin(socket.ended());
    assert!(Pin::new(&mut ended).poll(&mut cx).is_pending());
    let mut recv = unpin(socket.recv());
    assert!(matches!(
        Pin::new(&mut recv).poll(&mut cx),
        Poll::Ready(Err(RecvError::CannotReceive(_)))
    ));
    assert_eq!(
        recv_within(&pull, "the direct send"),
        [b"topic".to_vec(), b"body".to_vec()]
    );
}

/// A close that was asked for is the normal end: `ended()` says it as
/// `Ok(Closed)`, with the socket and nothing undelivered; asking again is
/// the error `Ended`.
#[test]
fn ended_says_a_normal_close_as_success() {
    let ctx = zmq::Context::new();
    let push = ZmqSource::new(ctx.socket(zmq::SocketType::Push).unwrap()).unwrap();
    push.bind("inproc://edges-ended").unwrap();
    let mut event_loop: EventLoop<Option<bool>> = EventLoop::try_new().unwrap();
    let socket = AsyncSocket::insert(push, &event_loop.handle(), 4).unwrap();
    let clean = run_task(
        &mut event_loop,
        async move {
            socket.close(Duration::ZERO);
            let closed: calloop_zmq::Closed = socket.ended().await.expect("a clean close");
            assert!(closed.undelivered.is_empty());
            matches!(socket.ended().await, Err(RecvError::Ended))
        },
        "the close",
    );
    assert!(clean, "a second ended() says Ended");
}

/// A socket that breaks (its context shut down) is an abnormal end:
/// `ended()` says it as the error `Fatal`.
#[test]
fn ended_says_a_broken_socket_as_an_error() {
    let ctx = zmq::Context::new();
    // A PULL: its source reads the socket when the shutdown wakes it.
    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    pull.bind("inproc://edges-ended-fatal").unwrap();
    let mut event_loop: EventLoop<Option<String>> = EventLoop::try_new().unwrap();
    let socket = AsyncSocket::insert(pull, &event_loop.handle(), 4).unwrap();
    ctx.shutdown().unwrap();
    let said = run_task(
        &mut event_loop,
        async move {
            match socket.ended().await {
                Err(RecvError::Fatal(fatal)) => fatal.error.to_string(),
                other => format!("unexpected: {other:?}"),
            }
        },
        "the fatal end",
    );
    assert!(
        said.contains("ETERM") || said.contains("terminated"),
        "{said}"
    );
}

/// `Monitor::watch` needs no context: the monitor lives in the socket's
/// own, and reports the socket's events.
#[test]
fn a_monitor_needs_no_context_argument() {
    let ctx = zmq::Context::new();
    let server = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    let monitor = Monitor::watch_source(&server, EventMask::ALL).unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let mut event_loop: EventLoop<Vec<EventKind>> = EventLoop::try_new().unwrap();
    monitor
        .insert(&event_loop.handle(), |event, seen: &mut Vec<EventKind>| {
            seen.push(event.kind)
        })
        .unwrap();
    let mut seen = Vec::new();
    run_until(&mut event_loop, &mut seen, "Listening", |s| {
        s.contains(&EventKind::Listening)
    });
    let plain = ctx.socket(zmq::SocketType::Push).unwrap();
    assert!(Monitor::watch(&plain, EventMask::ALL).is_ok());
}

/// The old form with a context that is not the socket's would have given
/// a monitor that never says anything; now it is refused, saying why.
#[test]
fn attach_with_another_context_is_refused_not_silent() {
    let ctx = zmq::Context::new();
    let other = zmq::Context::new();
    let socket = ctx.socket(zmq::SocketType::Pull).unwrap();
    let err = Monitor::attach(&socket, &other, EventMask::ALL).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("not the one the socket was created in"),
        "{text}"
    );
    assert!(text.contains("Monitor::watch"), "{text}");
    // A clone of the right context is the same context.
    assert!(Monitor::attach(&socket, &ctx.clone(), EventMask::ALL).is_ok());
}
