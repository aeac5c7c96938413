//! What a callback gets besides the event: the socket and the means to act
//! on it (send, pause, close), with the outbox behind its sends.

use std::cell::Cell;
use std::time::Duration;

use crate::error::{Error, SendError};
use crate::message::Multipart;
use crate::outbox::{Outbox, SendFailure, Sender};
use crate::stats::{Counters, Stats, StatsSnapshot, Tally};
use crate::wire::{self, Outcome};
use crate::zmq::{self, Frame, PollEvents};

use super::send;

/// One received frame: its size, whether more frames of its message follow,
/// and the message it went into.
#[doc(hidden)]
pub type Receipt<'a> = (usize, bool, &'a mut Multipart);

/// The socket side of a [`ZmqSource`](crate::ZmqSource), handed to the
/// callback with every event.
///
/// Through it a handler replies at once ([`send`](Self::send); REP and ROUTER
/// replies need no round trip through a channel), changes options and
/// subscriptions ([`socket`](Self::socket)), applies receive-side flow
/// control ([`pause_recv`](Self::pause_recv) /
/// [`resume_recv`](Self::resume_recv)) and ends the source
/// ([`close`](Self::close)).
pub struct SocketHandle {
    /// `None` only once the source has ended and handed the socket out (in
    /// [`Event::Closed`](crate::Event::Closed) or [`ZmqSource::close`](crate::ZmqSource::close)).
    socket: Option<zmq::Socket>,
    socket_type: zmq::SocketType,
    outbox: Outbox,
    paused: bool,
    can_recv: bool,
    /// `can_recv && !paused && close_request.is_none()`, kept in one field
    /// because the receive loop reads it once per message.
    receiving: bool,
    tally: Tally,
    /// Set after any operation that may hide work behind the edge-triggered
    /// fd ([the rule](crate::ZmqSource#the-edge-triggered-fd)). A `Cell`
    /// because handing out `&zmq::Socket` is such an operation.
    needs_check: Cell<bool>,
    /// The message of the current in-place event (receive in place).
    received: Multipart,
    /// [`close`](Self::close) was called with this flush timeout.
    close_request: Option<Duration>,
    /// A handler send hit an error that ends the socket.
    broken: Option<Error>,
    /// The async socket's door moved messages outside a dispatch since the
    /// counters were last published (`before_sleep` publishes them).
    moved_outside: bool,
}

impl SocketHandle {
    pub(super) fn new(socket: zmq::Socket, outbox: Outbox) -> Self {
        let socket_type = socket.socket_type();
        Self {
            socket: Some(socket),
            socket_type,
            outbox,
            paused: false,
            can_recv: socket_type.can_recv(),
            receiving: socket_type.can_recv(),
            tally: Tally::default(),
            needs_check: Cell::new(true),
            received: Multipart::new(),
            close_request: None,
            broken: None,
            moved_outside: false,
        }
    }

    /// The socket, for options (`set_subscribe`, `set_sndhwm`, ...), endpoint
    /// changes and queries. Send and receive through the source instead: a
    /// blocking call here would block the loop.
    ///
    /// Calling this makes the source re-read `ZMQ_EVENTS` before the loop
    /// next sleeps ([why](crate::ZmqSource#the-edge-triggered-fd)).
    ///
    /// # Panics
    /// In the callback for [`Event::Closed`](crate::Event::Closed), which
    /// hands the socket itself over in [`Closed::socket`](crate::Closed::socket):
    /// the handle has none left then. Use [`try_socket`](Self::try_socket)
    /// where that can happen.
    pub fn socket(&self) -> &zmq::Socket {
        match self.try_socket() {
            Some(socket) => socket,
            None => panic!(
                "SocketHandle::socket called after the source handed its socket out in Event::Closed"
            ),
        }
    }

    /// The socket, or `None` once the source has handed it out in
    /// [`Event::Closed`](crate::Event::Closed). Marks a `ZMQ_EVENTS` re-read
    /// as [`socket`](Self::socket) does.
    pub fn try_socket(&self) -> Option<&zmq::Socket> {
        self.needs_check.set(true);
        self.socket.as_ref()
    }

    /// The socket for the source's own calls, which need no re-read mark.
    /// `ENOTSOCK` once the socket was handed out, as libzmq says for a
    /// closed socket.
    #[inline(always)]
    fn live(&self) -> zmq::Result<&zmq::Socket> {
        self.socket.as_ref().ok_or(zmq::Error::ENOTSOCK)
    }

    /// The message of the current event, for a source built with
    /// [`Builder::receive_in_place`](crate::Builder::receive_in_place), whose
    /// [`Event::Message`](crate::Event::Message) carries only a
    /// [`Received`](crate::Received) marker.
    ///
    /// Read it during that callback: the source receives the next message
    /// into the same frames. Empty for a source that does not receive in
    /// place.
    pub fn received(&self) -> &Multipart {
        &self.received
    }

    /// Takes the message of the current in-place event, to keep or forward
    /// it (for example to [`send`](Self::send) it back). The next message then
    /// gets a new frame.
    pub fn take_received(&mut self) -> Multipart {
        std::mem::take(&mut self.received)
    }

    /// The message of the current in-place event, to change before
    /// [`send_received`](Self::send_received) sends it back (frames can be
    /// edited, added or removed through [`Multipart`]'s methods).
    pub fn received_mut(&mut self) -> &mut Multipart {
        &mut self.received
    }

    /// Sends the message of the current in-place event
    /// ([`received`](Self::received), as changed through
    /// [`received_mut`](Self::received_mut)) without taking it out of the
    /// source: the reply of a REP or ROUTER handler in
    /// [`receive_in_place`](crate::Builder::receive_in_place) mode. A
    /// one-frame message's frame stays in the source, emptied by libzmq, and
    /// the next message is received into it, so the frame reuse the mode is
    /// for goes on. Never blocks.
    ///
    /// Otherwise as [`send`](Self::send): queued behind what waits, or when
    /// the socket pushes back (the message then leaves the source, and the
    /// next one gets a new frame); handed back on refusal. Refuses with
    /// `EINVAL` when there is no message (a source that does not receive in
    /// place, or a message taken or sent whole), handing back an empty one.
    /// Once sent, a one-frame message reads as one empty frame (kept for the
    /// next receive): sending it again sends that empty frame.
    pub fn send_received(&mut self) -> Result<(), SendError> {
        if self.received.is_empty() {
            return Err(SendError::Failed {
                message: Multipart::new(),
                error: zmq::Error::EINVAL,
            });
        }
        if self.outbox.held() > 0 || self.close_request.is_some() {
            let msg = self.take_received();
            return self.outbox.push(msg);
        }
        self.needs_check.set(true);
        let outcome = match (self.socket.as_ref(), self.received.frames_mut()) {
            (None, _) => Outcome::Fatal(zmq::Error::ENOTSOCK),
            // The frame stays: libzmq emptied it, and it is received into next.
            (Some(socket), [frame]) => match send_frame_keeping(socket, frame) {
                Ok(bytes) => Outcome::Sent(bytes),
                Err(zmq::Error::EAGAIN) => Outcome::WouldBlock,
                Err(e) if wire::is_fatal(e) => Outcome::Fatal(e),
                Err(e) => Outcome::Refused(e),
            },
            (Some(socket), _) => wire::send(socket, &mut self.received),
        };
        send::count(&mut self.tally, &outcome);
        if let Outcome::Sent(_) = outcome {
            return Ok(());
        }
        let msg = self.take_received();
        self.conclude(outcome, msg)
    }

    /// The socket's type.
    pub fn socket_type(&self) -> zmq::SocketType {
        self.socket_type
    }

    /// Sends a message now if the socket can take it, or queues it behind
    /// what is already waiting. Never blocks.
    ///
    /// Returns the message when libzmq refuses it (for example `EFSM` when a
    /// REP handler replies twice), when the outbox is full (it counts the
    /// senders' messages and the handler's together), or when the source is
    /// closing.
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
        if self.outbox.held() > 0 || self.close_request.is_some() {
            return self.outbox.push(msg);
        }
        self.needs_check.set(true);
        let outcome = match self.live() {
            Ok(socket) => wire::send(socket, &mut msg),
            Err(e) => Outcome::Fatal(e),
        };
        send::count(&mut self.tally, &outcome);
        // Sent: done here, with no call into `conclude` on the hot path.
        if let Outcome::Sent(_) = outcome {
            return Ok(());
        }
        self.conclude(outcome, msg)
    }

    /// What a handler send's outcome means: `msg` (empty once sent) is
    /// queued when the socket pushed back, or handed back when libzmq
    /// refused it; an error that ends the socket is kept for the dispatch
    /// to end the source with.
    #[cold]
    #[inline(never)]
    fn conclude(&mut self, outcome: Outcome, msg: Multipart) -> Result<(), SendError> {
        match outcome {
            Outcome::Sent(_) => Ok(()),
            Outcome::WouldBlock => self.outbox.push(msg),
            Outcome::Refused(error) => Err(SendError::Failed {
                message: msg,
                error,
            }),
            Outcome::Fatal(error) => {
                // The source ends after this callback, with an event saying why.
                self.broken.get_or_insert(Error::Zmq {
                    op: "send",
                    source: error,
                });
                Err(SendError::Failed {
                    message: msg,
                    error,
                })
            }
        }
    }

    /// Stops receiving: no message events until [`resume_recv`](Self::resume_recv).
    /// Incoming messages wait in libzmq (up to `ZMQ_RCVHWM`, then the peer is
    /// pushed back on, per the socket type's HWM rule). Sending goes on.
    pub fn pause_recv(&mut self) {
        self.paused = true;
        self.receiving = false;
    }

    /// Starts receiving again after [`pause_recv`](Self::pause_recv).
    ///
    /// From outside the callback (a timer, another source), reach the handle
    /// through a [`calloop::Dispatcher`]:
    /// `dispatcher.as_source_mut().handle().resume_recv()`. The source picks
    /// up waiting messages on the next loop iteration, with no new edge needed.
    pub fn resume_recv(&mut self) {
        self.paused = false;
        self.receiving = self.can_recv && self.close_request.is_none();
        // Messages may have arrived while paused without a new edge to come.
        self.needs_check.set(true);
    }

    /// True while receiving is paused.
    pub fn is_recv_paused(&self) -> bool {
        self.paused
    }

    /// Messages the loop holds for sending (queued by this handler, or taken
    /// from the senders' queue) and libzmq has not taken yet. Messages
    /// [`Sender`](crate::Sender)s queued that the loop has not taken are
    /// counted by [`Sender::len`](crate::Sender::len).
    pub fn queued(&self) -> usize {
        self.outbox.held()
    }

    /// Ends the source from inside the loop, once its outbox is drained: from
    /// the end of this callback on it accepts no new messages
    /// ([`SendError::Closed`]) and receives no more; it keeps sending what is
    /// queued for at most `flush_timeout`, then hands the callback an
    /// [`Event::Closed`](crate::Event::Closed) with the socket and every
    /// message that did not go out, and removes itself from the loop
    /// (`PostAction::Remove`). Never blocks.
    ///
    /// A [`Sender`](crate::Sender) asks for the same from any thread with
    /// [`Sender::close_source`](crate::Sender::close_source).
    pub fn close(&mut self, flush_timeout: Duration) {
        self.close_request = Some(match self.close_request {
            Some(earlier) => earlier.min(flush_timeout),
            None => flush_timeout,
        });
        self.receiving = false;
        self.outbox.stop_accepting();
    }

    /// The source's counters, exact now: first publishes what this handle
    /// counted since the last publication (sends and receives made outside
    /// a dispatch, e.g. through [`ZmqSource::handle`](crate::ZmqSource::handle)
    /// before the source joined a loop), then reads them. Inside the
    /// source's own callback, the messages received in the batch under way
    /// ([`StatsSnapshot::messages_in`]) are counted when the batch ends.
    /// Costs two atomic additions per counter that changed: call it when
    /// you need the figure, not per message.
    pub fn stats_now(&mut self) -> StatsSnapshot {
        self.publish_tally();
        self.outbox.counters().snapshot()
    }

    // --- for the source ---------------------------------------------------

    /// Publishes what was counted since the last publication (at most one
    /// atomic addition per counter that changed).
    pub(super) fn publish_tally(&mut self) {
        self.moved_outside = false;
        self.outbox.counters().publish(&mut self.tally);
    }

    /// Notes that the async socket's door moved messages outside a dispatch.
    pub(super) fn note_moved_outside(&mut self) {
        self.moved_outside = true;
    }

    /// Publishes what the async socket's door moved outside a dispatch, if
    /// it moved anything: other sends outside a dispatch (a handle reached
    /// through a `Dispatcher`) are published by the next dispatch, as
    /// before, so their loops pay nothing more per iteration.
    pub(super) fn publish_moved_outside(&mut self) {
        if self.moved_outside {
            self.publish_tally();
        }
    }

    pub(super) fn sender(&self) -> Sender {
        self.outbox.sender()
    }

    pub(super) fn stats(&self) -> Stats {
        self.outbox.stats()
    }

    pub(super) fn counters(&self) -> &Counters {
        self.outbox.counters()
    }

    pub(super) fn outbox_capacity(&self) -> usize {
        self.outbox.capacity()
    }

    pub(super) fn set_loop_thread(&self) {
        self.outbox.set_loop_thread();
    }

    pub(super) fn tally(&mut self) -> &mut Tally {
        &mut self.tally
    }

    /// True when the callback wants messages now.
    #[inline(always)]
    pub(super) fn wants_messages(&self) -> bool {
        self.receiving
    }

    /// Marks that `ZMQ_EVENTS` must be read before the loop sleeps.
    pub(super) fn mark_check(&self) {
        self.needs_check.set(true);
    }

    /// Clears the mark: libzmq has just done what reading `ZMQ_EVENTS` would.
    pub(super) fn clear_check(&self) {
        self.needs_check.set(false);
    }

    /// Takes the mark.
    pub(super) fn take_check(&self) -> bool {
        self.needs_check.replace(false)
    }

    /// Reads `ZMQ_EVENTS` (which also makes libzmq process its commands).
    pub(super) fn events(&self) -> zmq::Result<PollEvents> {
        self.live()?.events()
    }

    /// Waits up to `ms` milliseconds for the socket to take a message.
    /// **Blocks**: only for [`ZmqSource::flush`](crate::ZmqSource::flush).
    pub(super) fn wait_writable(&self, ms: i64) -> zmq::Result<()> {
        self.live()?.poll(zmq::POLLOUT, ms).map(drop)
    }

    /// Receives one frame into `frame`, a fresh frame built where it stays.
    #[inline(always)]
    pub(super) fn recv_into(&self, frame: &mut Frame) -> zmq::Result<(usize, bool)> {
        wire::recv_into(self.live()?, frame)
    }

    /// Receives one frame into [`received`](Self::received), reusing its
    /// frame when it holds exactly one. Returns the frame's size and whether
    /// more frames of the same message follow.
    // Always inlined: a call's prologue and epilogue showed in the per-message
    // instruction count (BENCHMARKS.md, "receive in place").
    #[inline(always)]
    pub(super) fn recv_in_place(&mut self) -> zmq::Result<Receipt<'_>> {
        let Some(socket) = self.socket.as_ref() else {
            return Err(zmq::Error::ENOTSOCK);
        };
        if self.received.len() != 1 {
            // The old message goes first: nothing may run (and unwind)
            // between `unready` and `init_in_place`. Built in place, as in
            // the owned receive mode: no freshly initialised `zmq_msg_t` is
            // copied.
            drop(std::mem::take(&mut self.received));
            self.received = Multipart::from(Frame::unready());
            self.received.frames_mut()[0].init_in_place();
        }
        let (len, more) = wire::recv_into(socket, &mut self.received.frames_mut()[0])?;
        Ok((len, more, &mut self.received))
    }

    /// Sends queued messages until the socket pushes back, nothing is left or
    /// `limit` messages were handled. Refused messages wait for
    /// [`take_refused`](Self::take_refused).
    pub(super) fn send_queued(&mut self, limit: usize) -> Result<usize, zmq::Error> {
        let Some(socket) = self.socket.as_ref() else {
            return Err(zmq::Error::ENOTSOCK);
        };
        send::drain(socket, &mut self.outbox, limit, &mut self.tally)
    }

    pub(super) fn take_refused(&mut self) -> Vec<SendFailure> {
        self.outbox.take_refused()
    }

    /// Messages senders queued that the loop has not taken, plus reserved
    /// places: what a message sent from the loop's thread now would
    /// overtake.
    pub(super) fn ahead(&self) -> usize {
        self.outbox.ahead()
    }

    /// Messages the loop holds for sending.
    pub(super) fn has_queued(&self) -> bool {
        self.outbox.held() > 0
    }

    /// Nothing held by the loop, queued by senders or reserved: what
    /// [`Event::Drained`](crate::Event::Drained) announces. Without the
    /// lock.
    pub(super) fn is_empty_for_drained(&self) -> bool {
        self.outbox.held() == 0 && self.outbox.ahead() == 0
    }

    pub(super) fn is_drained(&self) -> bool {
        self.outbox.is_drained()
    }

    /// Publishes the outbox count and this dispatch's tallies.
    pub(super) fn settle(&mut self) {
        self.outbox.settle();
        self.publish_tally();
    }

    /// A close asked for by the handler or a sender, with its flush timeout.
    pub(super) fn take_close_request(&mut self) -> Option<Duration> {
        let mine = self.close_request.take();
        match (mine, self.outbox.take_close_request()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Stops receiving for good (the source is closing).
    pub(super) fn stop_receiving(&mut self) {
        self.can_recv = false;
        self.receiving = false;
        self.outbox.stop_accepting();
    }

    /// The error a handler send found, which ends the socket.
    pub(super) fn take_broken(&mut self) -> Option<Error> {
        self.broken.take()
    }

    /// Ends the outbox and returns everything it held, oldest first.
    pub(super) fn close_outbox(&mut self) -> Vec<Multipart> {
        self.outbox.close()
    }

    /// Takes the socket out, once the source has ended.
    pub(super) fn take_socket(&mut self) -> Option<zmq::Socket> {
        self.socket.take()
    }
}

impl Drop for SocketHandle {
    fn drop(&mut self) {
        if let Some(socket) = self.socket.take() {
            close_in_background(socket);
        }
    }
}

/// Sends one frame with `DONTWAIT`, retrying on `EINTR`, leaving the frame
/// in place: emptied by libzmq on success, untouched on failure.
fn send_frame_keeping(socket: &zmq::Socket, frame: &mut Frame) -> zmq::Result<usize> {
    loop {
        match socket.send_frame(frame, zmq::DONTWAIT) {
            Err(zmq::Error::EINTR) => continue,
            other => return other,
        }
    }
}

/// Drops `socket` on a background thread so a context termination it may
/// trigger cannot block the caller (see
/// [`Closed`](crate::Closed#linger-and-what-can-block)).
fn close_in_background(socket: zmq::Socket) {
    let spawned = std::thread::Builder::new()
        .name("calloop-zmq-close".into())
        .spawn(move || drop(socket));
    if let Err(e) = spawned {
        // The closure, and the socket with it, was dropped inline by now.
        tracing::warn!(error = %e, "could not start a closer thread; socket was closed inline");
    }
}

impl std::fmt::Debug for SocketHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketHandle")
            .field("socket_type", &self.socket_type)
            .field("queued", &self.outbox.held())
            .field("paused", &self.paused)
            .finish()
    }
}
