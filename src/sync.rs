//! The synchronisation primitives shared across threads by the outbox and
//! its handles, in one place: std's types normally, loom's under
//! `--cfg loom`, so model checks can explore every interleaving of the same
//! code (see RELIABILITY.md). Thread identities come from here too: loom
//! runs a model's threads on one OS thread, so only its own ids tell them
//! apart.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::thread::{ThreadId, current as current_thread};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(loom)]
pub(crate) use loom::thread::{ThreadId, current as current_thread};
