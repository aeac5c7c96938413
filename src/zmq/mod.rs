//! The libzmq binding: contexts, sockets, frames, options, CURVE keys.
//!
//! calloop-zmq's own safe layer over libzmq (through `calloop-zmq-sys`,
//! which builds libzmq 4.3.5 with CURVE by default). The event-loop types
//! ([`ZmqSource`](crate::ZmqSource) ...) are built on it, and it is there
//! for your own sockets, tests and tools too:
//!
//! ```
//! use calloop_zmq::zmq::{self, SocketType};
//!
//! let ctx = zmq::Context::new();
//! let pull = ctx.socket(SocketType::Pull)?;
//! pull.bind("inproc://example")?;
//! let push = ctx.socket(SocketType::Push)?;
//! push.connect("inproc://example")?;
//! push.send_multipart(["topic", "body"], 0)?;
//! assert_eq!(pull.recv_multipart(0)?, [b"topic".to_vec(), b"body".to_vec()]);
//! assert!(zmq::version() >= (4, 3, 0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! - [`Context`]: I/O threads and the `inproc://` namespace; terminating it
//!   waits for lingering messages.
//! - [`Socket`]: one of the twelve [`SocketType`]s; endpoints, sends and
//!   receives, [`poll`], and every socket option ([`options`]).
//! - [`Frame`]: one message part, owning its `zmq_msg_t`.
//! - [`Error`]: libzmq's errno, with its name and message.
//! - With the `draft` feature (libzmq's draft API, which libzmq calls
//!   unstable): the thread-safe socket types in [`SocketType`],
//!   `ThreadSafeSocket` to share one between threads, routing ids and
//!   groups on [`Frame`] (`routing_id`, `set_group` ...), `Socket::join` /
//!   `leave` / `connect_peer`, and `Poller`, which gives an event loop an fd
//!   for sockets that have no `ZMQ_FD`.
//! - [`has`], [`version`], [`CurveKeyPair`], [`z85_encode`], [`z85_decode`].

#[cfg(feature = "draft")]
mod addressing;
mod context;
mod curve;
mod endpoint;
mod error;
mod frame;
pub mod options;
#[cfg(feature = "draft")]
mod poller;
mod socket;
mod socket_type;
#[cfg(feature = "draft")]
mod thread_safe;

#[cfg(feature = "draft")]
pub use addressing::GROUP_MAX_LENGTH;
pub use context::Context;
pub use curve::{CurveKeyPair, curve_public, has, version, z85_decode, z85_encode};
pub use error::{Error, Result};
pub use frame::{COPY_THRESHOLD, Frame};
pub use options::Mechanism;
#[cfg(feature = "draft")]
pub use poller::{Poller, Ready};
pub use socket::{
    DONTWAIT, EndpointError, POLLERR, POLLIN, POLLOUT, PollEvents, PollItem, SNDMORE, Socket, poll,
};
pub use socket_type::SocketType;
#[cfg(feature = "draft")]
pub use thread_safe::ThreadSafeSocket;
