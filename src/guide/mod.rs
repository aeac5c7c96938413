//! The guide: one chapter per task, each with an example that runs as a
//! doctest (`cargo test --workspace` runs them all).
//!
//! This module holds documentation only; the API is in the crate root and
//! its modules. Each rule is stated once, in the API docs, and the chapters
//! link there.
//!
//! | Chapter | What it shows |
//! | --- | --- |
//! | [`pub_sub`] | PUB/SUB with a timer that publishes, a SUB with a filter |
//! | [`router_dealer`] | ROUTER/DEALER, routing ids, unroutable replies handed back |
//! | [`threads`] | sending from other threads through a [`Sender`](crate::Sender) |
//! | [`back_pressure`] | the outbox bound, [`SendError::Full`](crate::SendError::Full), `reserve` |
//! | [`shutdown`] | closing a source, what comes back, linger |
//! | [`async_await`] | [`AsyncSocket`](crate::AsyncSocket): which executor, cancellation |
//! | [curve](curve/index.html) | CURVE with the authenticator (feature `auth`) |
//! | [monitor](monitor/index.html) | connection events (feature `monitor`) |
//! | [`from_calloop_book`] | migrating from the calloop book's ZeroMQ example |
//! | [`from_tmq`] | migrating from tmq |
//!
//! Every example follows the same shape: sockets on one
//! [`EventLoop`](calloop::EventLoop), then `dispatch` in a loop bounded by a
//! deadline until the expected messages are in. A program would call
//! `event_loop.run(..)` and stop through a
//! [`LoopSignal`](calloop::LoopSignal) instead, as the crate's `examples/`
//! do.

#[doc = include_str!("pub_sub.md")]
pub mod pub_sub {}

#[doc = include_str!("router_dealer.md")]
pub mod router_dealer {}

#[doc = include_str!("threads.md")]
pub mod threads {}

#[doc = include_str!("back_pressure.md")]
pub mod back_pressure {}

#[doc = include_str!("shutdown.md")]
pub mod shutdown {}

#[doc = include_str!("async_await.md")]
pub mod async_await {}

#[cfg(feature = "auth")]
#[doc = include_str!("curve.md")]
pub mod curve {}

#[cfg(feature = "monitor")]
#[doc = include_str!("monitor.md")]
pub mod monitor {}

#[doc = include_str!("from_calloop_book.md")]
pub mod from_calloop_book {}

#[doc = include_str!("from_tmq.md")]
pub mod from_tmq {}
