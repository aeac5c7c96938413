//! The outbox: a bounded queue that any thread can feed, drained by the loop.
//!
//! A [`Sender`] is a cloneable `Send + Sync` handle on a source's outbox.
//! [`Sender::try_send`] never waits; it hands the message back when the outbox
//! is full or the source is gone. [`Sender::send`] and
//! [`Sender::send_timeout`] wait for room, so they are for *other* threads:
//! only the loop drains the outbox, so waiting on the loop's own thread would
//! never end, and they refuse with [`SendError::WouldDeadlock`] there.
//!
//! The loop is woken once per batch: the first message queued after the loop
//! last took the queue pings it, later ones ride along.
//!
//! The capacity bounds every message the source holds for sending, whether a
//! sender or the handler queued it; a message leaves the count when libzmq
//! takes it or when it is handed back as failed.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use calloop::ping::Ping;

use crate::Multipart;
use crate::error::{Error, SendError};
use crate::stats::{Counters, Stats};

/// State shared between the source and its senders.
pub(crate) struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when the depth drops or the outbox closes.
    room: Condvar,
    ping: Ping,
    capacity: usize,
    pub(crate) counters: Counters,
}

struct Queue {
    /// Queued by senders, not yet taken by the loop.
    items: VecDeque<Multipart>,
    /// Messages the loop holds (taken from `items` or queued by the handler).
    in_loop: usize,
    peak: usize,
    closed: bool,
    /// A ping is on its way; later sends need not ping again.
    wake_pending: bool,
    /// Threads blocked in `send`/`flush`; notify only when someone listens.
    waiters: usize,
    loop_thread: Option<ThreadId>,
}

impl Queue {
    fn depth(&self) -> usize {
        self.items.len() + self.in_loop
    }
}

impl Shared {
    pub(crate) fn new(capacity: usize, ping: Ping) -> Self {
        Self {
            queue: Mutex::new(Queue {
                items: VecDeque::new(),
                in_loop: 0,
                peak: 0,
                closed: false,
                wake_pending: false,
                waiters: 0,
                loop_thread: None,
            }),
            room: Condvar::new(),
            ping,
            capacity,
            counters: Counters::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding this lock leaves the queue consistent (every
        // update is a single push/append), so a poisoned lock is still usable.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn depth_and_peak(&self) -> (usize, usize) {
        let q = self.lock();
        (q.depth(), q.peak)
    }

    /// Loop side: remember which thread runs the loop, so a blocking send
    /// from it can be refused instead of deadlocking.
    pub(crate) fn set_loop_thread(&self) {
        self.lock().loop_thread = Some(thread::current().id());
    }

    /// Loop side: moves everything senders queued into `local`, behind what
    /// the loop already holds.
    pub(crate) fn take_into(&self, local: &mut VecDeque<Multipart>) {
        let mut q = self.lock();
        q.wake_pending = false;
        if local.is_empty() {
            std::mem::swap(local, &mut q.items);
        } else if !q.items.is_empty() {
            local.append(&mut q.items);
        }
        q.in_loop = local.len();
    }

    /// Loop side: once the loop has sent everything it held (`local` is
    /// empty), takes what senders queued by trading buffers, so no message
    /// is moved while senders wait on the lock. Either way later sends wake
    /// the loop again, so what stays here is not forgotten.
    pub(crate) fn refill(&self, local: &mut VecDeque<Multipart>) {
        let mut q = self.lock();
        q.wake_pending = false;
        if local.is_empty() && !q.items.is_empty() {
            std::mem::swap(local, &mut q.items);
            q.in_loop = local.len();
        }
    }

    /// Loop side: records how many messages the loop still holds and wakes
    /// blocked senders if room was made.
    pub(crate) fn settle(&self, held: usize) {
        let mut q = self.lock();
        let freed = held < q.in_loop;
        q.in_loop = held;
        q.peak = q.peak.max(q.depth());
        if freed && q.waiters > 0 {
            self.room.notify_all();
        }
    }

    /// Loop side: true when the handler may queue one more message.
    pub(crate) fn has_room_for_handler(&self, held: usize) -> bool {
        held + self.lock().items.len() < self.capacity
    }

    /// Closes the outbox and returns what senders had queued.
    pub(crate) fn close(&self) -> VecDeque<Multipart> {
        let mut q = self.lock();
        q.closed = true;
        q.in_loop = 0;
        let items = std::mem::take(&mut q.items);
        self.room.notify_all();
        items
    }

    fn push(&self, q: &mut Queue, msg: Multipart) {
        q.items.push_back(msg);
        q.peak = q.peak.max(q.depth());
        if !q.wake_pending {
            q.wake_pending = true;
            // A ping is an eventfd write; holding the lock while doing it keeps
            // the "one ping per batch" bookkeeping exact and costs one syscall
            // per batch, not per message.
            self.ping.ping();
            self.counters
                .outbox_wakeups
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
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
    pub(crate) shared: Arc<Shared>,
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

    /// Waits once for the loop to make room or close, or for the deadline.
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
    /// many messages remain. Returns `Ok` once the source is closed: whatever
    /// was left went back to the user through
    /// [`ZmqSource::close`](crate::ZmqSource::close).
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        let deadline = Some(Instant::now() + timeout);
        let mut q = self.shared.lock();
        loop {
            if q.depth() == 0 || q.closed {
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

    /// Messages queued and not yet handed to libzmq.
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

    /// True once the source was closed or dropped.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }

    /// The source's counters.
    pub fn stats(&self) -> Stats {
        Stats {
            shared: self.shared.clone(),
        }
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
