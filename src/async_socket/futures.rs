//! The futures an [`AsyncSocket`] hands out, and the receive poll behind
//! [`Recv`] and the `Stream`. Their cancellation promises are stated once,
//! in the [module docs](super#cancellation).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::SendError;
use crate::message::Multipart;
use crate::outbox::{Permit, Reserve, Sender, SourceClosed};
use crate::source::{Closed, DirectSend};
use crate::zmq;

use super::AsyncSocket;
use super::error::{RecvError, ReserveError};

impl AsyncSocket {
    /// Removes a dropped reader's entry from the waiting list. A stale
    /// entry would only cost a spurious wake-up, so an inbox that is
    /// borrowed right now is left alone.
    fn forget_reader(&self, slot: &mut Option<u64>) {
        if slot.is_some()
            && let Ok(mut inbox) = self.inbox.try_borrow_mut()
        {
            inbox.readers.forget(slot);
        }
    }

    /// The poll behind [`recv`](Self::recv) and the `Stream`: `slot` is the
    /// caller's entry in the list of waiting readers.
    pub(super) fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        slot: &mut Option<u64>,
    ) -> Poll<Result<Multipart, RecvError>> {
        let mut inbox = self.inbox.borrow_mut();
        if !self.socket_type.can_recv() && inbox.ended.is_none() {
            return Poll::Ready(Err(RecvError::CannotReceive(self.socket_type)));
        }
        if let Some(msg) = inbox.messages.pop_front() {
            inbox.readers.forget(slot);
            if inbox.paused && !inbox.resume_pinged {
                // Room again: the source resumes receiving in its next
                // dispatch, which this wakes.
                inbox.resume_pinged = true;
                self.sender.wake_loop();
            }
            return Poll::Ready(Ok(msg));
        }
        if let Some(ended) = inbox.ended.as_mut() {
            let said = std::mem::replace(ended, RecvError::Ended);
            inbox.readers.forget(slot);
            return Poll::Ready(Err(said));
        }
        // Nothing buffered, so the socket's next message is the next in
        // order: take it straight from libzmq, within the budget until the
        // source's next dispatch.
        if inbox.direct_left > 0
            && let Some(mut source) = self.source.direct()
        {
            if inbox.paused {
                // The inbox that paused receiving is empty now.
                inbox.paused = false;
                source.resume_recv();
            }
            if let Some(msg) = source.recv() {
                inbox.direct_left -= 1;
                inbox.readers.forget(slot);
                return Poll::Ready(Ok(msg));
            }
        }
        // Every waiting task is woken for each message; one takes it, the
        // others wait again.
        inbox.readers.register(slot, cx.waker());
        Poll::Pending
    }
}

/// The future of [`AsyncSocket::recv`].
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a> {
    pub(super) socket: &'a AsyncSocket,
    pub(super) slot: Option<u64>,
}

impl Future for Recv<'_> {
    type Output = Result<Multipart, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.socket.poll_recv(cx, &mut this.slot)
    }
}

impl Drop for Recv<'_> {
    fn drop(&mut self) {
        self.socket.forget_reader(&mut self.slot);
    }
}

impl fmt::Debug for Recv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").finish_non_exhaustive()
    }
}

/// The future of [`AsyncSocket::ended`].
#[must_use = "futures do nothing unless awaited"]
pub struct Ended<'a> {
    pub(super) socket: &'a AsyncSocket,
    pub(super) slot: Option<u64>,
}

impl Future for Ended<'_> {
    type Output = Result<Closed, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut inbox = this.socket.inbox.borrow_mut();
        if let Some(ended) = inbox.ended.as_mut() {
            let said = std::mem::replace(ended, RecvError::Ended);
            inbox.readers.forget(&mut this.slot);
            // The close that was asked for is the normal end: a success.
            return Poll::Ready(match said {
                RecvError::Closed(closed) => Ok(closed),
                other => Err(other),
            });
        }
        inbox.readers.register(&mut this.slot, cx.waker());
        Poll::Pending
    }
}

impl Drop for Ended<'_> {
    fn drop(&mut self) {
        self.socket.forget_reader(&mut self.slot);
    }
}

impl fmt::Debug for Ended<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ended").finish_non_exhaustive()
    }
}

/// The future of [`AsyncSocket::reserve`]: a place in the outbox, or why
/// there is none. `Unpin`; cancellation-safe (it holds no message, and a
/// dropped wait leaves no registration).
#[must_use = "futures do nothing unless awaited"]
pub struct ReserveFuture<'a> {
    pub(super) socket: &'a AsyncSocket,
    /// The outbox's wait for a place, from the first poll on.
    pub(super) waiting: Option<Reserve>,
}

impl Future for ReserveFuture<'_> {
    type Output = Result<Permit, ReserveError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let socket = this.socket;
        if !socket.socket_type.can_send() {
            return Poll::Ready(Err(ReserveError::CannotSend(socket.socket_type)));
        }
        let waiting = this.waiting.get_or_insert_with(|| socket.sender.reserve());
        let outcome = std::task::ready!(Pin::new(waiting).poll(cx));
        this.waiting = None;
        Poll::Ready(outcome.map_err(|SourceClosed| ReserveError::Closed))
    }
}

impl fmt::Debug for ReserveFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReserveFuture")
            .field("waiting", &self.waiting.is_some())
            .finish()
    }
}

/// The future of [`AsyncSocket::send`]. `Unpin`. Dropped before it is
/// ready, it drops the message it holds (nothing was queued): see the
/// [cancellation notes](super#cancellation).
#[must_use = "futures do nothing unless awaited"]
pub struct SendFuture<'a> {
    pub(super) socket: &'a AsyncSocket,
    pub(super) state: SendState<'a>,
}

/// Where a [`SendFuture`] is.
pub(super) enum SendState<'a> {
    /// About to try the source's door (first poll, or after the loop sent
    /// what it held).
    Start(Multipart),
    /// The loop holds messages the socket has not taken: wait until it sent
    /// them, then try again, so each message crosses into libzmq once.
    AfterHeld(Multipart, HeldSent<'a>),
    /// Behind senders' messages or reserved places: waiting for a place in
    /// the senders' queue.
    Queued(Multipart, Reserve),
    /// Ready was returned.
    Done,
}

impl Future for SendFuture<'_> {
    type Output = Result<(), SendError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let socket = this.socket;
        loop {
            match std::mem::replace(&mut this.state, SendState::Done) {
                SendState::Start(msg) => {
                    if !socket.socket_type.can_send() {
                        return Poll::Ready(Err(SendError::Failed {
                            message: msg,
                            error: zmq::Error::ENOTSUP,
                        }));
                    }
                    let msg = match SendError::check_size(msg, socket.peer_max_frame.get()) {
                        Ok(msg) => msg,
                        Err(too_large) => return Poll::Ready(Err(too_large)),
                    };
                    // The common case: nothing queued, so the message
                    // overtakes nothing and goes straight to libzmq (or, the
                    // first time the socket pushes back, into the loop's
                    // half of the outbox), as a handler's send does. While
                    // the loop holds messages the socket has not taken, the
                    // send waits for the loop to send them rather than
                    // queueing behind them: each message then crosses into
                    // libzmq once, from here, instead of being queued here
                    // and sent again by the loop (BENCHMARKS.md, "The async
                    // socket").
                    let now = match socket.source.direct() {
                        Some(mut door) => door.send(msg),
                        // In the source's own dispatch: the senders' queue
                        // keeps order.
                        None => DirectSend::Queue(msg),
                    };
                    match now {
                        DirectSend::Done(outcome) => return Poll::Ready(outcome),
                        DirectSend::AfterHeld(msg) => {
                            let held = HeldSent { socket, slot: None };
                            this.state = SendState::AfterHeld(msg, held);
                        }
                        // Through the senders' queue: a place, then the
                        // message in it, behind everything queued.
                        DirectSend::Queue(msg) => match socket.sender.try_reserve() {
                            Ok(Some(permit)) => return Poll::Ready(permit.send(msg)),
                            Ok(None) => {
                                this.state = SendState::Queued(msg, socket.sender.reserve());
                            }
                            Err(SourceClosed) => return Poll::Ready(Err(SendError::Closed(msg))),
                        },
                    }
                }
                SendState::AfterHeld(msg, mut held) => {
                    if Pin::new(&mut held).poll(cx).is_pending() {
                        this.state = SendState::AfterHeld(msg, held);
                        return Poll::Pending;
                    }
                    this.state = SendState::Start(msg);
                }
                SendState::Queued(msg, mut reserve) => match Pin::new(&mut reserve).poll(cx) {
                    Poll::Pending => {
                        this.state = SendState::Queued(msg, reserve);
                        return Poll::Pending;
                    }
                    Poll::Ready(Ok(permit)) => return Poll::Ready(permit.send(msg)),
                    Poll::Ready(Err(SourceClosed)) => {
                        return Poll::Ready(Err(SendError::Closed(msg)));
                    }
                },
                SendState::Done => panic!("AsyncSocket::send's future polled after it completed"),
            }
        }
    }
}

impl fmt::Debug for SendFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            SendState::Start(_) => "start",
            SendState::AfterHeld(..) => "waiting for the loop's held messages",
            SendState::Queued(..) => "waiting for a place in the outbox",
            SendState::Done => "done",
        };
        f.debug_struct("SendFuture").field("state", &state).finish()
    }
}

/// Ready once the loop holds no message for sending (it sent them, or the
/// source ended), or once the source cannot be looked at (it is in a
/// dispatch): [`AsyncSocket::send`] then decides again.
pub(super) struct HeldSent<'a> {
    pub(super) socket: &'a AsyncSocket,
    pub(super) slot: Option<u64>,
}

impl Future for HeldSent<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut inbox = this.socket.inbox.borrow_mut();
        let held = this.socket.source.direct().map_or(0, |door| door.held());
        if held == 0 || inbox.ended.is_some() {
            inbox.held_waiters.forget(&mut this.slot);
            return Poll::Ready(());
        }
        // The feeder wakes these after every dispatch that left the loop
        // holding nothing, and when the source ends.
        inbox.held_waiters.register(&mut this.slot, cx.waker());
        Poll::Pending
    }
}

impl Drop for HeldSent<'_> {
    fn drop(&mut self) {
        if self.slot.is_some()
            && let Ok(mut inbox) = self.socket.inbox.try_borrow_mut()
        {
            inbox.held_waiters.forget(&mut self.slot);
        }
    }
}

/// The future behind [`AsyncSocket::flush`]: ready once the outbox is empty
/// or the source ended; dropped while waiting, it leaves no registration.
pub(super) struct Drained<'a> {
    pub(super) sender: &'a Sender,
    pub(super) slot: Option<u64>,
}

impl Future for Drained<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.sender.poll_drained(cx, &mut this.slot, 0)
    }
}

impl Drop for Drained<'_> {
    fn drop(&mut self) {
        self.sender.forget_task(&mut self.slot);
    }
}
