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

#[cfg(all(test, loom))]
mod loom_models;
mod queue;
mod sender;
pub(crate) mod waiters;

use std::collections::VecDeque;
use std::time::Duration;

use calloop::ping::Ping;

use crate::error::SendError;
use crate::message::Multipart;
use crate::stats::{Counters, Stats};
use crate::sync::{Arc, Ordering, current_thread};
use crate::zmq;

use queue::{Queue, Refusal, Shared};
pub use sender::{Permit, Reserve, Sender, SourceClosed};

/// A queued message libzmq refused, handed back.
#[derive(Debug)]
pub struct SendFailure {
    /// The message, whole.
    pub message: Multipart,
    /// Why libzmq refused it (e.g. `EFSM`, `EHOSTUNREACH`, `ENOTSUP`).
    pub error: zmq::Error,
}

/// The loop's side of a source's outbox: the messages it holds, the refused
/// ones, and the shared half. A queue only: the source takes messages from
/// its head and says what became of each ([`sent`](Self::sent),
/// [`refuse_head`](Self::refuse_head)); see the [module docs](self).
pub(crate) struct Outbox {
    shared: Arc<Shared>,
    /// Messages the loop holds for sending, in order; the head goes first.
    held: VecDeque<Multipart>,
    /// Messages libzmq refused, to be handed back as events.
    refused: Vec<SendFailure>,
    /// The count last stored in the shared state (`Queue::held`): only the
    /// loop changes it, so it knows without the lock whether a sync would
    /// change anything.
    published: usize,
}

impl Outbox {
    pub(crate) fn new(capacity: usize, ping: Ping) -> Self {
        Self {
            shared: Arc::new(Shared::new(capacity, ping)),
            held: VecDeque::new(),
            refused: Vec::new(),
            published: 0,
        }
    }

    pub(crate) fn sender(&self) -> Sender {
        Sender::new(self.shared.clone())
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
        self.shared.lock().loop_thread = Some(current_thread().id());
    }

    /// Messages the loop holds for sending.
    pub(crate) fn held(&self) -> usize {
        self.held.len()
    }

    /// Messages senders queued that the loop has not taken, plus places
    /// reserved by [`Permit`]s: what a message sent from the loop's thread
    /// now would overtake. Without the lock: on the loop's thread it sees
    /// every change that thread made; another thread's concurrent send may
    /// land just after the read, which no order promise covers anyway.
    pub(crate) fn ahead(&self) -> usize {
        self.shared.ahead.load(Ordering::Relaxed)
    }

    /// The count the shared state should have for what the loop holds.
    fn exact(&self) -> usize {
        self.held.len() + self.refused.len()
    }

    /// Puts the exact loop count (`exact`) in `q`, waking waiting senders
    /// if that made room. Takes the fields it needs, so it can run while the
    /// lock guard borrows `shared`.
    fn sync(shared: &Shared, published: &mut usize, exact: usize, q: &mut Queue) {
        debug_assert!(q.held >= exact, "outbox undercounted");
        let freed = q.held > exact;
        q.held = exact;
        *published = exact;
        shared.record_depth(q);
        if freed {
            shared.made_room(q);
        }
    }

    /// Publishes what the loop holds now (it only ever lowers the count);
    /// takes the lock only when that changes the count.
    pub(crate) fn settle(&mut self) {
        let exact = self.exact();
        if self.published != exact {
            let mut q = self.shared.lock();
            Self::sync(&self.shared, &mut self.published, exact, &mut q);
        }
    }

    /// Queues a message from the loop thread (the handler) behind what the
    /// loop holds. Its place is counted before it is taken in.
    pub(crate) fn push(&mut self, msg: Multipart) -> Result<(), SendError> {
        let mut q = self.shared.lock();
        match self.shared.admit(&q) {
            Err(Refusal::Closed) => return Err(SendError::Closed(msg)),
            Err(Refusal::Full) => return Err(SendError::Full(msg)),
            Ok(()) => {}
        }
        q.held += 1;
        self.published = q.held;
        self.shared.record_depth(&mut q);
        drop(q);
        self.held.push_back(msg);
        Ok(())
    }

    /// The next message to send, or `None` when nothing waits. Once the
    /// loop has sent everything it held, it takes what senders queued by
    /// trading buffers, so no message is moved while senders wait on the
    /// lock; senders' messages stay in their queue (and keep counting
    /// against the capacity) until then. Later sends wake the loop again
    /// either way, so what stays queued is not forgotten.
    #[inline]
    pub(crate) fn head(&mut self) -> Option<&mut Multipart> {
        if self.held.is_empty() {
            self.refill();
        }
        self.held.front_mut()
    }

    fn refill(&mut self) {
        let mut q = self.shared.lock();
        q.wake_pending = false;
        if !q.items.is_empty() {
            // Moving from one half to the other: the depth is unchanged.
            q.held += q.items.len();
            std::mem::swap(&mut self.held, &mut q.items);
        }
        let exact = self.held.len() + self.refused.len();
        Self::sync(&self.shared, &mut self.published, exact, &mut q);
    }

    /// The head went to libzmq. Its place is given back at the next
    /// [`settle`](Self::settle) (or refill).
    #[inline]
    pub(crate) fn sent(&mut self) {
        self.held.pop_front();
    }

    /// libzmq refused the head: it waits in
    /// [`take_refused`](Self::take_refused) to be handed back.
    pub(crate) fn refuse_head(&mut self, error: zmq::Error) {
        if let Some(message) = self.held.pop_front() {
            self.refused.push(SendFailure { message, error });
        }
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
        self.shared.made_room(&mut q);
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
        self.published = 0;
        let mut all: Vec<Multipart> = self.held.drain(..).collect();
        all.extend(q.items.drain(..));
        all.extend(self.refused.drain(..).map(|f| f.message));
        self.shared.record_depth(&mut q);
        self.shared.made_room(&mut q);
        all
    }
}
