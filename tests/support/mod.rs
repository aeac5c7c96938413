//! Helpers shared by the core tests.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::{Event, SocketHandle, ZmqSource, zmq};

/// A boxed callback, for sources inserted through a `calloop::Dispatcher`.
pub type Callback<D> = Box<dyn FnMut(Event, &mut SocketHandle, &mut D)>;

/// Generous bound for any single wait: long enough for a loaded machine,
/// short enough that a hang fails the test instead of CI.
pub const WAIT: Duration = Duration::from_secs(20);

/// Dispatches `event_loop` until `done(data)` holds; panics naming `what` if
/// it does not within [`WAIT`].
pub fn run_until<D>(
    event_loop: &mut EventLoop<'_, D>,
    data: &mut D,
    what: &str,
    mut done: impl FnMut(&D) -> bool,
) {
    let deadline = Instant::now() + WAIT;
    while !done(data) {
        assert!(
            Instant::now() < deadline,
            "timed out after {WAIT:?} waiting for: {what}"
        );
        event_loop
            .dispatch(Some(Duration::from_millis(50)), data)
            .unwrap_or_else(|e| panic!("dispatch failed while waiting for {what}: {e}"));
    }
}

/// A tcp loopback endpoint that `socket` bound on an ephemeral port.
pub fn bind_tcp(socket: &zmq::Socket) -> String {
    socket.bind("tcp://127.0.0.1:*").expect("bind tcp loopback");
    socket.last_endpoint().expect("last endpoint")
}

/// A blocking receive bounded by [`WAIT`].
pub fn recv_within(socket: &zmq::Socket, what: &str) -> Vec<Vec<u8>> {
    let ready = socket
        .poll(zmq::POLLIN, WAIT.as_millis() as i64)
        .expect("poll");
    assert!(
        ready.contains(zmq::POLLIN),
        "timed out after {WAIT:?} waiting for: {what}"
    );
    socket.recv_multipart(0).expect("recv")
}

/// A PUSH source with no peer (and no pipe until one connects, linger 0):
/// every message it is given stays queued in its outbox.
pub fn stuck_push(ctx: &zmq::Context, capacity: usize) -> ZmqSource {
    let socket = ctx.socket(zmq::SocketType::Push).unwrap();
    socket.set_immediate(true).unwrap();
    socket.set_linger(0).unwrap();
    let source = ZmqSource::builder(socket)
        .outbox_capacity(capacity)
        .build()
        .unwrap();
    source.connect("tcp://127.0.0.1:1").unwrap(); // nobody listens
    source
}
