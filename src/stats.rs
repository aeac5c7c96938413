//! Counters a running source keeps about itself.
//!
//! Get a [`Stats`] handle from [`ZmqSource::stats`](crate::ZmqSource::stats)
//! or [`Sender::stats`](crate::Sender::stats) and call
//! [`snapshot`](Stats::snapshot) from any thread at any time. The loop adds to
//! the counters once per dispatch (and, for what an async socket moved
//! outside dispatches, before the loop next sleeps), not once per message, so reading
//! them costs the hot path nothing; `stats_now` on the loop's thread
//! publishes first and is exact at any moment.
//!
//! Every counter is named once, in a [`counters!`] list: the list generates the
//! public snapshot, the loop's plain tally and the shared atomics, so a new
//! counter cannot be added to one and forgotten in another. The authenticator
//! counts its decisions with the same macro.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

/// Generates, from one list of documented `u64` counters:
/// - `$snapshot`: the public point-in-time copy (`Copy`, `#[non_exhaustive]`);
/// - `$tally`: plain fields the loop adds to without atomics, one per
///   counter of the first list;
/// - `$atomics`: the shared counters, with `publish` (add a tally and reset
///   it, once per dispatch) and `snapshot`.
///
/// Counters after `direct:` are not tallied: they are gauges or counts kept
/// outside a dispatch (the outbox depth, a drop), stored straight into the
/// shared atomics, which are public to the crate for that.
macro_rules! counters {
    (
        $(#[$snapshot_meta:meta])*
        pub struct $snapshot:ident / $tally:ident / $atomics:ident {
            $( $(#[doc = $doc:expr])+ $field:ident, )+
            $( direct: $( $(#[doc = $ddoc:expr])+ $direct:ident, )+ )?
        }
    ) => {
        $(#[$snapshot_meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct $snapshot {
            $( $(#[doc = $doc])+ pub $field: u64, )+
            $($( $(#[doc = $ddoc])+ pub $direct: u64, )+)?
        }

        /// Loop-local tallies, published into the shared counters once per
        /// dispatch.
        #[derive(Debug, Default)]
        pub(crate) struct $tally {
            $( pub(crate) $field: u64, )+
        }

        /// The shared counters behind the snapshot.
        #[derive(Debug, Default)]
        pub(crate) struct $atomics {
            $( pub(crate) $field: ::std::sync::atomic::AtomicU64, )+
            $($( pub(crate) $direct: ::std::sync::atomic::AtomicU64, )+)?
        }

        impl $atomics {
            /// Adds `tally` to the counters and resets it.
            pub(crate) fn publish(&self, tally: &mut $tally) {
                let t = ::std::mem::take(tally);
                $(
                    if t.$field != 0 {
                        self.$field
                            .fetch_add(t.$field, ::std::sync::atomic::Ordering::Relaxed);
                    }
                )+
            }

            /// Reads every counter.
            pub(crate) fn snapshot(&self) -> $snapshot {
                $snapshot {
                    $( $field: self.$field.load(::std::sync::atomic::Ordering::Relaxed), )+
                    $($( $direct: self.$direct.load(::std::sync::atomic::Ordering::Relaxed), )+)?
                }
            }
        }
    };
}

// For the authenticator's counters (feature `auth`).
#[cfg_attr(not(feature = "auth"), allow(unused_imports))]
pub(crate) use counters;

counters! {
    /// A point-in-time copy of a source's counters.
    pub struct StatsSnapshot / Tally / Counters {
        /// Whole messages received.
        messages_in,
        /// Payload bytes received (all frames).
        bytes_in,
        /// Whole messages sent.
        messages_out,
        /// Payload bytes sent (all frames).
        bytes_out,
        /// Times a send found the socket unable to take a message (`EAGAIN`):
        /// the message stayed queued.
        send_eagain,
        /// Dispatches that stopped because the per-dispatch budget was spent.
        budget_exhausted,
        /// Times the loop ran the source. Each run moves messages until `EAGAIN`
        /// or the budget, so messages per dispatch shows how well work is
        /// batched: a low figure means the loop sleeps and wakes often, and each
        /// wake-up costs a few syscalls in the loop and in libzmq.
        dispatches,
        /// Messages libzmq refused; each one was handed back to the user.
        send_failures,
        direct:
        /// Messages waiting in the outbox now (queued by senders or by the
        /// handler). While a dispatch runs, messages it has already sent may
        /// still count here until it ends: the figure never undercounts.
        outbox_depth,
        /// The largest outbox depth seen. Never more than the capacity.
        outbox_peak,
        /// Times a sender woke the loop. Senders wake it once per batch, so this
        /// grows far slower than the number of messages sent through
        /// [`Sender`](crate::Sender)s.
        outbox_wakeups,
        /// Messages still queued when the source was dropped without
        /// [`close`](crate::ZmqSource::close), or when its
        /// [`AsyncSocket`](crate::AsyncSocket) was dropped (they were logged
        /// and lost).
        dropped_at_drop,
        /// Received messages an [`AsyncSocket`](crate::AsyncSocket) held in
        /// its inbox, unread, when it was dropped (logged and lost).
        dropped_unread,
    }
}

impl Counters {
    /// Adds one to a counter that is not tallied per dispatch.
    pub(crate) fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A cheap, cloneable, thread-safe handle on a source's counters.
#[derive(Clone)]
pub struct Stats {
    counters: Arc<Counters>,
}

impl Stats {
    pub(crate) fn new(counters: Arc<Counters>) -> Self {
        Self { counters }
    }

    /// Reads every counter. The source publishes its counts at the end of
    /// each dispatch and, for what moved outside one (an
    /// [`AsyncSocket`](crate::AsyncSocket)'s `recv` and `send`), before the
    /// loop next sleeps: a snapshot is exact whenever the loop is between
    /// iterations, and lags by at most the iteration under way. (Sends made
    /// through [`ZmqSource::handle`](crate::ZmqSource::handle) outside a
    /// dispatch, e.g. through a `Dispatcher`, are published by the source's
    /// next dispatch.) For an
    /// exact figure at any moment on the loop's thread, use
    /// [`SocketHandle::stats_now`](crate::SocketHandle::stats_now),
    /// [`ZmqSource::stats_now`](crate::ZmqSource::stats_now) or
    /// [`AsyncSocket::stats_now`](crate::AsyncSocket::stats_now).
    pub fn snapshot(&self) -> StatsSnapshot {
        self.counters.snapshot()
    }
}

impl std::fmt::Debug for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.snapshot().fmt(f)
    }
}
