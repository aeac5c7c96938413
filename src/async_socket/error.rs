//! Why an [`AsyncSocket`](super::AsyncSocket) operation gives no message or
//! place: one error type per operation.

use std::fmt;

#[cfg(feature = "futures")]
use crate::error::SendError;
use crate::message::Multipart;
use crate::outbox::SourceClosed;
use crate::source::{Closed, Fatal};
use crate::zmq;

/// Why [`AsyncSocket::recv`](super::AsyncSocket::recv) has no message to give.
#[derive(Debug)]
#[non_exhaustive]
pub enum RecvError {
    /// The source closed as asked ([`AsyncSocket::close`](super::AsyncSocket::close)): here are its
    /// socket and what did not go out. Said once; later calls say
    /// [`Ended`](Self::Ended).
    Closed(Closed),
    /// The socket broke: the error and what did not go out. Said once; later
    /// calls say [`Ended`](Self::Ended).
    Fatal(Fatal),
    /// The source ended and its last words were already handed out.
    Ended,
    /// The source left its loop without ending (the loop was dropped while
    /// this `AsyncSocket` lived on): nothing will be received or sent any
    /// more. Here are the messages that were waiting to go out. Said once;
    /// later calls say [`Ended`](Self::Ended).
    Removed(Vec<Multipart>),
    /// The socket's type never receives (PUB, PUSH): said at once instead
    /// of a `recv` that would wait forever.
    CannotReceive(zmq::SocketType),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed(_) => f.write_str("the socket was closed"),
            RecvError::Fatal(fatal) => write!(f, "the socket failed: {}", fatal.error),
            RecvError::Ended => f.write_str("the socket has ended"),
            RecvError::Removed(undelivered) => write!(
                f,
                "the socket's source left its loop without closing ({} message(s) not sent)",
                undelivered.len()
            ),
            RecvError::CannotReceive(kind) => {
                write!(f, "a {kind} socket never receives")
            }
        }
    }
}

impl std::error::Error for RecvError {}

/// Why [`AsyncSocket::reserve`](super::AsyncSocket::reserve) gives no [`Permit`](crate::Permit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReserveError {
    /// The source accepts no more messages (closed, broken or closing).
    Closed,
    /// The socket's type never sends (PULL, SUB): said at once.
    CannotSend(zmq::SocketType),
}

impl fmt::Display for ReserveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReserveError::Closed => fmt::Display::fmt(&SourceClosed, f),
            ReserveError::CannotSend(kind) => write!(f, "a {kind} socket never sends"),
        }
    }
}

impl std::error::Error for ReserveError {}

/// Why the [`AsyncSocket`](super::AsyncSocket)'s `Sink` side took no message.
#[cfg(feature = "futures")]
#[derive(Debug)]
#[non_exhaustive]
pub enum SinkError {
    /// `poll_ready` found no place: the source is closed, or the socket
    /// type never sends.
    Reserve(ReserveError),
    /// `start_send` did not queue the message (the source stopped
    /// accepting since `poll_ready`, or `poll_ready` was not called and
    /// the outbox is full): here it is.
    Send(SendError),
}

#[cfg(feature = "futures")]
impl std::fmt::Display for SinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SinkError::Reserve(e) => std::fmt::Display::fmt(e, f),
            SinkError::Send(e) => std::fmt::Display::fmt(e, f),
        }
    }
}

#[cfg(feature = "futures")]
impl std::error::Error for SinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SinkError::Reserve(e) => Some(e),
            SinkError::Send(e) => Some(e),
        }
    }
}
