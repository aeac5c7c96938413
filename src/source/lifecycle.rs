//! Ending a source: close explicitly to get everything back, or drop it.
//!
//! # Linger policy
//!
//! calloop-zmq leaves `ZMQ_LINGER` as you set it (libzmq's default is -1:
//! keep trying to deliver forever). Closing a socket never blocks in libzmq,
//! but terminating its context waits for lingering messages, and a
//! [`Socket`](crate::zmq::Socket) holds a reference on its
//! [`Context`](crate::zmq::Context), so dropping the last socket of a context
//! can block (the same trap as rust-zmq#382). The source therefore never drops its
//! socket on the caller's thread: the socket is dropped on a short-lived
//! background thread, where a context termination may wait as long as the
//! linger allows while your loop goes on.
//!
//! Messages still in the source's own outbox are another matter: libzmq never
//! saw them. [`ZmqSource::close`](crate::ZmqSource::close) hands them back in
//! [`Closed::undelivered`]. A plain drop cannot hand anything back, so it logs
//! how many were lost (`tracing` at warn level) and counts them in
//! [`StatsSnapshot::dropped_at_drop`](crate::StatsSnapshot::dropped_at_drop).

use crate::Multipart;
use crate::zmq;

/// What [`ZmqSource::close`](crate::ZmqSource::close) returns: the socket and
/// every message the source still held.
#[non_exhaustive]
pub struct Closed {
    /// The socket, still bound/connected; drop it or reuse it.
    pub socket: zmq::Socket,
    /// Messages queued for sending that libzmq never took, oldest first.
    pub undelivered: Vec<Multipart>,
    /// Frames of a message whose remaining frames had not arrived yet (almost
    /// always empty: libzmq delivers multiparts whole).
    pub partial: Vec<zmq::Frame>,
}

/// Drops `socket` on a background thread so a context termination it may
/// trigger cannot block the caller.
pub(super) fn close_in_background(socket: zmq::Socket) {
    let spawned = std::thread::Builder::new()
        .name("calloop-zmq-close".into())
        .spawn(move || drop(socket));
    if let Err(e) = spawned {
        // The closure, and the socket with it, was dropped inline by now.
        tracing::warn!(error = %e, "could not start a closer thread; socket was closed inline");
    }
}

impl std::fmt::Debug for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Closed")
            .field("undelivered", &self.undelivered)
            .field("partial_frames", &self.partial.len())
            .finish_non_exhaustive()
    }
}
