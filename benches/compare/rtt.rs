//! `rtt`: a blocking REQ on its own thread sends requests one at a
//! time; the variant under test answers each on a REP inside its loop. The
//! REQ times every round trip; the variant closes only after the REQ has the
//! last reply.

use std::future::Future;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::{AsyncSocket, Event, zmq};

use crate::Variant;
use crate::common::{Sample, Site, WAIT, check_deadline, socket, wait_for, zmq_source};
use crate::recv::{Spec, run_until};
use crate::sides;
use crate::tasks::Tasks;

pub fn measure(variant: Variant, spec: &Spec, ipc_dir: &std::path::Path) -> Sample {
    let site = Site::new(spec.transport, ipc_dir);
    let (client, done_rx) = sides::client(&site, spec.size, spec.warmup, spec.count);
    let ep = client.ep.clone();
    let total = spec.warmup + spec.count;
    let ctx = &site.variant;
    match variant {
        Variant::Raw => raw(ctx, &ep, total, &done_rx),
        Variant::Poll => poll(ctx, &ep, total, &done_rx),
        Variant::Calloop => calloop(ctx, &ep, total, &done_rx),
        Variant::CalloopAsync => calloop_async(ctx, &ep, &done_rx),
        Variant::CalloopHandler => unreachable!("rtt replies from the handler already"),
        Variant::CalloopVec => unreachable!("send-only variant"),
        Variant::Tmq | Variant::RustZmqRaw => unreachable!("runs in the tmq peer process"),
        Variant::ZmqRs | Variant::Rzmq => unreachable!("runs in its own peer process"),
        Variant::CalloopFd | Variant::CalloopInPlace => unreachable!("recv-only variant"),
    }
    client.join().sample()
}

/// Blocking receive into one reused frame, then send that frame back (which
/// leaves it empty for the next receive).
fn raw(ctx: &zmq::Context, ep: &str, total: usize, done: &mpsc::Receiver<()>) {
    let s = socket(ctx, zmq::SocketType::Rep);
    s.connect(ep).expect("raw: connect");
    let mut msg = zmq::Frame::new();
    for _ in 0..total {
        s.recv_into(&mut msg, 0).expect("raw: recv");
        s.send_frame(&mut msg, 0).expect("raw: send");
    }
    wait_for(done, "the client to finish");
}

/// `zmq::poll` for `POLLIN`, then answer every request until `EAGAIN`.
fn poll(ctx: &zmq::Context, ep: &str, total: usize, done: &mpsc::Receiver<()>) {
    let s = socket(ctx, zmq::SocketType::Rep);
    s.connect(ep).expect("poll: connect");
    let deadline = Instant::now() + WAIT;
    let mut answered = 0;
    let mut msg = zmq::Frame::new();
    while answered < total {
        zmq::poll(&mut [s.as_poll_item(zmq::POLLIN)], 100).expect("poll: zmq::poll");
        loop {
            match s.recv_into(&mut msg, zmq::DONTWAIT) {
                Ok(_) => {
                    s.send_frame(&mut msg, zmq::DONTWAIT).expect("poll: send");
                    answered += 1;
                }
                Err(zmq::Error::EAGAIN) => break,
                Err(e) => panic!("poll: recv: {e}"),
            }
        }
        check_deadline(deadline, "poll: requests");
    }
    wait_for(done, "the client to finish");
}

/// A REP `ZmqSource` that replies from its handler.
fn calloop(ctx: &zmq::Context, ep: &str, total: usize, done: &mpsc::Receiver<()>) {
    let source = zmq_source(socket(ctx, zmq::SocketType::Rep));
    source.connect(ep).expect("calloop-zmq: connect");
    let mut event_loop: EventLoop<usize> = EventLoop::try_new().expect("calloop: new loop");
    source
        .insert(
            &event_loop.handle(),
            |event, socket, answered: &mut usize| {
                if let Event::Message(request) = event {
                    socket.send(request).expect("calloop-zmq: reply");
                    *answered += 1;
                }
            },
        )
        .expect("calloop-zmq: insert the source");
    let mut answered = 0;
    run_until(&mut event_loop, &mut answered, total);
    // Keep dispatching: the last reply may still sit in the outbox.
    let deadline = Instant::now() + WAIT;
    while done.try_recv().is_err() {
        event_loop
            .dispatch(Some(Duration::from_millis(5)), &mut answered)
            .expect("calloop: dispatch");
        check_deadline(deadline, "the client to finish");
    }
}

/// calloop-zmq's `AsyncSocket`: a REP task awaits each request and `send`s
/// it back, on calloop-zmq's in-loop executor (calloop's with
/// `COMPARE_ASYNC_EXECUTOR=calloop`).
/// With `COMPARE_ASYNC_INLINE=1` the REP task is run by no executor but
/// polled right after every `dispatch`, in the same loop iteration as the
/// feeder that received the request (BENCHMARKS.md, "The async socket").
fn calloop_async(ctx: &zmq::Context, ep: &str, done: &mpsc::Receiver<()>) {
    let source = zmq_source(socket(ctx, zmq::SocketType::Rep));
    source.connect(ep).expect("calloop-zmq-async: connect");
    let mut event_loop: EventLoop<()> = EventLoop::try_new().expect("calloop: new loop");
    let socket = AsyncSocket::insert(source, &event_loop.handle(), 16)
        .expect("calloop-zmq-async: insert the source");
    let serve = async move {
        while let Ok(request) = socket.recv().await {
            socket
                .send(request)
                .await
                .expect("calloop-zmq-async: reply");
        }
    };
    let mut inline = None;
    if std::env::var_os("COMPARE_ASYNC_INLINE").is_some_and(|v| v == "1") {
        inline = Some(Box::pin(serve));
    } else {
        let scheduler = Tasks::insert(&event_loop);
        scheduler.schedule(serve);
    }
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let deadline = Instant::now() + WAIT;
    while done.try_recv().is_err() {
        if let Some(task) = inline.as_mut() {
            let _ = task.as_mut().poll(&mut cx);
        }
        event_loop
            .dispatch(Some(Duration::from_millis(5)), &mut ())
            .expect("calloop: dispatch");
        check_deadline(deadline, "the client to finish");
    }
}
