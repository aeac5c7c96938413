//! [`Builder`]: a source's settings, chosen before it is built.

use std::marker::PhantomData;
use std::os::fd::OwnedFd;

use calloop::generic::Generic;
use calloop::ping::make_ping;
use calloop::{Interest, Mode};

use crate::error::{Error, Result};
use crate::outbox::Outbox;
use crate::zmq;

use super::dispatch::ZmqSource;
use super::drained::DrainWatch;
use super::event::{InPlace, Owned, ReceiveMode};
use super::handle::SocketHandle;

/// Default outbox capacity, in messages.
pub const DEFAULT_OUTBOX_CAPACITY: usize = 1024;
/// Default per-dispatch budget: messages received plus sent before the source
/// yields to the rest of the loop.
pub const DEFAULT_BUDGET: usize = 256;

/// Configures a [`ZmqSource`] before it is built. `R` is the receive mode
/// ([`Owned`] unless [`receive_in_place`](Builder::receive_in_place) was
/// called).
#[must_use = "call .build() to get the source"]
pub struct Builder<R: ReceiveMode = Owned> {
    socket: zmq::Socket,
    outbox_capacity: usize,
    budget: usize,
    notify_drained: bool,
    mode: PhantomData<fn() -> R>,
}

impl Builder<Owned> {
    /// Settings for `socket`, all at their defaults.
    pub(super) fn new(socket: zmq::Socket) -> Self {
        Builder {
            socket,
            outbox_capacity: DEFAULT_OUTBOX_CAPACITY,
            budget: DEFAULT_BUDGET,
            notify_drained: false,
            mode: PhantomData,
        }
    }
}

impl<R: ReceiveMode> std::fmt::Debug for Builder<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("outbox_capacity", &self.outbox_capacity)
            .field("budget", &self.budget)
            .field("notify_drained", &self.notify_drained)
            .field("mode", &std::any::type_name::<R>())
            .finish_non_exhaustive()
    }
}

impl Builder<Owned> {
    /// Receives in place: the source becomes a `ZmqSource<`[`InPlace`]`>`,
    /// whose [`Event::Message`](super::Event::Message) carries a
    /// [`Received`](super::Received) marker while the
    /// message waits in the source, where the callback reads it through
    /// [`SocketHandle::received`] (or takes it with
    /// [`SocketHandle::take_received`]). A one-frame message's frame is
    /// reused for the next message, as a blocking `recv` into one
    /// `zmq::Frame` does, which saves libzmq a frame init and close per
    /// message: the fastest way to receive small messages (see
    /// BENCHMARKS.md). Off by default: each message comes as an owned
    /// [`Multipart`](crate::Multipart).
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
            notify_drained: self.notify_drained,
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

    /// Hands the callback [`Event::Drained`](super::Event::Drained) when the
    /// outbox empties, so a producer can send from the handler with no loop
    /// of its own around the event loop:
    ///
    /// - once at the source's first dispatch after it joins a loop (the
    ///   outbox starts empty: produce), and
    /// - once each time a dispatch leaves the outbox empty after it held
    ///   messages: the socket pushed back (a send was queued, not sent) and
    ///   has now taken them all, or messages [`Sender`](crate::Sender)s
    ///   queued all went out.
    ///
    /// A handler that produces sends on `Drained` until the socket pushes
    /// back ([`SocketHandle::queued`] is above 0) or it has nothing left; the
    /// next `Drained` comes when libzmq has taken what was queued. A send
    /// that goes straight to libzmq never brings one, so stopping before the
    /// socket pushes back means no further `Drained` until something is
    /// queued again. Not while the source is closing. Off by default, and a
    /// source without it does no work for it (one flag test per dispatch).
    ///
    /// ```
    /// use std::time::Duration;
    /// use calloop_zmq::calloop::EventLoop;
    /// use calloop_zmq::{zmq, Event, ZmqSource};
    ///
    /// let ctx = zmq::Context::new();
    /// let pull = ctx.socket(zmq::SocketType::Pull)?;
    /// pull.bind("inproc://drained-doc")?;
    /// let push = ZmqSource::builder(ctx.socket(zmq::SocketType::Push)?)
    ///     .notify_drained()
    ///     .build()?;
    /// push.connect("inproc://drained-doc")?;
    ///
    /// let mut event_loop: EventLoop<usize> = EventLoop::try_new()?;
    /// push.insert(&event_loop.handle(), |event, socket, sent| {
    ///     if let Event::Drained = event {
    ///         // Produce until the socket pushes back or the work is done.
    ///         while *sent < 10 && socket.queued() == 0 {
    ///             socket.send(format!("job {sent}")).expect("room in the outbox");
    ///             *sent += 1;
    ///         }
    ///     }
    /// })?;
    /// let mut sent = 0;
    /// for _ in 0..50 {
    ///     if sent == 10 {
    ///         break;
    ///     }
    ///     event_loop.dispatch(Some(Duration::from_millis(100)), &mut sent)?;
    /// }
    /// assert_eq!(sent, 10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn notify_drained(mut self) -> Self {
        self.notify_drained = true;
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
        Ok(ZmqSource::from_parts(
            SocketHandle::new(self.socket, outbox),
            Generic::new(fd, Interest::READ, Mode::Edge),
            ping_source,
            self.budget,
            self.notify_drained.then(DrainWatch::default),
        ))
    }
}
