//! [`Poller`]: libzmq's `zmq_poller`, the way an event loop waits on
//! thread-safe sockets (feature `draft`).
//!
//! The thread-safe (draft) socket types have no `ZMQ_FD` (`EINVAL`,
//! libzmq#2941). A poller holding them has one fd instead
//! ([`Poller::fd`]) that an event loop can register. The rule that fd
//! follows (measured in tests/draft_sockets.rs):
//!
//! - It signals only once armed: [`Poller::ready`] (a zero-timeout
//!   `zmq_poller_wait_all`) arms it when it finds nothing ready. A socket
//!   whose messages were never looked for can hold a message while the fd
//!   stays silent, as with `ZMQ_FD`.
//! - It is a notification, not a level: readable means "call
//!   [`ready`](Poller::ready)", which also consumes the signal. After
//!   sending or receiving, call `ready` again before sleeping.
//!
//! ```
//! use calloop_zmq::zmq::{self, Poller, SocketType, ThreadSafeSocket, POLLIN};
//!
//! let ctx = zmq::Context::new();
//! let server = ThreadSafeSocket::new(ctx.socket(SocketType::Server)?).unwrap();
//! server.bind("inproc://poller-doc")?;
//! let mut poller = Poller::new()?;
//! poller.add(&server, POLLIN, 7)?;
//! assert!(poller.ready()?.is_empty()); // nothing yet, and the fd is armed
//! let client = ctx.socket(SocketType::Client)?;
//! client.connect("inproc://poller-doc")?;
//! client.send("hello", 0)?;
//! // An event loop would wait for `poller.fd()` to become readable here.
//! # use std::os::fd::AsRawFd;
//! # let mut pfd = libc::pollfd { fd: poller.fd()?.as_raw_fd(), events: libc::POLLIN, revents: 0 };
//! # assert_eq!(unsafe { libc::poll(&mut pfd, 1, 5000) }, 1, "the armed fd signals");
//! let ready = poller.ready()?;
//! assert_eq!(ready.len(), 1);
//! assert_eq!((ready[0].token(), ready[0].events()), (7, POLLIN));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::marker::PhantomData;
use std::os::fd::BorrowedFd;
use std::ptr::NonNull;

use calloop_zmq_sys as sys;

use super::addressing::api;
use super::error::{Error, Result};
use super::socket::PollEvents;
use super::thread_safe::ThreadSafeSocket;

/// One socket that [`Poller::ready`] found ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ready {
    token: usize,
    events: PollEvents,
}

impl Ready {
    /// The token the socket was [added](Poller::add) with.
    pub fn token(&self) -> usize {
        self.token
    }

    /// What it is ready for (`POLLIN`, `POLLOUT`), among what was asked.
    pub fn events(&self) -> PollEvents {
        self.events
    }
}

/// A libzmq poller over thread-safe sockets (`zmq_poller_new`), destroyed
/// on drop.
///
/// The poller keeps a clone of every socket it holds, so a socket cannot be
/// closed while the poller still refers to it. `Send`, not `Sync`: one
/// thread at a time uses it (libzmq's pollers take no lock), which may be a
/// different thread from the sockets' users.
pub struct Poller {
    raw: NonNull<std::ffi::c_void>,
    /// The sockets held, with their tokens.
    items: Vec<(ThreadSafeSocket, usize)>,
    /// Room for one event per socket, for `zmq_poller_wait_all`.
    events: Vec<sys::zmq_poller_event_t>,
    /// What `ready` returned last.
    ready: Vec<Ready>,
    _not_sync: PhantomData<std::cell::Cell<()>>,
}

// SAFETY: a zmq_poller has no thread affinity (src/socket_poller.cpp keeps
// no thread id; its signaler is an fd pair) and may be used from any one
// thread at a time, which `!Sync` and `&mut self` ensure. The raw event
// pointers in `events` refer to sockets the poller keeps alive and are only
// read on the thread that owns the poller.
unsafe impl Send for Poller {}

impl Poller {
    /// A new, empty poller. `ENOTSUP` without libzmq's draft API; `ENOMEM`
    /// when libzmq cannot allocate one.
    pub fn new() -> Result<Poller> {
        let api = api()?;
        // SAFETY: zmq_poller_new takes nothing and returns null on failure.
        let raw = unsafe { (api.zmq_poller_new)() };
        let raw = NonNull::new(raw).ok_or_else(Error::last)?;
        Ok(Poller {
            raw,
            items: Vec::new(),
            events: Vec::new(),
            ready: Vec::new(),
            _not_sync: PhantomData,
        })
    }

    /// Starts watching `socket` for `events` (`zmq_poller_add`); `token`
    /// comes back in [`Ready`]. `EINVAL` if it is already here. A SERVER or
    /// PEER is always ready for `POLLOUT` (whether a send fits depends on
    /// the routing id, which libzmq cannot know in advance).
    pub fn add(
        &mut self,
        socket: &ThreadSafeSocket,
        events: PollEvents,
        token: usize,
    ) -> Result<()> {
        let api = api()?;
        // SAFETY: live poller and live socket (the clone pushed below keeps
        // it alive while the poller holds it); libzmq stores the pointers
        // and the token, and reads the socket under its lock.
        let rc = unsafe {
            (api.zmq_poller_add)(
                self.raw.as_ptr(),
                socket.as_ptr(),
                std::ptr::without_provenance_mut(token),
                events.bits(),
            )
        };
        if rc != 0 {
            return Err(Error::last());
        }
        self.items.push((socket.clone(), token));
        self.events.push(sys::zmq_poller_event_t::empty());
        Ok(())
    }

    /// Changes what `socket` is watched for (`zmq_poller_modify`). `EINVAL`
    /// if it is not here.
    pub fn modify(&mut self, socket: &ThreadSafeSocket, events: PollEvents) -> Result<()> {
        let api = api()?;
        // SAFETY: live poller; the socket is live (we borrow it).
        let rc =
            unsafe { (api.zmq_poller_modify)(self.raw.as_ptr(), socket.as_ptr(), events.bits()) };
        if rc == 0 { Ok(()) } else { Err(Error::last()) }
    }

    /// Stops watching `socket` (`zmq_poller_remove`) and drops the poller's
    /// clone of it. `EINVAL` if it is not here.
    pub fn remove(&mut self, socket: &ThreadSafeSocket) -> Result<()> {
        let api = api()?;
        // SAFETY: live poller; the socket is live (we borrow it).
        let rc = unsafe { (api.zmq_poller_remove)(self.raw.as_ptr(), socket.as_ptr()) };
        if rc != 0 {
            return Err(Error::last());
        }
        self.items.retain(|(held, _)| !held.same_socket(socket));
        self.events.truncate(self.items.len());
        Ok(())
    }

    /// Number of sockets held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when no socket is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The fd an event loop waits on (`zmq_poller_fd`): readable when
    /// [`ready`](Self::ready) may have something, once armed by a `ready`
    /// that found nothing (see the module docs). Never read, write or close
    /// it. `EINVAL` until a socket was added (libzmq creates it then).
    pub fn fd(&self) -> Result<BorrowedFd<'_>> {
        let api = api()?;
        let mut fd: sys::zmq_fd_t = -1;
        // SAFETY: live poller; libzmq writes the fd into `fd`.
        let rc = unsafe { (api.zmq_poller_fd)(self.raw.as_ptr(), &mut fd) };
        if rc != 0 {
            return Err(Error::last());
        }
        // SAFETY: the fd is the poller's signaler, created with the first
        // thread-safe socket added and closed only in zmq_poller_destroy
        // (src/socket_poller.cpp), which runs in `Drop`; the borrow cannot
        // outlive `&self`.
        Ok(unsafe { BorrowedFd::borrow_raw(fd) })
    }

    /// What is ready now, without waiting (`zmq_poller_wait_all` with a zero
    /// timeout): one entry per ready socket, empty when nothing is. Also
    /// consumes the [`fd`](Self::fd)'s signal and, when nothing is ready,
    /// arms it for the next change. `EINTR` is retried.
    pub fn ready(&mut self) -> Result<&[Ready]> {
        let api = api()?;
        self.ready.clear();
        if self.items.is_empty() {
            return Ok(&self.ready);
        }
        let count = i32::try_from(self.events.len()).map_err(|_| Error::EINVAL)?;
        let rc = loop {
            // SAFETY: live poller; `events` has room for `count` entries,
            // which is all libzmq writes. The sockets it polls are alive
            // (the poller holds clones).
            let rc = unsafe {
                (api.zmq_poller_wait_all)(self.raw.as_ptr(), self.events.as_mut_ptr(), count, 0)
            };
            if rc >= 0 || Error::last() != Error::EINTR {
                break rc;
            }
        };
        if rc < 0 {
            return match Error::last() {
                Error::EAGAIN => Ok(&self.ready),
                e => Err(e),
            };
        }
        let found = usize::try_from(rc).unwrap_or(0).min(self.events.len());
        self.ready
            .extend(self.events[..found].iter().map(|event| Ready {
                token: event.user_data.addr(),
                events: PollEvents::from_bits(event.events),
            }));
        Ok(&self.ready)
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        if let Ok(api) = api() {
            let mut raw = self.raw.as_ptr();
            // SAFETY: the poller came from zmq_poller_new and is destroyed
            // only here; the sockets it holds are still alive (their clones
            // drop after this, with `items`), which libzmq's destructor
            // needs to unregister its signaler from them.
            unsafe { (api.zmq_poller_destroy)(&mut raw) };
        }
    }
}

impl fmt::Debug for Poller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Poller")
            .field("sockets", &self.items.len())
            .finish()
    }
}
