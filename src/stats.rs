//! Counters a running source keeps about itself.
//!
//! Get a [`Stats`] handle from [`ZmqSource::stats`](crate::ZmqSource::stats)
//! or [`Sender::stats`](crate::Sender::stats) and call
//! [`snapshot`](Stats::snapshot) from any thread at any time. The loop adds to
//! the counters once per dispatch, not once per message, so reading them costs
//! the hot path nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::outbox::Shared;

/// A point-in-time copy of a source's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// Whole messages received.
    pub messages_in: u64,
    /// Payload bytes received (all frames).
    pub bytes_in: u64,
    /// Whole messages sent.
    pub messages_out: u64,
    /// Payload bytes sent (all frames).
    pub bytes_out: u64,
    /// Messages waiting in the outbox now (queued by senders or by the handler).
    pub outbox_depth: u64,
    /// The largest outbox depth seen.
    pub outbox_peak: u64,
    /// Times a send found the socket unable to take a message (`EAGAIN`):
    /// the message stayed queued.
    pub send_eagain: u64,
    /// Dispatches that stopped because the per-dispatch budget was spent.
    pub budget_exhausted: u64,
    /// Times the loop ran the source. Each run moves messages until `EAGAIN`
    /// or the budget, so messages per dispatch shows how well work is
    /// batched: a low figure means the loop sleeps and wakes often, and each
    /// wake-up costs a few syscalls in the loop and in libzmq.
    pub dispatches: u64,
    /// Messages libzmq refused; each one was handed back to the user.
    pub send_failures: u64,
    /// Times a sender woke the loop. Senders wake it once per batch, so this
    /// grows far slower than the number of messages sent through [`Sender`](crate::Sender)s.
    pub outbox_wakeups: u64,
    /// Messages still queued when the source was dropped without
    /// [`close`](crate::ZmqSource::close) (they were logged and lost).
    pub dropped_at_drop: u64,
}

/// Loop-local tallies, published into the shared counters once per dispatch.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub messages_in: u64,
    pub bytes_in: u64,
    pub messages_out: u64,
    pub bytes_out: u64,
    pub send_eagain: u64,
    pub budget_exhausted: u64,
    pub dispatches: u64,
    pub send_failures: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    messages_in: AtomicU64,
    bytes_in: AtomicU64,
    messages_out: AtomicU64,
    bytes_out: AtomicU64,
    send_eagain: AtomicU64,
    budget_exhausted: AtomicU64,
    dispatches: AtomicU64,
    send_failures: AtomicU64,
    pub outbox_wakeups: AtomicU64,
    pub dropped_at_drop: AtomicU64,
}

impl Counters {
    /// Adds `tally` to the counters and resets it.
    pub(crate) fn publish(&self, tally: &mut Tally) {
        let t = std::mem::take(tally);
        for (counter, value) in [
            (&self.messages_in, t.messages_in),
            (&self.bytes_in, t.bytes_in),
            (&self.messages_out, t.messages_out),
            (&self.bytes_out, t.bytes_out),
            (&self.send_eagain, t.send_eagain),
            (&self.budget_exhausted, t.budget_exhausted),
            (&self.dispatches, t.dispatches),
            (&self.send_failures, t.send_failures),
        ] {
            if value != 0 {
                counter.fetch_add(value, Relaxed);
            }
        }
    }
}

/// A cheap, cloneable, thread-safe handle on a source's counters.
#[derive(Clone)]
pub struct Stats {
    pub(crate) shared: Arc<Shared>,
}

impl Stats {
    /// Reads every counter. Counters are updated at the end of each dispatch,
    /// so a snapshot taken from another thread lags by at most one dispatch.
    pub fn snapshot(&self) -> StatsSnapshot {
        let c = &self.shared.counters;
        let (depth, peak) = self.shared.depth_and_peak();
        StatsSnapshot {
            messages_in: c.messages_in.load(Relaxed),
            bytes_in: c.bytes_in.load(Relaxed),
            messages_out: c.messages_out.load(Relaxed),
            bytes_out: c.bytes_out.load(Relaxed),
            outbox_depth: depth as u64,
            outbox_peak: peak as u64,
            send_eagain: c.send_eagain.load(Relaxed),
            budget_exhausted: c.budget_exhausted.load(Relaxed),
            dispatches: c.dispatches.load(Relaxed),
            send_failures: c.send_failures.load(Relaxed),
            outbox_wakeups: c.outbox_wakeups.load(Relaxed),
            dropped_at_drop: c.dropped_at_drop.load(Relaxed),
        }
    }
}

impl std::fmt::Debug for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.snapshot().fmt(f)
    }
}
