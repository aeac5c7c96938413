//! The event source: one ZeroMQ socket owned by a calloop event loop.
//!
//! [`ZmqSource`] registers the socket's `ZMQ_FD` with the loop (through
//! calloop's [`Generic`](calloop::generic::Generic), on its own duplicate of
//! the fd, so the registration ends with the source whatever order things are
//! dropped in) and, on each dispatch, sends what is queued and receives whole
//! messages until libzmq says `EAGAIN` or the per-dispatch budget is spent.
//! Other sources on the loop get their turn in between.
//!
//! How it keeps the edge-triggered `ZMQ_FD` honest is explained once, on
//! [`ZmqSource`](ZmqSource#the-edge-triggered-fd).
//!
//! Each message comes to the callback as an owned [`Event::Message`]. A
//! source built with [`Builder::receive_in_place`] is a
//! `ZmqSource<`[`InPlace`]`>`: its [`Event::Message`] carries a [`Received`]
//! marker and the message stays in the source, where the callback reads it
//! through [`SocketHandle::received`] (see [`ReceiveMode`]).
//!
//! A source ends in one of the ways [`Closed`] describes: closed
//! from inside the loop ([`SocketHandle::close`], [`Sender::close_source`]),
//! closed outside one ([`ZmqSource::close`]), broken ([`Event::Fatal`]: only
//! this source leaves the loop), or dropped.
//!
//! ```no_run
//! use calloop_zmq::calloop::EventLoop;
//! use calloop_zmq::{zmq, Event, ZmqSource};
//!
//! let ctx = zmq::Context::new();
//! let socket = ctx.socket(zmq::SocketType::Rep)?;
//! socket.bind("tcp://127.0.0.1:5555")?;
//!
//! let mut event_loop: EventLoop<()> = EventLoop::try_new()?;
//! ZmqSource::new(socket)?.insert(&event_loop.handle(), |event, socket, _| {
//!     match event {
//!         // Reply straight from the handler; never blocks.
//!         Event::Message(request) => {
//!             if let Err(e) = socket.send(request) {
//!                 eprintln!("{e}");
//!             }
//!         }
//!         Event::Fatal(fatal) => eprintln!("server socket lost: {}", fatal.error),
//!         _ => {}
//!     }
//! })?;
//! event_loop.run(None, &mut (), |_| {})?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod builder;
mod deadline;
mod direct;
mod dispatch;
mod drained;
mod event;
mod forward;
mod handle;
mod lifecycle;
mod send;

use std::time::{Duration, Instant};

use calloop::LoopHandle;
use calloop::RegistrationToken;

pub use builder::{Builder, DEFAULT_BUDGET, DEFAULT_OUTBOX_CAPACITY};
pub(crate) use direct::{DirectSend, SharedSource};
pub use dispatch::ZmqSource;
pub use event::{Event, InPlace, Owned, ReceiveMode, Received};
pub(crate) use forward::forward_registration;
pub use handle::SocketHandle;
pub use lifecycle::{CloseError, Closed, Fatal};

use crate::error::{Error, InsertError, Result};
use crate::outbox::{SendFailure, Sender};
use crate::stats::{Stats, StatsSnapshot};
use crate::zmq;

impl ZmqSource<Owned> {
    /// Wraps a socket of any classic type with default settings.
    pub fn new(socket: zmq::Socket) -> Result<Self> {
        Self::builder(socket).build()
    }

    /// Wraps a socket, with settings to choose first.
    pub fn builder(socket: zmq::Socket) -> Builder<Owned> {
        Builder::new(socket)
    }
}

impl<R: ReceiveMode> ZmqSource<R> {
    /// A thread-safe handle for queueing messages from anywhere.
    pub fn sender(&self) -> Sender {
        self.io.sender()
    }

    /// The source's counters.
    pub fn stats(&self) -> Stats {
        self.io.stats()
    }

    /// The source's counters, exact now: what [`handle`](Self::handle)'s
    /// sends counted is published first (see [`SocketHandle::stats_now`]).
    pub fn stats_now(&mut self) -> StatsSnapshot {
        self.io.stats_now()
    }

    /// The socket, for options and queries.
    ///
    /// # Panics
    /// After the source handed its socket out in [`Event::Closed`] (reachable
    /// only through a [`calloop::Dispatcher`] kept after that event).
    pub fn socket(&self) -> &zmq::Socket {
        self.io.socket()
    }

    /// The socket side, as the callback sees it (for sends or
    /// [`pause_recv`](SocketHandle::pause_recv) before the source is
    /// inserted, or through a [`calloop::Dispatcher`]).
    pub fn handle(&mut self) -> &mut SocketHandle {
        &mut self.io
    }

    /// Binds the socket, with an error that names the endpoint.
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        self.socket().bind(endpoint).map_err(Error::from)
    }

    /// Connects the socket, with an error that names the endpoint.
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        self.socket().connect(endpoint).map_err(Error::from)
    }

    /// Inserts the source into a loop with `callback`, which gets each
    /// [`Event`], the [`SocketHandle`] and the loop's shared data.
    ///
    /// A source that has already ended ([`Event::Closed`], [`Event::Fatal`])
    /// comes back in the [`InsertError`]. If the loop cannot watch the
    /// socket's fds, the insert succeeds and the source's first dispatch
    /// ends it with [`Event::Fatal`], handing back every message it holds:
    /// calloop 0.14 cannot take back a source whose registration failed
    /// without breaking the loop.
    pub fn insert<'l, D, F>(
        self,
        handle: &LoopHandle<'l, D>,
        mut callback: F,
    ) -> Result<RegistrationToken, InsertError<Self>>
    where
        F: FnMut(Event<R::Message>, &mut SocketHandle, &mut D) + 'l,
        D: 'l,
    {
        if self.life.is_ended() {
            let why = Error::InvalidArgument(
                "this ZeroMQ source has ended (closed or broken) and cannot join a loop again"
                    .into(),
            );
            return Err(InsertError::new(self, why.into()));
        }
        handle
            .insert_source(self, move |event, socket, data| {
                callback(event, socket, data)
            })
            .map_err(|e| InsertError::new(e.inserted, e.error))
    }

    /// **Blocks** the calling thread until the outbox is empty or `timeout`
    /// passes, sending with `zmq::poll`. For a source that is not in a loop
    /// (before insertion, or after taking it back from a
    /// [`calloop::Dispatcher`]), typically right before [`close`](Self::close).
    /// A source in a loop flushes and closes itself with
    /// [`SocketHandle::close`] instead, without blocking.
    ///
    /// Returns the messages libzmq refused on the way (handed back), or
    /// [`Error::FlushTimeout`] with the number still queued.
    pub fn flush(&mut self, timeout: Duration) -> Result<Vec<SendFailure>> {
        let deadline = Instant::now() + timeout;
        self.io.mark_check();
        let result = loop {
            if let Err(source) = self.io.send_queued(usize::MAX) {
                break Err(Error::Zmq { op: "send", source });
            }
            // `send_queued` stops early only when the socket pushes back.
            if !self.io.has_queued() {
                break Ok(());
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break Err(Error::FlushTimeout {
                    remaining: self.sender().len(),
                });
            };
            let ms = left.as_millis().clamp(1, i64::MAX as u128) as i64;
            if let Err(source) = self.io.wait_writable(ms) {
                break Err(Error::Zmq { op: "poll", source });
            }
        };
        self.io.settle();
        result.map(|()| self.io.take_refused())
    }

    /// **Blocks** the calling thread, for at most `timeout` in all, to end
    /// the source with nothing cut: the way to finish a program that sends.
    ///
    /// It sends what the outbox holds ([`flush`](Self::flush)), sets the
    /// socket's `ZMQ_LINGER` to the time left, and closes the socket on this
    /// thread. libzmq's I/O thread then writes what it holds to the wire,
    /// and the wait for that happens when the context terminates: when the
    /// last handle on it goes (each socket holds one), which waits at most
    /// that linger. So after `close_blocking` on every source of a context,
    /// dropping your own [`Context`](zmq::Context) handle (returning from
    /// `main` does) returns once everything was written, or the linger
    /// expired. If the socket held the last handle, that wait is in here.
    ///
    /// For a source that is not in a loop: before insertion, or taken back
    /// from a [`calloop::Dispatcher`] (`into_source_inner`) after the loop
    /// ended. Never call it on the loop's thread while other sources there
    /// need to run: it blocks. A source in a loop closes itself without
    /// blocking ([`SocketHandle::close`], then [`Event::Closed`] hands the
    /// socket over: set its linger and drop it, then the context, off the
    /// loop or after it).
    ///
    /// Returns the messages libzmq refused on the way (handed back). On
    /// error ([`Error::FlushTimeout`] when the outbox did not empty in time,
    /// or what libzmq said) nothing was closed: the (boxed) [`CloseError`] holds the
    /// error and, in [`Closed`], the socket (its linger untouched) with
    /// every message that did not go out.
    ///
    /// ```
    /// use std::time::Duration;
    /// use calloop_zmq::{zmq, ZmqSource};
    ///
    /// let ctx = zmq::Context::new();
    /// let pull = ctx.socket(zmq::SocketType::Pull)?;
    /// pull.bind("inproc://close-blocking-doc")?;
    /// let mut push = ZmqSource::new(ctx.socket(zmq::SocketType::Push)?)?;
    /// push.connect("inproc://close-blocking-doc")?;
    /// for i in 0..10 {
    ///     push.handle().send(format!("job {i}"))?;
    /// }
    /// let refused = push.close_blocking(Duration::from_secs(5))?;
    /// assert!(refused.is_empty());
    /// drop(pull);
    /// drop(ctx); // waits, at most the linger, for libzmq to write the rest
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close_blocking(
        mut self,
        timeout: Duration,
    ) -> Result<Vec<SendFailure>, Box<CloseError>> {
        let started = Instant::now();
        let refused = match self.flush(timeout) {
            Ok(refused) => refused,
            Err(error) => {
                let closed = self.close();
                return Err(Box::new(CloseError { error, closed }));
            }
        };
        let left = timeout.saturating_sub(started.elapsed());
        let linger_ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
        if let Err(source) = self.socket().set_linger(linger_ms) {
            let error = Error::Zmq {
                op: "set ZMQ_LINGER",
                source,
            };
            let closed = self.close();
            return Err(Box::new(CloseError { error, closed }));
        }
        // The flush emptied the outbox: nothing is undelivered. The socket
        // is dropped here, not on a background thread, so a context
        // termination it triggers waits in this call, as documented.
        let Closed { socket, .. } = self.close();
        drop(socket);
        Ok(refused)
    }

    /// Closes the source: later sends fail with
    /// [`SendError::Closed`](crate::SendError::Closed), and you get the
    /// socket back with every message still queued. Never blocks.
    ///
    /// This is for a source outside a loop. A source in a loop closes itself
    /// with [`SocketHandle::close`] or [`Sender::close_source`], and hands
    /// the same [`Closed`] to its callback in [`Event::Closed`].
    ///
    /// # Panics
    /// If the source already handed its socket out in [`Event::Closed`]
    /// (reachable only through a [`calloop::Dispatcher`] kept after that
    /// event).
    pub fn close(mut self) -> Closed {
        let remains = self.life.end(&mut self.io, &mut self.partial);
        let Some(socket) = self.io.take_socket() else {
            panic!(
                "ZmqSource::close called after the source handed its socket out in Event::Closed"
            )
        };
        remains.closed(socket)
    }
}
