//! How a source ends: where it is in its life ([`Life`]), the one ending
//! sequence, and the [`Closed`] and [`Fatal`] payloads it ends with. The
//! rules are documented once, on [`Closed`], where users see them.

use std::time::{Duration, Instant};

use crate::error::Error;
use crate::message::Multipart;
use crate::zmq;

use super::handle::SocketHandle;

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
///   blocking [`ZmqSource::flush`](crate::ZmqSource::flush);
///   [`ZmqSource::close_blocking`](crate::ZmqSource::close_blocking) does
///   both and closes the socket with a finite linger, for a clean exit.
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

/// Why [`ZmqSource::close_blocking`](crate::ZmqSource::close_blocking) did
/// not close the socket: what failed, and the socket with every message
/// that did not go out, as [`ZmqSource::close`](crate::ZmqSource::close)
/// hands them back.
#[derive(Debug, thiserror::Error)]
#[error("closing the source failed: {error} ({} message(s) not sent)", .closed.undelivered.len())]
#[non_exhaustive]
pub struct CloseError {
    /// What failed: [`Error::FlushTimeout`] when the outbox did not empty in
    /// time, or what libzmq said.
    pub error: Error,
    /// The socket (still open, its linger as it was) and what did not go
    /// out.
    pub closed: Closed,
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

/// Where a source is in its life.
#[derive(Debug, Default)]
pub(super) enum Life {
    /// Receiving and sending.
    #[default]
    Open,
    /// Closing as asked: sending what is queued until this deadline.
    Closing(Instant),
    /// An error that ends the socket was found outside a dispatch (in
    /// `before_sleep`, a direct receive, a failed registration): the next
    /// dispatch, which `before_sleep` asks for, ends the source with it.
    Failing(Error),
    /// The source said its last event (closed or broken), or was closed or
    /// dropped outside a loop.
    Ended,
}

impl Life {
    pub(super) fn is_ended(&self) -> bool {
        matches!(self, Life::Ended)
    }

    /// True while the source may receive and send on its own: not failing
    /// or ended.
    pub(super) fn is_live(&self) -> bool {
        matches!(self, Life::Open | Life::Closing(_))
    }

    /// Records an error that ends the socket, to report at the next
    /// dispatch; the first one found is the one reported.
    pub(super) fn fail(&mut self, error: Error) {
        if self.is_live() {
            *self = Life::Failing(error);
        }
    }

    /// The error a dispatch must end the source with, if one is waiting.
    pub(super) fn take_failure(&mut self) -> Option<Error> {
        match std::mem::take(self) {
            Life::Failing(error) => Some(error),
            other => {
                *self = other;
                None
            }
        }
    }

    /// Starts (or shortens) a close that flushes for at most `timeout`.
    /// Returns the deadline when it is new or earlier than the one before,
    /// so the caller arms a timer for it.
    pub(super) fn close_within(&mut self, timeout: Duration) -> Option<Instant> {
        let now = Instant::now();
        let deadline = now
            .checked_add(timeout)
            .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365));
        match self {
            Life::Open => {}
            Life::Closing(earlier) if deadline < *earlier => {}
            _ => return None,
        }
        *self = Life::Closing(deadline);
        Some(deadline)
    }

    /// The flush deadline of a close under way.
    pub(super) fn deadline(&self) -> Option<Instant> {
        match self {
            Life::Closing(deadline) => Some(*deadline),
            _ => None,
        }
    }

    /// The one ending sequence, for every way a source ends: from now on it
    /// is ended, its outbox accepts nothing (later sends fail with
    /// [`SendError::Closed`](crate::SendError::Closed)), and everything it
    /// held comes back, oldest first, with the frames of a message whose
    /// tail had not arrived.
    pub(super) fn end(&mut self, io: &mut SocketHandle, partial: &mut Vec<zmq::Frame>) -> Remains {
        *self = Life::Ended;
        Remains {
            undelivered: io.close_outbox(),
            partial: std::mem::take(partial),
        }
    }
}

/// What a source held when it ended.
pub(super) struct Remains {
    pub(super) undelivered: Vec<Multipart>,
    pub(super) partial: Vec<zmq::Frame>,
}

impl Remains {
    pub(super) fn closed(self, socket: zmq::Socket) -> Closed {
        Closed {
            socket,
            undelivered: self.undelivered,
            partial: self.partial,
        }
    }

    pub(super) fn fatal(self, error: Error) -> Fatal {
        Fatal {
            error,
            undelivered: self.undelivered,
            partial: self.partial,
        }
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
