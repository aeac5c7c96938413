//! The dispatch engine: what [`ZmqSource`] does when the loop runs it, and
//! how it keeps the edge-triggered `ZMQ_FD` honest (the rule is explained
//! once, on [`ZmqSource`](ZmqSource#the-edge-triggered-fd)).

use std::marker::PhantomData;
use std::os::fd::OwnedFd;
use std::time::Instant;

use calloop::generic::Generic;
use calloop::ping::PingSource;
use calloop::{EventSource, Poll, PostAction, Readiness, Token, TokenFactory};

use crate::error::{Error, Result};
use crate::message::Multipart;
use crate::stats::Counters;
use crate::zmq::{self, Frame};

use super::deadline::DeadlineTimer;
use super::drained::DrainWatch;
use super::event::{Event, ReceiveMode};
use super::handle::SocketHandle;
use super::lifecycle::Life;

/// A ZeroMQ socket as a calloop event source.
///
/// It registers the socket's `ZMQ_FD` with the loop and, on each dispatch,
/// sends what is queued and receives whole messages until libzmq says
/// `EAGAIN` or the per-dispatch budget is spent, then makes sure no work
/// hides behind the edge-triggered fd before the loop sleeps.
///
/// `R` is the receive mode: [`Owned`](super::Owned) (the default) or
/// [`InPlace`](super::InPlace).
///
/// Dropping a source never blocks: its socket is closed on a background
/// thread. Dropping your own [`Context`](zmq::Context) handle, or the socket
/// from [`Closed`](super::Closed), can block while libzmq still holds
/// undelivered messages under `ZMQ_LINGER` = -1;
/// [`Closed`](super::Closed#linger-and-what-can-block) says when and how to
/// avoid it.
///
/// # The edge-triggered fd
///
/// `ZMQ_FD` signals edges, not levels, and a send or a receive can make work
/// visible (a message arrived, room to send) without a new edge. So the
/// source re-reads `ZMQ_EVENTS` once before the loop sleeps, never per
/// message, and only if something since may have hidden work: a send or
/// receive, a call through the socket ([`SocketHandle::socket`]), a resume,
/// a (re-)registration. If there is work left, it asks the loop for another
/// round instead of sleeping. When the last call into libzmq was a receive
/// that returned `EAGAIN` with nothing left to send, libzmq has just
/// processed its commands as reading `ZMQ_EVENTS` would, and the read (a
/// system call) is skipped.
pub struct ZmqSource<R: ReceiveMode = super::Owned> {
    pub(super) io: SocketHandle,
    /// The loop's registration of (a duplicate of) `ZMQ_FD`.
    notify: Generic<OwnedFd>,
    ping: PingSource,
    /// A token of this source's own, for the wake-ups `before_sleep` asks for.
    wake: Option<Token>,
    /// Armed while closing, so the flush deadline wakes the loop.
    close_timer: Option<DeadlineTimer>,
    pub(super) budget: usize,
    /// The last dispatch stopped on its budget: run again without sleeping.
    exhausted: bool,
    /// Frames of a message whose tail has not arrived yet.
    pub(super) partial: Vec<Frame>,
    pub(super) life: Life,
    /// Present when the callback asked for [`Event::Drained`]
    /// ([`Builder::notify_drained`](super::Builder::notify_drained)).
    drain_watch: Option<DrainWatch>,
    mode: PhantomData<fn() -> R>,
}

impl<R: ReceiveMode> ZmqSource<R> {
    pub(super) fn from_parts(
        io: SocketHandle,
        notify: Generic<OwnedFd>,
        ping: PingSource,
        budget: usize,
        drain_watch: Option<DrainWatch>,
    ) -> Self {
        ZmqSource {
            io,
            notify,
            ping,
            wake: None,
            close_timer: None,
            budget,
            exhausted: false,
            partial: Vec::new(),
            life: Life::Open,
            drain_watch,
            mode: PhantomData,
        }
    }

    /// Messages the source moves per dispatch at most.
    pub(crate) fn budget(&self) -> usize {
        self.budget
    }

    /// Receives whole messages until `EAGAIN`, a pause, or `limit` messages,
    /// handing each to `callback`. Returns how many it delivered, and whether
    /// it stopped on `EAGAIN`.
    ///
    /// This is the receive hot path, for both modes: one frame at a time
    /// straight from libzmq into the message the callback gets, with the rare
    /// multipart case kept off to the side.
    #[inline]
    pub(super) fn recv_batch<F>(&mut self, limit: usize, callback: &mut F) -> Result<(usize, bool)>
    where
        F: FnMut(Event<R::Message>, &mut SocketHandle),
    {
        let mut received = 0;
        let mut drained = false;
        // The callback may pause (or close) the source, so this is read every time.
        while received < limit && self.io.wants_messages() {
            let mut event = R::blank();
            let (len, whole) = match R::recv(&mut event, &mut self.io) {
                Ok((len, more, msg)) => (len, gather(&mut self.partial, msg, more)),
                Err(e) => {
                    drained = batch_end(e)?;
                    break;
                }
            };
            self.io.tally().bytes_in += len as u64;
            if !whole {
                continue;
            }
            received += 1;
            callback(event, &mut self.io);
        }
        self.io.tally().messages_in += received as u64;
        Ok((received, drained))
    }

    /// One dispatch: send what is queued, then receive until `EAGAIN` or the
    /// budget is spent. Whatever is left (the socket became writable for
    /// messages the handler queued, say) shows in `ZMQ_EVENTS`, which
    /// `before_sleep` reads, so one pass is enough.
    fn pump<F>(&mut self, callback: &mut F) -> Result<()>
    where
        F: FnMut(Event<R::Message>, &mut SocketHandle),
    {
        self.io.tally().dispatches += 1;
        self.io.mark_check();
        let sent = self.io.send_queued(self.budget);
        // Refused messages go back even when the socket then broke.
        for failure in self.io.take_refused() {
            callback(Event::SendFailed(failure), &mut self.io);
        }
        let sent = sent.map_err(|source| Error::Zmq { op: "send", source })?;
        // Told before receiving, so the producer's sends come before the
        // receive that may end the dispatch on `EAGAIN` (settle_check).
        if let Some(watch) = &mut self.drain_watch
            && watch.after_sends(sent > 0, self.io.is_empty_for_drained())
            && matches!(self.life, Life::Open)
        {
            callback(Event::Drained, &mut self.io);
        }
        let (received, drained) = if self.io.wants_messages() {
            self.recv_batch(self.budget - sent, callback)?
        } else {
            (0, false)
        };
        if sent + received >= self.budget {
            self.exhausted = true;
            self.io.tally().budget_exhausted += 1;
        } else {
            self.settle_check(drained);
        }
        Ok(())
    }

    /// After receiving, outside a budget stop: whether `ZMQ_EVENTS` must be
    /// read before the loop sleeps ([the rule](ZmqSource#the-edge-triggered-fd)):
    /// not when the last call into libzmq was a receive that said `EAGAIN`
    /// and nothing waits to be sent.
    pub(super) fn settle_check(&self, drained: bool) {
        if drained && !self.io.has_queued() {
            self.io.clear_check();
        } else {
            self.io.mark_check();
        }
    }

    /// True when `ZMQ_EVENTS` shows work the edge-triggered fd may never
    /// announce.
    fn has_work(&self) -> Result<bool> {
        let want_read = self.io.wants_messages();
        let want_write = self.io.has_queued();
        if !want_read && !want_write {
            // Nothing ZMQ_EVENTS could say would make us act; save the
            // syscall. libzmq's pending commands (new pipes, subscriptions
            // for a PUB) wait for the next send, which processes them as it
            // would in a program that only sends; a send that cannot go out
            // yet marks a check, and that one processes them.
            return Ok(false);
        }
        let events = self
            .io
            .events()
            .map_err(Error::zmq("get option ZMQ_EVENTS"))?;
        let readable = events.contains(zmq::POLLIN) && want_read;
        let writable = events.contains(zmq::POLLOUT) && want_write;
        Ok(readable || writable)
    }

    /// Registers the notification fd, the wake-up eventfd and the close
    /// timer, leaving none registered on failure.
    fn register_fds(&mut self, poll: &mut Poll, factory: &mut TokenFactory) -> calloop::Result<()> {
        self.notify.register(poll, factory)?;
        let rest = self
            .ping
            .register(poll, factory)
            .and_then(|()| match &mut self.close_timer {
                Some(timer) => timer.register(poll, factory),
                None => Ok(()),
            });
        if let Err(e) = rest {
            let _ = self.ping.unregister(poll);
            let _ = self.notify.unregister(poll);
            return Err(e);
        }
        Ok(())
    }

    /// After a dispatch: takes up a close request, and closes once the
    /// outbox is drained or the flush deadline passed. Returns what the loop
    /// should do with the source.
    fn progress_close<F>(&mut self, callback: &mut F) -> PostAction
    where
        F: FnMut(Event<R::Message>, &mut SocketHandle),
    {
        let mut rearm = None;
        if let Some(timeout) = self.io.take_close_request() {
            rearm = self.life.close_within(timeout);
            self.io.stop_receiving();
        }
        let Some(deadline) = self.life.deadline() else {
            return PostAction::Continue;
        };
        if self.io.is_drained() || Instant::now() >= deadline {
            self.end_closed(callback);
            return PostAction::Remove;
        }
        if let Some(deadline) = rearm {
            match DeadlineTimer::new(deadline.saturating_duration_since(Instant::now())) {
                Ok(timer) => {
                    // The timer joins the loop when calloop re-registers the source.
                    self.close_timer = Some(timer);
                    return PostAction::Reregister;
                }
                Err(error) => {
                    // Without a timer the deadline could pass unseen: close now.
                    tracing::warn!(%error, "no timer for the flush deadline; closing at once");
                    self.end_closed(callback);
                    return PostAction::Remove;
                }
            }
        }
        PostAction::Continue
    }

    /// Ends the source as asked: the callback gets the socket and what did
    /// not go out.
    fn end_closed<F>(&mut self, callback: &mut F)
    where
        F: FnMut(Event<R::Message>, &mut SocketHandle),
    {
        let remains = self.life.end(&mut self.io, &mut self.partial);
        let event = match self.io.take_socket() {
            Some(socket) => Event::Closed(remains.closed(socket)),
            // Only an ended source has handed its socket out, and this one
            // was live until the line above.
            None => Event::Fatal(remains.fatal(Error::Zmq {
                op: "close",
                source: zmq::Error::ENOTSOCK,
            })),
        };
        callback(event, &mut self.io);
    }

    /// Ends the source on a fatal error: the callback gets the error and
    /// every message the source held; the socket is dropped with the source.
    fn end_fatal<F>(&mut self, error: Error, callback: &mut F)
    where
        F: FnMut(Event<R::Message>, &mut SocketHandle),
    {
        let remains = self.life.end(&mut self.io, &mut self.partial);
        tracing::error!(
            %error,
            undelivered = remains.undelivered.len(),
            "ZeroMQ source ended by a fatal socket error; the loop goes on"
        );
        callback(Event::Fatal(remains.fatal(error)), &mut self.io);
    }
}

/// How a receive error ends a batch: `Ok(true)` for `EAGAIN` (drained),
/// `Ok(false)` for `EFSM` (a REQ socket with no request outstanding has
/// nothing to read), and an error for anything else.
fn batch_end(e: zmq::Error) -> Result<bool> {
    match e {
        zmq::Error::EAGAIN => Ok(true),
        zmq::Error::EFSM => Ok(false),
        source => Err(Error::Zmq { op: "recv", source }),
    }
}

/// Multipart messages are gathered off to the side: a frame with `more`, or
/// the last of several, moves from `slot` to `partial`, and the whole message
/// goes back into `slot` once its last frame is in. Returns whether `slot`
/// holds a whole message. One-frame messages stay where they are.
#[inline(always)]
fn gather(partial: &mut Vec<Frame>, slot: &mut Multipart, more: bool) -> bool {
    if more || !partial.is_empty() {
        partial.extend(std::mem::take(slot));
        if more {
            return false;
        }
        *slot = Multipart::take_from(partial);
    }
    true
}

impl<R: ReceiveMode> EventSource for ZmqSource<R> {
    type Event = Event<R::Message>;
    type Metadata = SocketHandle;
    type Ret = ();
    type Error = Error;

    const NEEDS_EXTRA_LIFECYCLE_EVENTS: bool = true;

    fn process_events<F>(
        &mut self,
        readiness: Readiness,
        token: Token,
        mut callback: F,
    ) -> Result<PostAction>
    where
        F: FnMut(Event<R::Message>, &mut SocketHandle),
    {
        if self.life.is_ended() {
            return Ok(PostAction::Remove);
        }
        // Drain the wake-up eventfd if it fired; the outbox is read below anyway.
        if let Err(e) = self.ping.process_events(readiness, token, |(), &mut ()| {}) {
            self.life.fail(Error::Io {
                op: "read the outbox wake-up eventfd",
                source: std::io::Error::other(e),
            });
        }
        self.exhausted = false;
        let result = match self.life.take_failure() {
            Some(error) => Err(error),
            None => self.pump(&mut callback),
        };
        // A handler send may have found the socket broken.
        let result = result.and_then(|()| self.io.take_broken().map_or(Ok(()), Err));
        self.io.settle();
        if let Err(error) = result {
            // Only this source ends; `dispatch` and the other sources go on.
            self.end_fatal(error, &mut callback);
            return Ok(PostAction::Remove);
        }
        Ok(self.progress_close(&mut callback))
    }

    fn register(&mut self, poll: &mut Poll, factory: &mut TokenFactory) -> calloop::Result<()> {
        self.wake = Some(factory.token());
        self.io.set_loop_thread();
        // Work may be waiting that no future edge will announce.
        self.io.mark_check();
        if self.life.is_ended() {
            // `before_sleep` asks for a dispatch, which removes the source.
            return Ok(());
        }
        if let Err(error) = self.register_fds(poll, factory) {
            // Reported as this source's last event (with every message it
            // holds) rather than returned: calloop 0.14 keeps a source whose
            // `register` failed in its list of sources with extra lifecycle
            // events and panics in the next dispatch.
            self.life.fail(Error::Insert(error));
        }
        Ok(())
    }

    fn reregister(&mut self, poll: &mut Poll, factory: &mut TokenFactory) -> calloop::Result<()> {
        self.notify.reregister(poll, factory)?;
        self.ping.reregister(poll, factory)?;
        if let Some(timer) = &mut self.close_timer {
            // Registered for the first time when a close asked for it.
            timer.register(poll, factory)?;
        }
        self.wake = Some(factory.token());
        self.io.set_loop_thread();
        self.io.mark_check();
        Ok(())
    }

    fn unregister(&mut self, poll: &mut Poll) -> calloop::Result<()> {
        self.wake = None;
        if let Some(timer) = &mut self.close_timer {
            timer.unregister(poll)?;
        }
        self.notify.unregister(poll)?;
        self.ping.unregister(poll)
    }

    fn before_sleep(&mut self) -> calloop::Result<Option<(Readiness, Token)>> {
        let Some(token) = self.wake else {
            return Ok(None);
        };
        // What the async socket's futures moved since the last dispatch
        // (straight through the source's door, outside any dispatch) is
        // published now, once per loop iteration, so a reader on any thread
        // never waits for a dispatch that may not come.
        self.io.publish_moved_outside();
        // An ended source gets here only when put back into a loop (through
        // a `Dispatcher`): its dispatch removes it. A failing one reports
        // its error in the dispatch this asks for.
        if !self.life.is_live() || self.exhausted {
            return Ok(Some((Readiness::EMPTY, token)));
        }
        // Read ZMQ_EVENTS once per loop iteration, and only if something
        // happened since libzmq last processed its commands.
        if self
            .drain_watch
            .as_ref()
            .is_some_and(|watch| watch.is_due() && self.io.is_empty_for_drained())
        {
            // The callback has an empty outbox to hear about.
            return Ok(Some((Readiness::EMPTY, token)));
        }
        let more = self.io.take_check()
            && self.has_work().unwrap_or_else(|error| {
                // Reported by the dispatch this asks for.
                self.life.fail(error);
                true
            });
        Ok(more.then_some((Readiness::EMPTY, token)))
    }
}

impl<R: ReceiveMode> Drop for ZmqSource<R> {
    fn drop(&mut self) {
        if self.life.is_ended() {
            return;
        }
        let lost = self.life.end(&mut self.io, &mut self.partial).undelivered;
        if !lost.is_empty() {
            Counters::bump(&self.io.counters().dropped_at_drop, lost.len() as u64);
            tracing::warn!(
                messages = lost.len(),
                "ZmqSource dropped with undelivered messages; use ZmqSource::close to get them back"
            );
        }
        // The socket itself is closed off-thread by `SocketHandle`'s drop;
        // `Generic` removes the fd registration if the loop still has it.
    }
}

impl<R: ReceiveMode> std::fmt::Debug for ZmqSource<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZmqSource")
            .field("socket", &self.io)
            .field("budget", &self.budget)
            .field("mode", &std::any::type_name::<R>())
            .field("outbox_capacity", &self.io.outbox_capacity())
            .field("ended", &self.life.is_ended())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use calloop::{EventLoop, Interest, Mode};

    use super::*;
    use crate::source::Fatal;

    #[test]
    fn a_failed_registration_ends_the_source_with_its_messages_not_the_loop() {
        let ctx = zmq::Context::new();
        // No peer: both messages stay queued.
        let mut source = ZmqSource::new(ctx.socket(zmq::SocketType::Push).unwrap()).unwrap();
        source.handle().send("one").unwrap();
        source.handle().send("two").unwrap();
        // epoll refuses regular files (EPERM), so registration fails.
        let file = tempfile::tempfile().unwrap();
        source.notify = Generic::new(OwnedFd::from(file), Interest::READ, Mode::Edge);

        let mut event_loop: EventLoop<Option<Fatal>> = EventLoop::try_new().unwrap();
        source
            .insert(&event_loop.handle(), |event, _, fatal| {
                if let Event::Fatal(f) = event {
                    *fatal = Some(f);
                }
            })
            .expect("the insert itself succeeds");
        let mut fatal = None;
        for _ in 0..10 {
            event_loop
                .dispatch(Some(Duration::from_millis(10)), &mut fatal)
                .expect("the loop keeps working");
            if fatal.is_some() {
                break;
            }
        }
        let fatal = fatal.expect("the source reported its failed registration");
        assert!(matches!(fatal.error, Error::Insert(_)), "{}", fatal.error);
        let texts: Vec<_> = fatal
            .undelivered
            .iter()
            .map(|m| m.frame_str(0).unwrap())
            .collect();
        assert_eq!(texts, ["one", "two"]);
    }
}
