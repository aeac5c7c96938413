//! `send`: the variant under test sends through its normal send path to a
//! blocking PULL on its own thread.
//!
//! The variant sends a warm-up and waits until the PULL has it (so the
//! connection is up), then the clock starts and it sends the measured
//! messages. The clock stops when the PULL has the last one; the variant
//! closes only after that (the PULL's report is its acknowledgement).
//! Every variant builds each message from the same bytes (one copy into a
//! `zmq_msg_t`, as `Socket::send(&[u8])` does), except `calloop-zmq-vec`,
//! whose producer makes an owned `Vec<u8>` per message (one allocation and
//! copy, as a producer that serialises into a fresh buffer does) and sends
//! that: `Frame::from(Vec<u8>)` copies it into the frame up to
//! `COPY_THRESHOLD` bytes and hands larger buffers to libzmq without a copy.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use calloop_zmq::calloop::{Dispatcher, EventLoop};
use calloop_zmq::{AsyncSocket, Multipart, SendError, zmq};

use crate::Variant;
use crate::common::{
    Mark, Sample, Site, WAIT, check_deadline, join, payload, print_stats, socket, spawn, wait_for,
    zmq_source,
};
use crate::recv::Spec;
use crate::sides::{self, Sink};
use crate::tasks::Tasks;

pub fn measure(variant: Variant, spec: &Spec, ipc_dir: &std::path::Path) -> Sample {
    let site = Site::new(spec.transport, ipc_dir);
    let (pull, sink) = sides::sink(&site, spec.warmup, spec.count);
    let ep = pull.ep.clone();
    let ctx = &site.variant;
    let (start, end) = match variant {
        Variant::Raw => raw(ctx, &ep, spec, &sink),
        Variant::Poll => poll(ctx, &ep, spec, &sink),
        Variant::Calloop => calloop_sender(ctx, &ep, spec, &sink, "calloop-zmq", Multipart::from),
        Variant::CalloopVec => calloop_sender(ctx, &ep, spec, &sink, "calloop-zmq-vec", |data| {
            Multipart::from(data.to_vec())
        }),
        Variant::CalloopHandler => calloop_handler(ctx, &ep, spec, &sink),
        Variant::CalloopAsync => calloop_async(ctx, &ep, spec, &sink),
        Variant::CalloopFd | Variant::CalloopInPlace => unreachable!("recv-only variant"),
        Variant::Tmq | Variant::RustZmqRaw => unreachable!("runs in the tmq peer process"),
        Variant::ZmqRs | Variant::Rzmq => unreachable!("runs in its own peer process"),
    };
    pull.join();
    Sample::rate(spec.count, start, end)
}

/// Blocking sends: the limit.
fn raw(ctx: &zmq::Context, ep: &str, spec: &Spec, sink: &Sink) -> (Mark, Mark) {
    let s = socket(ctx, zmq::SocketType::Push);
    s.connect(ep).expect("raw: connect");
    let data = payload(spec.size);
    for _ in 0..spec.warmup {
        s.send(data, 0).expect("raw: warm-up send");
    }
    wait_for(&sink.warm, "the warm-up to arrive");
    let start = Mark::now();
    for _ in 0..spec.count {
        s.send(data, 0).expect("raw: send");
    }
    (start, wait_for(&sink.done, "the sink to get everything"))
}

/// `DONTWAIT` sends; on `EAGAIN`, `zmq::poll` for `POLLOUT`.
fn poll(ctx: &zmq::Context, ep: &str, spec: &Spec, sink: &Sink) -> (Mark, Mark) {
    let s = socket(ctx, zmq::SocketType::Push);
    s.connect(ep).expect("poll: connect");
    let data = payload(spec.size);
    let send_n = |n: usize| {
        let deadline = Instant::now() + WAIT;
        let mut sent = 0;
        while sent < n {
            match s.send(data, zmq::DONTWAIT) {
                Ok(()) => sent += 1,
                Err(zmq::Error::EAGAIN) => {
                    zmq::poll(&mut [s.as_poll_item(zmq::POLLOUT)], 100).expect("poll: zmq::poll");
                    check_deadline(deadline, "poll: room to send");
                }
                Err(e) => panic!("poll: send: {e}"),
            }
        }
    };
    send_n(spec.warmup);
    wait_for(&sink.warm, "the warm-up to arrive");
    let start = Mark::now();
    send_n(spec.count);
    (start, wait_for(&sink.done, "the sink to get everything"))
}

/// Dispatches `event_loop` until `rx` yields, bounded by [`WAIT`].
fn dispatch_until<T, D>(event_loop: &mut EventLoop<D>, data: &mut D, rx: &mpsc::Receiver<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(v) = rx.try_recv() {
            return v;
        }
        event_loop
            .dispatch(Some(Duration::from_millis(5)), data)
            .expect("calloop: dispatch");
        check_deadline(deadline, "calloop-zmq: the sink");
    }
}

/// calloop-zmq's `Sender`, fed by a producer thread (blocking `send`, which
/// waits while the outbox is full); the loop thread only dispatches. The
/// producer builds each message with `make`: from the static slice
/// (`calloop-zmq`, one copy into the frame) or from an owned `Vec<u8>` it
/// makes per message (`calloop-zmq-vec`).
fn calloop_sender(
    ctx: &zmq::Context,
    ep: &str,
    spec: &Spec,
    sink: &Sink,
    what: &'static str,
    make: fn(&'static [u8]) -> Multipart,
) -> (Mark, Mark) {
    let source = zmq_source(socket(ctx, zmq::SocketType::Push));
    source.connect(ep).expect("calloop-zmq: connect");
    let sender = source.sender();
    let stats = source.stats();
    let mut event_loop: EventLoop<()> = EventLoop::try_new().expect("calloop: new loop");
    source
        .insert(&event_loop.handle(), |_, _, _| {})
        .expect("calloop-zmq: insert the source");
    let (start_tx, start_rx) = mpsc::channel::<()>();
    let (warmup, count, data) = (spec.warmup, spec.count, payload(spec.size));
    let producer = spawn("calloop-zmq-producer", move || {
        for _ in 0..warmup {
            sender
                .send(make(data))
                .expect("calloop-zmq: Sender::send warm-up");
        }
        wait_for(&start_rx, "the start signal");
        for _ in 0..count {
            sender.send(make(data)).expect("calloop-zmq: Sender::send");
        }
    });
    dispatch_until(&mut event_loop, &mut (), &sink.warm);
    let start = Mark::now();
    start_tx.send(()).expect("the producer thread is gone");
    let end = dispatch_until(&mut event_loop, &mut (), &sink.done);
    join(producer, "calloop-zmq producer");
    print_stats(&format!("send {what}"), &stats);
    (start, end)
}

/// calloop-zmq's `SocketHandle::send` (what a handler calls) on the loop
/// thread, through `Dispatcher::as_source_mut`: send while the socket takes
/// messages; once it pushes back (a message waits in the outbox), return to
/// the loop, which sleeps until the socket is writable and flushes, as a
/// handler that sends a few messages per event would.
fn calloop_handler(ctx: &zmq::Context, ep: &str, spec: &Spec, sink: &Sink) -> (Mark, Mark) {
    let source = zmq_source(socket(ctx, zmq::SocketType::Push));
    source.connect(ep).expect("calloop-zmq: connect");
    let mut event_loop: EventLoop<()> = EventLoop::try_new().expect("calloop: new loop");
    let stats = source.stats();
    let dispatcher = Dispatcher::new(source, |_, _, _: &mut ()| {});
    event_loop
        .handle()
        .register_dispatcher(dispatcher.clone())
        .expect("calloop-zmq: register the dispatcher");
    let data = payload(spec.size);
    let mut held: Option<Multipart> = None;
    let mut send_all = |event_loop: &mut EventLoop<()>, n: usize| {
        let deadline = Instant::now() + WAIT;
        let mut sent = 0;
        while sent < n {
            {
                let mut source = dispatcher.as_source_mut();
                let socket = source.handle();
                while sent < n {
                    let msg = held.take().unwrap_or_else(|| Multipart::from(data));
                    match socket.send(msg) {
                        Ok(()) if socket.queued() > 0 => {
                            sent += 1;
                            break;
                        }
                        Ok(()) => sent += 1,
                        Err(SendError::Full(msg)) => {
                            held = Some(msg);
                            break;
                        }
                        Err(e) => panic!("calloop-zmq: SocketHandle::send: {e}"),
                    }
                }
            }
            if held.is_some() || dispatcher.as_source_mut().handle().queued() > 0 {
                event_loop
                    .dispatch(Some(Duration::from_millis(5)), &mut ())
                    .expect("calloop: dispatch");
                check_deadline(deadline, "calloop-zmq: outbox room");
            }
        }
    };
    send_all(&mut event_loop, spec.warmup);
    dispatch_until(&mut event_loop, &mut (), &sink.warm);
    let start = Mark::now();
    send_all(&mut event_loop, spec.count);
    let end = dispatch_until(&mut event_loop, &mut (), &sink.done);
    print_stats("send calloop-zmq-handler", &stats);
    (start, end)
}

/// calloop-zmq's `AsyncSocket`: a task on the chosen executor ([`Tasks`]) awaits
/// `send` for every message (each from the static slice, as `raw`'s).
fn calloop_async(ctx: &zmq::Context, ep: &str, spec: &Spec, sink: &Sink) -> (Mark, Mark) {
    let source = zmq_source(socket(ctx, zmq::SocketType::Push));
    source.connect(ep).expect("calloop-zmq-async: connect");
    let stats = source.stats();
    let mut event_loop: EventLoop<()> = EventLoop::try_new().expect("calloop: new loop");
    let socket = std::rc::Rc::new(
        AsyncSocket::insert(source, &event_loop.handle(), 1)
            .expect("calloop-zmq-async: insert the source"),
    );
    let scheduler = Tasks::insert(&event_loop);
    let data = payload(spec.size);
    let send_n = |n: usize| {
        let socket = socket.clone();
        scheduler.schedule(async move {
            for _ in 0..n {
                socket
                    .send(data)
                    .await
                    .expect("calloop-zmq-async: AsyncSocket::send");
            }
        });
    };
    send_n(spec.warmup);
    dispatch_until(&mut event_loop, &mut (), &sink.warm);
    let start = Mark::now();
    send_n(spec.count);
    let end = dispatch_until(&mut event_loop, &mut (), &sink.done);
    print_stats("send calloop-zmq-async", &stats);
    (start, end)
}
