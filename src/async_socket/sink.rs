//! `Stream` and `Sink` (futures-rs) for [`AsyncSocket`] (feature `futures`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_sink::Sink;

use crate::error::SendError;
use crate::message::Multipart;
use crate::outbox::{Permit, Reserve, SourceClosed};

use super::AsyncSocket;
use super::error::{RecvError, ReserveError, SinkError};

/// The `Stream` and `Sink` sides' own state: the place `poll_ready`
/// reserved, or its wait for one; `poll_flush`'s wait for the outbox to
/// drain; `poll_next`'s entry among the waiting readers.
#[derive(Default)]
pub(super) struct SinkState {
    permit: Option<Permit>,
    waiting: Option<Reserve>,
    /// `poll_flush`'s registration with the outbox while it waits.
    pub(super) flushing: Option<u64>,
    /// `poll_next`'s registration with the inbox while it waits.
    pub(super) reading: Option<u64>,
}

/// Whole messages, as [`recv`](AsyncSocket::recv) gives them; after the
/// source's last word ([`RecvError::Closed`] or [`RecvError::Fatal`]),
/// the stream ends. Cancellation-safe as `recv` is.
impl Stream for AsyncSocket {
    type Item = Result<Multipart, RecvError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let mut slot = this.sink.reading.take();
        let polled = this.poll_recv(cx, &mut slot);
        this.sink.reading = slot;
        match polled {
            Poll::Ready(Err(RecvError::Ended)) => Poll::Ready(None),
            other => other.map(Some),
        }
    }
}

/// Messages into the outbox through a reserved place: `poll_ready`
/// reserves it (waiting without blocking while the outbox is full;
/// cancellation-safe, no message is held), `start_send` queues the
/// message there, behind everything queued. `poll_flush` waits, as
/// [`AsyncSocket::flush`] does, until the outbox has handed every
/// queued message to libzmq (messages libzmq refuses come back through
/// [`AsyncSocket::take_refused`]) or the source ended; a place the sink
/// itself reserved and has not used does not count. `poll_close`
/// flushes the same way; it does not close the socket
/// ([`AsyncSocket::close`] does).
impl<M: Into<Multipart>> Sink<M> for AsyncSocket {
    type Error = SinkError;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SinkError>> {
        let this = &mut *self;
        if this.sink.permit.is_some() {
            return Poll::Ready(Ok(()));
        }
        if !this.socket_type.can_send() {
            return Poll::Ready(Err(SinkError::Reserve(ReserveError::CannotSend(
                this.socket_type,
            ))));
        }
        let waiting = this
            .sink
            .waiting
            .get_or_insert_with(|| this.sender.reserve());
        let outcome = std::task::ready!(Pin::new(waiting).poll(cx));
        this.sink.waiting = None;
        Poll::Ready(match outcome {
            Ok(permit) => {
                this.sink.permit = Some(permit);
                Ok(())
            }
            Err(SourceClosed) => Err(SinkError::Reserve(ReserveError::Closed)),
        })
    }

    fn start_send(mut self: Pin<&mut Self>, item: M) -> Result<(), SinkError> {
        // A message the peer would refuse comes back; a reserved place stays
        // reserved for the next one.
        let msg = SendError::check_size(item.into(), self.peer_max_frame.get())
            .map_err(SinkError::Send)?;
        let permit = match self.sink.permit.take() {
            Some(permit) => permit,
            // Without `poll_ready` first: a place now, or the message back.
            None => match self.sender.try_reserve() {
                Ok(Some(permit)) => permit,
                Ok(None) => return Err(SinkError::Send(SendError::Full(msg))),
                Err(SourceClosed) => return Err(SinkError::Send(SendError::Closed(msg))),
            },
        };
        permit.send(msg).map_err(SinkError::Send)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SinkError>> {
        let this = &mut *self;
        let own = usize::from(this.sink.permit.is_some());
        this.sender
            .poll_drained(cx, &mut this.sink.flushing, own)
            .map(Ok)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SinkError>> {
        <Self as Sink<M>>::poll_flush(self, cx)
    }
}
