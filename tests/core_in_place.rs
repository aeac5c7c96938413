//! Receiving in place (`Builder::receive_in_place`): every message arrives
//! whole and in order although frames are reused, a taken message is not
//! touched by later receives, and the `Received` marker comes only to
//! sources that opted in (the default mode's `Event` cannot carry it).

mod support;

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::{Event, InPlace, Received, ZmqSource, zmq};
use support::run_until;

/// Single frames of every storage kind libzmq has (empty, inline, heap,
/// large) mixed with multipart messages, so a reused frame changes kind and
/// the source moves between its one-frame and multipart paths.
fn mixed_messages() -> Vec<Vec<Vec<u8>>> {
    let mut all = Vec::new();
    for i in 0..50u8 {
        all.push(vec![vec![i; 5]]);
        all.push(vec![vec![i; 100]]);
        all.push(vec![vec![]]);
        all.push(vec![b"head".to_vec(), vec![i; 3]]);
        all.push(vec![vec![i; 70_000]]);
        all.push(vec![vec![], vec![i], b"tail".to_vec()]);
    }
    all
}

/// A PULL source receiving in place from a PUSH bound on `endpoint`
/// (inproc), with [`mixed_messages`] already queued, and a small budget so
/// they span many dispatches. The PUSH is returned to keep it alive.
fn in_place_pull_with_queue(
    ctx: &zmq::Context,
    endpoint: &str,
) -> (zmq::Socket, ZmqSource<InPlace>, Vec<Vec<Vec<u8>>>) {
    let push = ctx.socket(zmq::SocketType::Push).unwrap();
    push.bind(endpoint).unwrap();
    let source = ZmqSource::builder(ctx.socket(zmq::SocketType::Pull).unwrap())
        .budget(7)
        .receive_in_place()
        .build()
        .unwrap();
    source.connect(endpoint).unwrap();
    let queued = mixed_messages();
    for message in &queued {
        push.send_multipart(message, 0).unwrap();
    }
    (push, source, queued)
}

#[test]
fn every_message_arrives_whole_and_in_order() {
    let ctx = zmq::Context::new();
    let (_push, source, expected) = in_place_pull_with_queue(&ctx, "inproc://in-place-order");
    let stats = source.stats();
    let mut event_loop: EventLoop<Vec<Vec<Vec<u8>>>> = EventLoop::try_new().unwrap();
    source
        .insert(&event_loop.handle(), |event, socket, got| match event {
            Event::Message(Received) => got.push(socket.received().to_vecs()),
            other => panic!("unexpected event {other:?}"),
        })
        .unwrap();
    let mut got = Vec::new();
    run_until(&mut event_loop, &mut got, "every message", |got| {
        got.len() >= expected.len()
    });
    assert_eq!(got, expected);
    assert_eq!(stats.snapshot().messages_in, expected.len() as u64);
}

#[test]
fn a_taken_message_is_not_touched_by_later_receives() {
    let ctx = zmq::Context::new();
    let (_push, source, expected) = in_place_pull_with_queue(&ctx, "inproc://in-place-take");
    // Take every other message and keep it; read the rest in place.
    let mut event_loop: EventLoop<(usize, Vec<calloop_zmq::Multipart>)> =
        EventLoop::try_new().unwrap();
    source
        .insert(&event_loop.handle(), |event, socket, (seen, kept)| {
            assert!(matches!(event, Event::Message(Received)), "{event:?}");
            if *seen % 2 == 0 {
                kept.push(socket.take_received());
                assert!(socket.received().is_empty(), "taken, so gone");
            }
            *seen += 1;
        })
        .unwrap();
    let mut state = (0, Vec::new());
    run_until(&mut event_loop, &mut state, "every message", |(seen, _)| {
        *seen >= expected.len()
    });
    let kept: Vec<_> = state.1.iter().map(|m| m.to_vecs()).collect();
    let wanted: Vec<_> = expected.iter().step_by(2).cloned().collect();
    assert_eq!(kept, wanted);
}

#[test]
fn a_reply_can_be_the_request_taken_in_place() {
    let ctx = zmq::Context::new();
    let req = ctx.socket(zmq::SocketType::Req).unwrap();
    req.bind("inproc://in-place-echo").unwrap();
    let source = ZmqSource::builder(ctx.socket(zmq::SocketType::Rep).unwrap())
        .receive_in_place()
        .build()
        .unwrap();
    source.connect("inproc://in-place-echo").unwrap();
    let mut event_loop: EventLoop<usize> = EventLoop::try_new().unwrap();
    source
        .insert(&event_loop.handle(), |event, socket, answered| {
            assert!(matches!(event, Event::Message(Received)), "{event:?}");
            let request = socket.take_received();
            socket.send(request).expect("reply");
            *answered += 1;
        })
        .unwrap();
    let mut answered = 0;
    for i in 0..20u32 {
        let request = [b"ping".to_vec(), i.to_le_bytes().to_vec()];
        req.send_multipart(&request, 0).unwrap();
        run_until(&mut event_loop, &mut answered, "the reply", |n| {
            *n > i as usize
        });
        assert_eq!(support::recv_within(&req, "the echo"), request);
    }
}

#[test]
fn without_the_option_messages_come_owned() {
    let ctx = zmq::Context::new();
    let (source, push) = support::source_connected(
        &ctx,
        zmq::SocketType::Pull,
        "inproc://owned",
        zmq::SocketType::Push,
    );
    push.send("owned", 0).unwrap();
    let mut event_loop: EventLoop<Vec<String>> = EventLoop::try_new().unwrap();
    source
        .insert(&event_loop.handle(), |event, socket, got| match event {
            Event::Message(msg) => {
                assert!(socket.received().is_empty());
                got.push(msg.frame_str(0).unwrap().to_owned());
            }
            other => panic!("unexpected event {other:?}"),
        })
        .unwrap();
    let mut got = Vec::new();
    run_until(&mut event_loop, &mut got, "the message", |got| {
        !got.is_empty()
    });
    assert_eq!(got, ["owned"]);
}
