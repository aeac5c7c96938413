//! # calloop-zmq
//!
//! ZeroMQ sockets of every classic type as [calloop] event sources: whole
//! multipart messages in a callback, sends from the handler or from any
//! thread, and timers, signals and other sources on the same loop.
//!
//! The loop thread never blocks: every socket operation uses `DONTWAIT`, and
//! a message the socket cannot take yet waits, whole, at the head of a
//! bounded outbox. No message is lost without a word: every send that does
//! not happen hands its message back ([`SendError`], [`Event::SendFailed`],
//! [`Closed::undelivered`]). A per-dispatch budget keeps a flooded socket
//! from starving the rest of the loop.
//!
//! ```
//! use calloop_zmq::calloop::EventLoop;
//! use calloop_zmq::{zmq, Event, ZmqSource};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ctx = zmq::Context::new();
//!
//! // A REP server on the loop that echoes requests from inside the handler.
//! let server = ZmqSource::new(ctx.socket(zmq::SocketType::Rep)?)?;
//! server.bind("inproc://echo")?;
//!
//! // A REQ client on the same loop; its sender queues from anywhere.
//! let client = ZmqSource::new(ctx.socket(zmq::SocketType::Req)?)?;
//! client.connect("inproc://echo")?;
//! client.sender().try_send("hello")?;
//!
//! let mut event_loop: EventLoop<Option<String>> = EventLoop::try_new()?;
//! server.insert(&event_loop.handle(), |event, socket, _| {
//!     if let Event::Message(request) = event {
//!         socket.send(request).expect("REP can always reply once");
//!     }
//! })?;
//! client.insert(&event_loop.handle(), |event, _, reply| {
//!     if let Event::Message(msg) = event {
//!         *reply = msg.frame_str(0).map(str::to_owned);
//!     }
//! })?;
//!
//! let mut reply = None;
//! let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
//! while reply.is_none() && std::time::Instant::now() < deadline {
//!     event_loop.dispatch(std::time::Duration::from_millis(100), &mut reply)?;
//! }
//! assert_eq!(reply.as_deref(), Some("hello"));
//! # Ok(())
//! # }
//! ```
//!
//! ## Where things are
//! - [`guide`]: one chapter per task (PUB/SUB, ROUTER/DEALER, threads,
//!   back-pressure, shutdown, async, CURVE, the monitor, migrating).
//! - [`ZmqSource`]: the event source; [`SocketHandle`]: what the callback
//!   acts through; [`Event`]: what it receives.
//! - [`Sender`]: the thread-safe outbox handle; [`Sender::reserve`] is its
//!   awaitable, cancellation-safe send.
//! - [`AsyncSocket`]: a source behind a bounded inbox, for futures on the
//!   loop's thread (`recv().await`); [`executor`]: an executor that runs a
//!   task in the loop iteration whose socket event woke it.
//! - [`Multipart`]: a whole message.
//! - [`Stats`]: counters readable at any time.
//! - [`mod@zmq`]: the libzmq binding underneath (contexts, sockets, frames,
//!   options, CURVE keys), bundled libzmq 4.3.5 with CURVE.
//! - [`monitor`]: socket monitor events (connected, disconnected, handshake
//!   failures...) as a typed calloop source.
//! - [`auth`]: a ZAP authenticator (NULL address lists, PLAIN, CURVE) on the loop.
//! - [`proxy`]: a steerable proxy (`zmq_proxy_steerable` on the loop):
//!   frontend, backend and capture sockets, back-pressure instead of loss,
//!   pause/resume/terminate and counters through a thread-safe handle.
//!
//! [calloop]: https://docs.rs/calloop

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

// Modules depend one way, each only on those to its left:
//   zmq (the binding) <- message <- wire <- outbox <- source
//     <- monitor / auth / async_socket / proxy
// and beside them the leaves any of those may use: error (which knows zmq
// and message), executor (which knows error), stats and sync (which know
// nothing of the crate).
pub mod async_socket;
#[cfg(feature = "auth")]
pub mod auth;
mod error;
pub mod executor;
pub mod guide;
mod message;
#[cfg(feature = "monitor")]
pub mod monitor;
mod outbox;
pub mod proxy;
mod source;
mod stats;
mod sync;
mod wire;
pub mod zmq;

#[cfg(feature = "futures")]
pub use async_socket::SinkError;
pub use async_socket::{AsyncSocket, RecvError, ReserveError};
#[cfg(feature = "auth")]
pub use auth::{AuthConfig, Authenticator};
pub use error::{Error, InsertError, Result, SendError};
pub use message::{IntoFrames, Multipart};
#[cfg(feature = "monitor")]
pub use monitor::{Monitor, MonitorEvent};
pub use outbox::{Permit, Reserve, SendFailure, Sender, SourceClosed};
pub use source::{
    Builder, CloseError, Closed, DEFAULT_BUDGET, DEFAULT_OUTBOX_CAPACITY, Event, Fatal, InPlace,
    Owned, ReceiveMode, Received, SocketHandle, ZmqSource,
};
pub use stats::{Stats, StatsSnapshot};
pub use zmq::Frame;

/// The calloop crate this one is built on.
pub use calloop;

// Compiles the README's snippet as a doctest, so it cannot drift from the API.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
