//! The outbox: every message a source holds for sending, under one bound.
//!
//! A source's outbox has two halves. The *senders' queue* is shared: any
//! thread feeds it through a [`Sender`], a cloneable `Send + Sync` handle.
//! The *loop's half* holds what the handler queued
//! ([`SocketHandle::send`](crate::SocketHandle::send) when the socket pushes
//! back) and what the loop took from the senders' queue, plus messages
//! libzmq refused, waiting to be handed back. Only the loop thread touches
//! its half, so sending from it takes no lock per message.
//!
//! One count covers both halves, and it is what the capacity bounds: the
//! shared state keeps the number of messages the loop holds, raised *before*
//! the loop takes a message in and lowered only after it let messages go.
//! So at every instant, `senders' queue + loop's count <= capacity`, and the
//! loop's count is never below what the loop really holds; for a moment
//! after a send it may be above (until the loop next syncs, at the latest at
//! the end of the dispatch), which refuses early rather than admitting too
//! many.
//!
//! [`Sender::try_send`] never waits; it hands the message back when the
//! outbox is full or the source is gone. [`Sender::send`] and
//! [`Sender::send_timeout`] wait for room, so they are for *other* threads:
//! only the loop drains the outbox, so waiting on the loop's own thread would
//! never end, and they refuse with [`SendError::WouldDeadlock`] there.
//!
//! [`Sender::reserve`] is the async form: a future, for any executor on any
//! thread, that resolves to a [`Permit`] once there is room; the permit then
//! queues one message without waiting. Dropping the future loses nothing (it
//! holds no message), and a permit dropped unused gives its place back, so a
//! `select!` or a timeout around it is safe:
//!
//! ```
//! # use calloop_zmq::{zmq, ZmqSource};
//! # let ctx = zmq::Context::new();
//! # let source = ZmqSource::new(ctx.socket(zmq::SocketType::Push)?)?;
//! let sender = source.sender();
//! async fn produce(sender: calloop_zmq::Sender) -> Result<(), Box<dyn std::error::Error>> {
//!     for i in 0..3 {
//!         let permit = sender.reserve().await?; // waits while the outbox is full
//!         permit.send(format!("job {i}"))?;      // never waits
//!     }
//!     Ok(())
//! }
//! # drop(produce(sender));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The loop is woken once per batch: the first message queued after the loop
//! last took the queue pings it, later ones ride along.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use calloop::ping::Ping;

use crate::error::{Error, SendError};
use crate::message::Multipart;
use crate::stats::{Counters, Stats, Tally};
use crate::wire::{self, Outcome};
use crate::zmq::{self, Socket};

/// A queued message libzmq refused, handed back.
#[derive(Debug)]
pub struct SendFailure {
    /// The message, whole.
    pub message: Multipart,
    /// Why libzmq refused it (e.g. `EFSM`, `EHOSTUNREACH`, `ENOTSUP`).
    pub error: zmq::Error,
}

/// State shared between the loop and the senders.
struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when room is made or the outbox ends.
    room: Condvar,
    ping: Ping,
    capacity: usize,
    counters: Arc<Counters>,
    /// Set with `Queue::close_request`, so the loop checks for a request
    /// without taking the lock every dispatch.
    close_asked: AtomicBool,
    /// `items.len() + reserved`, stored with every depth change, so the loop
    /// thread learns whether senders' messages or places are ahead without
    /// taking the lock (the async socket's send asks before every message).
    ahead: AtomicUsize,
}

struct Queue {
    /// Queued by senders, not yet taken by the loop.
    items: VecDeque<Multipart>,
    /// How many messages the loop holds: never less than the truth.
    held: usize,
    /// The largest depth seen.
    peak: usize,
    /// No new messages are accepted (a close was asked for, or happened).
    closed: bool,
    /// The loop will not drain anything any more: the source is closed,
    /// dropped or broken.
    ended: bool,
    /// A sender asked the source to close once drained, within this time.
    close_request: Option<Duration>,
    /// A ping is on its way; later sends need not ping again.
    wake_pending: bool,
    /// Threads blocked in `send`/`flush`; notify only when someone listens.
    waiters: usize,
    /// Places held by [`Permit`]s: counted in the depth, so the capacity
    /// bounds them too.
    reserved: usize,
    /// Tasks waiting in [`Sender::reserve`], by the id of their future.
    tasks: Vec<(u64, Waker)>,
    /// The id the next waiting `reserve` future gets.
    next_task: u64,
    loop_thread: Option<ThreadId>,
}

impl Queue {
    fn depth(&self) -> usize {
        self.items.len() + self.held + self.reserved
    }

    /// Wakes every task waiting for room (they re-check under the lock).
    fn wake_tasks(&mut self) {
        for (_, waker) in self.tasks.drain(..) {
            waker.wake();
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding this lock leaves the queue consistent (every
        // update is a single push, swap or assignment), so a poisoned lock is
        // still usable.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes the loop, once per batch.
    fn wake(&self, q: &mut Queue) {
        if !q.wake_pending {
            q.wake_pending = true;
            // A ping is an eventfd write; holding the lock while doing it keeps
            // the "one ping per batch" bookkeeping exact and costs one syscall
            // per batch, not per message.
            self.ping.ping();
            Counters::bump(&self.counters.outbox_wakeups, 1);
        }
    }

    /// Publishes the depth after a change, and the peak with it. Called
    /// under the lock, so plain stores suffice (no read-modify-write per
    /// message).
    fn record_depth(&self, q: &mut Queue) {
        self.ahead
            .store(q.items.len() + q.reserved, Ordering::Relaxed);
        let depth = q.depth();
        self.counters
            .outbox_depth
            .store(depth as u64, Ordering::Relaxed);
        if depth > q.peak {
            q.peak = depth;
            self.counters
                .outbox_peak
                .store(depth as u64, Ordering::Relaxed);
        }
    }

    fn push(&self, q: &mut Queue, msg: Multipart) {
        q.items.push_back(msg);
        self.record_depth(q);
        self.wake(q);
    }
}

/// The loop's side of a source's outbox: the messages it holds, the refused
/// ones, and the shared half. Owned by the source's
/// [`SocketHandle`](crate::SocketHandle); see the [module docs](self).
pub(crate) struct Outbox {
    shared: Arc<Shared>,
    /// Messages the loop holds for sending, in order; the head goes first.
    held: VecDeque<Multipart>,
    /// Messages libzmq refused, to be handed back as events.
    refused: Vec<SendFailure>,
}

impl Outbox {
    pub(crate) fn new(capacity: usize, ping: Ping) -> Self {
        let shared = Shared {
            queue: Mutex::new(Queue {
                items: VecDeque::new(),
                held: 0,
                peak: 0,
                closed: false,
                ended: false,
                close_request: None,
                wake_pending: false,
                waiters: 0,
                reserved: 0,
                tasks: Vec::new(),
                next_task: 0,
                loop_thread: None,
            }),
            room: Condvar::new(),
            ping,
            capacity,
            counters: Arc::new(Counters::default()),
            close_asked: AtomicBool::new(false),
            ahead: AtomicUsize::new(0),
        };
        Self {
            shared: Arc::new(shared),
            held: VecDeque::new(),
            refused: Vec::new(),
        }
    }

    pub(crate) fn sender(&self) -> Sender {
        Sender {
            shared: self.shared.clone(),
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        Stats::new(self.shared.counters.clone())
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    pub(crate) fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// Remembers which thread runs the loop, so a blocking send from it can
    /// be refused instead of deadlocking.
    pub(crate) fn set_loop_thread(&self) {
        self.shared.lock().loop_thread = Some(thread::current().id());
    }

    /// Messages the loop holds for sending.
    pub(crate) fn held(&self) -> usize {
        self.held.len()
    }

    /// The count the shared state should have for what the loop holds.
    fn exact(&self) -> usize {
        self.held.len() + self.refused.len()
    }

    /// Puts the exact loop count in `q`, waking blocked senders if that made
    /// room.
    fn sync(&self, q: &mut Queue) {
        debug_assert!(q.held >= self.exact(), "outbox undercounted");
        let freed = q.held > self.exact();
        q.held = self.exact();
        self.shared.record_depth(q);
        if freed {
            if q.waiters > 0 {
                self.shared.room.notify_all();
            }
            q.wake_tasks();
        }
    }

    /// Publishes what the loop holds now (it only ever lowers the count).
    pub(crate) fn settle(&self) {
        let mut q = self.shared.lock();
        self.sync(&mut q);
    }

    /// Queues a message from the loop thread (the handler) behind what the
    /// loop holds. Its place is counted before it is taken in.
    pub(crate) fn push(&mut self, msg: Multipart) -> Result<(), SendError> {
        let mut q = self.shared.lock();
        if q.closed {
            return Err(SendError::Closed(msg));
        }
        if q.depth() >= self.shared.capacity {
            return Err(SendError::Full(msg));
        }
        q.held += 1;
        self.shared.record_depth(&mut q);
        drop(q);
        self.held.push_back(msg);
        Ok(())
    }

    /// Once the loop has sent everything it held, takes what senders queued
    /// by trading buffers, so no message is moved while senders wait on the
    /// lock. Returns whether the loop now holds anything. Later sends wake
    /// the loop again either way, so what stays queued is not forgotten.
    fn refill(&mut self) -> bool {
        let mut q = self.shared.lock();
        q.wake_pending = false;
        if self.held.is_empty() && !q.items.is_empty() {
            // Moving from one half to the other: the depth is unchanged.
            q.held += q.items.len();
            std::mem::swap(&mut self.held, &mut q.items);
        }
        self.sync(&mut q);
        !self.held.is_empty()
    }

    /// Sends what the loop holds, then what senders queued meanwhile, until
    /// the socket pushes back, nothing is left or `limit` messages left the
    /// outbox. Refused messages are kept for [`take_refused`](Self::take_refused).
    /// Returns how many messages left, or the error that broke the socket
    /// (the message it hit stays at the head).
    pub(crate) fn send_queued(
        &mut self,
        socket: &Socket,
        limit: usize,
        tally: &mut Tally,
    ) -> Result<usize, zmq::Error> {
        let mut done = 0;
        let mut unsynced = false;
        while done < limit {
            // Senders' messages stay in their queue (and keep counting against
            // the capacity) until the loop is ready for them.
            if self.held.is_empty() && !self.refill() {
                unsynced = false;
                break;
            }
            let before = done;
            done += self.send_held(socket, limit - done, tally)?;
            unsynced = done > before;
            if !self.held.is_empty() {
                break; // the socket pushed back, or the budget is spent
            }
        }
        if unsynced {
            // Room was made after the last refill: publish it now, so the
            // handler's sends in this dispatch see it.
            self.settle();
        }
        Ok(done)
    }

    /// Sends held messages from the head; see [`send_queued`](Self::send_queued).
    fn send_held(
        &mut self,
        socket: &Socket,
        limit: usize,
        tally: &mut Tally,
    ) -> Result<usize, zmq::Error> {
        let mut done = 0;
        while done < limit {
            let Some(msg) = self.held.front_mut() else {
                break;
            };
            match wire::send(socket, msg) {
                Outcome::Sent(bytes) => {
                    tally.messages_out += 1;
                    tally.bytes_out += bytes as u64;
                    self.held.pop_front();
                }
                Outcome::WouldBlock => {
                    tally.send_eagain += 1;
                    break;
                }
                Outcome::Refused(error) => {
                    tally.send_failures += 1;
                    if let Some(message) = self.held.pop_front() {
                        self.refused.push(SendFailure { message, error });
                    }
                }
                // The message stays queued: the source hands it back.
                Outcome::Fatal(error) => return Err(error),
            }
            done += 1;
        }
        Ok(done)
    }

    /// The refused messages, to hand back. They leave the count at the next
    /// sync.
    pub(crate) fn take_refused(&mut self) -> Vec<SendFailure> {
        std::mem::take(&mut self.refused)
    }

    /// True when nothing at all waits: not held, not refused, not queued by
    /// senders.
    pub(crate) fn is_drained(&self) -> bool {
        self.held.is_empty() && self.refused.is_empty() && self.shared.lock().items.is_empty()
    }

    /// Stops accepting new messages; what is queued still goes out.
    pub(crate) fn stop_accepting(&self) {
        let mut q = self.shared.lock();
        q.closed = true;
        self.shared.room.notify_all();
        q.wake_tasks();
    }

    /// A close asked for through [`Sender::close_source`], if one is waiting.
    pub(crate) fn take_close_request(&self) -> Option<Duration> {
        // A plain load first: the swap is a locked instruction, and this
        // runs every dispatch.
        if !self.shared.close_asked.load(Ordering::Relaxed)
            || !self.shared.close_asked.swap(false, Ordering::Acquire)
        {
            return None;
        }
        self.shared.lock().close_request.take()
    }

    /// Ends the outbox and returns every message it held, oldest first: the
    /// loop's held messages, then what senders had queued, then the refused
    /// ones not yet handed back. Later sends fail with
    /// [`SendError::Closed`]; blocked senders and flushes return.
    pub(crate) fn close(&mut self) -> Vec<Multipart> {
        let mut q = self.shared.lock();
        q.closed = true;
        q.ended = true;
        q.held = 0;
        let mut all: Vec<Multipart> = self.held.drain(..).collect();
        all.extend(q.items.drain(..));
        all.extend(self.refused.drain(..).map(|f| f.message));
        self.shared.record_depth(&mut q);
        self.shared.room.notify_all();
        q.wake_tasks();
        all
    }
}

fn expired(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

/// A cloneable, thread-safe handle for queueing messages on a source's outbox.
///
/// Get one from [`ZmqSource::sender`](crate::ZmqSource::sender). Senders stay
/// valid after the source is gone; sends then fail with
/// [`SendError::Closed`], message included.
#[derive(Clone)]
pub struct Sender {
    shared: Arc<Shared>,
}

impl Sender {
    /// Queues a message without waiting. Safe on any thread, the loop's
    /// included. On a full outbox or a closed source the message comes back
    /// in the error.
    pub fn try_send(&self, msg: impl Into<Multipart>) -> Result<(), SendError> {
        let msg = msg.into();
        let mut q = self.shared.lock();
        if q.closed {
            return Err(SendError::Closed(msg));
        }
        if q.depth() >= self.shared.capacity {
            return Err(SendError::Full(msg));
        }
        self.shared.push(&mut q, msg);
        Ok(())
    }

    /// Queues a message, **blocking** the calling thread while the outbox is
    /// full. Meant for worker threads. On the event loop's thread it refuses
    /// at once with [`SendError::WouldDeadlock`] (only that thread drains the
    /// outbox); use [`try_send`](Self::try_send) there.
    pub fn send(&self, msg: impl Into<Multipart>) -> Result<(), SendError> {
        self.send_until(msg.into(), None)
    }

    /// Like [`send`](Self::send), but gives up after `timeout` with
    /// [`SendError::Timeout`], message included.
    pub fn send_timeout(
        &self,
        msg: impl Into<Multipart>,
        timeout: Duration,
    ) -> Result<(), SendError> {
        self.send_until(msg.into(), Some(Instant::now() + timeout))
    }

    fn send_until(&self, msg: Multipart, deadline: Option<Instant>) -> Result<(), SendError> {
        let mut q = self.shared.lock();
        loop {
            if q.closed {
                return Err(SendError::Closed(msg));
            }
            if q.depth() < self.shared.capacity {
                self.shared.push(&mut q, msg);
                return Ok(());
            }
            if q.loop_thread == Some(thread::current().id()) {
                return Err(SendError::WouldDeadlock(msg));
            }
            if expired(deadline) {
                return Err(SendError::Timeout(msg));
            }
            q = self.wait(q, deadline);
        }
    }

    /// Waits once for the loop to make room or end, or for the deadline.
    /// Callers re-check their condition first and the deadline after, so a
    /// wake-up just at the deadline still counts.
    fn wait<'a>(
        &'a self,
        mut q: MutexGuard<'a, Queue>,
        deadline: Option<Instant>,
    ) -> MutexGuard<'a, Queue> {
        q.waiters += 1;
        let mut q = match deadline {
            None => self.shared.room.wait(q).unwrap_or_else(|e| e.into_inner()),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                let (q, _) = self
                    .shared
                    .room
                    .wait_timeout(q, left)
                    .unwrap_or_else(|e| e.into_inner());
                q
            }
        };
        q.waiters -= 1;
        q
    }

    /// **Blocks** until the loop has handed every queued message to libzmq
    /// (or back to the user as failed), or `timeout` passes. The loop must be
    /// running on another thread. Fails with [`Error::FlushTimeout`] naming how
    /// many messages remain (a place held by an unused [`Permit`] counts as
    /// one). Returns `Ok` once the source has ended (closed,
    /// dropped or broken): whatever was left went back to the user through
    /// [`ZmqSource::close`](crate::ZmqSource::close),
    /// [`Event::Closed`](crate::Event::Closed) or
    /// [`Event::Fatal`](crate::Event::Fatal).
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        let deadline = Some(Instant::now() + timeout);
        let mut q = self.shared.lock();
        loop {
            if q.depth() == 0 || q.ended {
                return Ok(());
            }
            if q.loop_thread == Some(thread::current().id()) {
                return Err(Error::InvalidArgument(
                    "Sender::flush called on the event loop's thread, which must keep running \
                     to drain the outbox; use ZmqSource::flush instead"
                        .into(),
                ));
            }
            if expired(deadline) {
                return Err(Error::FlushTimeout {
                    remaining: q.depth(),
                });
            }
            q = self.wait(q, deadline);
        }
    }

    /// Asks the source to close itself from inside its loop: from now on it
    /// accepts no new messages (sends fail with [`SendError::Closed`]), stops
    /// receiving, sends what is queued for at most `flush_timeout`, then
    /// hands its callback an [`Event::Closed`](crate::Event::Closed) with the
    /// socket and every message that did not go out, and leaves the loop.
    /// Never blocks. Returns `false` when the source has already ended.
    ///
    /// From the callback, [`SocketHandle::close`](crate::SocketHandle::close)
    /// does the same.
    pub fn close_source(&self, flush_timeout: Duration) -> bool {
        let mut q = self.shared.lock();
        if q.ended {
            return false;
        }
        q.closed = true;
        q.close_request = Some(match q.close_request {
            Some(earlier) => earlier.min(flush_timeout),
            None => flush_timeout,
        });
        self.shared.close_asked.store(true, Ordering::Release);
        q.wake_tasks();
        // The loop must look even if a wake-up for messages is on its way
        // (it clears the flag only after taking the request).
        q.wake_pending = false;
        self.shared.wake(&mut q);
        self.shared.room.notify_all();
        true
    }

    /// Waits, without blocking the thread, for room in the outbox and
    /// reserves one place: the returned [`Permit`] then sends one message
    /// without waiting and without failing for lack of room. For async code
    /// on any executor and any thread, the loop's included.
    ///
    /// **Cancellation-safe**: the future holds no message, so dropping it
    /// (in a `select!`, on a timeout) loses nothing; a place it had not
    /// reserved yet is never taken, and a [`Permit`] dropped unused gives its
    /// place back. The reserved place counts against the capacity like a
    /// queued message.
    ///
    /// Fails with [`SourceClosed`] once the source accepts no more messages.
    pub fn reserve(&self) -> Reserve<'_> {
        Reserve {
            sender: self,
            task: None,
        }
    }

    /// Reserves a place if there is one now; see [`reserve`](Self::reserve).
    /// `Ok(None)` when the outbox is full.
    pub fn try_reserve(&self) -> Result<Option<Permit>, SourceClosed> {
        let mut q = self.shared.lock();
        self.reserve_locked(&mut q)
    }

    fn reserve_locked(&self, q: &mut Queue) -> Result<Option<Permit>, SourceClosed> {
        if q.closed {
            return Err(SourceClosed);
        }
        if q.depth() >= self.shared.capacity {
            return Ok(None);
        }
        q.reserved += 1;
        self.shared.record_depth(q);
        Ok(Some(Permit {
            shared: self.shared.clone(),
            used: false,
        }))
    }

    /// Wakes the loop for this source's next dispatch (the async inbox uses
    /// it to resume receiving).
    pub(crate) fn wake_loop(&self) {
        self.shared.ping.ping();
    }

    /// Messages senders queued that the loop has not taken, plus places
    /// reserved by [`Permit`]s: what a message sent from the loop's thread
    /// now would overtake. Without the lock: on the loop's thread it sees
    /// every change that thread made; another thread's concurrent send may
    /// land just after the read, which no order promise covers anyway.
    pub(crate) fn ahead(&self) -> usize {
        self.shared.ahead.load(Ordering::Relaxed)
    }

    /// The source's counters, for the async socket's own ones.
    pub(crate) fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    /// Ready once at most `allowance` places are taken (queued, held by the
    /// loop, refused and not yet handed back, or reserved), or once the
    /// source has ended. Otherwise registers `cx`'s waker, under the id kept
    /// in `slot`, to be woken when the loop frees a place; the caller polls
    /// again then. A ready poll leaves `slot` empty. [`forget_task`]
    /// removes a registration that will not be polled again.
    ///
    /// [`forget_task`]: Self::forget_task
    pub(crate) fn poll_drained(
        &self,
        cx: &mut Context<'_>,
        slot: &mut Option<u64>,
        allowance: usize,
    ) -> Poll<()> {
        let mut q = self.shared.lock();
        if let Some(id) = slot.take() {
            q.tasks.retain(|(task, _)| *task != id);
        }
        if q.depth() <= allowance || q.ended {
            return Poll::Ready(());
        }
        let id = q.next_task;
        q.next_task += 1;
        q.tasks.push((id, cx.waker().clone()));
        *slot = Some(id);
        Poll::Pending
    }

    /// Removes a waiting registration made by
    /// [`poll_drained`](Self::poll_drained).
    pub(crate) fn forget_task(&self, slot: &mut Option<u64>) {
        if let Some(id) = slot.take() {
            self.shared.lock().tasks.retain(|(task, _)| *task != id);
        }
    }

    /// Messages queued and not yet handed to libzmq. While a dispatch runs,
    /// messages it already sent may still count until it ends.
    pub fn len(&self) -> usize {
        self.shared.lock().depth()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The outbox capacity, in messages.
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// True once the source accepts no more messages: it was closed,
    /// dropped, broken, or asked to close.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }

    /// The source's counters.
    pub fn stats(&self) -> Stats {
        Stats::new(self.shared.counters.clone())
    }
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let q = self.shared.lock();
        f.debug_struct("Sender")
            .field("depth", &q.depth())
            .field("capacity", &self.shared.capacity)
            .field("closed", &q.closed)
            .finish()
    }
}

/// The source accepts no more messages (it was closed, dropped, broken, or
/// asked to close): what [`Sender::reserve`] says instead of a [`Permit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the source accepts no more messages (closed, dropped, broken or closing)")]
pub struct SourceClosed;

/// The future of [`Sender::reserve`]: resolves to a [`Permit`] once the
/// outbox has room. Dropping it loses nothing.
#[must_use = "futures do nothing unless awaited"]
pub struct Reserve<'a> {
    sender: &'a Sender,
    /// This future's entry in the waiting list, once it had to wait.
    task: Option<u64>,
}

impl Future for Reserve<'_> {
    type Output = Result<Permit, SourceClosed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let sender = self.sender;
        let mut q = sender.shared.lock();
        if let Some(id) = self.task.take() {
            q.tasks.retain(|(task, _)| *task != id);
        }
        match sender.reserve_locked(&mut q) {
            Err(closed) => Poll::Ready(Err(closed)),
            Ok(Some(permit)) => Poll::Ready(Ok(permit)),
            Ok(None) => {
                // Woken when the loop makes room, a permit is given back, or
                // the source stops accepting; the check is then made again.
                let id = q.next_task;
                q.next_task += 1;
                q.tasks.push((id, cx.waker().clone()));
                drop(q);
                self.task = Some(id);
                Poll::Pending
            }
        }
    }
}

impl Drop for Reserve<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.task {
            self.sender
                .shared
                .lock()
                .tasks
                .retain(|(task, _)| *task != id);
        }
    }
}

impl std::fmt::Debug for Reserve<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reserve")
            .field("waiting", &self.task.is_some())
            .finish()
    }
}

/// One reserved place in a source's outbox, from [`Sender::reserve`]:
/// [`send`](Self::send) queues a message there without waiting. Dropped
/// unused, it gives the place back.
#[must_use = "a permit holds a place in the outbox until it is used or dropped"]
pub struct Permit {
    shared: Arc<Shared>,
    used: bool,
}

impl Permit {
    /// Queues `msg` in the reserved place. Never waits and never fails for
    /// lack of room; hands the message back in [`SendError::Closed`] if the
    /// source stopped accepting since the place was reserved.
    pub fn send(mut self, msg: impl Into<Multipart>) -> Result<(), SendError> {
        let msg = msg.into();
        let mut q = self.shared.lock();
        self.used = true;
        q.reserved -= 1;
        if q.closed {
            self.shared.record_depth(&mut q);
            q.wake_tasks();
            return Err(SendError::Closed(msg));
        }
        // The place moves from reserved to queued: the depth is unchanged.
        self.shared.push(&mut q, msg);
        Ok(())
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.used {
            return;
        }
        let mut q = self.shared.lock();
        q.reserved -= 1;
        self.shared.record_depth(&mut q);
        if q.waiters > 0 {
            self.shared.room.notify_all();
        }
        q.wake_tasks();
    }
}

impl std::fmt::Debug for Permit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}
