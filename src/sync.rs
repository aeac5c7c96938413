//! The synchronisation primitives shared across threads by the outbox and
//! its handles, in one place: std's types normally, loom's under
//! `--cfg loom`, so model checks can explore every interleaving of the same
//! code (see RELIABILITY.md).

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
