//! [`ProxyControl`]: steering a running [`Proxy`](super::Proxy) from any
//! thread, the way `zmq_proxy_steerable`'s control socket does, without a
//! socket: a flag word and a wake-up of the loop.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use calloop::ping::Ping;

use super::stats::{ProxyStats, ProxyStatsSnapshot};

/// The proxy forwards messages.
const RUNNING: u8 = 0;
/// The proxy reads neither side (it still sends what it holds).
const PAUSED: u8 = 1;
/// A terminate was asked for; the loop has not acted on it yet.
const TERMINATING: u8 = 2;
/// The proxy said its last event, or was dropped.
const ENDED: u8 = 3;

/// Steering a proxy that has ended (or is ending: terminated, broken,
/// dropped) is refused with this error; nothing panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the proxy has ended (terminated, broken or dropped): it can no longer be {action}")]
pub struct ProxyEnded {
    action: &'static str,
}

impl ProxyEnded {
    /// What was asked: `"paused"`, `"resumed"` or `"terminated"`.
    pub fn action(&self) -> &'static str {
        self.action
    }
}

/// What the loop must do, read once per dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Command {
    Run,
    Pause,
    Terminate,
}

/// The state a proxy and its controls share.
pub(super) struct Shared {
    state: AtomicU8,
    ping: Ping,
    pub(super) stats: ProxyStats,
}

impl Shared {
    pub(super) fn new(ping: Ping) -> Arc<Shared> {
        Arc::new(Shared {
            state: AtomicU8::new(RUNNING),
            ping,
            stats: ProxyStats::default(),
        })
    }

    pub(super) fn command(&self) -> Command {
        match self.state.load(Ordering::Acquire) {
            RUNNING => Command::Run,
            PAUSED => Command::Pause,
            _ => Command::Terminate,
        }
    }

    /// From now on every steering call is refused.
    pub(super) fn end(&self) {
        self.state.store(ENDED, Ordering::Release);
    }

    /// Moves to `to` unless a terminate or the end came first.
    fn steer(&self, to: u8, action: &'static str) -> Result<(), ProxyEnded> {
        let mut now = self.state.load(Ordering::Acquire);
        loop {
            if now >= TERMINATING {
                return Err(ProxyEnded { action });
            }
            match self
                .state
                .compare_exchange_weak(now, to, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(actual) => now = actual,
            }
        }
        self.ping.ping();
        Ok(())
    }
}

/// A thread-safe handle that pauses, resumes and terminates a
/// [`Proxy`](super::Proxy) and reads its counters, from any thread (clone it
/// freely). Each call takes effect at the proxy's next dispatch, which it
/// wakes the loop for.
#[derive(Clone)]
pub struct ProxyControl {
    pub(super) shared: Arc<Shared>,
}

impl ProxyControl {
    /// Stops reading both sides, like `PAUSE` on `zmq_proxy_steerable`:
    /// messages wait in libzmq (up to each socket's receive high-water mark,
    /// then the peers are pushed back on). What the proxy already holds
    /// still goes out. Pausing a paused proxy is no error.
    pub fn pause(&self) -> Result<(), ProxyEnded> {
        self.shared.steer(PAUSED, "paused")
    }

    /// Reads both sides again after [`pause`](Self::pause).
    pub fn resume(&self) -> Result<(), ProxyEnded> {
        self.shared.steer(RUNNING, "resumed")
    }

    /// Ends the proxy at its next dispatch, like `TERMINATE`: it stops at
    /// once (never blocking the loop) and hands the callback
    /// [`ProxyEvent::Ended`](super::ProxyEvent::Ended) with the sockets and
    /// every message it held. A second terminate is refused like any
    /// steering after the end.
    pub fn terminate(&self) -> Result<(), ProxyEnded> {
        self.shared.steer(TERMINATING, "terminated")
    }

    /// True while the proxy is paused by [`pause`](Self::pause).
    pub fn is_paused(&self) -> bool {
        self.shared.state.load(Ordering::Acquire) == PAUSED
    }

    /// True once the proxy has ended or a terminate is on its way.
    pub fn has_ended(&self) -> bool {
        self.shared.state.load(Ordering::Acquire) >= TERMINATING
    }

    /// The proxy's counters now (updated at the end of each dispatch; still
    /// readable after the proxy ended).
    pub fn stats(&self) -> ProxyStatsSnapshot {
        self.shared.stats.snapshot()
    }
}

impl std::fmt::Debug for ProxyControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyControl")
            .field("paused", &self.is_paused())
            .field("ended", &self.has_ended())
            .finish()
    }
}
