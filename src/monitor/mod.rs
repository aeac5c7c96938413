//! Socket monitor events as a calloop source: connected, disconnected,
//! handshake failed and why.
//!
//! libzmq reports what happens to a socket's connections through
//! `zmq_socket_monitor`: it publishes one two-frame message per event on an
//! `inproc` PAIR socket. [`Monitor::watch`] sets that up for a socket (with a
//! unique `inproc` endpoint per monitor), connects a PAIR socket in the
//! socket's own context to it and
//! wraps that socket in a [`ZmqSource`]. Insert the [`Monitor`] into the same
//! loop (or another one) and its callback receives typed [`MonitorEvent`]s.
//!
//! ```
//! use calloop_zmq::calloop::EventLoop;
//! use calloop_zmq::monitor::{EventKind, EventMask, Monitor};
//! use calloop_zmq::{zmq, ZmqSource};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ctx = zmq::Context::new();
//! let server = ZmqSource::new(ctx.socket(zmq::SocketType::Pull)?)?;
//! // Watch before bind/connect so no event is missed.
//! let monitor = Monitor::watch_source(&server, EventMask::ALL)?;
//! server.bind("tcp://127.0.0.1:*")?;
//!
//! let mut event_loop: EventLoop<Vec<EventKind>> = EventLoop::try_new()?;
//! monitor.insert(&event_loop.handle(), |event, seen: &mut Vec<EventKind>| {
//!     println!("{} on {}", event.kind, event.endpoint);
//!     seen.push(event.kind);
//! })?;
//! let mut seen = Vec::new();
//! let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
//! while !seen.contains(&EventKind::Listening) && std::time::Instant::now() < deadline {
//!     event_loop.dispatch(std::time::Duration::from_millis(50), &mut seen)?;
//! }
//! assert!(seen.contains(&EventKind::Listening));
//! # Ok(())
//! # }
//! ```
//!
//! # What you get and what you may miss
//! - Events that happen before the monitor is set up are never reported:
//!   watch first, then bind and connect.
//! - libzmq sends monitor events without blocking; if the monitor's loop
//!   falls more than the monitor socket's receive high-water mark (1000 by
//!   default) behind, libzmq drops the newest events. The monitor never drops
//!   any itself.
//! - A message that does not have the expected shape, or an event code this
//!   crate does not know, is still delivered, as [`EventKind::Malformed`] or
//!   [`EventKind::Unknown`]. Nothing here panics on what libzmq sends.
//! - A frame above the watched socket's `ZMQ_MAXMSGSIZE` makes libzmq drop
//!   that connection with no reason given: the monitor's `Disconnected`
//!   then carries the limit ([`MonitorEvent::may_be_oversize`]) and a
//!   `tracing` warning says what may have been lost. The limit is read when
//!   the monitor starts: set it first.
//! - When the monitored socket closes, libzmq sends
//!   [`EventKind::MonitorStopped`] (if it is in the mask) and the monitor goes
//!   quiet; drop or remove it then.
//!
//! # Value
//! Every event carries libzmq's 32-bit value, whose meaning depends on the
//! event: the file descriptor for [`Listening`](EventKind::Listening),
//! [`Accepted`](EventKind::Accepted), [`Connected`](EventKind::Connected),
//! [`Closed`](EventKind::Closed) and [`Disconnected`](EventKind::Disconnected);
//! the `errno` for [`BindFailed`](EventKind::BindFailed),
//! [`AcceptFailed`](EventKind::AcceptFailed),
//! [`CloseFailed`](EventKind::CloseFailed) and
//! [`HandshakeFailedNoDetail`](EventKind::HandshakeFailedNoDetail) (see
//! [`MonitorEvent::error`]); the reconnect interval in milliseconds for
//! [`ConnectRetried`](EventKind::ConnectRetried); the protocol error or ZAP
//! status code for the handshake failures (decoded into the kind too).

mod event;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use calloop::{EventSource, LoopHandle, PostAction, Readiness, RegistrationToken, Token};

pub use event::{EventKind, EventMask, MonitorEvent, ProtocolError};

use crate::error::{Error, InsertError, Result};
use crate::source::{Closed, Event, ZmqSource};
use crate::stats::Stats;
use crate::zmq;

/// A socket monitor as a calloop event source; its callback receives
/// [`MonitorEvent`]s. See the [module docs](self).
pub struct Monitor {
    source: ZmqSource,
    endpoint: String,
    /// The watched socket's `ZMQ_MAXMSGSIZE` when the monitor started, if
    /// set: a `Disconnected` may then be an oversized frame
    /// ([`MonitorEvent::may_be_oversize`]).
    receive_limit: Option<u64>,
}

/// Monitors created by this process, for unique endpoints.
static NEXT_MONITOR: AtomicU64 = AtomicU64::new(0);

impl Monitor {
    /// Starts monitoring `socket` for the events in `events` and returns the
    /// source that reports them. The monitor's socket is made in `socket`'s
    /// own context ([`zmq::Socket::context`]), the one the events' `inproc`
    /// endpoint lives in, so it cannot be the wrong one.
    ///
    /// Watch before binding or connecting: earlier events are not reported.
    /// A socket has at most one monitor; watching again replaces the first,
    /// which then stays silent.
    pub fn watch(socket: &zmq::Socket, events: EventMask) -> Result<Monitor> {
        Self::start(socket, socket.context(), events)
    }

    /// Like [`watch`](Self::watch), for a socket already wrapped in a
    /// [`ZmqSource`].
    pub fn watch_source(source: &ZmqSource, events: EventMask) -> Result<Monitor> {
        Self::watch(source.socket(), events)
    }

    /// Starts monitoring `socket`, as [`watch`](Self::watch) does, with the
    /// context named. Prefer `watch`, which needs none.
    ///
    /// `ctx` must be the context `socket` was created in: the events travel
    /// over `inproc`, which does not cross contexts, and since libzmq lets an
    /// `inproc` connect wait for a bind that may never come, a monitor in
    /// another context would stay silent rather than fail. So another
    /// context is refused with [`Error::InvalidArgument`] before anything is
    /// set up.
    pub fn attach(socket: &zmq::Socket, ctx: &zmq::Context, events: EventMask) -> Result<Monitor> {
        // Two handles of one context share its libzmq pointer.
        if ctx.as_ptr() != socket.context().as_ptr() {
            return Err(Error::InvalidArgument(
                "Monitor::attach: the context given is not the one the socket was created in, \
                 so the monitor would never receive an event (inproc does not cross contexts); \
                 use Monitor::watch, which takes the socket's own context"
                    .into(),
            ));
        }
        Self::start(socket, ctx, events)
    }

    /// Sets up `zmq_socket_monitor` on a unique `inproc` endpoint and a PAIR
    /// in `ctx` (the socket's own context) connected to it.
    fn start(socket: &zmq::Socket, ctx: &zmq::Context, events: EventMask) -> Result<Monitor> {
        let endpoint = format!(
            "inproc://calloop-zmq.monitor.{}.{}",
            std::process::id(),
            NEXT_MONITOR.fetch_add(1, Ordering::Relaxed)
        );
        socket
            .monitor(&endpoint, u32::from(events.0))
            .map_err(Error::zmq("zmq_socket_monitor"))?;
        let pair = ctx
            .socket(zmq::SocketType::Pair)
            .map_err(Error::zmq("create the monitor's PAIR socket"))?;
        // The PAIR only receives; nothing should wait on it at close.
        pair.set_linger(0)
            .map_err(Error::zmq("set option ZMQ_LINGER on the monitor socket"))?;
        pair.connect(&endpoint)?;
        // -1 (libzmq's default) is no limit. A socket that cannot say (it
        // never fails for a live socket) is treated as unlimited.
        let receive_limit = socket
            .maxmsgsize()
            .ok()
            .and_then(|limit| u64::try_from(limit).ok());
        Ok(Monitor {
            source: ZmqSource::new(pair)?,
            endpoint,
            receive_limit,
        })
    }

    /// Like [`attach`](Self::attach), for a socket already wrapped in a
    /// [`ZmqSource`]. Prefer [`watch_source`](Self::watch_source), which
    /// needs no context.
    pub fn attach_source(
        source: &ZmqSource,
        ctx: &zmq::Context,
        events: EventMask,
    ) -> Result<Monitor> {
        Self::attach(source.socket(), ctx, events)
    }

    /// The `inproc` endpoint libzmq publishes this monitor's events on.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The monitor socket's counters (`messages_in` counts events).
    pub fn stats(&self) -> Stats {
        self.source.stats()
    }

    /// Closes the monitor outside a loop and hands back its PAIR socket, as
    /// [`ZmqSource::close`] does, so you choose where it is dropped. A
    /// dropped monitor's socket is closed on a background thread; when it is
    /// the last socket of its context, that thread then terminates the
    /// context, possibly after your `main` has returned. Close the monitor
    /// (and drop its socket) before your last context handle when the
    /// context's termination must happen on your thread.
    pub fn close(self) -> Closed {
        self.source.close()
    }

    /// Inserts the monitor into a loop with `callback`, which gets each
    /// [`MonitorEvent`] and the loop's shared data. On failure the monitor
    /// comes back in the [`InsertError`].
    pub fn insert<'l, D, F>(
        self,
        handle: &LoopHandle<'l, D>,
        mut callback: F,
    ) -> Result<RegistrationToken, InsertError<Monitor>>
    where
        F: FnMut(MonitorEvent, &mut D) + 'l,
        D: 'l,
    {
        handle
            .insert_source(self, move |event, &mut (), data| callback(event, data))
            .map_err(|e| InsertError::new(e.inserted, e.error))
    }
}

impl fmt::Debug for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Monitor")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl EventSource for Monitor {
    type Event = MonitorEvent;
    type Metadata = ();
    type Ret = ();
    type Error = Error;

    crate::source::forward_registration!(source);

    fn process_events<F>(
        &mut self,
        readiness: Readiness,
        token: Token,
        mut callback: F,
    ) -> Result<PostAction>
    where
        F: FnMut(MonitorEvent, &mut ()),
    {
        let receive_limit = self.receive_limit;
        self.source
            .process_events(readiness, token, |event, _socket| match event {
                Event::Message(msg) => {
                    let mut event = MonitorEvent::decode(&msg);
                    if event.kind == EventKind::Disconnected
                        && let Some(limit) = receive_limit
                    {
                        event.receive_limit = Some(limit);
                        // The one report a receiver can give of a frame its
                        // limit refused: libzmq says nothing more.
                        tracing::warn!(
                            endpoint = %event.endpoint,
                            limit,
                            "connection dropped on a socket with ZMQ_MAXMSGSIZE = {limit}: if the \
                             peer sent a larger frame, that message and everything it sent after \
                             it on this connection were lost (libzmq gives no reason and does not \
                             say which messages)"
                        );
                    }
                    callback(event, &mut ())
                }
                // The PAIR broke (its context was terminated): the source has
                // logged why and leaves the loop; nothing was queued on it.
                Event::Fatal(_) => {}
                // The monitor never sends and is never asked to close.
                Event::SendFailed(_) | Event::Closed(_) | Event::Drained => {}
            })
    }
}
