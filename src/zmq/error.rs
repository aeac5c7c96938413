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

    /// The description of the error, as libzmq's `zmq_strerror` gives it:
    /// libzmq's own text for the errnos it describes (`EFSM`, `ETERM` ...), the C
    /// library's for the others, `Unknown error N` for numbers nobody
    /// defines.
    ///
    /// Owned, because the C library's text for an unknown number lives in a
    /// buffer the next such call overwrites (glibc: one per thread).
    pub fn message(self) -> String {
        match self.zmq_text() {
            Some(text) => text.to_owned(),
            None => self.system_text(),
        }
    }

    /// libzmq's text for the errnos it describes itself (its own four, and
    /// `EHOSTUNREACH`), which are string literals in libzmq (`zmq::errno_to_string`, src/err.cpp).
    fn zmq_text(self) -> Option<&'static str> {
        if !matches!(
            self,
            Error::EFSM
                | Error::ENOCOMPATPROTO
                | Error::ETERM
                | Error::EMTHREAD
                | Error::EHOSTUNREACH
        ) {
            return None;
        }
        // SAFETY: for these five numbers zmq_strerror returns one of
        // libzmq's string literals (src/err.cpp), NUL-terminated and alive
        // for the whole program; it never touches strerror's buffer for them.
        let text = unsafe { CStr::from_ptr(sys::zmq_strerror(self.0)) };
        text.to_str().ok()
    }

    /// The C library's text (what `zmq_strerror` returns for every other
    /// number), through the thread-safe `strerror_r` into a buffer of ours
    /// rather than `strerror`'s shared one.
    fn system_text(self) -> String {
        let mut buf = [0u8; 256];
        // SAFETY: `buf` is writable for its length; the XSI strerror_r (the
        // libc crate links glibc's `__xpg_strerror_r`) writes at most
        // `len` bytes, NUL included, and never keeps the pointer. One byte
        // is held back so the buffer ends in a NUL even on ERANGE.
        unsafe { libc::strerror_r(self.0, buf.as_mut_ptr().cast(), buf.len() - 1) };
        let text = CStr::from_bytes_until_nul(&buf).unwrap_or_default();
        match text.to_str() {
            Ok(text) if !text.is_empty() => text.to_owned(),
            _ => format!("Unknown error {}", self.0),
        }
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
        match self.zmq_text() {
            Some(text) => f.write_str(text)?,
            None => f.write_str(&self.system_text())?,
        }
        match self.name() {
            Some(name) => write!(f, " ({name})"),
            None => write!(f, " (errno {})", self.0),
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
        assert_eq!(
            Error::ETERM.message(),
            "Context was terminated",
            "libzmq's own text"
        );
    }

    /// glibc writes the text for an unknown errno into one buffer per
    /// thread, which the next such call overwrites: a `&'static str` into it
    /// went bad. Owned texts keep their own number.
    #[test]
    fn unknown_errno_texts_stay_intact() {
        let first = Error::from_raw(9999).message();
        let second = Error::from_raw(9998).message();
        assert!(first.contains("9999"), "{first:?}");
        assert!(second.contains("9998"), "{second:?}");
        let shown = Error::from_raw(9999).to_string();
        let _ = Error::from_raw(9998).to_string();
        assert!(
            shown.starts_with(&first) && shown.ends_with("(errno 9999)"),
            "{shown}"
        );
        // Concurrent callers each get their own text.
        let texts: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|i| s.spawn(move || Error::from_raw(9000 + i).message()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (i, text) in texts.iter().enumerate() {
            assert!(text.contains(&(9000 + i).to_string()), "{text:?}");
        }
    }
}
