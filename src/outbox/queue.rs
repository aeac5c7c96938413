//! The half of the outbox that senders and the loop share: the senders'
//! queue, the loop's count, and the one admission rule for both.

use std::collections::VecDeque;
use std::time::Duration;

use calloop::ping::Ping;

use crate::message::Multipart;
use crate::stats::Counters;
use crate::sync::{AtomicBool, AtomicUsize, Condvar, Mutex, MutexGuard, Ordering, ThreadId};

use super::waiters::WaitList;

/// Why a message (or a place for one) was not admitted.
pub(super) enum Refusal {
    /// The outbox accepts no new messages.
    Closed,
    /// Every place is taken.
    Full,
}

/// State shared between the loop and the senders.
pub(super) struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when room is made or the outbox ends.
    pub(super) room: Condvar,
    ping: Ping,
    pub(super) capacity: usize,
    /// Plain std atomics, also under loom: statistics no model relies on.
    pub(super) counters: std::sync::Arc<Counters>,
    /// Set with `Queue::close_request`, so the loop checks for a request
    /// without taking the lock every dispatch.
    pub(super) close_asked: AtomicBool,
    /// `items.len() + reserved`, stored with every depth change, so the loop
    /// thread learns whether senders' messages or places are ahead without
    /// taking the lock (the async socket's send asks before every message).
    pub(super) ahead: AtomicUsize,
    /// What the ping's eventfd is to the real loop, made visible to loom
    /// (which does not model the eventfd write): every ping also notifies
    /// it, and a model's loop thread waits on it where the real loop sleeps
    /// in `epoll`, so a lost wake-up shows up as a deadlock.
    #[cfg(loom)]
    pub(super) loop_wake: loom::sync::Notify,
}

pub(super) struct Queue {
    /// Queued by senders, not yet taken by the loop.
    pub(super) items: VecDeque<Multipart>,
    /// How many messages the loop holds: never less than the truth.
    pub(super) held: usize,
    /// The largest depth seen.
    peak: usize,
    /// No new messages are accepted (a close was asked for, or happened).
    pub(super) closed: bool,
    /// The loop will not drain anything any more: the source is closed,
    /// dropped or broken.
    pub(super) ended: bool,
    /// A sender asked the source to close once drained, within this time.
    pub(super) close_request: Option<Duration>,
    /// A ping is on its way; later sends need not ping again.
    pub(super) wake_pending: bool,
    /// Threads blocked in `send`/`flush`; notify only when someone listens.
    pub(super) blocked: usize,
    /// Places held by [`Permit`](super::Permit)s: counted in the depth, so
    /// the capacity bounds them too.
    pub(super) reserved: usize,
    /// Tasks waiting for room (`reserve`) or for the outbox to drain.
    pub(super) tasks: WaitList,
    pub(super) loop_thread: Option<ThreadId>,
}

impl Queue {
    /// Every place taken: queued by senders, held by the loop, reserved.
    #[inline]
    pub(super) fn depth(&self) -> usize {
        self.items.len() + self.held + self.reserved
    }
}

impl Shared {
    pub(super) fn new(capacity: usize, ping: Ping) -> Self {
        Shared {
            queue: Mutex::new(Queue {
                items: VecDeque::new(),
                held: 0,
                peak: 0,
                closed: false,
                ended: false,
                close_request: None,
                wake_pending: false,
                blocked: 0,
                reserved: 0,
                tasks: WaitList::default(),
                loop_thread: None,
            }),
            room: Condvar::new(),
            ping,
            capacity,
            counters: std::sync::Arc::new(Counters::default()),
            close_asked: AtomicBool::new(false),
            ahead: AtomicUsize::new(0),
            #[cfg(loom)]
            loop_wake: loom::sync::Notify::new(),
        }
    }

    #[inline]
    pub(super) fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding this lock leaves the queue consistent (every
        // update is a single push, swap or assignment), so a poisoned lock is
        // still usable.
        let q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        // Under loom, every critical section is checked by the next one (and
        // the models check the last): the bound held when the lock was let go.
        #[cfg(loom)]
        self.check(&q);
        q
    }

    /// The invariants every critical section leaves behind: at most
    /// `capacity` places taken, and `ahead` telling the truth.
    #[cfg(loom)]
    pub(super) fn check(&self, q: &Queue) {
        assert!(
            q.depth() <= self.capacity,
            "bound broken: {} queued + {} held by the loop + {} reserved > capacity {}",
            q.items.len(),
            q.held,
            q.reserved,
            self.capacity
        );
        assert_eq!(
            self.ahead.load(Ordering::Relaxed),
            q.items.len() + q.reserved,
            "`ahead` is not what is queued and reserved"
        );
    }

    /// The one admission rule, for every way into the outbox (a sender's
    /// message, a reserved place, the handler's message): nothing once it is
    /// closed, and nothing beyond the capacity.
    #[inline]
    pub(super) fn admit(&self, q: &Queue) -> Result<(), Refusal> {
        if q.closed {
            Err(Refusal::Closed)
        } else if q.depth() >= self.capacity {
            Err(Refusal::Full)
        } else {
            Ok(())
        }
    }

    /// Wakes the loop, once per batch.
    #[inline]
    pub(super) fn wake(&self, q: &mut Queue) {
        if !q.wake_pending {
            q.wake_pending = true;
            // A ping is an eventfd write; holding the lock while doing it keeps
            // the "one ping per batch" bookkeeping exact and costs one syscall
            // per batch, not per message.
            self.ping.ping();
            #[cfg(loom)]
            self.loop_wake.notify();
            Counters::bump(&self.counters.outbox_wakeups, 1);
        }
    }

    /// Wakes the loop whatever is pending (a resume or close it must see).
    pub(super) fn ping(&self) {
        self.ping.ping();
        #[cfg(loom)]
        self.loop_wake.notify();
    }

    /// Publishes the depth after a change, and the peak with it. Called
    /// under the lock, so plain stores suffice (no read-modify-write per
    /// message).
    #[inline]
    pub(super) fn record_depth(&self, q: &mut Queue) {
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

    /// Queues a sender's message (admitted by the caller).
    #[inline]
    pub(super) fn push(&self, q: &mut Queue, msg: Multipart) {
        q.items.push_back(msg);
        self.record_depth(q);
        self.wake(q);
    }

    /// Tells everyone waiting for room or for the end: blocked threads and
    /// waiting tasks (they re-check under the lock).
    #[inline]
    pub(super) fn made_room(&self, q: &mut Queue) {
        if q.blocked > 0 {
            self.room.notify_all();
        }
        q.tasks.wake_all();
    }
}
