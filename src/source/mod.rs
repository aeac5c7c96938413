//! The event source: one ZeroMQ socket owned by a calloop event loop.
//!
//! [`ZmqSource`] registers the socket's `ZMQ_FD` with the loop (through
//! calloop's [`Generic`], on its own duplicate of the fd, so the registration
//! ends with the source whatever order things are dropped in) and, on each
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

mod deadline;
mod forward;
mod handle;
mod lifecycle;
mod receive;

use std::marker::PhantomData;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use calloop::generic::Generic;
use calloop::ping::{PingSource, make_ping};
use calloop::{
    EventSource, Interest, LoopHandle, Mode, Poll, PostAction, Readiness, RegistrationToken, Token,
    TokenFactory,
};

pub(crate) use forward::forward_registration;
pub use handle::SocketHandle;
pub use lifecycle::{Closed, Fatal};
pub use receive::{InPlace, Owned, ReceiveMode, Received};

use crate::error::{Error, InsertError, Result};
use crate::message::Multipart;
use crate::outbox::{Outbox, SendFailure, Sender};
use crate::stats::{Counters, Stats};
use crate::zmq::{self, Frame};

/// Default outbox capacity, in messages.
pub const DEFAULT_OUTBOX_CAPACITY: usize = 1024;
/// Default per-dispatch budget: messages received plus sent before the source
/// yields to the rest of the loop.
pub const DEFAULT_BUDGET: usize = 256;

/// What the callback receives. `M` is what a message event carries:
/// [`Multipart`] by default, [`Received`] for a source that receives in
/// place (see [`ReceiveMode`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<M = Multipart> {
    /// A whole multipart message arrived.
    Message(M),
    /// libzmq refused a queued message; here it is back, with the reason.
    SendFailed(SendFailure),
    /// The source closed as asked ([`SocketHandle::close`],
    /// [`Sender::close_source`]): here are its socket and every message that
    /// did not go out. This is the source's last event; it has left the loop.
    Closed(Closed),
    /// The socket broke (e.g. `ETERM`: its context was terminated): here are
    /// the error and every message the source still held. This is the
    /// source's last event; it has left the loop, which goes on with its
    /// other sources.
    Fatal(Fatal),
}

/// Configures a [`ZmqSource`] before it is built. `R` is the receive mode
/// ([`Owned`] unless [`receive_in_place`](Builder::receive_in_place) was
/// called).
#[must_use = "call .build() to get the source"]
pub struct Builder<R: ReceiveMode = Owned> {
    socket: zmq::Socket,
    outbox_capacity: usize,
    budget: usize,
    mode: PhantomData<fn() -> R>,
}

impl<R: ReceiveMode> std::fmt::Debug for Builder<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("outbox_capacity", &self.outbox_capacity)
            .field("budget", &self.budget)
            .field("mode", &std::any::type_name::<R>())
            .finish_non_exhaustive()
    }
}

impl Builder<Owned> {
    /// Receives in place: the source becomes a `ZmqSource<`[`InPlace`]`>`,
    /// whose [`Event::Message`] carries a [`Received`] marker while the
    /// message waits in the source, where the callback reads it through
    /// [`SocketHandle::received`] (or takes it with
    /// [`SocketHandle::take_received`]). A one-frame message's frame is
    /// reused for the next message, as a blocking `recv` into one
    /// `zmq::Frame` does, which saves libzmq a frame init and close per
    /// message: the fastest way to receive small messages (see
    /// BENCHMARKS.md). Off by default: each message comes as an owned
    /// [`Multipart`].
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
    ///     if let Event::Message(_received) = event {
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
    pub fn receive_in_place(self) -> Builder<InPlace> {
        Builder {
            socket: self.socket,
            outbox_capacity: self.outbox_capacity,
            budget: self.budget,
            mode: PhantomData,
        }
    }
}

impl<R: ReceiveMode> Builder<R> {
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

    /// Builds the source. Fails when a setting is zero, or libzmq cannot tell
    /// the socket's notification fd, or the fd cannot be duplicated for the
    /// loop.
    pub fn build(self) -> Result<ZmqSource<R>> {
        if self.outbox_capacity == 0 {
            return Err(Error::InvalidArgument(
                "outbox capacity must be at least 1".into(),
            ));
        }
        if self.budget == 0 {
            return Err(Error::InvalidArgument("budget must be at least 1".into()));
        }
        // The loop watches its own duplicate of ZMQ_FD: the registration then
        // depends on nothing libzmq closes, and calloop's `Generic` removes it
        // when the source is dropped, whether or not `unregister` ran.
        let fd: OwnedFd = self
            .socket
            .notify_fd()
            .map_err(Error::zmq("get option ZMQ_FD"))?
            .try_clone_to_owned()
            .map_err(|source| Error::Io {
                op: "duplicate the socket's ZMQ_FD for the event loop",
                source,
            })?;
        let (ping, ping_source) = make_ping().map_err(|source| Error::Io {
            op: "create the outbox wake-up eventfd",
            source,
        })?;
        let outbox = Outbox::new(self.outbox_capacity, ping);
        Ok(ZmqSource {
            io: SocketHandle::new(self.socket, outbox),
            notify: Generic::new(fd, Interest::READ, Mode::Edge),
            ping: ping_source,
            wake: None,
            close_timer: None,
            budget: self.budget,
            exhausted: false,
            partial: Vec::new(),
            closing: None,
            ending: None,
            ended: false,
            mode: PhantomData,
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
///
/// `R` is the receive mode: [`Owned`] (the default) or [`InPlace`].
///
/// Dropping a source never blocks: its socket is closed on a background
/// thread. Dropping your own [`Context`](zmq::Context) handle, or the socket
/// from [`Closed`], can block while libzmq still holds undelivered messages
/// under `ZMQ_LINGER` = -1; [`Closed`](Closed#linger-and-what-can-block) says
/// when and how to avoid it.
pub struct ZmqSource<R: ReceiveMode = Owned> {
    io: SocketHandle,
    /// The loop's registration of (a duplicate of) `ZMQ_FD`.
    notify: Generic<OwnedFd>,
    ping: PingSource,
    /// A token of this source's own, for the wake-ups `before_sleep` asks for.
    wake: Option<Token>,
    /// Armed while closing, so the flush deadline wakes the loop.
    close_timer: Option<deadline::DeadlineTimer>,
    budget: usize,
    /// The last dispatch stopped on its budget: run again without sleeping.
    exhausted: bool,
    /// Frames of a message whose tail has not arrived yet.
    partial: Vec<Frame>,
    /// Closing as asked: the flush deadline.
    closing: Option<Instant>,
    /// A fatal error found outside a dispatch (in `before_sleep`), to be
    /// reported in the next one.
    ending: Option<Error>,
    /// The source said its last event (closed or broken).
    ended: bool,
    mode: PhantomData<fn() -> R>,
}

impl ZmqSource<Owned> {
    /// Wraps a socket of any classic type with default settings.
    pub fn new(socket: zmq::Socket) -> Result<Self> {
        Self::builder(socket).build()
    }

    /// Wraps a socket, with settings to choose first.
    pub fn builder(socket: zmq::Socket) -> Builder<Owned> {
        Builder {
            socket,
            outbox_capacity: DEFAULT_OUTBOX_CAPACITY,
            budget: DEFAULT_BUDGET,
            mode: PhantomData,
        }
    }

    /// Receives at most one whole message now, outside a dispatch: the
    /// async socket's `recv` takes messages this way when its inbox is
    /// empty, so they skip the inbox. `None` when libzmq has none, or the
    /// source does not receive (paused, closing, ended, or an error is
    /// waiting to end it).
    ///
    /// The edge-triggered fd stays honest as in a dispatch
    /// ([`settle_check`](Self::settle_check)): a receive that did not end in
    /// `EAGAIN` (or with messages waiting to go out) marks a `ZMQ_EVENTS`
    /// re-read before the loop sleeps, so messages left in libzmq reach the
    /// source, and one that did clears it. An error that ends the socket is kept for
    /// the next dispatch (which `before_sleep` asks for), which ends the
    /// source with [`Event::Fatal`] as if it had found the error itself.
    pub(crate) fn recv_now(&mut self) -> Option<Multipart> {
        if self.ended || self.ending.is_some() {
            return None;
        }
        let mut got = None;
        match self.recv_batch(1, &mut |event, _| {
            if let Event::Message(msg) = event {
                got = Some(msg);
            }
        }) {
            Ok((_, drained)) => self.settle_check(drained),
            Err(error) => self.ending = Some(error),
        }
        got
    }

    /// Ends the source outside its loop, which let go of it without it
    /// ending (the async socket's feeder, dropped with its loop): later
    /// sends fail with [`SendError::Closed`](crate::SendError::Closed).
    /// Returns what was waiting to go out, oldest first; empty if the
    /// source had already ended.
    pub(crate) fn end_removed(&mut self) -> Vec<Multipart> {
        if self.ended {
            return Vec::new();
        }
        self.ended = true;
        self.io.close_outbox()
    }

    /// Messages the source moves per dispatch at most.
    pub(crate) fn budget(&self) -> usize {
        self.budget
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
        if self.ended {
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
        self.ended = true;
        let undelivered = self.io.close_outbox();
        let partial = std::mem::take(&mut self.partial);
        let Some(socket) = self.io.take_socket() else {
            panic!(
                "ZmqSource::close called after the source handed its socket out in Event::Closed"
            )
        };
        Closed {
            socket,
            undelivered,
            partial,
        }
    }

    /// Receives whole messages until `EAGAIN`, a pause, or `limit` messages,
    /// handing each to `callback`. Returns how many it delivered, and whether
    /// it stopped on `EAGAIN`.
    ///
    /// This is the receive hot path, for both modes: one frame at a time
    /// straight from libzmq into the message the callback gets, with the rare
    /// multipart case kept off to the side.
    fn recv_batch<F>(&mut self, limit: usize, callback: &mut F) -> Result<(usize, bool)>
    where
        F: FnMut(Event<R::Message>, &mut SocketHandle),
    {
        let mut received = 0;
        let mut drained = false;
        // The callback may pause (or close) the source, so this is read every time.
        while received < limit && self.io.wants_messages() {
            let mut event = R::blank();
            let (len, more) = match R::recv(&mut event, &mut self.io) {
                Ok(received) => received,
                Err(e) => {
                    drained = batch_end(e)?;
                    break;
                }
            };
            self.io.tally().bytes_in += len as u64;
            if !gather(&mut self.partial, R::slot(&mut event, &mut self.io), more) {
                continue;
            }
            received += 1;
            callback(event, &mut self.io);
        }
        self.io.tally().messages_in += received as u64;
        Ok((received, drained))
    }

    /// One dispatch: send what is queued, then receive until `EAGAIN` or the
    /// budget is spent. Whatever is left (the socket became writable for
    /// messages the handler queued, say) shows in `ZMQ_EVENTS`, which
    /// `before_sleep` reads, so one pass is enough.
    fn pump<F>(&mut self, callback: &mut F) -> Result<()>
    where
        F: FnMut(Event<R::Message>, &mut SocketHandle),
    {
        self.io.tally().dispatches += 1;
        self.io.mark_check();
        let sent = self.io.send_queued(self.budget);
        // Refused messages go back even when the socket then broke.
        for failure in self.io.take_refused() {
            callback(Event::SendFailed(failure), &mut self.io);
        }
        let sent = sent.map_err(|source| Error::Zmq { op: "send", source })?;
        let (received, drained) = if self.io.wants_messages() {
            self.recv_batch(self.budget - sent, callback)?
        } else {
            (0, false)
        };
        if sent + received >= self.budget {
            self.exhausted = true;
            self.io.tally().budget_exhausted += 1;
        } else {
            self.settle_check(drained);
        }
        Ok(())
    }

    /// After receiving, outside a budget stop: whether `ZMQ_EVENTS` must be
    /// read before the loop sleeps. When the last call into libzmq was a
    /// receive that said EAGAIN after processing every pending command,
    /// which is what reading ZMQ_EVENTS would do, nothing is readable and
    /// whatever arrives next signals the fd again; with nothing to send,
    /// writability does not matter, so the check (a syscall) is skipped.
    /// Otherwise messages may wait in libzmq behind an edge already taken.
    fn settle_check(&self, drained: bool) {
        if drained && !self.io.has_queued() {
            self.io.clear_check();
        } else {
            self.io.mark_check();
        }
    }

    /// True when `ZMQ_EVENTS` shows work the edge-triggered fd may never
    /// announce.
    fn has_work(&self) -> Result<bool> {
        let want_read = self.io.wants_messages();
        let want_write = self.io.has_queued();
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
            .events()
            .map_err(Error::zmq("get option ZMQ_EVENTS"))?;
        let readable = events.contains(zmq::POLLIN) && want_read;
        let writable = events.contains(zmq::POLLOUT) && want_write;
        Ok(readable || writable)
    }

    /// Registers the notification fd, the wake-up eventfd and the close
    /// timer, leaving none registered on failure.
    fn register_fds(&mut self, poll: &mut Poll, factory: &mut TokenFactory) -> calloop::Result<()> {
        self.notify.register(poll, factory)?;
        let rest = self
            .ping
            .register(poll, factory)
            .and_then(|()| match &mut self.close_timer {
                Some(timer) => timer.register(poll, factory),
                None => Ok(()),
            });
        if let Err(e) = rest {
            let _ = self.ping.unregister(poll);
            let _ = self.notify.unregister(poll);
            return Err(e);
        }
        Ok(())
    }

    /// After a dispatch: takes up a close request, and closes once the
    /// outbox is drained or the flush deadline passed. Returns what the loop
    /// should do with the source.
    fn progress_close<F>(&mut self, callback: &mut F) -> PostAction
    where
        F: FnMut(Event<R::Message>, &mut SocketHandle),
    {
        let mut rearm = false;
        if let Some(timeout) = self.io.take_close_request() {
            let deadline = Instant::now()
                .checked_add(timeout)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365));
            if self.closing.is_none_or(|d| deadline < d) {
                self.closing = Some(deadline);
                rearm = true;
            }
            self.io.stop_receiving();
        }
        let Some(deadline) = self.closing else {
            return PostAction::Continue;
        };
        if self.io.is_drained() || Instant::now() >= deadline {
            self.end_closed(callback);
            return PostAction::Remove;
        }
        if rearm {
            match deadline::DeadlineTimer::new(deadline.saturating_duration_since(Instant::now())) {
                Ok(timer) => {
                    // The timer joins the loop when calloop re-registers the source.
                    self.close_timer = Some(timer);
                    return PostAction::Reregister;
                }
                Err(error) => {
                    // Without a timer the deadline could pass unseen: close now.
                    tracing::warn!(%error, "no timer for the flush deadline; closing at once");
                    self.end_closed(callback);
                    return PostAction::Remove;
                }
            }
        }
        PostAction::Continue
    }

    /// Ends the source as asked: the callback gets the socket and what did
    /// not go out.
    fn end_closed<F>(&mut self, callback: &mut F)
    where
        F: FnMut(Event<R::Message>, &mut SocketHandle),
    {
        self.ended = true;
        let undelivered = self.io.close_outbox();
        let partial = std::mem::take(&mut self.partial);
        let event = match self.io.take_socket() {
            Some(socket) => Event::Closed(Closed {
                socket,
                undelivered,
                partial,
            }),
            // Not reached: only an ended source has no socket.
            None => Event::Fatal(Fatal {
                error: Error::Zmq {
                    op: "close",
                    source: zmq::Error::ENOTSOCK,
                },
                undelivered,
                partial,
            }),
        };
        callback(event, &mut self.io);
    }

    /// Ends the source on a fatal error: the callback gets the error and
    /// every message the source held; the socket is dropped with the source.
    fn end_fatal<F>(&mut self, error: Error, callback: &mut F)
    where
        F: FnMut(Event<R::Message>, &mut SocketHandle),
    {
        self.ended = true;
        let undelivered = self.io.close_outbox();
        let partial = std::mem::take(&mut self.partial);
        tracing::error!(
            %error,
            undelivered = undelivered.len(),
            "ZeroMQ source ended by a fatal socket error; the loop goes on"
        );
        callback(
            Event::Fatal(Fatal {
                error,
                undelivered,
                partial,
            }),
            &mut self.io,
        );
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
fn gather(partial: &mut Vec<Frame>, slot: &mut Multipart, more: bool) -> bool {
    if more || !partial.is_empty() {
        partial.extend(std::mem::take(slot));
        if more {
            return false;
        }
        *slot = Multipart::take_from(partial);
    }
    true
}

impl<R: ReceiveMode> EventSource for ZmqSource<R> {
    type Event = Event<R::Message>;
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
        F: FnMut(Event<R::Message>, &mut SocketHandle),
    {
        if self.ended {
            return Ok(PostAction::Remove);
        }
        // Drain the wake-up eventfd if it fired; the outbox is read below anyway.
        if let Err(e) = self.ping.process_events(readiness, token, |(), &mut ()| {}) {
            self.ending.get_or_insert(Error::Io {
                op: "read the outbox wake-up eventfd",
                source: std::io::Error::other(e),
            });
        }
        self.exhausted = false;
        let result = match self.ending.take() {
            Some(error) => Err(error),
            None => self.pump(&mut callback),
        };
        // A handler send may have found the socket broken.
        let result = result.and_then(|()| self.io.take_broken().map_or(Ok(()), Err));
        self.io.settle();
        if let Err(error) = result {
            // Only this source ends; `dispatch` and the other sources go on.
            self.end_fatal(error, &mut callback);
            return Ok(PostAction::Remove);
        }
        Ok(self.progress_close(&mut callback))
    }

    fn register(&mut self, poll: &mut Poll, factory: &mut TokenFactory) -> calloop::Result<()> {
        self.wake = Some(factory.token());
        self.io.set_loop_thread();
        // Work may be waiting that no future edge will announce.
        self.io.mark_check();
        if self.ended {
            // `before_sleep` asks for a dispatch, which removes the source.
            return Ok(());
        }
        if let Err(error) = self.register_fds(poll, factory) {
            // Reported as this source's last event (with every message it
            // holds) rather than returned: calloop 0.14 keeps a source whose
            // `register` failed in its list of sources with extra lifecycle
            // events and panics in the next dispatch.
            self.ending = Some(Error::Insert(error));
        }
        Ok(())
    }

    fn reregister(&mut self, poll: &mut Poll, factory: &mut TokenFactory) -> calloop::Result<()> {
        self.notify.reregister(poll, factory)?;
        self.ping.reregister(poll, factory)?;
        if let Some(timer) = &mut self.close_timer {
            // Registered for the first time when a close asked for it.
            timer.register(poll, factory)?;
        }
        self.wake = Some(factory.token());
        self.io.set_loop_thread();
        self.io.mark_check();
        Ok(())
    }

    fn unregister(&mut self, poll: &mut Poll) -> calloop::Result<()> {
        self.wake = None;
        if let Some(timer) = &mut self.close_timer {
            timer.unregister(poll)?;
        }
        self.notify.unregister(poll)?;
        self.ping.unregister(poll)
    }

    fn before_sleep(&mut self) -> calloop::Result<Option<(Readiness, Token)>> {
        let Some(token) = self.wake else {
            return Ok(None);
        };
        if self.ended {
            // Only an ended source put back into a loop (through a
            // `Dispatcher`) gets here: its dispatch removes it.
            return Ok(Some((Readiness::EMPTY, token)));
        }
        // Read ZMQ_EVENTS once per loop iteration, and only if something
        // happened since libzmq last processed its commands (our read, or a
        // receive that returned EAGAIN): it costs a syscall when idle.
        let more = self.ending.is_some()
            || self.exhausted
            || (self.io.take_check()
                && self.has_work().unwrap_or_else(|error| {
                    // Reported by the dispatch this asks for.
                    self.ending = Some(error);
                    true
                }));
        Ok(more.then_some((Readiness::EMPTY, token)))
    }
}

impl<R: ReceiveMode> Drop for ZmqSource<R> {
    fn drop(&mut self) {
        let lost = self.io.close_outbox();
        if !lost.is_empty() {
            Counters::bump(&self.io.counters().dropped_at_drop, lost.len() as u64);
            tracing::warn!(
                messages = lost.len(),
                "ZmqSource dropped with undelivered messages; use ZmqSource::close to get them back"
            );
        }
        // The socket itself is closed off-thread by `SocketHandle`'s drop;
        // `Generic` removes the fd registration if the loop still has it.
    }
}

impl<R: ReceiveMode> std::fmt::Debug for ZmqSource<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZmqSource")
            .field("socket", &self.io)
            .field("budget", &self.budget)
            .field("mode", &std::any::type_name::<R>())
            .field("outbox_capacity", &self.io.outbox_capacity())
            .field("ended", &self.ended)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calloop::EventLoop;

    #[test]
    fn a_failed_registration_ends_the_source_with_its_messages_not_the_loop() {
        let ctx = zmq::Context::new();
        // No peer: both messages stay queued.
        let mut source = ZmqSource::new(ctx.socket(zmq::SocketType::Push).unwrap()).unwrap();
        source.handle().send("one").unwrap();
        source.handle().send("two").unwrap();
        // epoll refuses regular files (EPERM), so registration fails.
        let file = tempfile::tempfile().unwrap();
        source.notify = Generic::new(OwnedFd::from(file), Interest::READ, Mode::Edge);

        let mut event_loop: EventLoop<Option<Fatal>> = EventLoop::try_new().unwrap();
        source
            .insert(&event_loop.handle(), |event, _, fatal| {
                if let Event::Fatal(f) = event {
                    *fatal = Some(f);
                }
            })
            .expect("the insert itself succeeds");
        let mut fatal = None;
        for _ in 0..10 {
            event_loop
                .dispatch(Some(Duration::from_millis(10)), &mut fatal)
                .expect("the loop keeps working");
            if fatal.is_some() {
                break;
            }
        }
        let fatal = fatal.expect("the source reported its failed registration");
        assert!(matches!(fatal.error, Error::Insert(_)), "{}", fatal.error);
        let texts: Vec<_> = fatal
            .undelivered
            .iter()
            .map(|m| m.frame_str(0).unwrap())
            .collect();
        assert_eq!(texts, ["one", "two"]);
    }
}
