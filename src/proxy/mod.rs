//! A steerable proxy on the loop: libzmq's `zmq_proxy_steerable` (the
//! zguide's queue, forwarder and streamer devices, its request-reply
//! broker) as one calloop source.
//!
//! [`Proxy::new`] takes a frontend and a backend [`ZmqSource`] (and, with
//! [`Proxy::with_capture`], a capture socket that gets a copy of every
//! message), and forwards each whole message received on one side to the
//! other. A [`ProxyControl`] pauses, resumes and terminates it and reads its
//! counters from any thread.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use calloop_zmq::calloop::EventLoop;
//! use calloop_zmq::proxy::{Proxy, ProxyEvent};
//! use calloop_zmq::{zmq, ZmqSource};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ctx = zmq::Context::new();
//! // A streamer: PUSH -> [PULL | PUSH] -> PULL.
//! let frontend = ZmqSource::new(ctx.socket(zmq::SocketType::Pull)?)?;
//! frontend.bind("inproc://proxy-doc-in")?;
//! let backend = ZmqSource::new(ctx.socket(zmq::SocketType::Push)?)?;
//! backend.bind("inproc://proxy-doc-out")?;
//! let proxy = Proxy::new(frontend, backend)?;
//! let control = proxy.control();
//!
//! let producer = ctx.socket(zmq::SocketType::Push)?;
//! producer.connect("inproc://proxy-doc-in")?;
//! let consumer = ctx.socket(zmq::SocketType::Pull)?;
//! consumer.connect("inproc://proxy-doc-out")?;
//! producer.send("job", 0)?;
//!
//! let mut event_loop: EventLoop<()> = EventLoop::try_new()?;
//! proxy.insert(&event_loop.handle(), |event, _| {
//!     if let ProxyEvent::Ended(ended) = event {
//!         println!("proxy ended: {:?}", ended.reason);
//!     }
//! })?;
//! let deadline = Instant::now() + Duration::from_secs(5);
//! while control.stats().frontend_to_backend == 0 && Instant::now() < deadline {
//!     event_loop.dispatch(Duration::from_millis(10), &mut ())?;
//! }
//! assert_eq!(consumer.recv_bytes(0)?, b"job");
//! control.terminate()?;
//! event_loop.dispatch(Duration::from_millis(10), &mut ())?;
//! assert!(control.pause().is_err(), "steering after the end is an error");
//! # Ok(())
//! # }
//! ```
//!
//! # Nothing lost, the loop never blocked
//! Every socket operation is a [`ZmqSource`]'s, so none blocks. When one
//! side cannot take more (its outbox is full: the socket pushes back at its
//! high-water mark, and the outbox fills behind it), the proxy keeps the one
//! message that did not fit and stops reading the other side until it has
//! gone out: back-pressure reaches the producers through libzmq's own
//! high-water marks, as with `zmq_proxy`, and nothing is dropped. The same
//! holds for the capture socket: while a copy waits for room, neither side
//! is read. Two cases drop by design and are told apart:
//! - a **PUB or XPUB** socket at its high-water mark drops inside libzmq,
//!   which reports the send as done: the proxy cannot see those drops (set
//!   `ZMQ_XPUB_NODROP` on the socket to get back-pressure instead);
//! - a message **libzmq refuses** (a ROUTER with `ZMQ_ROUTER_MANDATORY` and
//!   no such peer, say) comes back in [`ProxyEvent::Refused`] and is counted
//!   in [`ProxyStatsSnapshot::dropped`].
//!
//! # How it ends
//! [`ProxyControl::terminate`], or a socket that breaks: either way the
//! proxy stops at once and hands its callback [`ProxyEvent::Ended`], with
//! the sockets (but the broken one) and every message it held, then leaves
//! the loop, which goes on. Steering it afterwards returns [`ProxyEnded`].
//! A proxy dropped without ending (its loop dropped) logs and counts what
//! it held, as a dropped [`ZmqSource`] does.

mod control;
mod event;
mod lane;
mod stats;

use std::sync::Arc;

use calloop::ping::{PingSource, make_ping};
use calloop::{
    EventSource, LoopHandle, Poll, PostAction, Readiness, RegistrationToken, Token, TokenFactory,
};

pub use control::{ProxyControl, ProxyEnded};
pub use event::{EndReason, Ended, ProxyEvent, Side, SideRemains};
pub use stats::ProxyStatsSnapshot;

use crate::error::{Error, InsertError, Result};
use crate::source::{Event, ZmqSource};
use crate::stats::Stats;

use control::{Command, Shared};
use lane::{Gone, Lane, Lanes, Relay, check_post, set_reading, side_event, unpark};
use stats::ProxyTally;

/// A frontend and a backend socket (and an optional capture socket)
/// forwarding to each other on the loop. See the [module docs](self).
pub struct Proxy {
    /// `None` once the proxy has ended.
    lanes: Option<Lanes>,
    /// Wakes the loop when a [`ProxyControl`] steers.
    ping: PingSource,
    /// A token of the proxy's own, for the dispatches `before_sleep` asks for.
    wake: Option<Token>,
    /// Set when the proxy's own registration failed: the next dispatch ends
    /// it with this error (calloop 0.14 cannot take back a source whose
    /// registration failed).
    failed: Option<Error>,
    shared: Arc<Shared>,
    tally: ProxyTally,
    /// The control asked for a pause.
    paused: bool,
    frontend_stats: Stats,
    backend_stats: Stats,
}

impl Proxy {
    /// A proxy forwarding between `frontend` and `backend`: every message
    /// received on one goes out on the other, whole. Either may be of any
    /// classic type; a side that cannot receive (PUSH, PUB) is simply never
    /// read. Each source keeps its own settings (outbox capacity, budget).
    pub fn new(frontend: ZmqSource, backend: ZmqSource) -> Result<Proxy> {
        let (ping, ping_source) = make_ping().map_err(|source| Error::Io {
            op: "create the proxy's control wake-up eventfd",
            source,
        })?;
        Ok(Proxy {
            frontend_stats: frontend.stats(),
            backend_stats: backend.stats(),
            lanes: Some(Lanes {
                frontend: Lane::new(frontend),
                backend: Lane::new(backend),
                capture: None,
            }),
            ping: ping_source,
            wake: None,
            failed: None,
            shared: Shared::new(ping),
            tally: ProxyTally::default(),
            paused: false,
        })
    }

    /// Adds a capture socket, which gets a copy of every message in both
    /// directions (as `zmq_proxy`'s capture does); it is never read. It must
    /// be able to send (PUB, PUSH, PAIR, DEALER, XPUB...). Copies are
    /// subject to the same back-pressure as forwarded messages: while the
    /// capture socket cannot take one, neither side is read.
    pub fn with_capture(mut self, mut capture: ZmqSource) -> Result<Proxy> {
        let kind = capture.socket().socket_type();
        if !kind.can_send() {
            return Err(Error::InvalidArgument(format!(
                "a proxy's capture socket must be able to send; {} cannot",
                kind.name()
            )));
        }
        capture.handle().pause_recv();
        if let Some(lanes) = &mut self.lanes {
            lanes.capture = Some(Lane::new(capture));
        }
        Ok(self)
    }

    /// A thread-safe handle to steer the proxy and read its counters.
    pub fn control(&self) -> ProxyControl {
        ProxyControl {
            shared: self.shared.clone(),
        }
    }

    /// The frontend source's own counters (sends that met `EAGAIN`, outbox
    /// depth, dispatches...).
    pub fn frontend_stats(&self) -> Stats {
        self.frontend_stats.clone()
    }

    /// The backend source's own counters.
    pub fn backend_stats(&self) -> Stats {
        self.backend_stats.clone()
    }

    /// Inserts the proxy into a loop with `callback`, which gets each
    /// [`ProxyEvent`] and the loop's shared data. On failure the proxy comes
    /// back in the [`InsertError`].
    pub fn insert<'l, D, F>(
        self,
        handle: &LoopHandle<'l, D>,
        mut callback: F,
    ) -> Result<RegistrationToken, InsertError<Proxy>>
    where
        F: FnMut(ProxyEvent, &mut D) + 'l,
        D: 'l,
    {
        handle
            .insert_source(self, move |event, &mut (), data| callback(event, data))
            .map_err(|e| InsertError::new(e.inserted, e.error))
    }

    /// Reads or stops reading each side: a side is read unless the control
    /// paused the proxy or a message for the other side (or for the
    /// capture socket) waits for room.
    fn steer_reads(&mut self) {
        let Some(lanes) = &mut self.lanes else { return };
        let capture_waits = lanes.capture.as_ref().is_some_and(|c| !c.parked.is_empty());
        let open = !self.paused && !capture_waits;
        let read_frontend = open && lanes.backend.parked.is_empty();
        let read_backend = open && lanes.frontend.parked.is_empty();
        set_reading(lanes.frontend.source.handle(), read_frontend);
        set_reading(lanes.backend.source.handle(), read_backend);
    }

    /// Ends the proxy: every side still open is closed (never blocking) and
    /// handed back with what it held, the controls refuse from now on, and
    /// the callback gets the last event. A side that left on its own
    /// (`gone`) is the reason; otherwise `reason` is.
    fn finish<F>(&mut self, reason: EndReason, gone: Option<Gone>, callback: &mut F)
    where
        F: FnMut(ProxyEvent, &mut ()),
    {
        let (reason, gone) = match gone {
            Some(Gone { side, error, rest }) => {
                (EndReason::Failed { side, error }, Some((side, rest)))
            }
            None => (reason, None),
        };
        self.shared.end();
        self.shared.stats.counters.publish(&mut self.tally);
        let Some(lanes) = self.lanes.take() else {
            return;
        };
        let mut gone = gone;
        let mut remains = |lane: Lane, side: Side| match gone.take_if(|(s, _)| *s == side) {
            Some((_, g)) => {
                // The broken source has ended itself; drop it (its socket is
                // closed off this thread).
                drop(lane.source);
                let mut undelivered = g.undelivered;
                undelivered.extend(lane.parked);
                SideRemains {
                    socket: g.socket,
                    undelivered,
                    partial: g.partial,
                }
            }
            None => {
                let closed = lane.source.close();
                let mut undelivered = closed.undelivered;
                undelivered.extend(lane.parked);
                SideRemains {
                    socket: Some(closed.socket),
                    undelivered,
                    partial: closed.partial,
                }
            }
        };
        let frontend = remains(lanes.frontend, Side::Frontend);
        let backend = remains(lanes.backend, Side::Backend);
        let capture = lanes.capture.map(|c| remains(c, Side::Capture));
        let ended = Ended {
            reason,
            frontend,
            backend,
            capture,
            stats: self.shared.stats.snapshot(),
        };
        callback(ProxyEvent::Ended(Box::new(ended)), &mut ());
    }

    /// One dispatch of every side, forwarding as it goes. Returns the side
    /// that left, if one did.
    fn pump<F>(&mut self, readiness: Readiness, token: Token, callback: &mut F) -> Option<Gone>
    where
        F: FnMut(ProxyEvent, &mut ()),
    {
        let mut gone = None;
        self.relay(Side::Frontend, readiness, token, callback, &mut gone);
        if gone.is_some() {
            return gone;
        }
        // A copy may be waiting for the capture socket now: the backend must
        // not be read then.
        self.steer_reads();
        self.relay(Side::Backend, readiness, token, callback, &mut gone);
        let tally = &mut self.tally;
        let lanes = self.lanes.as_mut()?;
        if let Some(capture) = &mut lanes.capture {
            let post = capture
                .source
                .process_events(readiness, token, |event, _| match event {
                    Event::Message(_) => {}
                    other => side_event(Side::Capture, other, tally, &mut gone, callback),
                });
            check_post(Side::Capture, post, &mut gone);
        }
        if gone.is_some() {
            return gone;
        }
        // What waited for room goes out now if it can, oldest first.
        unpark(&mut lanes.frontend, Side::Frontend, tally, callback);
        unpark(&mut lanes.backend, Side::Backend, tally, callback);
        if let Some(capture) = &mut lanes.capture {
            unpark(capture, Side::Capture, tally, callback);
        }
        None
    }

    /// Dispatches side `from` (the frontend or the backend), forwarding what
    /// it receives to the other side and the capture socket.
    fn relay<F>(
        &mut self,
        from: Side,
        readiness: Readiness,
        token: Token,
        callback: &mut F,
        gone: &mut Option<Gone>,
    ) where
        F: FnMut(ProxyEvent, &mut ()),
    {
        let Some(Lanes {
            frontend,
            backend,
            capture,
        }) = &mut self.lanes
        else {
            return;
        };
        let (source, to, to_side) = match from {
            Side::Frontend => (&mut frontend.source, backend, Side::Backend),
            _ => (&mut backend.source, frontend, Side::Frontend),
        };
        let mut relay = Relay {
            to,
            to_side,
            capture: capture.as_mut(),
            tally: &mut self.tally,
            gone,
            callback,
        };
        let post = source.process_events(readiness, token, |event, handle| {
            relay.event(from, event, handle)
        });
        check_post(from, post, relay.gone);
    }
}

impl EventSource for Proxy {
    type Event = ProxyEvent;
    type Metadata = ();
    type Ret = ();
    type Error = Error;

    const NEEDS_EXTRA_LIFECYCLE_EVENTS: bool =
        <ZmqSource as EventSource>::NEEDS_EXTRA_LIFECYCLE_EVENTS;

    fn process_events<F>(
        &mut self,
        readiness: Readiness,
        token: Token,
        mut callback: F,
    ) -> Result<PostAction>
    where
        F: FnMut(ProxyEvent, &mut ()),
    {
        if self.lanes.is_none() {
            return Ok(PostAction::Remove);
        }
        if let Err(e) = self.ping.process_events(readiness, token, |(), &mut ()| {}) {
            self.failed.get_or_insert(Error::Io {
                op: "read the proxy's control wake-up eventfd",
                source: std::io::Error::other(e),
            });
        }
        if let Some(error) = self.failed.take() {
            self.finish(EndReason::Loop(error), None, &mut callback);
            return Ok(PostAction::Remove);
        }
        match self.shared.command() {
            Command::Terminate => {
                self.finish(EndReason::Terminated, None, &mut callback);
                return Ok(PostAction::Remove);
            }
            command => self.paused = command == Command::Pause,
        }
        self.steer_reads();
        if let Some(gone) = self.pump(readiness, token, &mut callback) {
            self.finish(EndReason::Terminated, Some(gone), &mut callback);
            return Ok(PostAction::Remove);
        }
        self.steer_reads();
        self.shared.stats.counters.publish(&mut self.tally);
        Ok(PostAction::Continue)
    }

    fn register(&mut self, poll: &mut Poll, factory: &mut TokenFactory) -> calloop::Result<()> {
        self.wake = Some(factory.token());
        if let Some(lanes) = &mut self.lanes {
            for lane in lanes.iter_mut() {
                lane.source.register(poll, factory)?;
            }
        }
        if let Err(error) = self.ping.register(poll, factory) {
            // Reported as the proxy's last event, not returned (calloop 0.14
            // keeps a source whose registration failed and panics later).
            self.failed.get_or_insert(Error::Insert(error));
        }
        Ok(())
    }

    fn reregister(&mut self, poll: &mut Poll, factory: &mut TokenFactory) -> calloop::Result<()> {
        self.wake = Some(factory.token());
        if let Some(lanes) = &mut self.lanes {
            for lane in lanes.iter_mut() {
                lane.source.reregister(poll, factory)?;
            }
        }
        self.ping.reregister(poll, factory)
    }

    fn unregister(&mut self, poll: &mut Poll) -> calloop::Result<()> {
        self.wake = None;
        let mut result = Ok(());
        if let Some(lanes) = &mut self.lanes {
            for lane in lanes.iter_mut() {
                result = result.and(lane.source.unregister(poll));
            }
        }
        result.and(self.ping.unregister(poll))
    }

    fn before_sleep(&mut self) -> calloop::Result<Option<(Readiness, Token)>> {
        let Some(token) = self.wake else {
            return Ok(None);
        };
        if self.failed.is_some() || self.lanes.is_none() {
            return Ok(Some((Readiness::EMPTY, token)));
        }
        // Every side checks for hidden work (each keeps its own mark); one
        // wake-up is enough, since a dispatch runs them all.
        let mut wake = None;
        if let Some(lanes) = &mut self.lanes {
            for lane in lanes.iter_mut() {
                if let Some(w) = lane.source.before_sleep()? {
                    wake.get_or_insert(w);
                }
            }
        }
        Ok(wake)
    }

    fn before_handle_events(&mut self, events: calloop::EventIterator<'_>) {
        if let Some(lanes) = &mut self.lanes {
            for lane in lanes.iter_mut() {
                lane.source.before_handle_events(events.clone());
            }
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.end();
        let Some(lanes) = self.lanes.take() else {
            return;
        };
        let parked: usize = [
            Some(&lanes.frontend),
            Some(&lanes.backend),
            lanes.capture.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|lane| lane.parked.len())
        .sum();
        if parked > 0 {
            let counter = &self.shared.stats.counters.dropped_at_drop;
            counter.fetch_add(parked as u64, std::sync::atomic::Ordering::Relaxed);
            tracing::warn!(
                messages = parked,
                "Proxy dropped with messages waiting for room; terminate it through ProxyControl to get them back"
            );
        }
        // Each source logs and counts what its own outbox still held.
    }
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("ended", &self.lanes.is_none())
            .field("paused", &self.paused)
            .field("stats", &self.shared.stats.snapshot())
            .finish_non_exhaustive()
    }
}
