//! The one door into a source for code on the loop's thread that runs
//! outside the source's dispatch: the async socket's futures receive and
//! send through it straight on the socket, as a handler does, instead of
//! through the inbox and the outbox.
//!
//! The source is shared between its loop (which dispatches it) and those
//! futures, and the rule that makes sharing safe lives here alone: a future
//! may act on the source only while the loop is not inside the source's own
//! calls. [`SharedSource::direct`] checks it and hands out a [`Direct`], or
//! nothing (a future polled from inside the source's callback, say); the
//! loop's side takes the source with [`SharedSource::in_loop`].

use std::cell::{RefCell, RefMut};
use std::rc::Rc;

use crate::error::SendError;
use crate::message::Multipart;
use crate::stats::StatsSnapshot;
use crate::zmq;

use super::dispatch::ZmqSource;
use super::event::Event;

/// A source shared by its loop and the futures on the loop's thread.
#[derive(Clone)]
pub(crate) struct SharedSource(Rc<RefCell<ZmqSource>>);

impl SharedSource {
    pub(crate) fn new(source: ZmqSource) -> Self {
        Self(Rc::new(RefCell::new(source)))
    }

    /// The door, or `None` while the loop is inside the source's own calls
    /// (its dispatch or registration), where acting on it would pull the
    /// socket from under the dispatch.
    pub(crate) fn direct(&self) -> Option<Direct<'_>> {
        self.0.try_borrow_mut().ok().map(Direct)
    }

    /// The source, for the loop's calls into it (dispatch, registration).
    /// Futures run only between those calls, and the door refuses while one
    /// is under way, so this borrow never clashes.
    pub(crate) fn in_loop(&self) -> RefMut<'_, ZmqSource> {
        self.0.borrow_mut()
    }

    /// The source back, once nothing else shares it.
    pub(crate) fn into_inner(self) -> Option<ZmqSource> {
        Rc::into_inner(self.0).map(RefCell::into_inner)
    }
}

/// What [`Direct::send`] did with a message, or where it must go instead.
pub(crate) enum DirectSend {
    /// Handed to the socket's handle: sent, or queued behind nothing when the
    /// socket pushed back, or refused (the outcome says which).
    Done(Result<(), SendError>),
    /// The loop holds messages the socket has not taken yet: wait until it
    /// has sent them, then try again, so each message crosses into libzmq
    /// once.
    AfterHeld(Multipart),
    /// Senders' messages or reserved places are ahead, the outbox is full,
    /// or the source has ended: through the senders' queue, in order (which
    /// also says `Closed` once the source accepts nothing).
    Queue(Multipart),
}

/// The door into a source outside its dispatch; see the [module docs](self).
pub(crate) struct Direct<'a>(RefMut<'a, ZmqSource>);

impl Direct<'_> {
    /// Receives at most one whole message now. `None` when libzmq has none,
    /// or the source does not receive (paused, closing, ended, or an error
    /// is waiting to end it).
    ///
    /// The edge-triggered fd stays honest as in a dispatch
    /// ([`settle_check`](ZmqSource::settle_check)). An error that ends the
    /// socket is kept for the next dispatch (which `before_sleep` asks for),
    /// which ends the source with [`Event::Fatal`] as if it had found the
    /// error itself.
    pub(crate) fn recv(&mut self) -> Option<Multipart> {
        let source = &mut *self.0;
        if !source.life.is_live() {
            return None;
        }
        let mut got = None;
        source.io.note_moved_outside();
        match source.recv_batch(1, &mut |event, _| {
            if let Event::Message(msg) = event {
                got = Some(msg);
            }
        }) {
            Ok((_, drained)) => source.settle_check(drained),
            Err(error) => source.life.fail(error),
        }
        got
    }

    /// Sends `msg` now, as the handler's [`send`](crate::SocketHandle::send)
    /// does, when that keeps order: nothing is ahead of it in the outbox.
    /// Otherwise says where it must go.
    pub(crate) fn send(&mut self, msg: Multipart) -> DirectSend {
        let source = &mut *self.0;
        if source.life.is_ended() || source.io.ahead() > 0 {
            return DirectSend::Queue(msg);
        }
        if source.io.queued() > 0 {
            return DirectSend::AfterHeld(msg);
        }
        source.io.note_moved_outside();
        match source.io.send(msg) {
            Err(SendError::Full(msg)) => DirectSend::Queue(msg),
            outcome => DirectSend::Done(outcome),
        }
    }

    /// The counters, with what this door's sends and receives counted
    /// published first.
    pub(crate) fn stats_now(&mut self) -> StatsSnapshot {
        self.0.io.stats_now()
    }

    /// Messages the loop holds for sending.
    pub(crate) fn held(&self) -> usize {
        self.0.io.queued()
    }

    /// The socket, marking a `ZMQ_EVENTS` re-read as
    /// [`SocketHandle::try_socket`](crate::SocketHandle::try_socket) does;
    /// `None` once it was handed out.
    pub(crate) fn socket(&self) -> Option<&zmq::Socket> {
        self.0.io.try_socket()
    }

    /// Pauses receiving (the inbox is full, or nobody will read).
    pub(crate) fn pause_recv(&mut self) {
        self.0.io.pause_recv();
    }

    /// Resumes receiving after [`pause_recv`](Self::pause_recv).
    pub(crate) fn resume_recv(&mut self) {
        self.0.io.resume_recv();
    }

    /// Ends the source outside its loop, which let go of it without it
    /// ending (the async socket's feeder, dropped with its loop): later
    /// sends fail with [`SendError::Closed`]. Returns what was waiting to go
    /// out, oldest first; empty if the source had already ended.
    pub(crate) fn end_removed(&mut self) -> Vec<Multipart> {
        let source = &mut *self.0;
        if source.life.is_ended() {
            return Vec::new();
        }
        source
            .life
            .end(&mut source.io, &mut source.partial)
            .undelivered
    }
}
