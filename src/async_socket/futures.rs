//! The futures an [`AsyncSocket`] hands out, and the receive poll behind
//! [`Recv`] and the `Stream`. Their cancellation promises are stated once,
//! in the [module docs](super#cancellation).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::message::Multipart;
use crate::outbox::Sender;

use super::AsyncSocket;
use super::error::RecvError;

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
    type Output = RecvError;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<RecvError> {
        let this = &mut *self;
        let mut inbox = this.socket.inbox.borrow_mut();
        if let Some(ended) = inbox.ended.as_mut() {
            let said = std::mem::replace(ended, RecvError::Ended);
            inbox.readers.forget(&mut this.slot);
            return Poll::Ready(said);
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
