//! Ending a source: the [`Closed`] and [`Fatal`] payloads, and the closer
//! thread that keeps a socket's drop off the caller's thread. The rules are
//! documented on [`Closed`], where users see them.

use crate::error::Error;
use crate::message::Multipart;
use crate::zmq;

/// A source's last words when it closed: the socket and every message it
/// still held. From [`ZmqSource::close`](crate::ZmqSource::close) or, for a
/// source closed from inside its loop, [`Event::Closed`](crate::Event::Closed).
///
/// # Four ways a source ends
///
/// - **Closed from inside the loop**: [`SocketHandle::close`](crate::SocketHandle::close)
///   (in the callback) or [`Sender::close_source`](crate::Sender::close_source)
///   (from any thread). The source stops accepting and receiving, sends what
///   is queued until the flush timeout, then hands the callback
///   [`Event::Closed`](crate::Event::Closed) with a `Closed` and removes
///   itself from the loop.
/// - **Closed outside a loop**: [`ZmqSource::close`](crate::ZmqSource::close)
///   on a source that was never inserted (or that you took back from a
///   [`calloop::Dispatcher`]) returns a `Closed` at once, after an optional
///   blocking [`ZmqSource::flush`](crate::ZmqSource::flush).
/// - **A fatal socket error** (`ETERM` after its context was terminated,
///   `ENOTSOCK`, `EFAULT`): the source hands the callback
///   [`Event::Fatal`](crate::Event::Fatal) with a [`Fatal`] (the error and
///   every message it still held) and removes itself; the loop and its other
///   sources go on.
/// - **Dropped** (removed from the loop, or the loop dropped): messages still
///   queued are logged (`tracing`, warn) and counted in
///   [`StatsSnapshot::dropped_at_drop`](crate::StatsSnapshot::dropped_at_drop);
///   nothing can hand them back.
///
/// # Linger, and what can block
///
/// calloop-zmq leaves `ZMQ_LINGER` as you set it (libzmq's default is -1:
/// keep trying to deliver forever). Closing a socket never blocks in libzmq,
/// but terminating its context waits for lingering messages, and a
/// [`Socket`](crate::zmq::Socket) holds a reference on its
/// [`Context`](crate::zmq::Context), so dropping the last socket of a context
/// can block (the same trap as rust-zmq#382). A source therefore never drops
/// its socket on the caller's thread: a dropped or broken source's socket is
/// dropped on a short-lived background thread, where a context termination
/// may wait as long as the linger allows while your loop goes on.
///
/// Two drops stay yours, and either can block:
/// - **this `socket`**, when it holds the last reference on its context;
/// - **your own [`Context`](crate::zmq::Context) handle**, when the sockets
///   are gone but one of them still has messages in libzmq's queues (sent,
///   not yet delivered, e.g. to a peer that went away).
///
/// With linger -1 either waits until every such message reached a peer,
/// which is forever if the peer is gone. To make them never block, give the
/// socket a finite linger before the last drop (`set_linger(0)` discards
/// what is left; a few hundred milliseconds gives it a chance), or drop them
/// on a thread that may wait:
///
/// ```
/// use std::time::Duration;
/// use calloop_zmq::calloop::EventLoop;
/// use calloop_zmq::{zmq, Closed, Event, ZmqSource};
///
/// let ctx = zmq::Context::new();
/// // A PUSH whose peer never comes: libzmq takes the message into the
/// // connection's pipe, where it can never be delivered.
/// let push = ZmqSource::new(ctx.socket(zmq::SocketType::Push)?)?;
/// push.connect("tcp://127.0.0.1:1")?;
/// let sender = push.sender();
/// sender.try_send("never delivered")?;
///
/// let mut event_loop: EventLoop<Option<Closed>> = EventLoop::try_new()?;
/// push.insert(&event_loop.handle(), |event, _, closed| {
///     if let Event::Closed(c) = event {
///         *closed = Some(c);
///     }
/// })?;
/// sender.close_source(Duration::from_secs(1));
/// let mut closed = None;
/// let deadline = std::time::Instant::now() + Duration::from_secs(5);
/// while closed.is_none() && std::time::Instant::now() < deadline {
///     event_loop.dispatch(Duration::from_millis(10), &mut closed)?;
/// }
/// let closed = closed.expect("closed within 5 s");
/// // The message is in libzmq's pipe: with linger -1, dropping the socket
/// // and then `ctx` would wait for it forever. Linger 0 discards it.
/// closed.socket.set_linger(0)?;
/// drop(closed);
/// drop(ctx); // returns at once
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[non_exhaustive]
pub struct Closed {
    /// The socket, still bound/connected; drop it or reuse it. Dropping it
    /// may block if it holds the last reference on its context (see
    /// [above](Closed#linger-and-what-can-block)).
    pub socket: zmq::Socket,
    /// Messages queued for sending that libzmq never took, oldest first.
    pub undelivered: Vec<Multipart>,
    /// Frames of a message whose remaining frames had not arrived yet (almost
    /// always empty: libzmq delivers multiparts whole).
    pub partial: Vec<zmq::Frame>,
}

/// Why a source ended on its own, and what it still held: the payload of
/// [`Event::Fatal`](crate::Event::Fatal). The socket cannot be used again; the
/// source drops it (off the loop's thread) when it leaves the loop.
#[derive(Debug)]
#[non_exhaustive]
pub struct Fatal {
    /// What failed, e.g. `recv failed: Context was terminated (ETERM)`.
    pub error: Error,
    /// Messages queued for sending that libzmq never took, oldest first.
    pub undelivered: Vec<Multipart>,
    /// Frames of a message whose remaining frames had not arrived.
    pub partial: Vec<zmq::Frame>,
}

/// Drops `socket` on a background thread so a context termination it may
/// trigger cannot block the caller.
pub(super) fn close_in_background(socket: zmq::Socket) {
    let spawned = std::thread::Builder::new()
        .name("calloop-zmq-close".into())
        .spawn(move || drop(socket));
    if let Err(e) = spawned {
        // The closure, and the socket with it, was dropped inline by now.
        tracing::warn!(error = %e, "could not start a closer thread; socket was closed inline");
    }
}

impl std::fmt::Debug for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Closed")
            .field("undelivered", &self.undelivered)
            .field("partial_frames", &self.partial.len())
            .finish_non_exhaustive()
    }
}
