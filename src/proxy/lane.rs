//! The proxy's sockets ("lanes") and what moves between them in a
//! dispatch: forwarding with back-pressure, parked messages, and a side
//! that leaves on its own.

use std::collections::VecDeque;

use calloop::PostAction;

use crate::error::{Error, Result, SendError};
use crate::message::Multipart;
use crate::outbox::SendFailure;
use crate::source::{Event, SocketHandle, ZmqSource};
use crate::zmq;

use super::event::{ProxyEvent, Side};
use super::stats::ProxyTally;

/// The proxy's sockets.
pub(super) struct Lanes {
    pub(super) frontend: Lane,
    pub(super) backend: Lane,
    pub(super) capture: Option<Lane>,
}

/// One socket of the proxy and the messages for it that its outbox had no
/// room for. While any wait here, the sides that feed it are not read, so
/// at most one per feeding side ever waits.
pub(super) struct Lane {
    pub(super) source: ZmqSource,
    pub(super) parked: VecDeque<Multipart>,
}

/// A side that left on its own during a dispatch, and why.
pub(super) struct Gone {
    pub(super) side: Side,
    pub(super) error: Error,
    pub(super) rest: Leftover,
}

/// What a side that left on its own handed over.
#[derive(Default)]
pub(super) struct Leftover {
    pub(super) socket: Option<zmq::Socket>,
    pub(super) undelivered: Vec<Multipart>,
    pub(super) partial: Vec<zmq::Frame>,
}
impl Lane {
    pub(super) fn new(source: ZmqSource) -> Lane {
        Lane {
            source,
            parked: VecDeque::new(),
        }
    }
}

/// Pauses or resumes a side's reading, touching it only on a change (a
/// resume makes the source re-read `ZMQ_EVENTS`).
pub(super) fn set_reading(handle: &mut SocketHandle, read: bool) {
    if read == handle.is_recv_paused() {
        if read {
            handle.resume_recv();
        } else {
            handle.pause_recv();
        }
    }
}

/// A side that could not go on: calloop says to remove its source, which
/// it does only once the source has ended. If no event said why, it had
/// ended before the proxy ever ran it.
pub(super) fn check_post(side: Side, post: Result<PostAction>, gone: &mut Option<Gone>) {
    let error = match post {
        Ok(PostAction::Remove) => Error::InvalidArgument(format!(
            "the proxy's {side} source had already ended (closed or broken) before the proxy ran"
        )),
        Ok(_) => return,
        Err(error) => error,
    };
    gone.get_or_insert(Gone {
        side,
        error,
        rest: Leftover::default(),
    });
}

/// Sends what waited for room on `lane`, in order, until the outbox is full
/// again.
pub(super) fn unpark<F>(lane: &mut Lane, side: Side, tally: &mut ProxyTally, callback: &mut F)
where
    F: FnMut(ProxyEvent, &mut ()),
{
    while let Some(msg) = lane.parked.pop_front() {
        match lane.source.handle().send(msg) {
            Ok(()) => {
                if side == Side::Capture {
                    tally.captured += 1;
                }
            }
            Err(SendError::Failed { message, error }) => {
                refused(side, SendFailure { message, error }, tally, callback)
            }
            Err(e) => {
                lane.parked.push_front(e.into_message());
                break;
            }
        }
    }
}

pub(super) fn refused<F>(side: Side, failure: SendFailure, tally: &mut ProxyTally, callback: &mut F)
where
    F: FnMut(ProxyEvent, &mut ()),
{
    tally.dropped += 1;
    callback(ProxyEvent::Refused { side, failure }, &mut ());
}

/// Everything but a received message: a refused send or the side's end.
pub(super) fn side_event<F>(
    side: Side,
    event: Event,
    tally: &mut ProxyTally,
    gone: &mut Option<Gone>,
    callback: &mut F,
) where
    F: FnMut(ProxyEvent, &mut ()),
{
    match event {
        // The proxy's sources never opt in to `Drained`.
        Event::Message(_) | Event::Drained => {}
        Event::SendFailed(failure) => refused(side, failure, tally, callback),
        Event::Fatal(fatal) => {
            *gone = Some(Gone {
                side,
                error: fatal.error,
                rest: Leftover {
                    socket: None,
                    undelivered: fatal.undelivered,
                    partial: fatal.partial,
                },
            });
        }
        // The proxy never asks a side to close; keep what it hands over anyway.
        Event::Closed(closed) => {
            *gone = Some(Gone {
                side,
                error: Error::InvalidArgument(format!(
                    "the proxy's {side} source was closed from outside the proxy"
                )),
                rest: Leftover {
                    socket: Some(closed.socket),
                    undelivered: closed.undelivered,
                    partial: closed.partial,
                },
            });
        }
    }
}

/// Forwards what one side receives to the other (and a copy to the
/// capture socket), parking what finds no room.
pub(super) struct Relay<'a, F> {
    pub(super) to: &'a mut Lane,
    pub(super) to_side: Side,
    pub(super) capture: Option<&'a mut Lane>,
    pub(super) tally: &'a mut ProxyTally,
    pub(super) gone: &'a mut Option<Gone>,
    pub(super) callback: &'a mut F,
}

impl<F: FnMut(ProxyEvent, &mut ())> Relay<'_, F> {
    pub(super) fn event(&mut self, from: Side, event: Event, handle: &mut SocketHandle) {
        let msg = match event {
            Event::Message(msg) => msg,
            other => return side_event(from, other, self.tally, self.gone, self.callback),
        };
        let bytes = msg.byte_len() as u64;
        if from == Side::Frontend {
            self.tally.frontend_to_backend += 1;
            self.tally.frontend_to_backend_bytes += bytes;
        } else {
            self.tally.backend_to_frontend += 1;
            self.tally.backend_to_frontend_bytes += bytes;
        }
        if let Some(capture) = self.capture.as_deref_mut() {
            let copy = Multipart::from(msg.frames().to_vec());
            if let Some(copy) = offer(capture, Side::Capture, copy, self.tally, self.callback) {
                capture.parked.push_back(copy);
                self.hold_back(handle);
            } else {
                self.tally.captured += 1;
            }
        }
        if let Some(msg) = offer(self.to, self.to_side, msg, self.tally, self.callback) {
            self.to.parked.push_back(msg);
            self.hold_back(handle);
        }
    }

    /// Stops reading the side a message came from: something it sent waits
    /// for room.
    pub(super) fn hold_back(&mut self, handle: &mut SocketHandle) {
        if !handle.is_recv_paused() {
            handle.pause_recv();
            self.tally.backpressure_pauses += 1;
        }
    }
}

/// Hands `msg` to `lane`'s socket behind anything already waiting. Returns
/// it when it must wait for room; a refused message goes to the callback.
/// Accepted or refused, `None`.
pub(super) fn offer<F>(
    lane: &mut Lane,
    side: Side,
    msg: Multipart,
    tally: &mut ProxyTally,
    callback: &mut F,
) -> Option<Multipart>
where
    F: FnMut(ProxyEvent, &mut ()),
{
    if !lane.parked.is_empty() {
        return Some(msg);
    }
    match lane.source.handle().send(msg) {
        Ok(()) => None,
        Err(SendError::Failed { message, error }) => {
            refused(side, SendFailure { message, error }, tally, callback);
            None
        }
        // Full, or the side is ending (its end hands back what is parked).
        Err(e) => Some(e.into_message()),
    }
}
impl Lanes {
    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Lane> {
        [
            Some(&mut self.frontend),
            Some(&mut self.backend),
            self.capture.as_mut(),
        ]
        .into_iter()
        .flatten()
    }
}
