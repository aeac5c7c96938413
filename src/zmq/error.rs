//! libzmq's error numbers as a Rust type.
//!
//! Every libzmq call that fails sets an errno; [`Error`] is that number with
//! its name (`EAGAIN`, `EFSM`, ...) and libzmq's own description. Compare
//! with the associated constants, or `match` on them:
//!
//! ```
//! use calloop_zmq::zmq;
//!
//! let ctx = zmq::Context::new();
//! let socket = ctx.socket(zmq::SocketType::Pull)?;
//! let err = socket.recv_bytes(zmq::DONTWAIT).unwrap_err();
//! assert_eq!(err, zmq::Error::EAGAIN);
//! assert_eq!(err.name(), Some("EAGAIN"));
//! assert!(err.to_string().contains("EAGAIN"));
//! # Ok::<(), zmq::Error>(())
//! ```

use std::ffi::{CStr, c_int};
use std::fmt;

use calloop_zmq_sys as sys;

/// Result of a libzmq call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A libzmq error number (`zmq_errno()`).
///
/// `Display` gives libzmq's message and the errno's name, e.g.
/// `Resource temporarily unavailable (EAGAIN)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Error(c_int);

macro_rules! errnos {
    ($($(#[$doc:meta])* $name:ident = $value:expr;)*) => {
        impl Error {
            $($(#[$doc])* pub const $name: Error = Error($value);)*

            /// The errno's symbolic name, when it is one libzmq uses.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $(Error::$name => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

errnos! {
    /// Try again: the operation would block (`DONTWAIT`).
    EAGAIN = libc_errno::EAGAIN;
    /// Invalid argument (bad option value, endpoint, socket type ...).
    EINVAL = libc_errno::EINVAL;
    /// Interrupted by a signal.
    EINTR = libc_errno::EINTR;
    /// Bad address, or an invalid message or socket.
    EFAULT = libc_errno::EFAULT;
    /// Out of memory.
    ENOMEM = libc_errno::ENOMEM;
    /// No such device (e.g. an unknown interface in a `tcp://` endpoint).
    ENODEV = libc_errno::ENODEV;
    /// No such file or directory (e.g. an `ipc://` path).
    ENOENT = libc_errno::ENOENT;
    /// Too many open files or sockets.
    EMFILE = libc_errno::EMFILE;
    /// Not supported by this socket type.
    ENOTSUP = libc_errno::ENOTSUP;
    /// Transport protocol not supported.
    EPROTONOSUPPORT = libc_errno::EPROTONOSUPPORT;
    /// No buffer space available.
    ENOBUFS = libc_errno::ENOBUFS;
    /// The network is down.
    ENETDOWN = libc_errno::ENETDOWN;
    /// The address is already in use.
    EADDRINUSE = libc_errno::EADDRINUSE;
    /// The address is not available on this machine.
    EADDRNOTAVAIL = libc_errno::EADDRNOTAVAIL;
    /// Connection refused.
    ECONNREFUSED = libc_errno::ECONNREFUSED;
    /// Operation in progress.
    EINPROGRESS = libc_errno::EINPROGRESS;
    /// Not a socket (closed, or never one).
    ENOTSOCK = libc_errno::ENOTSOCK;
    /// Message too long.
    EMSGSIZE = libc_errno::EMSGSIZE;
    /// Address family not supported.
    EAFNOSUPPORT = libc_errno::EAFNOSUPPORT;
    /// The network is unreachable.
    ENETUNREACH = libc_errno::ENETUNREACH;
    /// Connection aborted.
    ECONNABORTED = libc_errno::ECONNABORTED;
    /// Connection reset by peer.
    ECONNRESET = libc_errno::ECONNRESET;
    /// Not connected.
    ENOTCONN = libc_errno::ENOTCONN;
    /// Timed out.
    ETIMEDOUT = libc_errno::ETIMEDOUT;
    /// No route to the host (e.g. ROUTER with `ZMQ_ROUTER_MANDATORY` and an
    /// unknown routing id).
    EHOSTUNREACH = libc_errno::EHOSTUNREACH;
    /// The network dropped the connection on reset.
    ENETRESET = libc_errno::ENETRESET;
    /// Not possible in the socket's current state (REQ/REP order).
    EFSM = sys::EFSM;
    /// The protocol is not compatible with the socket type.
    ENOCOMPATPROTO = sys::ENOCOMPATPROTO;
    /// The context was terminated.
    ETERM = sys::ETERM;
    /// No I/O thread is available.
    EMTHREAD = sys::EMTHREAD;
}

impl Error {
    /// The error from a raw errno value.
    pub const fn from_raw(errno: i32) -> Error {
        Error(errno)
    }

    /// The raw errno value.
    pub const fn to_raw(self) -> i32 {
        self.0
    }

    /// The error libzmq's last call on this thread set (`zmq_errno()`).
    pub(crate) fn last() -> Error {
        // SAFETY: zmq_errno takes no arguments and only reads a thread-local.
        Error(unsafe { sys::zmq_errno() })
    }

    /// libzmq's description of the error (`zmq_strerror`).
    pub fn message(self) -> &'static str {
        // SAFETY: zmq_strerror returns a pointer to a static, NUL-terminated
        // string for every input (strerror's table, or libzmq's own).
        let text = unsafe { CStr::from_ptr(sys::zmq_strerror(self.0)) };
        text.to_str().unwrap_or("unknown error")
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Error({})", self.0),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.message()),
            None => write!(f, "{} (errno {})", self.message(), self.0),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        std::io::Error::other(e)
    }
}

/// The POSIX errno values libzmq reports, from the platform's C library.
mod libc_errno {
    pub(super) use libc::{
        EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT, EAGAIN, ECONNABORTED, ECONNREFUSED, ECONNRESET,
        EFAULT, EHOSTUNREACH, EINPROGRESS, EINTR, EINVAL, EMFILE, EMSGSIZE, ENETDOWN, ENETRESET,
        ENETUNREACH, ENOBUFS, ENODEV, ENOENT, ENOMEM, ENOTCONN, ENOTSOCK, ENOTSUP, EPROTONOSUPPORT,
        ETIMEDOUT,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_messages() {
        assert_eq!(Error::EFSM.name(), Some("EFSM"));
        assert_eq!(format!("{:?}", Error::ETERM), "ETERM");
        assert!(Error::EAGAIN.to_string().ends_with("(EAGAIN)"));
        assert!(!Error::EHOSTUNREACH.message().is_empty());
        let odd = Error::from_raw(987_654);
        assert_eq!(odd.name(), None);
        assert!(odd.to_string().contains("987654"));
        assert_eq!(Error::from_raw(Error::EINVAL.to_raw()), Error::EINVAL);
    }
}
