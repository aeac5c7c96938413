//! What a callback gets besides the event: the socket and the means to act on it.

use std::cell::Cell;
use std::collections::VecDeque;
use std::mem::ManuallyDrop;
use std::sync::Arc;

use super::wire::{self, Outcome};
use crate::error::{Error, SendError};
use crate::outbox::Shared;
use crate::stats::Tally;
use crate::zmq::{self, Frame};
use crate::{Multipart, SendFailure};

/// The socket side of a [`ZmqSource`](crate::ZmqSource), handed to the
/// callback with every event.
///
/// Through it a handler replies at once ([`send`](Self::send); REP and ROUTER
/// replies need no round trip through a channel), changes options and
/// subscriptions ([`socket`](Self::socket)), and applies receive-side flow
/// control ([`pause_recv`](Self::pause_recv) /
/// [`resume_recv`](Self::resume_recv)).
pub struct SocketHandle {
    // ManuallyDrop so that `Drop` can move the socket to a closer thread.
    socket: ManuallyDrop<zmq::Socket>,
    socket_taken: bool,
    /// Messages the loop holds for sending, in order; the head goes first.
    pub(super) pending: VecDeque<Multipart>,
    /// Queued messages libzmq refused, to be reported as events.
    pub(super) failures: Vec<SendFailure>,
    pub(super) paused: bool,
    pub(super) can_recv: bool,
    pub(super) tally: Tally,
    /// Set after any operation that may change `ZMQ_EVENTS` without an edge.
    /// A `Cell` because handing out `&zmq::Socket` counts as such an
    /// operation: through it libzmq may process commands (`bind`, `connect`,
    /// `ZMQ_EVENTS`) and swallow a notification the loop is waiting for.
    pub(super) needs_check: Cell<bool>,
    pub(super) shared: Arc<Shared>,
    pub(super) socket_type: zmq::SocketType,
    /// The message of the current `Event::Received` (receive in place).
    pub(super) received: Multipart,
}

impl SocketHandle {
    pub(super) fn new(
        socket: zmq::Socket,
        socket_type: zmq::SocketType,
        shared: Arc<Shared>,
    ) -> Self {
        Self {
            socket: ManuallyDrop::new(socket),
            socket_taken: false,
            pending: VecDeque::new(),
            failures: Vec::new(),
            paused: false,
            can_recv: !matches!(socket_type, zmq::SocketType::Pub | zmq::SocketType::Push),
            tally: Tally::default(),
            needs_check: Cell::new(true),
            shared,
            socket_type,
            received: Multipart::new(),
        }
    }

    /// The socket, for options (`set_subscribe`, `set_sndhwm`, ...), endpoint
    /// changes and queries. Send and receive through the source instead: a
    /// blocking call here would block the loop.
    pub fn socket(&self) -> &zmq::Socket {
        self.needs_check.set(true);
        &self.socket
    }

    /// The socket, for the source's own queries, which re-check `ZMQ_EVENTS`
    /// themselves.
    pub(super) fn sock(&self) -> &zmq::Socket {
        &self.socket
    }

    /// The message of the current [`Event::Received`](crate::Event::Received)
    /// (see [`Builder::receive_in_place`](crate::Builder::receive_in_place)).
    ///
    /// Read it during that callback: the source receives the next message
    /// into the same frames. Empty for a source that does not receive in
    /// place.
    pub fn received(&self) -> &Multipart {
        &self.received
    }

    /// Takes the message of the current
    /// [`Event::Received`](crate::Event::Received), to keep or forward it
    /// (for example to [`send`](Self::send) it back). The next message then
    /// gets a new frame.
    pub fn take_received(&mut self) -> Multipart {
        std::mem::take(&mut self.received)
    }

    /// Receives one frame into [`received`](Self::received), reusing its
    /// frame when it holds exactly one. Returns the frame's size and whether
    /// more frames of the same message follow.
    // Always inlined: as a call, its prologue and epilogue were 28 of the
    // 462 instructions per message of the whole receive (callgrind).
    #[inline(always)]
    pub(super) fn recv_in_place(&mut self) -> zmq::Result<(usize, bool)> {
        if self.received.len() != 1 {
            // The old message goes first: nothing may run (and unwind)
            // between `unready_frame` and `init_in_place`. Built in place, as
            // in `ZmqSource::recv_batch`: no freshly initialised `zmq_msg_t`
            // is copied.
            drop(std::mem::take(&mut self.received));
            self.received = Multipart::from(Frame::unready());
            self.received.frames_mut()[0].init_in_place();
        }
        wire::recv_into(&self.socket, &mut self.received.frames_mut()[0])
    }

    /// The socket's type.
    pub fn socket_type(&self) -> zmq::SocketType {
        self.socket_type
    }

    /// Sends a message now if the socket can take it, or queues it behind
    /// what is already waiting. Never blocks.
    ///
    /// Returns the message when libzmq refuses it (for example `EFSM` when a
    /// REP handler replies twice) or when the outbox is full.
    ///
    /// Order is kept per producer: the handler's messages go out in the order
    /// it sent them, as do each [`Sender`](crate::Sender)'s; between the two,
    /// a handler message may overtake sender messages the loop has not taken
    /// from the outbox yet.
    #[inline]
    pub fn send(&mut self, msg: impl Into<Multipart>) -> Result<(), SendError> {
        self.send_message(msg.into())
    }

    /// [`send`](Self::send) for a built message. It works on the message
    /// where the caller left it: copying a message right after it was built
    /// stalls the CPU (the copy waits for libzmq's narrow stores).
    fn send_message(&mut self, mut msg: Multipart) -> Result<(), SendError> {
        if !self.pending.is_empty() {
            return self.enqueue(msg);
        }
        self.needs_check.set(true);
        match wire::send(&self.socket, &mut msg) {
            Outcome::Sent(bytes) => {
                self.tally.messages_out += 1;
                self.tally.bytes_out += bytes as u64;
                Ok(())
            }
            Outcome::WouldBlock => {
                self.tally.send_eagain += 1;
                self.enqueue(msg)
            }
            Outcome::Refused(error) | Outcome::Fatal(error) => {
                self.tally.send_failures += 1;
                Err(SendError::Failed {
                    message: msg,
                    error,
                })
            }
        }
    }

    fn enqueue(&mut self, msg: Multipart) -> Result<(), SendError> {
        if !self.shared.has_room_for_handler(self.pending.len()) {
            return Err(SendError::Full(msg));
        }
        self.pending.push_back(msg);
        Ok(())
    }

    /// Stops receiving: no message events until [`resume_recv`](Self::resume_recv).
    /// Incoming messages wait in libzmq (up to `ZMQ_RCVHWM`, then the peer is
    /// pushed back on, per the socket type's HWM rule). Sending goes on.
    pub fn pause_recv(&mut self) {
        self.paused = true;
    }

    /// Starts receiving again after [`pause_recv`](Self::pause_recv).
    ///
    /// From outside the callback (a timer, another source), reach the handle
    /// through a [`calloop::Dispatcher`]:
    /// `dispatcher.as_source_mut().handle().resume_recv()`. The source picks
    /// up waiting messages on the next loop iteration, with no new edge needed.
    pub fn resume_recv(&mut self) {
        self.paused = false;
        // Messages may have arrived while paused without a new edge to come.
        self.needs_check.set(true);
    }

    /// True while receiving is paused.
    pub fn is_recv_paused(&self) -> bool {
        self.paused
    }

    /// Messages queued for sending and not yet taken by libzmq, counting only
    /// those the loop already holds.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Sends queued messages until the socket pushes back, the queue is empty
    /// or `limit` messages were handled. Refused messages go to `failures`.
    /// Returns how many messages left the queue. Callers mark
    /// `needs_check` (once, not per message).
    pub(super) fn flush_pending(&mut self, limit: usize) -> Result<usize, Error> {
        let mut done = 0;
        while done < limit {
            let Some(msg) = self.pending.front_mut() else {
                break;
            };
            match wire::send(&self.socket, msg) {
                Outcome::Sent(bytes) => {
                    self.tally.messages_out += 1;
                    self.tally.bytes_out += bytes as u64;
                    self.pending.pop_front();
                }
                Outcome::WouldBlock => {
                    self.tally.send_eagain += 1;
                    break;
                }
                Outcome::Refused(error) => {
                    self.tally.send_failures += 1;
                    let message = self.pending.pop_front().unwrap_or_default();
                    self.failures.push(SendFailure { message, error });
                }
                Outcome::Fatal(error) => {
                    // The message stays queued: `close` hands it back.
                    return Err(Error::Zmq {
                        op: "send",
                        source: error,
                    });
                }
            }
            done += 1;
        }
        Ok(done)
    }

    /// Takes the socket out; the handle must not be used afterwards.
    pub(super) fn take_socket(&mut self) -> zmq::Socket {
        debug_assert!(!self.socket_taken);
        self.socket_taken = true;
        // SAFETY: `socket_taken` guards against a second take and tells
        // `Drop` the socket is gone; callers drop the handle right after.
        unsafe { ManuallyDrop::take(&mut self.socket) }
    }
}

impl Drop for SocketHandle {
    fn drop(&mut self) {
        if !self.socket_taken {
            super::lifecycle::close_in_background(self.take_socket());
        }
    }
}

impl std::fmt::Debug for SocketHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketHandle")
            .field("socket_type", &self.socket_type)
            .field("pending", &self.pending.len())
            .field("paused", &self.paused)
            .finish()
    }
}
