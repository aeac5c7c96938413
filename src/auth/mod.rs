//! Authentication: a ZAP handler (ZeroMQ RFC 27) as a calloop event source,
//! and CURVE key helpers.
//!
//! libzmq asks the application who may connect: during each handshake on a
//! server socket it sends a ZAP request to `inproc://zeromq.zap.01` on the
//! socket's context and waits for the answer. [`Authenticator`] serves that
//! endpoint on your event loop and answers from an [`AuthConfig`]:
//!
//! - **NULL** (no credentials): IP allow and deny lists. libzmq only asks
//!   when the server socket has a ZAP domain set (`set_zap_domain`).
//! - **PLAIN**: a user name and password table. **PLAIN sends passwords in
//!   cleartext**; use it only where the network is trusted.
//! - **CURVE**: listed client public keys (Z85 text), or any key. The
//!   traffic is encrypted and the server authenticated either way; needs a
//!   libzmq with CURVE ([`curve_available`], see `SECURITY.md`).
//!
//! Address lists apply to every mechanism; configuration is per ZAP domain
//! (with [`ANY_DOMAIN`] as the fallback) and can change from any thread while
//! the loop runs. Admitted peers carry a `User-Id` (PLAIN: the user name;
//! CURVE: the key in Z85 or a name you choose) and optional properties,
//! which the receiving side reads with `zmq::Frame::gets`. Every decision
//! is logged with `tracing`, counted ([`AuthStats`]) and handed to your
//! callback ([`Decision`]); malformed requests get status 400, requests that
//! cannot be decided 500, and every request gets an answer.
//!
//! ```
//! use calloop_zmq::auth::{Authenticator, ANY_DOMAIN};
//! use calloop_zmq::calloop::EventLoop;
//! use calloop_zmq::{zmq, Event, ZmqSource};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ctx = zmq::Context::new();
//! let mut event_loop: EventLoop<Vec<String>> = EventLoop::try_new()?;
//!
//! // The authenticator first, on the same context as the server.
//! let auth = Authenticator::new(&ctx)?;
//! auth.config().add_user(ANY_DOMAIN, "alice", "secret")?;
//! auth.insert(&event_loop.handle(), |decision, _| println!("{decision:?}"))?;
//!
//! // A PLAIN server: every message says who sent it.
//! let server_socket = ctx.socket(zmq::SocketType::Pull)?;
//! server_socket.set_plain_server(true)?;
//! let server = ZmqSource::new(server_socket)?;
//! server.bind("tcp://127.0.0.1:*")?;
//! let endpoint = server.socket().last_endpoint()?;
//! server.insert(&event_loop.handle(), |event, _, senders: &mut Vec<String>| {
//!     if let Event::Message(mut msg) = event {
//!         let user = msg.frames_mut()[0].gets("User-Id").unwrap_or("?").to_owned();
//!         senders.push(user);
//!     }
//! })?;
//!
//! let client = ctx.socket(zmq::SocketType::Push)?;
//! client.set_plain_username("alice")?;
//! client.set_plain_password("secret")?;
//! client.connect(&endpoint)?;
//! client.send("hi", 0)?;
//!
//! let mut senders = Vec::new();
//! let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
//! while senders.is_empty() && std::time::Instant::now() < deadline {
//!     event_loop.dispatch(std::time::Duration::from_millis(50), &mut senders)?;
//! }
//! assert_eq!(senders, ["alice"]);
//! # Ok(())
//! # }
//! ```
//!
//! ## Keep it running
//! The authenticator must be bound **before** the protected sockets accept
//! connections and stay alive (and its loop dispatching) as long as they
//! do. While requests wait unanswered, handshakes wait too (nothing gets
//! in). But with *no* handler bound, libzmq 4.3 lets CURVE clients with any
//! key in and skips NULL checks; only PLAIN fails closed. See `SECURITY.md`.

mod authenticator;
mod error;
mod keys;
mod policy;
mod zap;

pub use authenticator::{AuthCounts, AuthStats, Authenticator, Decision, Status};
pub use error::AuthError;
pub use keys::{KeyPair, PublicKey, SecretKey, curve_available, require_curve};
pub use policy::{ANY_DOMAIN, AuthConfig, Identity};
pub use zap::ZAP_ENDPOINT;

/// Entry points for the fuzz targets in `fuzz/`: the parsers that take
/// bytes from outside, without sockets or files. Hidden and not part of the
/// API; they may change in any release.
#[doc(hidden)]
pub mod fuzzing {
    pub use super::authenticator::fuzzing::answer;
    pub use super::keys::fuzzing::{key_file_texts, parse_key_file};
}
