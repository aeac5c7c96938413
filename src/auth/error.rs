//! What can go wrong while setting up authentication or handling keys.

use std::path::PathBuf;

use crate::zmq;

/// An authentication setup, configuration or key-handling failure; the
/// message says what failed and why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The linked libzmq was built without CURVE (`zmq::has("curve")` is
    /// false): calloop-zmq was built without its default `curve` feature, or
    /// with `system-libzmq` against a libzmq built without libsodium.
    #[error(
        "CURVE is not available: the linked libzmq was built without it (zmq::has(\"curve\") is false); \
         build calloop-zmq with its default `curve` feature, or link a system libzmq built with libsodium (see SECURITY.md)"
    )]
    CurveUnavailable,
    /// Something else already serves `inproc://zeromq.zap.01` on this
    /// context; libzmq allows one ZAP handler per context.
    #[error(
        "another ZAP handler is already bound at inproc://zeromq.zap.01 on this context (one per context)"
    )]
    AlreadyRunning,
    /// A key, name, or other value was rejected before use.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was being parsed or set, e.g. `"CURVE public key"`.
        what: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// Reading or writing a key file failed.
    #[error("{op} {path:?} failed: {source}")]
    Io {
        /// `"read key file"` or `"write key file"`.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A key file was read but does not hold what was asked for.
    #[error("key file {path:?}: {reason}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A libzmq call failed.
    #[error("{op} failed: {source}")]
    Zmq {
        /// The operation, e.g. `"set option ZMQ_CURVE_SECRETKEY"`.
        op: &'static str,
        /// What libzmq said.
        source: zmq::Error,
    },
    /// A failure from the event-source layer (binding, inserting into a loop).
    #[error(transparent)]
    Source(#[from] crate::error::Error),
}

impl AuthError {
    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        AuthError::Invalid {
            what,
            reason: reason.into(),
        }
    }

    pub(crate) fn zmq(op: &'static str) -> impl FnOnce(zmq::Error) -> AuthError {
        move |source| AuthError::Zmq { op, source }
    }
}
