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
//!   cancellation-safe: it holds no message; the [`Permit`] it gives then
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
//! are published at the source's next dispatch, as a dispatch's own are at
//! its end: publishing per message would cost more than the message.
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

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use calloop::{EventSource, LoopHandle, PostAction, Readiness, Token};

use crate::error::{Error, InsertError, SendError};
use crate::message::Multipart;
use crate::outbox::{Permit, SendFailure, Sender, SourceClosed};
use crate::source::{Closed, Event, Fatal, ZmqSource};
use crate::stats::Counters;
use crate::zmq;

/// Why [`AsyncSocket::recv`] has no message to give.
#[derive(Debug)]
#[non_exhaustive]
pub enum RecvError {
    /// The source closed as asked ([`AsyncSocket::close`]): here are its
    /// socket and what did not go out. Said once; later calls say
    /// [`Ended`](Self::Ended).
    Closed(Closed),
    /// The socket broke: the error and what did not go out. Said once; later
    /// calls say [`Ended`](Self::Ended).
    Fatal(Fatal),
    /// The source ended and its last words were already handed out.
    Ended,
    /// The source left its loop without ending (the loop was dropped while
    /// this `AsyncSocket` lived on): nothing will be received or sent any
    /// more. Here are the messages that were waiting to go out. Said once;
    /// later calls say [`Ended`](Self::Ended).
    Removed(Vec<Multipart>),
    /// The socket's type never receives (PUB, PUSH): said at once instead
    /// of a `recv` that would wait forever.
    CannotReceive(zmq::SocketType),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed(_) => f.write_str("the socket was closed"),
            RecvError::Fatal(fatal) => write!(f, "the socket failed: {}", fatal.error),
            RecvError::Ended => f.write_str("the socket has ended"),
            RecvError::Removed(undelivered) => write!(
                f,
                "the socket's source left its loop without closing ({} message(s) not sent)",
                undelivered.len()
            ),
            RecvError::CannotReceive(kind) => {
                write!(f, "a {kind} socket never receives")
            }
        }
    }
}

impl std::error::Error for RecvError {}

/// Why [`AsyncSocket::reserve`] gives no [`Permit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReserveError {
    /// The source accepts no more messages (closed, broken or closing).
    Closed,
    /// The socket's type never sends (PULL, SUB): said at once.
    CannotSend(zmq::SocketType),
}

impl fmt::Display for ReserveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReserveError::Closed => fmt::Display::fmt(&SourceClosed, f),
            ReserveError::CannotSend(kind) => write!(f, "a {kind} socket never sends"),
        }
    }
}

impl std::error::Error for ReserveError {}

/// What the source and the futures share (all on the loop's thread).
struct Inbox {
    messages: VecDeque<Multipart>,
    capacity: usize,
    /// The tasks awaiting `recv` or `ended` (usually one).
    wakers: Wakers,
    /// The tasks whose `send` waits for the loop to send what it holds.
    held_waiters: Wakers,
    /// Receiving is paused because the inbox is full.
    paused: bool,
    /// Messages `recv` may still take straight from the socket before the
    /// source's next dispatch (which refills it to the source's budget), so
    /// a task that keeps up with a flood still lets the loop go round.
    direct_left: usize,
    /// A wake-up to resume receiving is on its way.
    resume_pinged: bool,
    /// Queued messages libzmq refused, handed back by `take_refused`.
    refused: Vec<SendFailure>,
    /// How the source ended, until `recv` hands it out.
    ended: Option<RecvError>,
}

/// Tasks waiting for one kind of news from the feeder.
#[derive(Default)]
struct Wakers(Vec<Waker>);

impl Wakers {
    /// Adds `cx`'s task, once.
    fn register(&mut self, cx: &Context<'_>) {
        if !self.0.iter().any(|w| w.will_wake(cx.waker())) {
            self.0.push(cx.waker().clone());
        }
    }

    /// Wakes every waiting task. Called for every received message, so the
    /// common case (nobody waiting: the task is already woken) costs one
    /// comparison.
    #[inline]
    fn wake_all(&mut self) {
        if !self.0.is_empty() {
            for waker in self.0.drain(..) {
                waker.wake();
            }
        }
    }
}

/// Where [`AsyncSocket::send`] can put a message now.
enum SendNow {
    /// Handed to the socket's handle: sent, or queued behind nothing when the
    /// socket pushed back, or refused (the outcome says which).
    Done(Result<(), SendError>),
    /// The loop holds messages the socket has not taken yet: wait until it
    /// has sent them, then send straight to libzmq.
    AfterHeld(Multipart),
    /// Senders' messages or reserved places are ahead (or the source is
    /// closed or in a dispatch): through the senders' queue, in order.
    Queue(Multipart),
}

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
    sink: futures::SinkState,
    /// The source, shared with the feeder: a send finds the socket free
    /// (the loop is not in the source's dispatch while a future runs) and
    /// goes straight to libzmq, as a handler's send does.
    source: Rc<RefCell<ZmqSource>>,
    sender: Sender,
    socket_type: zmq::SocketType,
}

impl AsyncSocket {
    /// Inserts `source` into the loop behind an inbox of `inbox_capacity`
    /// messages (at least 1) and returns the socket's async side. On failure
    /// the source comes back in the [`InsertError`].
    pub fn insert<D>(
        source: ZmqSource,
        handle: &LoopHandle<'_, D>,
        inbox_capacity: usize,
    ) -> Result<AsyncSocket, InsertError<ZmqSource>> {
        if inbox_capacity == 0 {
            let why = Error::InvalidArgument("inbox capacity must be at least 1".into());
            return Err(InsertError::new(source, why.into()));
        }
        let inbox = Rc::new(RefCell::new(Inbox {
            messages: VecDeque::with_capacity(inbox_capacity),
            capacity: inbox_capacity,
            wakers: Wakers::default(),
            held_waiters: Wakers::default(),
            paused: false,
            direct_left: source.budget(),
            resume_pinged: false,
            refused: Vec::new(),
            ended: None,
        }));
        let sender = source.sender();
        let socket_type = source.socket().socket_type();
        let source = Rc::new(RefCell::new(source));
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
            let source = Rc::into_inner(source)
                .expect("the feeder that shared the source was dropped")
                .into_inner();
            return Err(InsertError::new(source, e.error));
        }
        Ok(AsyncSocket {
            #[cfg(feature = "futures")]
            sink: futures::SinkState::default(),
            source,
            inbox,
            sender,
            socket_type,
        })
    }

    /// The next whole message.
    ///
    /// **Cancellation-safe**: a message leaves the inbox (or libzmq) only
    /// in the poll that returns it, so dropping the future loses nothing.
    /// On a socket type that never receives (PUB, PUSH) it says
    /// [`RecvError::CannotReceive`] at once.
    pub fn recv(&self) -> Recv<'_> {
        Recv { socket: self }
    }

    /// Waits, without blocking the thread, for a place in the outbox and
    /// reserves it; [`Permit::send`] then queues one message there without
    /// waiting. The outbox sends in order, behind what is already queued.
    ///
    /// **Cancellation-safe**: the future holds no message, so dropping it
    /// loses nothing, and a permit dropped unused gives its place back. This
    /// is the send to use inside `select!` or under a timeout. On a socket
    /// type that never sends (PULL, SUB) it says
    /// [`ReserveError::CannotSend`] at once.
    pub async fn reserve(&self) -> Result<Permit, ReserveError> {
        if !self.socket_type.can_send() {
            return Err(ReserveError::CannotSend(self.socket_type));
        }
        self.sender
            .reserve()
            .await
            .map_err(|_| ReserveError::Closed)
    }

    /// Sends `msg`, waiting (without blocking the thread) while the socket
    /// or the outbox pushes back. Resolves once libzmq took the message, or
    /// once it is queued in the outbox (the first message the socket could
    /// not take yet, or behind other senders' messages): the outbox then
    /// hands it to libzmq in order, as soon as the socket takes it; messages
    /// libzmq refuses later come back through
    /// [`take_refused`](Self::take_refused). [`flush`](Self::flush) waits
    /// until everything queued went out.
    ///
    /// **Not cancellation-safe for the message**: dropping the future while
    /// it waits for room drops the message with it (nothing was queued). To
    /// keep the message when a `select!` or a timeout wins, use
    /// [`reserve`](Self::reserve) and then [`Permit::send`].
    ///
    /// Errors hand the message back: [`SendError::Closed`] once the source
    /// accepts no more messages, and [`SendError::Failed`] with `ENOTSUP` at
    /// once on a socket type that never sends (PULL, SUB).
    pub async fn send(&self, msg: impl Into<Multipart>) -> Result<(), SendError> {
        let msg = msg.into();
        if !self.socket_type.can_send() {
            return Err(SendError::Failed {
                message: msg,
                error: zmq::Error::ENOTSUP,
            });
        }
        // The common case: nothing queued, so the message overtakes nothing
        // and goes straight to libzmq (or, the first time the socket pushes
        // back, into the loop's half of the outbox), as a handler's send
        // does. While the loop holds messages the socket has not taken, the
        // send waits for the loop to send them rather than queueing behind
        // them: each message then crosses into libzmq once, from here,
        // instead of being queued here and sent again by the loop
        // (BENCHMARKS.md, "The async socket").
        let mut msg = msg;
        loop {
            msg = match self.send_now(msg) {
                SendNow::Done(outcome) => return outcome,
                SendNow::AfterHeld(msg) => {
                    HeldSent { socket: self }.await;
                    msg
                }
                SendNow::Queue(msg) => return self.send_queued(msg).await,
            };
        }
    }

    /// The senders' queue path of [`send`](Self::send): a place, then the
    /// message in it, behind everything queued.
    async fn send_queued(&self, msg: Multipart) -> Result<(), SendError> {
        let permit = match self.sender.try_reserve() {
            Ok(Some(permit)) => permit,
            Ok(None) => match self.sender.reserve().await {
                Ok(permit) => permit,
                Err(SourceClosed) => return Err(SendError::Closed(msg)),
            },
            Err(SourceClosed) => return Err(SendError::Closed(msg)),
        };
        permit.send(msg)
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
    /// reserved by an unused [`Permit`] counts as queued, as both do for
    /// [`Sender::flush`]. Cancellation-safe: it holds nothing.
    pub async fn flush(&self) {
        Drained {
            sender: &self.sender,
            slot: None,
        }
        .await
    }

    /// Calls `f` with the socket, for options (`set_subscribe`,
    /// `set_sndhwm`, ...), endpoints (`bind`, `connect`, `disconnect`) and
    /// queries while the socket is in the loop. Send and receive through
    /// this `AsyncSocket` instead: a blocking call on the socket would block
    /// the loop.
    ///
    /// The source re-reads `ZMQ_EVENTS` before the loop next sleeps, since
    /// anything done through the socket may make libzmq take in a
    /// notification the edge-triggered fd will not repeat.
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
        let mut source = self.source.try_borrow_mut().ok()?;
        source.handle().try_socket().map(f)
    }

    /// Waits for the source to end and says how: [`RecvError::Closed`]
    /// (after [`close`](Self::close)) with the socket and what did not go
    /// out, [`RecvError::Fatal`], or [`RecvError::Removed`] (the loop was
    /// dropped); [`RecvError::Ended`] if that was already handed out.
    /// Messages still in the inbox stay there for [`recv`](Self::recv). The
    /// way to learn the end of a socket that never receives (PUB, PUSH).
    /// Cancellation-safe.
    pub fn ended(&self) -> Ended<'_> {
        Ended { socket: self }
    }

    /// Where [`send`](Self::send) can put `msg` now: through the source's
    /// handle when nothing at all is queued (so order holds), after the
    /// loop's held messages when only those are ahead, and through the
    /// senders' queue otherwise (and while the source is closed or in a
    /// dispatch).
    fn send_now(&self, msg: Multipart) -> SendNow {
        if self.inbox.borrow().ended.is_some() {
            return SendNow::Queue(msg);
        }
        let Ok(mut source) = self.source.try_borrow_mut() else {
            return SendNow::Queue(msg);
        };
        if self.sender.ahead() > 0 {
            return SendNow::Queue(msg);
        }
        let handle = source.handle();
        if handle.queued() > 0 {
            return SendNow::AfterHeld(msg);
        }
        match handle.send(msg) {
            Err(SendError::Full(msg)) => SendNow::Queue(msg),
            outcome => SendNow::Done(outcome),
        }
    }

    /// The socket's type.
    pub fn socket_type(&self) -> zmq::SocketType {
        self.socket_type
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

/// The future of [`AsyncSocket::recv`].
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a> {
    socket: &'a AsyncSocket,
}

impl Future for Recv<'_> {
    type Output = Result<Multipart, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.socket.poll_recv(cx)
    }
}

impl AsyncSocket {
    /// The poll behind [`recv`](Self::recv) and the `Stream`.
    fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Result<Multipart, RecvError>> {
        let socket = self;
        let mut inbox = socket.inbox.borrow_mut();
        if !socket.socket_type.can_recv() && inbox.ended.is_none() {
            return Poll::Ready(Err(RecvError::CannotReceive(socket.socket_type)));
        }
        if let Some(msg) = inbox.messages.pop_front() {
            if inbox.paused && !inbox.resume_pinged {
                // Room again: the source resumes receiving in its next
                // dispatch, which this wakes.
                inbox.resume_pinged = true;
                socket.sender.wake_loop();
            }
            return Poll::Ready(Ok(msg));
        }
        if let Some(ended) = inbox.ended.as_mut() {
            let said = std::mem::replace(ended, RecvError::Ended);
            return Poll::Ready(Err(said));
        }
        // Nothing buffered, so the socket's next message is the next in
        // order: take it straight from libzmq (the source is free: the loop
        // is not in its dispatch while a future runs), within the budget
        // until the source's next dispatch.
        if inbox.direct_left > 0
            && let Ok(mut source) = socket.source.try_borrow_mut()
        {
            if inbox.paused {
                // The inbox that paused receiving is empty now.
                inbox.paused = false;
                source.handle().resume_recv();
            }
            if let Some(msg) = source.recv_now() {
                inbox.direct_left -= 1;
                return Poll::Ready(Ok(msg));
            }
        }
        // Every waiting task is woken for each message; one takes it, the
        // others wait again.
        inbox.wakers.register(cx);
        Poll::Pending
    }
}

impl fmt::Debug for Recv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").finish_non_exhaustive()
    }
}

/// The future of [`AsyncSocket::ended`].
#[must_use = "futures do nothing unless awaited"]
pub struct Ended<'a> {
    socket: &'a AsyncSocket,
}

impl Future for Ended<'_> {
    type Output = RecvError;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<RecvError> {
        let mut inbox = self.socket.inbox.borrow_mut();
        if let Some(ended) = inbox.ended.as_mut() {
            return Poll::Ready(std::mem::replace(ended, RecvError::Ended));
        }
        inbox.wakers.register(cx);
        Poll::Pending
    }
}

impl fmt::Debug for Ended<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ended").finish_non_exhaustive()
    }
}

/// Ready once the loop holds no message for sending (it sent them, or the
/// source ended), or once the source cannot be looked at (it is in a
/// dispatch): [`AsyncSocket::send`] then decides again.
struct HeldSent<'a> {
    socket: &'a AsyncSocket,
}

impl Future for HeldSent<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let socket = self.socket;
        let mut inbox = socket.inbox.borrow_mut();
        let held = match socket.source.try_borrow_mut() {
            Ok(mut source) => source.handle().queued(),
            Err(_) => 0,
        };
        if held == 0 || inbox.ended.is_some() {
            return Poll::Ready(());
        }
        // The feeder wakes these after every dispatch that left the loop
        // holding nothing, and when the source ends.
        inbox.held_waiters.register(cx);
        Poll::Pending
    }
}

/// The future behind [`AsyncSocket::flush`]: ready once the outbox is empty
/// or the source ended; dropped while waiting, it leaves no registration.
struct Drained<'a> {
    sender: &'a Sender,
    slot: Option<u64>,
}

impl Future for Drained<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.sender.poll_drained(cx, &mut this.slot, 0)
    }
}

impl Drop for Drained<'_> {
    fn drop(&mut self) {
        self.sender.forget_task(&mut self.slot);
    }
}

impl Drop for AsyncSocket {
    fn drop(&mut self) {
        #[cfg(feature = "futures")]
        self.sender.forget_task(&mut self.sink.flushing);
        let unread = std::mem::take(&mut self.inbox.borrow_mut().messages);
        count_unread(&self.sender, unread.len());
        // Nobody will read what the source would still take from libzmq.
        if let Ok(mut source) = self.source.try_borrow_mut() {
            source.handle().pause_recv();
        }
        // The source ends at its next dispatch, which this wakes; the
        // feeder reports what did not go out. A close already asked for
        // keeps its flush timeout.
        if !self.sender.is_closed() {
            self.sender.close_source(Duration::ZERO);
        }
    }
}

/// Counts and logs received messages that will never be read.
fn count_unread(sender: &Sender, unread: usize) {
    if unread > 0 {
        Counters::bump(&sender.counters().dropped_unread, unread as u64);
        tracing::warn!(
            messages = unread,
            "AsyncSocket dropped with received messages nobody read"
        );
    }
}

/// The event source behind an [`AsyncSocket`]: the socket's source, feeding
/// the inbox. A `recv` that makes room in a full inbox wakes it through the
/// outbox's wake-up, which dispatches the source.
struct Feeder {
    source: Rc<RefCell<ZmqSource>>,
    inbox: Rc<RefCell<Inbox>>,
    /// The source's outbox handle, for its counters.
    sender: Sender,
}

impl EventSource for Feeder {
    type Event = ();
    type Metadata = ();
    type Ret = ();
    type Error = Error;

    // The borrow cannot clash: futures run only outside the loop's calls
    // into sources.
    crate::source::forward_registration!(source.borrow_mut());

    fn process_events<F>(
        &mut self,
        readiness: Readiness,
        token: Token,
        _: F,
    ) -> Result<PostAction, Error>
    where
        F: FnMut((), &mut ()),
    {
        {
            let mut inbox = self.inbox.borrow_mut();
            inbox.resume_pinged = false;
            inbox.direct_left = self.source.borrow().budget();
            if inbox.paused && inbox.messages.len() < inbox.capacity {
                inbox.paused = false;
                self.source.borrow_mut().handle().resume_recv();
            }
        }
        let inbox = &self.inbox;
        let sender = &self.sender;
        // Only the feeder holds the inbox once the `AsyncSocket` is dropped.
        let orphaned = Rc::strong_count(inbox) == 1;
        let mut source = self.source.borrow_mut();
        let action = source.process_events(readiness, token, |event, socket| {
            let mut inbox = inbox.borrow_mut();
            if orphaned {
                report_orphaned(event, sender);
                return;
            }
            match event {
                Event::Message(msg) => {
                    inbox.messages.push_back(msg);
                    if inbox.messages.len() >= inbox.capacity {
                        // Full: libzmq holds the rest, up to its HWM.
                        socket.pause_recv();
                        inbox.paused = true;
                    }
                }
                Event::SendFailed(failure) => {
                    tracing::warn!(error = %failure.error, "queued message refused; see AsyncSocket::take_refused");
                    inbox.refused.push(failure);
                }
                Event::Closed(closed) => {
                    inbox.ended = Some(RecvError::Closed(closed));
                    inbox.held_waiters.wake_all();
                }
                Event::Fatal(fatal) => {
                    inbox.ended = Some(RecvError::Fatal(fatal));
                    inbox.held_waiters.wake_all();
                }
            }
            inbox.wakers.wake_all();
        });
        let mut inbox = self.inbox.borrow_mut();
        if source.handle().queued() == 0 {
            inbox.held_waiters.wake_all();
        }
        action
    }
}

impl Drop for Feeder {
    /// The loop let go of the source without it ending: the loop itself was
    /// dropped while the `AsyncSocket` lives on. Its futures would wait
    /// forever, and sends would queue for nobody, so the source ends here:
    /// the outbox stops accepting, and `recv` and `ended` say
    /// [`RecvError::Removed`] with what did not go out.
    fn drop(&mut self) {
        if Rc::strong_count(&self.inbox) == 1 {
            return; // the `AsyncSocket` is gone; its drop ended the source
        }
        let mut inbox = self.inbox.borrow_mut();
        if inbox.ended.is_some() {
            return;
        }
        let Ok(mut source) = self.source.try_borrow_mut() else {
            return; // not reached: nothing else runs while the loop drops it
        };
        inbox.ended = Some(RecvError::Removed(source.end_removed()));
        inbox.wakers.wake_all();
        inbox.held_waiters.wake_all();
    }
}

/// What the source says after its [`AsyncSocket`] was dropped: nobody will
/// read it, so losses are counted and logged here.
fn report_orphaned(event: Event, sender: &Sender) {
    match event {
        Event::Message(_) => count_unread(sender, 1),
        Event::SendFailed(failure) => {
            tracing::warn!(error = %failure.error, "queued message refused after its AsyncSocket was dropped");
        }
        Event::Closed(Closed {
            undelivered,
            partial,
            ..
        })
        | Event::Fatal(Fatal {
            undelivered,
            partial,
            ..
        }) => {
            let lost = undelivered.len();
            if lost > 0 {
                Counters::bump(&sender.counters().dropped_at_drop, lost as u64);
                tracing::warn!(
                    messages = lost,
                    "AsyncSocket dropped with undelivered messages; flush or close it first to keep them"
                );
            }
            if !partial.is_empty() {
                tracing::warn!(
                    frames = partial.len(),
                    "AsyncSocket dropped in the middle of receiving a multipart message"
                );
            }
        }
    }
}

#[cfg(feature = "futures")]
mod futures {
    //! `Stream` and `Sink` (futures-rs) for [`AsyncSocket`].

    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use futures_core::Stream;
    use futures_sink::Sink;

    use super::{AsyncSocket, RecvError, ReserveError};
    use crate::error::SendError;
    use crate::message::Multipart;
    use crate::outbox::{Permit, SourceClosed};

    type Waiting = Pin<Box<dyn Future<Output = Result<Permit, SourceClosed>>>>;

    /// The place `poll_ready` reserved, or its wait for one; and
    /// `poll_flush`'s wait for the outbox to drain.
    #[derive(Default)]
    pub(super) struct SinkState {
        permit: Option<Permit>,
        waiting: Option<Waiting>,
        /// `poll_flush`'s registration with the outbox while it waits.
        pub(super) flushing: Option<u64>,
    }

    /// Why the [`AsyncSocket`]'s `Sink` side took no message.
    #[derive(Debug)]
    #[non_exhaustive]
    pub enum SinkError {
        /// `poll_ready` found no place: the source is closed, or the socket
        /// type never sends.
        Reserve(ReserveError),
        /// `start_send` did not queue the message (the source stopped
        /// accepting since `poll_ready`, or `poll_ready` was not called and
        /// the outbox is full): here it is.
        Send(SendError),
    }

    impl std::fmt::Display for SinkError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                SinkError::Reserve(e) => std::fmt::Display::fmt(e, f),
                SinkError::Send(e) => std::fmt::Display::fmt(e, f),
            }
        }
    }

    impl std::error::Error for SinkError {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            match self {
                SinkError::Reserve(e) => Some(e),
                SinkError::Send(e) => Some(e),
            }
        }
    }

    /// Whole messages, as [`recv`](AsyncSocket::recv) gives them; after the
    /// source's last word ([`RecvError::Closed`] or [`RecvError::Fatal`]),
    /// the stream ends. Cancellation-safe as `recv` is.
    impl Stream for AsyncSocket {
        type Item = Result<Multipart, RecvError>;

        fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            match self.poll_recv(cx) {
                Poll::Ready(Err(RecvError::Ended)) => Poll::Ready(None),
                other => other.map(Some),
            }
        }
    }

    /// Messages into the outbox through a reserved place: `poll_ready`
    /// reserves it (waiting without blocking while the outbox is full;
    /// cancellation-safe, no message is held), `start_send` queues the
    /// message there, behind everything queued. `poll_flush` waits, as
    /// [`AsyncSocket::flush`] does, until the outbox has handed every
    /// queued message to libzmq (messages libzmq refuses come back through
    /// [`AsyncSocket::take_refused`]) or the source ended; a place the sink
    /// itself reserved and has not used does not count. `poll_close`
    /// flushes the same way; it does not close the socket
    /// ([`AsyncSocket::close`] does).
    impl<M: Into<Multipart>> Sink<M> for AsyncSocket {
        type Error = SinkError;

        fn poll_ready(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Result<(), SinkError>> {
            let this = &mut *self;
            if this.sink.permit.is_some() {
                return Poll::Ready(Ok(()));
            }
            if !this.socket_type.can_send() {
                return Poll::Ready(Err(SinkError::Reserve(ReserveError::CannotSend(
                    this.socket_type,
                ))));
            }
            if this.sink.waiting.is_none() {
                match this.sender.try_reserve() {
                    Ok(Some(permit)) => {
                        this.sink.permit = Some(permit);
                        return Poll::Ready(Ok(()));
                    }
                    Ok(None) => {
                        let sender = this.sender.clone();
                        this.sink.waiting = Some(Box::pin(async move { sender.reserve().await }));
                    }
                    Err(SourceClosed) => {
                        return Poll::Ready(Err(SinkError::Reserve(ReserveError::Closed)));
                    }
                }
            }
            let Some(waiting) = this.sink.waiting.as_mut() else {
                return Poll::Pending; // not reached: set just above
            };
            let outcome = std::task::ready!(waiting.as_mut().poll(cx));
            this.sink.waiting = None;
            Poll::Ready(match outcome {
                Ok(permit) => {
                    this.sink.permit = Some(permit);
                    Ok(())
                }
                Err(SourceClosed) => Err(SinkError::Reserve(ReserveError::Closed)),
            })
        }

        fn start_send(mut self: Pin<&mut Self>, item: M) -> Result<(), SinkError> {
            let msg = item.into();
            let permit = match self.sink.permit.take() {
                Some(permit) => permit,
                // Without `poll_ready` first: a place now, or the message back.
                None => match self.sender.try_reserve() {
                    Ok(Some(permit)) => permit,
                    Ok(None) => return Err(SinkError::Send(SendError::Full(msg))),
                    Err(SourceClosed) => return Err(SinkError::Send(SendError::Closed(msg))),
                },
            };
            permit.send(msg).map_err(SinkError::Send)
        }

        fn poll_flush(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Result<(), SinkError>> {
            let this = &mut *self;
            let own = usize::from(this.sink.permit.is_some());
            this.sender
                .poll_drained(cx, &mut this.sink.flushing, own)
                .map(Ok)
        }

        fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SinkError>> {
            <Self as Sink<M>>::poll_flush(self, cx)
        }
    }
}

#[cfg(feature = "futures")]
pub use futures::SinkError;
