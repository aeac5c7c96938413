//! A one-shot wake-up at a deadline, as an fd the loop watches: what makes a
//! closing source look at its flush deadline even when nothing else happens.
//!
//! calloop's own `Timer` would do, but it holds the loop's timer wheel by
//! `Rc`, which would make every `ZmqSource` `!Send`; a `timerfd` under
//! calloop's `Generic` has no such tie.

use std::io;
use std::os::fd::OwnedFd;
use std::time::Duration;

use calloop::generic::Generic;
use calloop::{EventSource, Interest, Mode, Poll, TokenFactory};
use rustix::time::{
    Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, timerfd_create, timerfd_settime,
};

/// A `timerfd` (on the monotonic clock, as `Instant` is) that becomes
/// readable once its time is up. It joins the loop when its owner is
/// (re-)registered, which is why it remembers whether it has.
pub(super) struct DeadlineTimer {
    fd: Generic<OwnedFd>,
    registered: bool,
}

impl DeadlineTimer {
    /// A timer that fires `after` from now.
    pub(super) fn new(after: Duration) -> io::Result<Self> {
        let fd = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        // An all-zero value disarms a timerfd; wake at least a nanosecond later.
        let after = after.max(Duration::from_nanos(1));
        let too_large = |_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "flush timeout too large for a timerfd",
            )
        };
        let spec = Itimerspec {
            it_interval: Duration::ZERO.try_into().map_err(too_large)?,
            it_value: after.try_into().map_err(too_large)?,
        };
        timerfd_settime(&fd, TimerfdTimerFlags::empty(), &spec)?;
        Ok(Self {
            // Level-triggered: once it fires the source ends, so it fires once.
            fd: Generic::new(fd, Interest::READ, Mode::Level),
            registered: false,
        })
    }

    pub(super) fn register(
        &mut self,
        poll: &mut Poll,
        factory: &mut TokenFactory,
    ) -> calloop::Result<()> {
        if self.registered {
            self.fd.reregister(poll, factory)
        } else {
            self.fd.register(poll, factory)?;
            self.registered = true;
            Ok(())
        }
    }

    pub(super) fn unregister(&mut self, poll: &mut Poll) -> calloop::Result<()> {
        if !std::mem::take(&mut self.registered) {
            return Ok(());
        }
        self.fd.unregister(poll)
    }
}
