//! [`ThreadSafeSocket`]: a socket of a thread-safe (draft) type, shared
//! between threads by cloning (feature `draft`).
//!
//! libzmq's CLIENT, SERVER, RADIO, DISH, SCATTER, GATHER, PEER and CHANNEL
//! sockets take a lock in every call (zmq_socket(3), "Thread safety"), so
//! unlike the classic types they may be used from several threads at once.
//! A plain [`Socket`] is `!Sync` whatever its type; wrap one of these types
//! in a `ThreadSafeSocket` to share it:
//!
//! ```
//! use calloop_zmq::zmq::{self, SocketType, ThreadSafeSocket};
//!
//! let ctx = zmq::Context::new();
//! let server = ctx.socket(SocketType::Server)?;
//! server.bind("inproc://thread-safe-doc")?;
//! let client = ThreadSafeSocket::new(ctx.socket(SocketType::Client)?).unwrap();
//! client.connect("inproc://thread-safe-doc")?;
//! let senders: Vec<_> = (0..4)
//!     .map(|i| {
//!         let client = client.clone();
//!         std::thread::spawn(move || client.send(format!("from {i}").as_str(), 0))
//!     })
//!     .collect();
//! for sender in senders {
//!     sender.join().unwrap()?;
//! }
//! server.set_rcvtimeo(5000)?;
//! for _ in 0..4 {
//!     assert!(server.recv_frame(0)?.routing_id().is_some());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use super::socket::Socket;

/// A socket of a thread-safe type, `Send + Sync`, shared by cloning; it is
/// closed when the last clone is dropped. Derefs to [`Socket`] for every
/// operation.
#[derive(Clone)]
pub struct ThreadSafeSocket {
    socket: Arc<Shared>,
}

/// The socket, shareable.
struct Shared(Socket);

// SAFETY: only sockets of a thread-safe type get here (`ThreadSafeSocket::
// new` checks), and libzmq serialises every public call on such a socket
// with the socket's own lock (`scoped_optional_lock_t` on `_thread_safe` in
// src/socket_base.cpp; zmq_socket(3) lists these types as thread safe).
// `zmq_close` runs only when the last clone is dropped, when no other thread
// can be inside a call.
unsafe impl Sync for Shared {}

impl ThreadSafeSocket {
    /// Wraps `socket` when its type is thread-safe
    /// ([`SocketType::is_thread_safe`](super::SocketType::is_thread_safe));
    /// gives it back otherwise.
    pub fn new(socket: Socket) -> Result<ThreadSafeSocket, Socket> {
        if socket.socket_type().is_thread_safe() {
            Ok(ThreadSafeSocket {
                socket: Arc::new(Shared(socket)),
            })
        } else {
            Err(socket)
        }
    }

    /// The socket back, when this is the last clone; `self` otherwise.
    pub fn into_socket(self) -> Result<Socket, ThreadSafeSocket> {
        Arc::try_unwrap(self.socket)
            .map(|shared| shared.0)
            .map_err(|socket| ThreadSafeSocket { socket })
    }

    /// True when both are clones of the same socket.
    pub fn same_socket(&self, other: &ThreadSafeSocket) -> bool {
        Arc::ptr_eq(&self.socket, &other.socket)
    }
}

impl Deref for ThreadSafeSocket {
    type Target = Socket;

    fn deref(&self) -> &Socket {
        &self.socket.0
    }
}

impl fmt::Debug for ThreadSafeSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ThreadSafeSocket")
            .field(&self.socket.0)
            .finish()
    }
}
