//! The event source: one ZeroMQ socket owned by a calloop event loop.
//!
//! [`ZmqSource`] registers the socket's `ZMQ_FD` with the loop and, on each
//! dispatch, sends what is queued and receives whole messages until libzmq
//! says `EAGAIN` or the per-dispatch budget is spent. `ZMQ_FD` is
//! edge-triggered and can miss work that a send or receive made visible, so the
//! source re-reads `ZMQ_EVENTS` once before the loop sleeps (never per message)
//! and, if there is work left, asks the loop for another round instead of
//! sleeping. Other sources on the loop get their turn in between. When the
//! dispatch ended on a receive that returned `EAGAIN` with nothing left to
//! send, libzmq has just made that check itself, and the read is skipped.
//!
//! Each message comes to the callback as an owned [`Event::Message`]. A
//! source built with [`Builder::receive_in_place`] instead says
//! [`Event::Received`] and keeps the message, which the callback reads through
//! [`SocketHandle::received`]: the frame is received into again for the next
//! message, saving a frame init and close per message where every
//! instruction counts (see BENCHMARKS.md).
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
//!     if let Event::Message(request) = event {
//!         // Reply straight from the handler; never blocks.
//!         if let Err(e) = socket.send(request) {
//!             eprintln!("{e}");
//!         }
//!     }
//! })?;
//! event_loop.run(None, &mut (), |_| {})?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod forward;
mod handle;
mod lifecycle;
pub(crate) mod wire;

use std::os::fd::{BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use calloop::ping::{PingSource, make_ping};
use calloop::{
    EventSource, Interest, LoopHandle, Mode, Poll, PostAction, Readiness, RegistrationToken, Token,
    TokenFactory,
};

pub(crate) use forward::forward_registration;
pub use handle::SocketHandle;
pub use lifecycle::Closed;

use crate::Multipart;
use crate::error::{Error, Result};
use crate::outbox::{Sender, Shared};
use crate::stats::Stats;
use crate::zmq::{self, Frame};

/// Default outbox capacity, in messages.
pub const DEFAULT_OUTBOX_CAPACITY: usize = 1024;
/// Default per-dispatch budget: messages received plus sent before the source
/// yields to the rest of the loop.
pub const DEFAULT_BUDGET: usize = 256;

/// What the callback receives.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// A whole multipart message arrived.
    Message(Multipart),
    /// A whole message arrived and waits in the source, for a source built
    /// with [`Builder::receive_in_place`]: read it with
    /// [`SocketHandle::received`], or keep it with
    /// [`SocketHandle::take_received`], during this callback.
    Received,
    /// libzmq refused a queued message; here it is back, with the reason.
    SendFailed(SendFailure),
}

/// A queued message libzmq refused, handed back.
#[derive(Debug)]
pub struct SendFailure {
    /// The message, whole.
    pub message: Multipart,
    /// Why libzmq refused it (e.g. `EFSM`, `EHOSTUNREACH`, `ENOTSUP`).
    pub error: zmq::Error,
}

/// Configures a [`ZmqSource`] before it is built.
#[must_use = "call .build() to get the source"]
pub struct Builder {
    socket: zmq::Socket,
    outbox_capacity: usize,
    budget: usize,
    in_place: bool,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("outbox_capacity", &self.outbox_capacity)
            .field("budget", &self.budget)
            .field("in_place", &self.in_place)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// How many messages may wait to be sent (from senders and the handler
    /// together). Default [`DEFAULT_OUTBOX_CAPACITY`]. Must be at least 1.
    pub fn outbox_capacity(mut self, messages: usize) -> Self {
        self.outbox_capacity = messages;
        self
    }

    /// How many messages (received plus sent) one dispatch may handle before
    /// the source lets other sources run. Default [`DEFAULT_BUDGET`]. Must be
    /// at least 1.
    pub fn budget(mut self, messages: usize) -> Self {
        self.budget = messages;
        self
    }

    /// Delivers each message as [`Event::Received`] and keeps it in the
    /// source, where the callback reads it through
    /// [`SocketHandle::received`] (or takes it with
    /// [`SocketHandle::take_received`]). A one-frame message's frame is
    /// reused for the next message, as a blocking `recv` into one
    /// `zmq::Frame` does, which saves libzmq a frame init and close per
    /// message: the fastest way to receive small messages (see
    /// BENCHMARKS.md). Off by default: each message comes as an owned
    /// [`Event::Message`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use calloop_zmq::calloop::EventLoop;
    /// use calloop_zmq::{zmq, Event, ZmqSource};
    ///
    /// let ctx = zmq::Context::new();
    /// let push = ctx.socket(zmq::SocketType::Push)?;
    /// push.bind("inproc://receive-in-place")?;
    /// let pull = ZmqSource::builder(ctx.socket(zmq::SocketType::Pull)?)
    ///     .receive_in_place()
    ///     .build()?;
    /// pull.connect("inproc://receive-in-place")?;
    /// push.send("hello", 0)?;
    ///
    /// let mut event_loop: EventLoop<usize> = EventLoop::try_new()?;
    /// pull.insert(&event_loop.handle(), |event, socket, bytes| {
    ///     if let Event::Received = event {
    ///         // Read it now: the next message is received into the same frame.
    ///         *bytes += socket.received().byte_len();
    ///     }
    /// })?;
    /// let mut bytes = 0;
    /// for _ in 0..50 {
    ///     if bytes > 0 {
    ///         break;
    ///     }
    ///     event_loop.dispatch(Some(Duration::from_millis(100)), &mut bytes)?;
    /// }
    /// assert_eq!(bytes, 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn receive_in_place(mut self) -> Self {
        self.in_place = true;
        self
    }

    /// Builds the source. Fails when a setting is zero or libzmq cannot tell
    /// the socket's type or notification fd.
    pub fn build(self) -> Result<ZmqSource> {
        if self.outbox_capacity == 0 {
            return Err(Error::InvalidArgument(
                "outbox capacity must be at least 1".into(),
            ));
        }
        if self.budget == 0 {
            return Err(Error::InvalidArgument("budget must be at least 1".into()));
        }
        let socket_type = self.socket.socket_type();
        let fd = self.socket.fd().map_err(Error::zmq("get option ZMQ_FD"))?;
        let (ping, ping_source) = make_ping().map_err(|source| Error::Io {
            op: "create the outbox wake-up eventfd",
            source,
        })?;
        let shared = Arc::new(Shared::new(self.outbox_capacity, ping));
        Ok(ZmqSource {
            io: SocketHandle::new(self.socket, socket_type, shared.clone()),
            shared,
            ping: ping_source,
            fd,
            token: None,
            budget: self.budget,
            exhausted: false,
            partial: Vec::new(),
            in_place: self.in_place,
        })
    }
}

/// A ZeroMQ socket as a calloop event source.
///
/// It registers the socket's `ZMQ_FD` with the loop and, on each dispatch,
/// sends what is queued and receives whole messages until libzmq says
/// `EAGAIN` or the per-dispatch budget is spent; then it reads `ZMQ_EVENTS`
/// once before the loop sleeps (unless a receive that returned `EAGAIN` just
/// did the same inside libzmq), since the edge-triggered fd can miss work a
/// send or receive made visible.
pub struct ZmqSource {
    io: SocketHandle,
    shared: Arc<Shared>,
    ping: PingSource,
    fd: RawFd,
    token: Option<Token>,
    budget: usize,
    /// The last dispatch stopped on its budget: run again without sleeping.
    exhausted: bool,
    /// Frames of a message whose tail has not arrived yet.
    partial: Vec<zmq::Frame>,
    /// Deliver `Event::Received` (see `Builder::receive_in_place`).
    in_place: bool,
}

impl ZmqSource {
    /// Wraps a socket of any classic type with default settings.
    pub fn new(socket: zmq::Socket) -> Result<Self> {
        Self::builder(socket).build()
    }

    /// Wraps a socket, with settings to choose first.
    pub fn builder(socket: zmq::Socket) -> Builder {
        Builder {
            socket,
            outbox_capacity: DEFAULT_OUTBOX_CAPACITY,
            budget: DEFAULT_BUDGET,
            in_place: false,
        }
    }

    /// A thread-safe handle for queueing messages from anywhere.
    pub fn sender(&self) -> Sender {
        Sender {
            shared: self.shared.clone(),
        }
    }

    /// The source's counters.
    pub fn stats(&self) -> Stats {
        Stats {
            shared: self.shared.clone(),
        }
    }

    /// The socket, for options and queries.
    pub fn socket(&self) -> &zmq::Socket {
        self.io.socket()
    }

    /// The socket side, as the callback sees it.
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
    pub fn insert<'l, D, F>(
        self,
        handle: &LoopHandle<'l, D>,
        mut callback: F,
    ) -> Result<RegistrationToken>
    where
        F: FnMut(Event, &mut SocketHandle, &mut D) + 'l,
        D: 'l,
    {
        handle
            .insert_source(self, move |event, socket, data| {
                callback(event, socket, data)
            })
            .map_err(|e| Error::Insert(e.error))
    }

    /// **Blocks** the calling thread until the outbox is empty or `timeout`
    /// passes, sending with `zmq::poll`. For a source that is not in a loop
    /// (before insertion, or after taking it back from a
    /// [`calloop::Dispatcher`]), typically right before [`close`](Self::close).
    ///
    /// Returns the messages libzmq refused on the way (handed back), or
    /// [`Error::FlushTimeout`] with the number still queued.
    pub fn flush(&mut self, timeout: Duration) -> Result<Vec<SendFailure>> {
        let deadline = Instant::now() + timeout;
        self.io.needs_check.set(true);
        self.shared.take_into(&mut self.io.pending);
        let result = loop {
            if let Err(e) = self.io.flush_pending(usize::MAX) {
                break Err(e);
            }
            if self.io.pending.is_empty() {
                break Ok(());
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break Err(Error::FlushTimeout {
                    remaining: self.io.pending.len(),
                });
            };
            let ms = left.as_millis().clamp(1, i64::MAX as u128) as i64;
            if let Err(source) = self.io.sock().poll(zmq::POLLOUT, ms) {
                break Err(Error::Zmq { op: "poll", source });
            }
            self.shared.take_into(&mut self.io.pending);
        };
        self.settle();
        result.map(|()| std::mem::take(&mut self.io.failures))
    }

    /// Closes the source: later sends fail with
    /// [`SendError::Closed`](crate::SendError::Closed), and you get the
    /// socket back with every message still queued. Never blocks.
    ///
    /// To close a source that is in a loop, insert it through a
    /// [`calloop::Dispatcher`], remove it from the loop, then call
    /// [`Dispatcher::into_source_inner`](calloop::Dispatcher::into_source_inner).
    pub fn close(mut self) -> Closed {
        let undelivered = self.take_undelivered();
        let partial = std::mem::take(&mut self.partial);
        Closed {
            socket: self.io.take_socket(),
            undelivered,
            partial,
        }
    }

    /// Closes the outbox and collects everything it held, handler's queue
    /// first (it is older), then what senders had queued.
    fn take_undelivered(&mut self) -> Vec<Multipart> {
        let mut all: Vec<Multipart> = self.io.pending.drain(..).collect();
        all.extend(self.shared.close());
        all.extend(self.io.failures.drain(..).map(|f| f.message));
        all
    }

    fn settle(&mut self) {
        self.shared.settle(self.io.pending.len());
        self.shared.counters.publish(&mut self.io.tally);
    }

    /// Receives whole messages until `EAGAIN`, a pause, or `limit` messages,
    /// handing each to `callback`. Returns how many it delivered, and whether
    /// it stopped on `EAGAIN`.
    ///
    /// This is the receive hot path: one frame at a time straight from
    /// libzmq into the message the callback gets, with the rare multipart
    /// case kept off to the side.
    fn recv_batch<F>(&mut self, limit: usize, callback: &mut F) -> Result<(usize, bool)>
    where
        F: FnMut(Event, &mut SocketHandle),
    {
        let mut received = 0;
        let mut drained = false;
        // The callback may pause receiving, so `paused` is read every time.
        while received < limit && !self.io.paused {
            // The event is built first and libzmq fills its frame in place:
            // no freshly written `zmq_msg_t` is copied on the way to the
            // callback (see `wire::init_in_place`).
            let mut event = Event::Message(Multipart::from(Frame::unready()));
            let Event::Message(msg) = &mut event else {
                // Cannot happen: built as a message just above (and before
                // `init_in_place`, so nothing here may drop it).
                break;
            };
            let frame = &mut msg.frames_mut()[0];
            frame.init_in_place();
            let (len, more) = match wire::recv_into(self.io.sock(), frame) {
                Ok(received) => received,
                Err(e) => {
                    drained = batch_end(e)?;
                    break;
                }
            };
            self.io.tally.bytes_in += len as u64;
            if !gather(&mut self.partial, msg, more) {
                continue;
            }
            received += 1;
            callback(event, &mut self.io);
        }
        self.io.tally.messages_in += received as u64;
        Ok((received, drained))
    }

    /// [`recv_batch`](Self::recv_batch) for [`Builder::receive_in_place`]:
    /// the message stays in the handle and a one-frame message's frame is
    /// received into again (libzmq closes its old content first), so the
    /// common case neither initialises nor closes a frame of its own.
    fn recv_batch_in_place<F>(&mut self, limit: usize, callback: &mut F) -> Result<(usize, bool)>
    where
        F: FnMut(Event, &mut SocketHandle),
    {
        let mut received = 0;
        let mut drained = false;
        while received < limit && !self.io.paused {
            let (len, more) = match self.io.recv_in_place() {
                Ok(received) => received,
                Err(e) => {
                    drained = batch_end(e)?;
                    break;
                }
            };
            self.io.tally.bytes_in += len as u64;
            if !gather(&mut self.partial, &mut self.io.received, more) {
                continue;
            }
            received += 1;
            callback(Event::Received, &mut self.io);
        }
        self.io.tally.messages_in += received as u64;
        Ok((received, drained))
    }

    /// One dispatch: send what is queued, then receive until `EAGAIN` or the
    /// budget is spent. Whatever is left (the socket became writable for
    /// messages the handler queued, say) shows in `ZMQ_EVENTS`, which
    /// `before_sleep` reads, so one pass is enough.
    fn pump<F>(&mut self, callback: &mut F) -> Result<()>
    where
        F: FnMut(Event, &mut SocketHandle),
    {
        self.io.tally.dispatches += 1;
        self.io.needs_check.set(true);
        // Send in batches: what the loop holds first, then, once that is
        // all out, what senders queued meanwhile. Messages stay with the
        // senders' queue (and keep counting against the capacity) until the
        // loop is ready for them.
        let mut sent = 0;
        loop {
            self.shared.refill(&mut self.io.pending);
            if self.io.pending.is_empty() {
                break; // nothing (more) to send
            }
            sent += self.io.flush_pending(self.budget - sent)?;
            if !self.io.pending.is_empty() || sent >= self.budget {
                break; // the socket pushed back, or the budget is spent
            }
        }
        for failure in std::mem::take(&mut self.io.failures) {
            callback(Event::SendFailed(failure), &mut self.io);
        }
        let (received, drained) = if !self.io.can_recv {
            (0, false)
        } else if self.in_place {
            self.recv_batch_in_place(self.budget - sent, callback)?
        } else {
            self.recv_batch(self.budget - sent, callback)?
        };
        if sent + received >= self.budget {
            self.exhausted = true;
            self.io.tally.budget_exhausted += 1;
        } else if drained && self.io.pending.is_empty() {
            // The last call into libzmq was a receive that said EAGAIN after
            // processing every pending command, which is what reading
            // ZMQ_EVENTS would do: nothing is readable, and whatever arrives
            // next signals the fd again. With nothing to send, writability
            // does not matter, so the check (a syscall) can be skipped.
            self.io.needs_check.set(false);
        }
        Ok(())
    }

    /// True when `ZMQ_EVENTS` shows work the edge-triggered fd may never
    /// announce.
    fn has_work(&mut self) -> Result<bool> {
        let want_read = self.io.can_recv && !self.io.paused;
        let want_write = !self.io.pending.is_empty();
        if !want_read && !want_write {
            // Nothing ZMQ_EVENTS could say would make us act; save the
            // syscall. libzmq's pending commands (new pipes, subscriptions
            // for a PUB) wait for the next send, which processes them as it
            // would in a program that only sends; a send that cannot go out
            // yet marks a check, and that one processes them.
            return Ok(false);
        }
        let events = self
            .io
            .sock()
            .events()
            .map_err(Error::zmq("get option ZMQ_EVENTS"))?;
        let readable = events.contains(zmq::POLLIN) && want_read;
        let writable = events.contains(zmq::POLLOUT) && want_write;
        Ok(readable || writable)
    }
}

/// How a receive error ends a batch: `Ok(true)` for `EAGAIN` (drained),
/// `Ok(false)` for `EFSM` (a REQ socket with no request outstanding has
/// nothing to read), and an error for anything else.
fn batch_end(e: zmq::Error) -> Result<bool> {
    match e {
        zmq::Error::EAGAIN => Ok(true),
        zmq::Error::EFSM => Ok(false),
        source => Err(Error::Zmq { op: "recv", source }),
    }
}

/// Multipart messages are gathered off to the side: a frame with `more`, or
/// the last of several, moves from `slot` to `partial`, and the whole message
/// goes back into `slot` once its last frame is in. Returns whether `slot`
/// holds a whole message. One-frame messages stay where they are.
#[inline]
fn gather(partial: &mut Vec<zmq::Frame>, slot: &mut Multipart, more: bool) -> bool {
    if more || !partial.is_empty() {
        partial.extend(std::mem::take(slot));
        if more {
            return false;
        }
        *slot = Multipart::take_from(partial);
    }
    true
}

impl EventSource for ZmqSource {
    type Event = Event;
    type Metadata = SocketHandle;
    type Ret = ();
    type Error = Error;

    const NEEDS_EXTRA_LIFECYCLE_EVENTS: bool = true;

    fn process_events<F>(
        &mut self,
        readiness: Readiness,
        token: Token,
        mut callback: F,
    ) -> Result<PostAction>
    where
        F: FnMut(Event, &mut SocketHandle),
    {
        // Drain the wake-up eventfd if it fired; the outbox is read below anyway.
        self.ping
            .process_events(readiness, token, |(), &mut ()| {})
            .map_err(|e| Error::Io {
                op: "read the outbox wake-up eventfd",
                source: std::io::Error::other(e),
            })?;
        self.exhausted = false;
        let result = self.pump(&mut callback);
        self.settle();
        result.map(|()| PostAction::Continue)
    }

    fn register(&mut self, poll: &mut Poll, factory: &mut TokenFactory) -> calloop::Result<()> {
        let token = factory.token();
        // SAFETY: `Poll::register` wants the fd unregistered before it is
        // closed. The fd is the socket's `ZMQ_FD`, open as long as the socket,
        // which this source owns and closes only when it is dropped; calloop
        // calls `unregister` when the source is removed from a loop. A loop
        // dropped with the source still in it drops the poller with it, so
        // no registration outlives the poller either way. (Moving this to
        // calloop's `Generic`, which unregisters in `Drop`, is issue 11.)
        unsafe {
            poll.register(
                BorrowedFd::borrow_raw(self.fd),
                Interest::READ,
                Mode::Edge,
                token,
            )?
        };
        self.token = Some(token);
        self.ping.register(poll, factory)?;
        self.shared.set_loop_thread();
        // Work may be waiting that no future edge will announce.
        self.io.needs_check.set(true);
        Ok(())
    }

    fn reregister(&mut self, poll: &mut Poll, factory: &mut TokenFactory) -> calloop::Result<()> {
        let token = factory.token();
        poll.reregister(
            // SAFETY: the socket's ZMQ_FD stays open while we own the socket.
            unsafe { BorrowedFd::borrow_raw(self.fd) },
            Interest::READ,
            Mode::Edge,
            token,
        )?;
        self.token = Some(token);
        self.ping.reregister(poll, factory)?;
        self.shared.set_loop_thread();
        self.io.needs_check.set(true);
        Ok(())
    }

    fn unregister(&mut self, poll: &mut Poll) -> calloop::Result<()> {
        self.token = None;
        // SAFETY: the socket's ZMQ_FD stays open while we own the socket.
        poll.unregister(unsafe { BorrowedFd::borrow_raw(self.fd) })?;
        self.ping.unregister(poll)
    }

    fn before_sleep(&mut self) -> calloop::Result<Option<(Readiness, Token)>> {
        let Some(token) = self.token else {
            return Ok(None);
        };
        // Read ZMQ_EVENTS once per loop iteration, and only if something
        // happened since libzmq last processed its commands (our read, or a
        // receive that returned EAGAIN): it costs a syscall when idle.
        let more = self.exhausted || (self.io.needs_check.replace(false) && self.has_work()?);
        Ok(more.then_some((Readiness::EMPTY, token)))
    }
}

impl Drop for ZmqSource {
    fn drop(&mut self) {
        let lost = self.take_undelivered();
        if !lost.is_empty() {
            self.shared
                .counters
                .dropped_at_drop
                .fetch_add(lost.len() as u64, std::sync::atomic::Ordering::Relaxed);
            tracing::warn!(
                messages = lost.len(),
                "ZmqSource dropped with undelivered messages; use ZmqSource::close to get them back"
            );
        }
        // The socket itself is closed off-thread by `SocketHandle`'s drop.
    }
}

impl std::fmt::Debug for ZmqSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZmqSource")
            .field("socket", &self.io)
            .field("budget", &self.budget)
            .field("in_place", &self.in_place)
            .field("outbox_capacity", &self.shared.capacity())
            .finish()
    }
}
