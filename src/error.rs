//! The crate's error types.
//!
//! [`enum@Error`] is what a fallible operation returns: it names the operation
//! and, where one is involved, the endpoint. [`SendError`] is what a send that
//! did not happen returns: it always carries the message back, so nothing is
//! lost without the caller holding it.

use std::fmt;

use crate::message::Multipart;
use crate::zmq::{self, EndpointError};

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Something failed; the message says what, where and why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A libzmq call failed.
    #[error("{op} failed: {source}")]
    Zmq {
        /// The operation, e.g. `"recv"` or `"set option ZMQ_LINGER"`.
        op: &'static str,
        /// What libzmq said.
        source: zmq::Error,
    },
    /// Binding, connecting, unbinding or disconnecting an endpoint failed
    /// (the message names the operation and the endpoint; a NUL byte in the
    /// endpoint is reported here too, before libzmq sees it).
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// Inserting the source into the event loop failed.
    #[error("inserting the ZeroMQ source into the event loop failed: {0}")]
    Insert(calloop::Error),
    /// A flush did not empty the outbox before its deadline.
    #[error("flush timed out with {remaining} message(s) still queued")]
    FlushTimeout {
        /// Messages still in the outbox.
        remaining: usize,
    },
    /// A value was rejected before it reached libzmq.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// An I/O error outside libzmq (e.g. spawning a thread).
    #[error("{op} failed: {source}")]
    Io {
        /// The operation attempted.
        op: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn zmq(op: &'static str) -> impl FnOnce(zmq::Error) -> Error {
        move |source| Error::Zmq { op, source }
    }

    /// The libzmq error behind this one, if any.
    pub fn zmq_error(&self) -> Option<zmq::Error> {
        match self {
            Error::Zmq { source, .. } => Some(*source),
            Error::Endpoint(e) => e.zmq_error(),
            _ => None,
        }
    }
}

/// A source that could not be inserted into an event loop, handed back with
/// calloop's reason, so nothing it holds is lost (its queued messages, its
/// socket). Returned by [`ZmqSource::insert`](crate::ZmqSource::insert),
/// [`Monitor::insert`](crate::monitor::Monitor::insert) and
/// [`Authenticator::insert`](crate::auth::Authenticator::insert).
///
/// `?` converts it into [`enum@Error`] ([`Error::Insert`]), dropping the source.
pub struct InsertError<S> {
    source: Box<S>,
    error: calloop::Error,
    /// The crate refused the source before the loop saw it (a bad argument):
    /// `error` is then `calloop::Error::OtherError` around an [`enum@Error`],
    /// and the message names that reason, not the loop.
    refused: bool,
}

impl<S> InsertError<S> {
    pub(crate) fn new(source: S, error: calloop::Error) -> Self {
        Self {
            source: Box::new(source),
            error,
            refused: false,
        }
    }

    /// The source was refused before it reached the loop, because of `why`
    /// (e.g. an invalid argument): the message says that reason only, not
    /// calloop's "other error during loop operation".
    pub(crate) fn refused(source: S, why: Error) -> Self {
        Self {
            source: Box::new(source),
            error: calloop::Error::OtherError(Box::new(why)),
            refused: true,
        }
    }

    /// The crate's own reason when the source was refused before the loop
    /// saw it (e.g. [`Error::InvalidArgument`] for an inbox capacity of 0),
    /// `None` when calloop refused it.
    pub fn refusal(&self) -> Option<&Error> {
        match &self.error {
            calloop::Error::OtherError(why) if self.refused => why.downcast_ref::<Error>(),
            _ => None,
        }
    }

    /// Why the source was refused, as calloop's error type: calloop's own
    /// reason, or (see [`refusal`](Self::refusal)) the crate's, wrapped in
    /// `calloop::Error::OtherError`.
    pub fn error(&self) -> &calloop::Error {
        &self.error
    }

    /// The source, to insert again or to [`close`](crate::ZmqSource::close).
    pub fn inserted(&self) -> &S {
        &self.source
    }

    /// Takes the source back.
    pub fn into_source(self) -> S {
        *self.source
    }

    /// The source and calloop's reason.
    pub fn into_parts(self) -> (S, calloop::Error) {
        (*self.source, self.error)
    }
}

impl<S> fmt::Debug for InsertError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InsertError")
            .field("source", &std::any::type_name::<S>())
            .field("error", &self.error)
            .finish()
    }
}

impl<S> fmt::Display for InsertError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(why) = self.refusal() {
            return write!(f, "{why} (source handed back)");
        }
        write!(
            f,
            "inserting the ZeroMQ source into the event loop failed (source handed back): {}",
            self.error
        )
    }
}

impl<S> std::error::Error for InsertError<S> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self.refusal() {
            // The message already is the refusal's; its own cause follows.
            Some(why) => std::error::Error::source(why),
            None => Some(&self.error),
        }
    }
}

impl<S> From<InsertError<S>> for Error {
    /// The crate's own refusal as itself (e.g. [`Error::InvalidArgument`]);
    /// calloop's refusal as [`Error::Insert`].
    fn from(e: InsertError<S>) -> Self {
        match e.error {
            calloop::Error::OtherError(why) if e.refused => match why.downcast::<Error>() {
                Ok(why) => *why,
                Err(other) => Error::Insert(calloop::Error::OtherError(other)),
            },
            error => Error::Insert(error),
        }
    }
}

impl From<Error> for calloop::Error {
    fn from(e: Error) -> Self {
        calloop::Error::OtherError(Box::new(e))
    }
}

/// Why a message was not sent. Every variant hands the message back.
#[derive(Debug)]
#[non_exhaustive]
pub enum SendError {
    /// The outbox is at capacity. Try again later, or use a blocking send
    /// from a thread that is not the loop thread.
    Full(Multipart),
    /// The source was closed or dropped; nothing will send this message.
    Closed(Multipart),
    /// A blocking send waited until its deadline and the outbox stayed full.
    Timeout(Multipart),
    /// A blocking send was called on the event loop's own thread, where it
    /// could wait forever (only the loop drains the outbox).
    WouldDeadlock(Multipart),
    /// A frame is larger than the peer accepts (the limit the sender was
    /// given, matching the receiver's `ZMQ_MAXMSGSIZE`), so the message was
    /// not handed to libzmq: libzmq would have sent it, and the receiver
    /// would have dropped the connection, losing this message and the ones
    /// queued behind it without a word to either side
    /// ([`AsyncSocket::set_peer_max_frame`](crate::AsyncSocket::set_peer_max_frame)).
    TooLarge {
        /// The message, whole and untouched.
        message: Multipart,
        /// Index of the first frame over the limit.
        frame: usize,
        /// That frame's size in bytes.
        size: usize,
        /// The limit in bytes per frame.
        limit: u64,
    },
    /// libzmq refused the message (e.g. `EFSM` on REQ, `EHOSTUNREACH` with
    /// `ZMQ_ROUTER_MANDATORY`, `ENOTSUP` on a receive-only socket).
    Failed {
        /// The message, whole. If libzmq had already accepted some frames
        /// (which only a fatal socket error can cause), they are empty here.
        message: Multipart,
        /// What libzmq said.
        error: zmq::Error,
    },
}

impl SendError {
    /// `msg` back as [`SendError::TooLarge`] when a frame is above `limit`
    /// bytes (none: no limit), else `msg` itself, to send.
    pub(crate) fn check_size(msg: Multipart, limit: Option<u64>) -> Result<Multipart, SendError> {
        let Some(limit) = limit else {
            return Ok(msg);
        };
        match msg.oversized_frame(limit) {
            None => Ok(msg),
            Some((frame, size)) => Err(SendError::TooLarge {
                message: msg,
                frame,
                size,
                limit,
            }),
        }
    }

    /// The message that was not sent.
    pub fn message(&self) -> &Multipart {
        match self {
            SendError::Full(m)
            | SendError::Closed(m)
            | SendError::Timeout(m)
            | SendError::WouldDeadlock(m)
            | SendError::TooLarge { message: m, .. }
            | SendError::Failed { message: m, .. } => m,
        }
    }

    /// Takes the message back.
    pub fn into_message(self) -> Multipart {
        match self {
            SendError::Full(m)
            | SendError::Closed(m)
            | SendError::Timeout(m)
            | SendError::WouldDeadlock(m)
            | SendError::TooLarge { message: m, .. }
            | SendError::Failed { message: m, .. } => m,
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let frames = self.message().len();
        match self {
            SendError::Full(_) => write!(
                f,
                "send failed: outbox full ({frames}-frame message handed back)"
            ),
            SendError::Closed(_) => write!(
                f,
                "send failed: source closed ({frames}-frame message handed back)"
            ),
            SendError::Timeout(_) => write!(
                f,
                "send failed: outbox stayed full until the deadline ({frames}-frame message handed back)"
            ),
            SendError::WouldDeadlock(_) => write!(
                f,
                "send failed: a blocking send on the event loop's thread would wait forever; use try_send ({frames}-frame message handed back)"
            ),
            SendError::TooLarge {
                frame, size, limit, ..
            } => write!(
                f,
                "send refused: frame {frame} is {size} bytes, above the peer's limit of \
                 {limit} bytes per frame (its ZMQ_MAXMSGSIZE); sent, it would make the peer \
                 drop the connection and the messages behind it ({frames}-frame message \
                 handed back)"
            ),
            SendError::Failed { error, .. } => write!(
                f,
                "send failed: {error} ({frames}-frame message handed back)"
            ),
        }
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SendError::Failed { error, .. } => Some(error),
            _ => None,
        }
    }
}
