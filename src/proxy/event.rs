//! What a [`Proxy`](super::Proxy) hands its callback: a refused message, or
//! its last event with everything it held.

use std::fmt;

use crate::error::Error;
use crate::message::Multipart;
use crate::outbox::SendFailure;
use crate::zmq::{self, Frame};

use super::stats::ProxyStatsSnapshot;

/// One of the proxy's sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The frontend (where clients connect, in the zguide's broker).
    Frontend,
    /// The backend (where workers connect).
    Backend,
    /// The capture socket, which gets a copy of every message.
    Capture,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Frontend => "frontend",
            Side::Backend => "backend",
            Side::Capture => "capture",
        })
    }
}

/// What the proxy's callback receives.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProxyEvent {
    /// libzmq refused a message on its way out of `side` (for example
    /// `EHOSTUNREACH` from a ROUTER with `ZMQ_ROUTER_MANDATORY` whose peer
    /// is gone): here it is back. Counted in
    /// [`ProxyStatsSnapshot::dropped`]; the proxy goes on.
    Refused {
        /// The socket that refused it.
        side: Side,
        /// The message and libzmq's reason.
        failure: SendFailure,
    },
    /// The proxy's last event: it was terminated or one of its sockets broke.
    /// It has left the loop, which goes on with its other sources. (Boxed:
    /// it is large and comes once.)
    Ended(Box<Ended>),
}

/// Why a proxy ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum EndReason {
    /// [`ProxyControl::terminate`](super::ProxyControl::terminate) asked for it.
    Terminated,
    /// The proxy's own wake-up eventfd failed (it could not join the loop,
    /// or reading it failed).
    Loop(Error),
    /// A socket broke (e.g. `ETERM`: its context was terminated).
    Failed {
        /// The socket that broke.
        side: Side,
        /// What failed.
        error: Error,
    },
}

/// The proxy's last words: why it ended, each socket with what it held, and
/// the final counters. Nothing the proxy held is lost: every message it had
/// received and not yet handed to libzmq is in one of the `undelivered`
/// lists.
#[derive(Debug)]
#[non_exhaustive]
pub struct Ended {
    /// Why it ended.
    pub reason: EndReason,
    /// The frontend and what was on its way out of it.
    pub frontend: SideRemains,
    /// The backend and what was on its way out of it.
    pub backend: SideRemains,
    /// The capture socket and the copies still on their way, if there was one.
    pub capture: Option<SideRemains>,
    /// The counters at the end.
    pub stats: ProxyStatsSnapshot,
}

/// One socket of an ended proxy and what it still held.
#[non_exhaustive]
pub struct SideRemains {
    /// The socket, still bound and connected; `None` for the socket that
    /// broke. Dropping it can block under `ZMQ_LINGER` = -1 when it holds
    /// the last reference on its context
    /// ([`Closed`](crate::Closed#linger-and-what-can-block) says when).
    pub socket: Option<zmq::Socket>,
    /// Messages received on the other side for this one that libzmq never
    /// took, oldest first.
    pub undelivered: Vec<Multipart>,
    /// Frames of a message received on this side whose last frame had not
    /// arrived (almost always empty).
    pub partial: Vec<Frame>,
}

impl fmt::Debug for SideRemains {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SideRemains")
            .field("socket", &self.socket.as_ref().map(|s| s.socket_type()))
            .field("undelivered", &self.undelivered.len())
            .field("partial_frames", &self.partial.len())
            .finish()
    }
}
