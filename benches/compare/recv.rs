//! `recv`: a blocking PUSH on its own thread floods; the variant under test
//! receives on a PULL.
//!
//! The flood sends a warm-up first (which also proves the connection is up),
//! waits for the go signal, then sends the measured messages without copying
//! them. The clock starts right before the go signal and stops when the
//! variant has the last message; the flood closes only after the variant
//! acknowledged everything (libzmq#4660).

use std::os::fd::{AsFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

use calloop_zmq::calloop::generic::Generic;
use calloop_zmq::calloop::{EventLoop, Interest, Mode, PostAction, Readiness};
use calloop_zmq::{AsyncSocket, Event, ReceiveMode, ZmqSource, zmq};

use crate::Variant;
use crate::common::{Mark, Sample, Site, WAIT, check_deadline, print_stats, socket, zmq_builder};
use crate::sides::Flood;
use crate::tasks::Tasks;

/// What one measurement moves.
#[derive(Clone, Copy)]
pub struct Spec {
    pub transport: crate::common::Transport,
    pub size: usize,
    pub warmup: usize,
    pub count: usize,
}

pub fn measure(variant: Variant, spec: &Spec, ipc_dir: &std::path::Path) -> Sample {
    let site = Site::new(spec.transport, ipc_dir);
    let flood = Flood::start(&site, spec.size, spec.warmup, spec.count);
    let (ep, go) = (flood.side.ep.clone(), flood.go());
    let ctx = &site.variant;
    let sample = match variant {
        Variant::Raw => raw(ctx, &ep, spec, go),
        Variant::Poll => poll(ctx, &ep, spec, go),
        Variant::CalloopFd => calloop_fd(ctx, &ep, spec, go),
        Variant::Calloop => calloop(ctx, &ep, spec, go, false),
        Variant::CalloopInPlace => calloop(ctx, &ep, spec, go, true),
        Variant::CalloopAsync => calloop_async(ctx, &ep, spec, go),
        Variant::CalloopHandler | Variant::CalloopVec => unreachable!("send-only variant"),
        Variant::Tmq | Variant::RustZmqRaw => unreachable!("runs in the tmq peer process"),
        Variant::ZmqRs | Variant::Rzmq => unreachable!("runs in its own peer process"),
    };
    flood.finish();
    sample
}

/// Blocking receives into one reused frame (`zmq_msg_recv` into the same
/// `zmq_msg_t`, which libzmq closes and refills): the limit.
fn raw(ctx: &zmq::Context, ep: &str, spec: &Spec, go: impl FnOnce()) -> Sample {
    let s = socket(ctx, zmq::SocketType::Pull);
    s.connect(ep).expect("raw: connect");
    let mut msg = zmq::Frame::new();
    for _ in 0..spec.warmup {
        s.recv_into(&mut msg, 0).expect("raw: warm-up recv");
    }
    let start = Mark::now();
    go();
    for _ in 0..spec.count {
        s.recv_into(&mut msg, 0).expect("raw: recv");
    }
    Sample::rate(spec.count, start, Mark::now())
}

/// A hand-written reactor: `zmq::poll`, then receive with `DONTWAIT` until
/// `EAGAIN`.
fn poll(ctx: &zmq::Context, ep: &str, spec: &Spec, go: impl FnOnce()) -> Sample {
    let s = socket(ctx, zmq::SocketType::Pull);
    s.connect(ep).expect("poll: connect");
    let mut msg = zmq::Frame::new();
    let mut got = 0;
    let mut recv_until = |target: usize| {
        let deadline = Instant::now() + WAIT;
        while got < target {
            zmq::poll(&mut [s.as_poll_item(zmq::POLLIN)], 100).expect("poll: zmq::poll");
            loop {
                match s.recv_into(&mut msg, zmq::DONTWAIT) {
                    Ok(_) => got += 1,
                    Err(zmq::Error::EAGAIN) => break,
                    Err(e) => panic!("poll: recv: {e}"),
                }
            }
            check_deadline(deadline, "poll: messages");
        }
    };
    recv_until(spec.warmup);
    let start = Mark::now();
    go();
    recv_until(spec.warmup + spec.count);
    Sample::rate(spec.count, start, Mark::now())
}

/// A hand-written calloop source: `Generic` on the socket's `ZMQ_FD`
/// (edge-triggered), receiving with `DONTWAIT` into one reused message until
/// `EAGAIN`, then reading `ZMQ_EVENTS` in case a message slipped in. No
/// callback per message and no message to hand over: what calloop itself
/// costs on this path. With `COMPARE_FD_OWNED=1` it receives into a fresh
/// `zmq::Frame` each time and drops it, as any API that hands the caller
/// an owned message must, to show what that costs on its own.
fn calloop_fd(ctx: &zmq::Context, ep: &str, spec: &Spec, go: impl FnOnce()) -> Sample {
    let s = socket(ctx, zmq::SocketType::Pull);
    s.connect(ep).expect("calloop-fd: connect");
    let fd = s.fd().expect("calloop-fd: ZMQ_FD");
    let owned = std::env::var_os("COMPARE_FD_OWNED").is_some();
    let mut reused = zmq::Frame::new();
    let mut event_loop: EventLoop<usize> = EventLoop::try_new().expect("calloop: new loop");
    let readable = Generic::new(ZmqFd(fd), Interest::READ, Mode::Edge);
    let sock = &s; // borrowed: the socket outlives the loop declared after it
    let mut got = 0;
    // Messages may wait in the socket before the first edge: drain once.
    drain(sock, &mut reused, owned, &mut got);
    let on_readable = move |_: Readiness, _: &mut _, got: &mut usize| {
        drain(sock, &mut reused, owned, got);
        Ok(PostAction::Continue)
    };
    event_loop
        .handle()
        .insert_source(readable, on_readable)
        .expect("calloop-fd: insert the source");
    run_until(&mut event_loop, &mut got, spec.warmup);
    let start = Mark::now();
    go();
    run_until(&mut event_loop, &mut got, spec.warmup + spec.count);
    Sample::rate(spec.count, start, Mark::now())
}

/// Receives until `EAGAIN` and `ZMQ_EVENTS` agrees that nothing is left
/// (`ZMQ_FD` signals only edges), into `reused` or, if `owned`, into a fresh
/// message each time.
fn drain(sock: &zmq::Socket, reused: &mut zmq::Frame, owned: bool, got: &mut usize) {
    loop {
        let mut fresh;
        let msg = if owned {
            fresh = zmq::Frame::new();
            &mut fresh
        } else {
            &mut *reused
        };
        match sock.recv_into(msg, zmq::DONTWAIT) {
            Ok(_) => *got += 1,
            Err(zmq::Error::EAGAIN) => {
                let events = sock.events().expect("calloop-fd: ZMQ_EVENTS");
                if !events.contains(zmq::POLLIN) {
                    return;
                }
            }
            Err(e) => panic!("calloop-fd: recv: {e}"),
        }
    }
}

/// `ZMQ_FD` for calloop's `Generic`: libzmq owns the descriptor, which stays
/// open as long as the socket, and the socket outlives the event loop here.
struct ZmqFd(RawFd);

impl AsFd for ZmqFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: see the type's doc; the loop (and so this borrow) is
        // dropped before the socket that owns the descriptor.
        unsafe { BorrowedFd::borrow_raw(self.0) }
    }
}

/// calloop-zmq: a PULL `ZmqSource` on a calloop loop, counting in its
/// handler; messages come owned, or, with `in_place`, stay in the source
/// (`Builder::receive_in_place`).
fn calloop(ctx: &zmq::Context, ep: &str, spec: &Spec, go: impl FnOnce(), in_place: bool) -> Sample {
    let builder = zmq_builder(socket(ctx, zmq::SocketType::Pull));
    if in_place {
        let source = builder.receive_in_place().build();
        calloop_run(source.expect("calloop-zmq: build the source"), ep, spec, go)
    } else {
        calloop_run(
            builder.build().expect("calloop-zmq: build the source"),
            ep,
            spec,
            go,
        )
    }
}

/// The measured part of [`calloop`], for either receive mode.
fn calloop_run<R: ReceiveMode>(
    source: ZmqSource<R>,
    ep: &str,
    spec: &Spec,
    go: impl FnOnce(),
) -> Sample {
    source.connect(ep).expect("calloop-zmq: connect");
    let stats = source.stats();
    let mut event_loop: EventLoop<usize> = EventLoop::try_new().expect("calloop: new loop");
    source
        .insert(&event_loop.handle(), |event, _, got: &mut usize| {
            if let Event::Message(_) = event {
                *got += 1;
            }
        })
        .expect("calloop-zmq: insert the source");
    let mut got = 0;
    run_until(&mut event_loop, &mut got, spec.warmup);
    let start = Mark::now();
    go();
    run_until(&mut event_loop, &mut got, spec.warmup + spec.count);
    let end = Mark::now();
    print_stats("recv calloop-zmq", &stats);
    Sample::rate(spec.count, start, end)
}

/// Dispatches until `target` messages arrived, bounded by [`WAIT`].
pub fn run_until(event_loop: &mut EventLoop<usize>, got: &mut usize, target: usize) {
    let deadline = Instant::now() + WAIT;
    while *got < target {
        event_loop
            .dispatch(Some(Duration::from_millis(100)), got)
            .expect("calloop: dispatch");
        check_deadline(deadline, "calloop-zmq: messages");
    }
}

/// calloop-zmq's `AsyncSocket`: a task on the chosen executor ([`Tasks`]) awaits `recv`
/// for every message (inbox of 256).
fn calloop_async(ctx: &zmq::Context, ep: &str, spec: &Spec, go: impl FnOnce()) -> Sample {
    let source = zmq_builder(socket(ctx, zmq::SocketType::Pull))
        .build()
        .expect("calloop-zmq-async: build the source");
    source.connect(ep).expect("calloop-zmq-async: connect");
    let mut event_loop: EventLoop<usize> = EventLoop::try_new().expect("calloop: new loop");
    let got = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let socket = AsyncSocket::insert(source, &event_loop.handle(), 256)
        .expect("calloop-zmq-async: insert the source");
    let scheduler = Tasks::insert(&event_loop);
    let counted = got.clone();
    scheduler.schedule(async move {
        while socket.recv().await.is_ok() {
            counted.set(counted.get() + 1);
        }
    });
    let mut run_to = |target: usize| {
        let deadline = Instant::now() + WAIT;
        while got.get() < target {
            event_loop
                .dispatch(Some(Duration::from_millis(100)), &mut 0)
                .expect("calloop: dispatch");
            check_deadline(deadline, "calloop-zmq-async: messages");
        }
    };
    run_to(spec.warmup);
    let start = Mark::now();
    go();
    run_to(spec.warmup + spec.count);
    Sample::rate(spec.count, start, Mark::now())
}
