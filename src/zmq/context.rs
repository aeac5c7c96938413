//! The libzmq context: I/O threads and the namespace `inproc://` endpoints
//! live in.

use std::ffi::{c_int, c_void};
use std::ptr::NonNull;
use std::sync::Arc;

use calloop_zmq_sys as sys;

use super::error::{Error, Result};
use super::socket::Socket;
use super::socket_type::SocketType;

/// A libzmq context (`zmq_ctx_new`), shared by cloning.
///
/// Every [`Socket`] keeps its context alive. When the last clone and the
/// last socket are gone, the context is terminated (`zmq_ctx_term`), which
/// **blocks** until every socket's unsent messages were sent or their
/// `ZMQ_LINGER` expired (libzmq's default linger is -1: forever). Set a
/// linger on sockets that may hold messages for a peer that is gone, or
/// call [`shutdown`](Self::shutdown) first.
///
/// `Context` is `Send` and `Sync`: libzmq contexts are thread-safe.
#[derive(Clone)]
pub struct Context {
    inner: Arc<Raw>,
}

/// The owned `void *` a context is.
struct Raw(NonNull<c_void>);

// SAFETY: libzmq contexts are thread-safe (zmq(7), "Thread safety": "A 0MQ
// 'context' is thread safe and may be shared among as many application
// threads as necessary, without any additional locking").
unsafe impl Send for Raw {}
// SAFETY: as above.
unsafe impl Sync for Raw {}

impl Drop for Raw {
    fn drop(&mut self) {
        loop {
            // SAFETY: the pointer came from zmq_ctx_new and is terminated
            // only here, once, when no socket and no clone refer to it.
            let rc = unsafe { sys::zmq_ctx_term(self.0.as_ptr()) };
            if rc == 0 || Error::last() != Error::EINTR {
                break;
            }
        }
    }
}

impl Context {
    /// A new context with libzmq's defaults (one I/O thread).
    ///
    /// # Panics
    /// Only if libzmq cannot create a context at all (out of memory or file
    /// descriptors); use [`try_new`](Self::try_new) to get that as an error.
    pub fn new() -> Context {
        match Context::try_new() {
            Ok(ctx) => ctx,
            Err(e) => panic!("zmq_ctx_new failed: {e}"),
        }
    }

    /// A new context, or the reason libzmq could not create one.
    pub fn try_new() -> Result<Context> {
        // SAFETY: zmq_ctx_new takes no arguments; it returns null on failure.
        let raw = unsafe { sys::zmq_ctx_new() };
        match NonNull::new(raw) {
            Some(raw) => Ok(Context {
                inner: Arc::new(Raw(raw)),
            }),
            None => Err(Error::last()),
        }
    }

    /// A new socket of the given type in this context. A draft type (feature
    /// `draft`) on a libzmq without the draft API is `ENOTSUP`.
    pub fn socket(&self, kind: SocketType) -> Result<Socket> {
        Socket::new(self.clone(), kind)
    }

    /// Shuts the context down without waiting (`zmq_ctx_shutdown`): every
    /// blocking call on its sockets returns `ETERM`, and so does every later
    /// operation except closing. Sockets must still be closed (dropped)
    /// before the context's resources are freed.
    pub fn shutdown(&self) -> Result<()> {
        // SAFETY: the pointer is a live context (we hold a reference).
        let rc = unsafe { sys::zmq_ctx_shutdown(self.as_ptr()) };
        if rc == 0 { Ok(()) } else { Err(Error::last()) }
    }

    /// Number of I/O threads (`ZMQ_IO_THREADS`).
    pub fn io_threads(&self) -> Result<i32> {
        self.get(sys::ZMQ_IO_THREADS)
    }

    /// Sets the number of I/O threads; effective only before the first
    /// socket is created.
    pub fn set_io_threads(&self, threads: i32) -> Result<()> {
        self.set(sys::ZMQ_IO_THREADS, threads)
    }

    /// Maximum number of sockets (`ZMQ_MAX_SOCKETS`).
    pub fn max_sockets(&self) -> Result<i32> {
        self.get(sys::ZMQ_MAX_SOCKETS)
    }

    /// Sets the maximum number of sockets.
    pub fn set_max_sockets(&self, max: i32) -> Result<()> {
        self.set(sys::ZMQ_MAX_SOCKETS, max)
    }

    /// Whether IPv6 is on for new sockets (`ZMQ_IPV6`).
    pub fn ipv6(&self) -> Result<bool> {
        self.get(sys::ZMQ_IPV6).map(|v| v != 0)
    }

    /// Turns IPv6 on or off for sockets created afterwards.
    pub fn set_ipv6(&self, on: bool) -> Result<()> {
        self.set(sys::ZMQ_IPV6, c_int::from(on))
    }

    /// Whether terminating blocks on lingering messages (`ZMQ_BLOCKY`).
    pub fn blocky(&self) -> Result<bool> {
        self.get(sys::ZMQ_BLOCKY).map(|v| v != 0)
    }

    /// Sets `ZMQ_BLOCKY`: with `false`, sockets created afterwards get a
    /// linger of 0 instead of -1.
    pub fn set_blocky(&self, on: bool) -> Result<()> {
        self.set(sys::ZMQ_BLOCKY, c_int::from(on))
    }

    fn get(&self, option: c_int) -> Result<i32> {
        // SAFETY: the pointer is a live context; zmq_ctx_get only reads.
        let value = unsafe { sys::zmq_ctx_get(self.as_ptr(), option) };
        if value < 0 {
            Err(Error::last())
        } else {
            Ok(value)
        }
    }

    fn set(&self, option: c_int, value: c_int) -> Result<()> {
        // SAFETY: the pointer is a live context; libzmq validates the option.
        let rc = unsafe { sys::zmq_ctx_set(self.as_ptr(), option, value) };
        if rc == 0 { Ok(()) } else { Err(Error::last()) }
    }

    pub(crate) fn as_ptr(&self) -> *mut c_void {
        self.inner.0.as_ptr()
    }
}

impl Default for Context {
    fn default() -> Self {
        Context::new()
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("handles", &Arc::strong_count(&self.inner))
            .finish()
    }
}
