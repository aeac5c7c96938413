//! The senders' handles on an outbox: [`Sender`] (queue from any thread),
//! [`Reserve`] (wait for a place, as a future) and [`Permit`] (one place).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::error::{Error, SendError};
use crate::message::Multipart;
use crate::stats::{Counters, Stats};
use crate::sync::{Arc, MutexGuard, Ordering, current_thread};

use super::queue::{Queue, Refusal, Shared};

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
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Queues a message without waiting. Safe on any thread, the loop's
    /// included. On a full outbox or a closed source the message comes back
    /// in the error.
    pub fn try_send(&self, msg: impl Into<Multipart>) -> Result<(), SendError> {
        let msg = msg.into();
        let mut q = self.shared.lock();
        match self.shared.admit(&q) {
            Ok(()) => {
                self.shared.push(&mut q, msg);
                Ok(())
            }
            Err(Refusal::Closed) => Err(SendError::Closed(msg)),
            Err(Refusal::Full) => Err(SendError::Full(msg)),
        }
    }

    /// Queues a message, **blocking** the calling thread while the outbox is
    /// full. Meant for worker threads. On the event loop's thread, where
    /// waiting would never end (only that thread drains the outbox), it
    /// refuses with [`SendError::WouldDeadlock`] instead of waiting; use
    /// [`try_send`](Self::try_send) there.
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
            match self.shared.admit(&q) {
                Ok(()) => {
                    self.shared.push(&mut q, msg);
                    return Ok(());
                }
                Err(Refusal::Closed) => return Err(SendError::Closed(msg)),
                Err(Refusal::Full) => {}
            }
            if q.loop_thread == Some(current_thread().id()) {
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
        q.blocked += 1;
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
        q.blocked -= 1;
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
            if q.loop_thread == Some(current_thread().id()) {
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

    /// Asks the source to close itself from inside its loop, as
    /// [`SocketHandle::close`](crate::SocketHandle::close) does from the
    /// callback (see [`Closed`](crate::Closed) for what happens then). Never
    /// blocks. Returns `false` when the source has already ended.
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
        // The loop must look even if a wake-up for messages is on its way
        // (it clears the flag only after taking the request).
        q.wake_pending = false;
        self.shared.wake(&mut q);
        self.shared.made_room(&mut q);
        true
    }

    /// Waits, without blocking the thread, for room in the outbox and
    /// reserves one place: the returned [`Permit`] then sends one message
    /// without waiting and without failing for lack of room. For async code
    /// on any executor and any thread, the loop's included. The future owns
    /// a handle on the outbox, so it can be stored and moved freely.
    ///
    /// **Cancellation-safe**: the future holds no message, so dropping it
    /// (in a `select!`, on a timeout) loses nothing; a place it had not
    /// reserved yet is never taken, and a [`Permit`] dropped unused gives its
    /// place back. The reserved place counts against the capacity like a
    /// queued message.
    ///
    /// Fails with [`SourceClosed`] once the source accepts no more messages.
    pub fn reserve(&self) -> Reserve {
        Reserve {
            sender: self.clone(),
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
        match self.shared.admit(q) {
            Err(Refusal::Closed) => Err(SourceClosed),
            Err(Refusal::Full) => Ok(None),
            Ok(()) => {
                q.reserved += 1;
                self.shared.record_depth(q);
                Ok(Some(Permit {
                    shared: self.shared.clone(),
                    used: false,
                }))
            }
        }
    }

    /// Wakes the loop for this source's next dispatch (the async inbox uses
    /// it to resume receiving).
    pub(crate) fn wake_loop(&self) {
        self.shared.ping();
    }

    /// The source's counters, for the async socket's own ones.
    pub(crate) fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    /// Ready once at most `allowance` places are taken (queued, held by the
    /// loop, refused and not yet handed back, or reserved), or once the
    /// source has ended. Otherwise registers `cx`'s waker, under the id kept
    /// in `slot`, to be woken when the loop frees a place; the caller polls
    /// again then. [`forget_task`](Self::forget_task) removes a registration
    /// that will not be polled again.
    pub(crate) fn poll_drained(
        &self,
        cx: &mut Context<'_>,
        slot: &mut Option<u64>,
        allowance: usize,
    ) -> Poll<()> {
        let mut q = self.shared.lock();
        if q.depth() <= allowance || q.ended {
            q.tasks.forget(slot);
            return Poll::Ready(());
        }
        q.tasks.register(slot, cx.waker());
        Poll::Pending
    }

    /// Removes a waiting registration made by
    /// [`poll_drained`](Self::poll_drained).
    pub(crate) fn forget_task(&self, slot: &mut Option<u64>) {
        if slot.is_some() {
            self.shared.lock().tasks.forget(slot);
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
/// outbox has room. It owns its handle on the outbox (it is `'static` and
/// `Unpin`). Dropping it loses nothing.
#[must_use = "futures do nothing unless awaited"]
pub struct Reserve {
    sender: Sender,
    /// This future's entry in the waiting list, once it had to wait.
    task: Option<u64>,
}

impl Future for Reserve {
    type Output = Result<Permit, SourceClosed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut q = this.sender.shared.lock();
        let ready = match this.sender.reserve_locked(&mut q) {
            Ok(Some(permit)) => Ok(permit),
            Err(closed) => Err(closed),
            Ok(None) => {
                // Woken when the loop makes room, a permit is given back, or
                // the source stops accepting; the check is then made again.
                q.tasks.register(&mut this.task, cx.waker());
                return Poll::Pending;
            }
        };
        q.tasks.forget(&mut this.task);
        Poll::Ready(ready)
    }
}

impl Drop for Reserve {
    fn drop(&mut self) {
        self.sender.forget_task(&mut self.task);
    }
}

impl std::fmt::Debug for Reserve {
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
            q.tasks.wake_all();
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
        self.shared.made_room(&mut q);
    }
}

impl std::fmt::Debug for Permit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}
