//! A socket on the loop as futures: `recv().await` for whole messages, a
//! bounded inbox that pauses receiving when nobody awaits, and the outbox's
//! [`Sender::reserve`] for sends.
//!
//! [`AsyncSocket::insert`] puts a [`ZmqSource`] into a loop behind an inbox
//! of a fixed size. Futures running on the loop's thread (calloop's
//! executor, or any executor driven there) await
//! [`recv`](AsyncSocket::recv); when the inbox is full the source stops
//! receiving, so libzmq's high-water mark pushes back on the peer instead of
//! memory growing. [`send`](AsyncSocket::send) waits, without blocking,
//! while the socket or the outbox pushes back, and
//! [`reserve`](AsyncSocket::reserve) for room in the outbox;
//! [`flush`](AsyncSocket::flush) waits until the outbox is empty; other
//! threads send through the [`Sender`] ([`AsyncSocket::sender`]).
//! [`with_socket`](AsyncSocket::with_socket) reaches the socket for options
//! and subscriptions. [`ended`](AsyncSocket::ended) waits for the source to
//! end; dropping the `AsyncSocket` ends it. With the `futures` feature (on
//! by default), an
//! `AsyncSocket` is also a futures-rs `Stream` of whole messages and a
//! `Sink` of anything `Into<Multipart>`, so the futures ecosystem's
//! combinators work on it.
//!
//! # Cancellation
//! - [`recv`](AsyncSocket::recv) is cancellation-safe: a message leaves the
//!   inbox (or libzmq) only in the poll that returns it, so a `recv` future
//!   dropped in a `select!` loses nothing; the message waits for the next
//!   `recv`.
//! - [`reserve`](AsyncSocket::reserve) (and [`Sender::reserve`]) is
//!   cancellation-safe: it holds no message; the [`Permit`](crate::Permit) it gives then
//!   sends without waiting.
//! - [`send`](AsyncSocket::send) is not, for its message: dropped while it
//!   waits for room, it drops the message it was given (nothing was queued).
//!   Use `reserve` where a send can lose a race.
//! - [`flush`](AsyncSocket::flush) and [`ended`](AsyncSocket::ended) hold
//!   nothing, so they are cancellation-safe.
//! - The `Sink`'s `poll_ready` reserves a place and holds no message, so it
//!   is cancellation-safe; `start_send` then queues without waiting;
//!   `poll_flush` waits as `flush` does. The `Stream` is cancellation-safe as
//!   `recv` is.
//! - Every method that sends or receives fails at once, rather than waiting
//!   forever, on a socket type that cannot do it; and once the source has
//!   ended (closed, broken, or let go by a loop that was dropped:
//!   [`RecvError::Removed`]).
//!
//! # Receiving
//! A `recv` with messages in the inbox takes the oldest. With the inbox
//! empty it takes the socket's next message straight from libzmq, so a task
//! that keeps up skips the inbox; at most the source's budget of messages
//! that way between two of the source's dispatches, so the loop still goes
//! round under a flood. Counters for those messages
//! ([`StatsSnapshot::messages_in`](crate::StatsSnapshot::messages_in)), and
//! for messages [`send`](AsyncSocket::send) hands to libzmq itself
//! ([`StatsSnapshot::messages_out`](crate::StatsSnapshot::messages_out)),
//! are published before the loop next sleeps, once per loop iteration, as a
//! dispatch's own are at its end: publishing per message would cost more
//! than the message. [`stats_now`](AsyncSocket::stats_now) publishes them
//! first and is exact at any moment on the loop's thread.
//!
//! ```
//! use std::time::Duration;
//! use calloop_zmq::calloop::{EventLoop, futures::executor};
//! use calloop_zmq::{zmq, AsyncSocket, ZmqSource};
//!
//! let ctx = zmq::Context::new();
//! let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull)?)?;
//! pull.bind("inproc://async-doc")?;
//! let push = ctx.socket(zmq::SocketType::Push)?;
//! push.connect("inproc://async-doc")?;
//! push.send("hello", 0)?;
//!
//! let mut event_loop: EventLoop<Option<String>> = EventLoop::try_new()?;
//! let socket = AsyncSocket::insert(pull, &event_loop.handle(), 16)?;
//! let (exec, scheduler) = executor()?;
//! event_loop
//!     .handle()
//!     .insert_source(exec, |text, _, got| *got = Some(text))
//!     .map_err(|e| e.error)?;
//! scheduler.schedule(async move {
//!     let msg = socket.recv().await.expect("the socket is open");
//!     msg.frame_str(0).unwrap_or_default().to_owned()
//! })?;
//! let mut got = None;
//! for _ in 0..100 {
//!     if got.is_some() {
//!         break;
//!     }
//!     event_loop.dispatch(Duration::from_millis(50), &mut got)?;
//! }
//! assert_eq!(got.as_deref(), Some("hello"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod feeder;
mod futures;
mod inbox;
#[cfg(feature = "futures")]
mod sink;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use calloop::LoopHandle;

use crate::error::{Error, InsertError};
use crate::message::Multipart;
use crate::outbox::{SendFailure, Sender};
use crate::source::{SharedSource, ZmqSource};
use crate::stats::StatsSnapshot;
use crate::zmq;

#[cfg(feature = "futures")]
pub use error::SinkError;
pub use error::{RecvError, ReserveError};
pub use futures::{Ended, Recv, ReserveFuture, SendFuture};

use feeder::Feeder;
use futures::{Drained, SendState};
use inbox::{Inbox, count_unread};

/// A ZeroMQ socket in a calloop loop, driven from futures on the loop's
/// thread. See the [module docs](self).
///
/// Dropping it ends its source at the loop's next iteration, as
/// [`close`](Self::close) with a zero flush timeout would (unless a close
/// was already asked for; that one keeps its flush timeout): it stops
/// receiving, hands libzmq what the socket takes at once, and leaves the
/// loop. Messages that did not go out are logged and counted in
/// [`StatsSnapshot::dropped_at_drop`](crate::StatsSnapshot::dropped_at_drop);
/// received messages nobody read are logged and counted in
/// [`StatsSnapshot::dropped_unread`](crate::StatsSnapshot::dropped_unread).
/// To keep them instead, [`flush`](Self::flush) first, or
/// [`close`](Self::close) and await [`ended`](Self::ended), which hands the
/// socket and every unsent message back.
pub struct AsyncSocket {
    inbox: Rc<RefCell<Inbox>>,
    /// The `Sink` side's reserved place ([`poll_ready`] gave it), and its
    /// wait for one.
    #[cfg(feature = "futures")]
    sink: sink::SinkState,
    /// The source, shared with the feeder: a send goes through its door
    /// straight to libzmq, as a handler's send does.
    source: SharedSource,
    sender: Sender,
    socket_type: zmq::SocketType,
    /// The largest frame the peers accept ([`set_peer_max_frame`]).
    ///
    /// [`set_peer_max_frame`]: Self::set_peer_max_frame
    peer_max_frame: Cell<Option<u64>>,
}

impl AsyncSocket {
    /// Inserts `source` into the loop behind an inbox of `inbox_capacity`
    /// messages and returns the socket's async side. On failure the source
    /// comes back in the [`InsertError`].
    ///
    /// `inbox_capacity` must be at least 1: 0 is refused with
    /// [`Error::InvalidArgument`]
    /// ([`InsertError::refusal`]), whose message says so.
    pub fn insert<D>(
        source: ZmqSource,
        handle: &LoopHandle<'_, D>,
        inbox_capacity: usize,
    ) -> Result<AsyncSocket, InsertError<ZmqSource>> {
        if inbox_capacity == 0 {
            let why = Error::InvalidArgument(
                "AsyncSocket::insert: an inbox capacity of 0 is not allowed; the inbox must \
                 hold at least 1 message, where a message received while no task awaits recv() \
                 waits (use 1 for the least buffering, or the source's budget, \
                 calloop_zmq::DEFAULT_BUDGET unless set, so one dispatch can fill it)"
                    .into(),
            );
            return Err(InsertError::refused(source, why));
        }
        let direct_left = source.budget();
        let inbox = Rc::new(RefCell::new(Inbox::new(inbox_capacity, direct_left)));
        let sender = source.sender();
        let socket_type = source.socket().socket_type();
        let source = SharedSource::new(source);
        let feeder = Feeder {
            source: source.clone(),
            inbox: inbox.clone(),
            sender: sender.clone(),
        };
        if let Err(e) = handle.insert_source(feeder, |(), &mut (), _| {}) {
            // The inbox goes first, so the feeder's drop sees no
            // `AsyncSocket` to tell and leaves the source as it was.
            drop(inbox);
            drop(e.inserted);
            let source = source
                .into_inner()
                .expect("the feeder that shared the source was dropped");
            return Err(InsertError::new(source, e.error));
        }
        Ok(AsyncSocket {
            #[cfg(feature = "futures")]
            sink: sink::SinkState::default(),
            source,
            inbox,
            sender,
            socket_type,
            peer_max_frame: Cell::new(None),
        })
    }

    /// The next whole message.
    ///
    /// **Cancellation-safe** ([how](self#cancellation)). On a socket type that never receives (PUB, PUSH) it says
    /// [`RecvError::CannotReceive`] at once. The future is `Unpin`.
    ///
    /// **In a `select!`, beware a branch that is always ready.** With the
    /// inbox empty, `recv` takes messages straight from libzmq, at most the
    /// source's budget of them until the source's next dispatch
    /// ([Receiving](self#receiving)); that dispatch runs only once the task
    /// gives the loop back by returning `Pending`. A task that loops on a
    /// `select!` between `recv` and a future that is ready on its first
    /// poll (`std::future::ready`, a channel that always holds an item, a
    /// timer already due) may never return `Pending`: once `recv` has used
    /// up the budget it stays pending, the other branch wins every round,
    /// and the task spins inside the loop's iteration. The socket is
    /// starved and the loop's other sources with it. Nothing is lost (`recv`
    /// is cancellation-safe), but nothing moves. Race `recv` only against
    /// futures that wait, or await something that waits (a yield to the
    /// loop) after a round the other branch won.
    pub fn recv(&self) -> Recv<'_> {
        Recv {
            socket: self,
            slot: None,
        }
    }

    /// Waits, without blocking the thread, for a place in the outbox and
    /// reserves it; [`Permit::send`](crate::Permit::send) then queues one message there without
    /// waiting. The outbox sends in order, behind what is already queued.
    ///
    /// **Cancellation-safe** ([how](self#cancellation)): the send to use
    /// inside `select!` or under a timeout. The future is `Unpin`, so it
    /// goes into `select!` as it is, with no `pin!`. On a socket type that
    /// never sends (PULL, SUB) it says [`ReserveError::CannotSend`] at once.
    pub fn reserve(&self) -> ReserveFuture<'_> {
        ReserveFuture {
            socket: self,
            waiting: None,
        }
    }

    /// Sends `msg`, waiting (without blocking the thread) while the socket
    /// or the outbox pushes back. Resolves once libzmq took the message, or
    /// once it is queued in the outbox (the first message the socket could
    /// not take yet, or behind other senders' messages): the outbox then
    /// hands it to libzmq in order, as soon as the socket takes it; messages
    /// libzmq refuses later come back through
    /// [`take_refused`](Self::take_refused). [`flush`](Self::flush) waits
    /// until everything queued went out. Nothing happens before the future
    /// is first polled. The future is `Unpin`.
    ///
    /// **Not cancellation-safe for the message** ([why](self#cancellation)):
    /// where a `select!` or a timeout can win, use [`reserve`](Self::reserve)
    /// and then [`Permit::send`](crate::Permit::send).
    ///
    /// Errors hand the message back: [`SendError::Closed`](crate::SendError::Closed) once the source
    /// accepts no more messages, and [`SendError::Failed`](crate::SendError::Failed) with `ENOTSUP` at
    /// once on a socket type that never sends (PULL, SUB).
    pub fn send(&self, msg: impl Into<Multipart>) -> SendFuture<'_> {
        SendFuture {
            socket: self,
            state: SendState::Start(msg.into()),
        }
    }

    /// Waits, without blocking the thread, until the outbox is empty: every
    /// message queued before (by this socket, the `Sink` side, or any
    /// [`Sender`]) was handed to libzmq, or handed back
    /// ([`take_refused`](Self::take_refused)); or until the source ended
    /// ([`ended`](Self::ended) then hands back what did not go out). libzmq
    /// itself may still hold the messages (its queue, `ZMQ_LINGER`).
    ///
    /// It waits for the outbox to be empty, not for a snapshot of it: other
    /// threads that keep queueing meanwhile keep it waiting, and a place
    /// reserved by an unused [`Permit`](crate::Permit) counts as queued, as both do for
    /// [`Sender::flush`]. Cancellation-safe: it holds nothing.
    pub async fn flush(&self) {
        Drained {
            sender: &self.sender,
            slot: None,
        }
        .await
    }

    /// Waits, without blocking the thread, until a send would go straight to
    /// libzmq: the outbox is empty (nothing the socket pushed back waits in
    /// it, nothing other senders queued, no place reserved). After the socket
    /// pushed back, that is when libzmq has taken everything that was
    /// queued. The async form of
    /// [`Event::Drained`](crate::Event::Drained): a producer awaits it,
    /// then sends until a send was queued rather than sent
    /// ([`queued`](Self::queued) above 0), and awaits it again.
    ///
    /// **Cancellation-safe**: it holds nothing. Says
    /// [`ReserveError::CannotSend`] at once on a socket type that never
    /// sends (PULL, SUB), and [`ReserveError::Closed`] once the source
    /// accepts no more messages.
    pub async fn ready(&self) -> Result<(), ReserveError> {
        if !self.socket_type.can_send() {
            return Err(ReserveError::CannotSend(self.socket_type));
        }
        loop {
            if self.sender.is_closed() {
                return Err(ReserveError::Closed);
            }
            if self.sender.is_empty() {
                return Ok(());
            }
            self.flush().await;
        }
    }

    /// Messages the loop holds for sending that libzmq has not taken yet:
    /// above 0 once the socket pushed back on a send, which then waits
    /// there, whole, for the socket to take it. 0 from inside the source's
    /// own dispatch, where the source cannot be looked at.
    pub fn queued(&self) -> usize {
        self.source.direct().map_or(0, |door| door.held())
    }

    /// Calls `f` with the socket, for options (`set_subscribe`,
    /// `set_sndhwm`, ...), endpoints (`bind`, `connect`, `disconnect`) and
    /// queries while the socket is in the loop. Send and receive through
    /// this `AsyncSocket` instead: a blocking call on the socket would block
    /// the loop.
    ///
    /// The source re-reads `ZMQ_EVENTS` before the loop next sleeps
    /// ([why](crate::ZmqSource#the-edge-triggered-fd)).
    ///
    /// `None` once the source has handed the socket back in
    /// [`RecvError::Closed`], and when called from inside `f`.
    ///
    /// ```
    /// # use calloop_zmq::calloop::EventLoop;
    /// # use calloop_zmq::{zmq, AsyncSocket, ZmqSource};
    /// # let ctx = zmq::Context::new();
    /// # let event_loop: EventLoop<()> = EventLoop::try_new()?;
    /// let sub = ZmqSource::new(ctx.socket(zmq::SocketType::Sub)?)?;
    /// let sub = AsyncSocket::insert(sub, &event_loop.handle(), 64)?;
    /// sub.with_socket(|socket| socket.set_subscribe(b"weather."))
    ///     .expect("the socket is in the loop")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_socket<T>(&self, f: impl FnOnce(&zmq::Socket) -> T) -> Option<T> {
        self.source.direct()?.socket().map(f)
    }

    /// Waits for the source to end and says how. The normal end, after
    /// [`close`](Self::close) (or a drop of the `AsyncSocket` elsewhere),
    /// is `Ok` with the [`Closed`](crate::Closed) outcome: the socket and
    /// what did not go out. The abnormal ends are errors:
    /// [`RecvError::Fatal`] (the socket broke), [`RecvError::Removed`] (the
    /// loop was dropped), and [`RecvError::Ended`] when the end was already
    /// handed out (by an earlier `ended` or [`recv`](Self::recv), which says
    /// the close as [`RecvError::Closed`]). Messages still in the inbox stay
    /// there for `recv`. The way to learn the end of a socket that never
    /// receives (PUB, PUSH). Cancellation-safe.
    ///
    /// ```no_run
    /// # async fn f(socket: calloop_zmq::AsyncSocket) -> Result<(), calloop_zmq::RecvError> {
    /// socket.close(std::time::Duration::from_millis(100));
    /// let closed = socket.ended().await?;
    /// assert!(closed.undelivered.is_empty(), "everything went out");
    /// # Ok(())
    /// # }
    /// ```
    pub fn ended(&self) -> Ended<'_> {
        Ended {
            socket: self,
            slot: None,
        }
    }

    /// Tells the socket the largest frame, in bytes, its peers accept: the
    /// receivers' `ZMQ_MAXMSGSIZE` (`None`, the default: no limit). From then
    /// on [`send`](Self::send) and the `Sink` hand a message with a larger
    /// frame back at once as [`SendError::TooLarge`](crate::SendError::TooLarge),
    /// instead of giving it to libzmq.
    ///
    /// # Why the sender must be told
    /// libzmq's `ZMQ_MAXMSGSIZE` acts on the *receiving* side only (libzmq
    /// 4.3.5, `v2_decoder.cpp`): the receiver checks each frame's size as
    /// its header arrives, and a frame above the limit is a protocol error
    /// there. The receiver then closes the connection: its monitor says
    /// [`Disconnected`](crate::monitor::EventKind::Disconnected), without a
    /// reason (`EMSGSIZE` never leaves libzmq), and if it was the side that
    /// connected it does not reconnect to that endpoint again. The sender
    /// only sees its peer hang up (its monitor says `Disconnected` too, then
    /// reconnects if it connected). The oversized message, the messages
    /// libzmq had already written behind it, and (when the sender had bound)
    /// those still queued for that peer are gone, while the sender's counters
    /// say sent. No side learns which messages were lost, so the only place
    /// a message can come back is before libzmq has it: here.
    ///
    /// The limit is per frame, as libzmq's is: a message of several frames,
    /// each within it, passes. [`Permit::send`](crate::Permit::send) after [`reserve`](Self::reserve)
    /// and the thread-safe [`Sender`] do not check it: check
    /// `msg.frames()` against the limit yourself on those paths.
    pub fn set_peer_max_frame(&self, limit: Option<u64>) {
        self.peer_max_frame.set(limit);
    }

    /// The largest frame the peers accept, as given to
    /// [`set_peer_max_frame`](Self::set_peer_max_frame).
    pub fn peer_max_frame(&self) -> Option<u64> {
        self.peer_max_frame.get()
    }

    /// The socket's type.
    pub fn socket_type(&self) -> zmq::SocketType {
        self.socket_type
    }

    /// The source's counters, exact now: what `recv` and `send` moved
    /// straight through libzmq since the source's last dispatch is
    /// published first. From inside the source's own dispatch (a callback
    /// there) it reads them as they are, like
    /// [`Stats::snapshot`](crate::Stats::snapshot). Costs a few atomic
    /// additions: call it when you need the figure, not per message.
    ///
    /// From other threads, [`sender`](Self::sender)`().stats()` gives a
    /// [`Stats`](crate::Stats) handle, exact whenever the loop is between
    /// iterations: the source publishes the futures' counts before the loop
    /// next sleeps.
    pub fn stats_now(&self) -> StatsSnapshot {
        match self.source.direct() {
            Some(mut door) => door.stats_now(),
            None => self.sender.stats().snapshot(),
        }
    }

    /// Messages waiting in the inbox now (never more than its capacity).
    pub fn buffered(&self) -> usize {
        self.inbox.borrow().messages.len()
    }

    /// The outbox's thread-safe handle: [`Sender::reserve`] is the
    /// awaitable, cancellation-safe send.
    pub fn sender(&self) -> &Sender {
        &self.sender
    }

    /// Queued messages libzmq refused since the last call, handed back.
    pub fn take_refused(&self) -> Vec<SendFailure> {
        std::mem::take(&mut self.inbox.borrow_mut().refused)
    }

    /// Asks the source to flush for at most `flush_timeout` and close; the
    /// next [`recv`](Self::recv) with an empty inbox then says
    /// [`RecvError::Closed`] with the socket. Never blocks.
    pub fn close(&self, flush_timeout: std::time::Duration) -> bool {
        self.sender.close_source(flush_timeout)
    }
}

impl fmt::Debug for AsyncSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inbox = self.inbox.borrow();
        f.debug_struct("AsyncSocket")
            .field("buffered", &inbox.messages.len())
            .field("inbox_capacity", &inbox.capacity)
            .field("paused", &inbox.paused)
            .finish_non_exhaustive()
    }
}

impl Drop for AsyncSocket {
    fn drop(&mut self) {
        #[cfg(feature = "futures")]
        self.sender.forget_task(&mut self.sink.flushing);
        let unread = std::mem::take(&mut self.inbox.borrow_mut().messages);
        count_unread(&self.sender, unread.len());
        // Nobody will read what the source would still take from libzmq.
        if let Some(mut source) = self.source.direct() {
            source.pause_recv();
        }
        // The source ends at its next dispatch, which this wakes; the
        // feeder reports what did not go out. A close already asked for
        // keeps its flush timeout.
        if !self.sender.is_closed() {
            self.sender.close_source(Duration::ZERO);
        }
    }
}
