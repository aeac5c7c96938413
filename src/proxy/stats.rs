//! The proxy's own counters: what crossed it in each direction, what went
//! to the capture socket, and what it could not forward.

use std::sync::Arc;

use crate::stats::counters;

counters! {
    /// A point-in-time copy of a [`Proxy`](super::Proxy)'s counters, from
    /// [`ProxyControl::stats`](super::ProxyControl::stats). Each side's own
    /// socket counters (sends that met `EAGAIN`, outbox depth...) are in
    /// [`Proxy::frontend_stats`](super::Proxy::frontend_stats) and
    /// [`Proxy::backend_stats`](super::Proxy::backend_stats).
    pub struct ProxyStatsSnapshot / ProxyTally / ProxyCounters {
        /// Whole messages received on the frontend, to go out on the backend.
        frontend_to_backend,
        /// Payload bytes of those messages (all frames).
        frontend_to_backend_bytes,
        /// Whole messages received on the backend, to go out on the frontend.
        backend_to_frontend,
        /// Payload bytes of those messages (all frames).
        backend_to_frontend_bytes,
        /// Copies handed to the capture socket.
        captured,
        /// Messages libzmq refused on the way out (each one was handed to the
        /// callback in [`ProxyEvent::Refused`](super::ProxyEvent::Refused)).
        /// Messages a PUB or XPUB socket drops at its high-water mark are
        /// not among them: libzmq drops those inside the socket and reports
        /// the send as a success.
        dropped,
        /// Times one side stopped being read because the other side (or the
        /// capture socket) could take no more: back-pressure at work.
        backpressure_pauses,
        direct:
        /// Messages waiting for room when the proxy was dropped without
        /// ending (logged and lost; each side's own
        /// [`StatsSnapshot::dropped_at_drop`](crate::StatsSnapshot::dropped_at_drop)
        /// counts its outbox).
        dropped_at_drop,
    }
}

/// A cheap, cloneable, thread-safe handle on a proxy's counters.
#[derive(Clone, Default)]
pub(crate) struct ProxyStats {
    pub(crate) counters: Arc<ProxyCounters>,
}

impl ProxyStats {
    pub(crate) fn snapshot(&self) -> ProxyStatsSnapshot {
        self.counters.snapshot()
    }
}
