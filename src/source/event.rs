//! What a source hands its callback: the [`Event`], and the receive mode
//! that decides what a message event carries.
//!
//! The mode is a type parameter of [`ZmqSource`](crate::ZmqSource) (and of
//! its [`Builder`](crate::Builder)), so each mode's [`Event`] carries exactly
//! what that mode delivers and the receive loop is written once:
//!
//! - [`Owned`] (the default): [`Event::Message`] carries the whole
//!   [`Multipart`], yours to keep.
//! - [`InPlace`] ([`Builder::receive_in_place`](crate::Builder::receive_in_place)):
//!   [`Event::Message`] carries a [`Received`] marker and the message waits in
//!   the source, where the callback reads it through
//!   [`SocketHandle::received`]. A one-frame message's frame is received into
//!   again for the next message, which saves libzmq a frame init and close
//!   per message.

use std::fmt;

use crate::message::Multipart;
use crate::outbox::SendFailure;
use crate::zmq::{self, Frame};

use super::handle::{Receipt, SocketHandle};
use super::lifecycle::{Closed, Fatal};

/// What the callback receives. `M` is what a message event carries:
/// [`Multipart`] by default, [`Received`] for a source that receives in
/// place (see [`ReceiveMode`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<M = Multipart> {
    /// A whole multipart message arrived.
    Message(M),
    /// libzmq refused a queued message; here it is back, with the reason.
    SendFailed(SendFailure),
    /// The source closed as asked ([`SocketHandle::close`],
    /// [`Sender::close_source`](crate::Sender::close_source)): here are its
    /// socket and every message that did not go out. This is the source's
    /// last event; it has left the loop.
    Closed(Closed),
    /// The socket broke (e.g. `ETERM`: its context was terminated): here are
    /// the error and every message the source still held. This is the
    /// source's last event; it has left the loop, which goes on with its
    /// other sources.
    Fatal(Fatal),
    /// The outbox is empty: everything queued went to libzmq, so a send from
    /// the handler now goes straight to the socket. Only for a source built
    /// with [`Builder::notify_drained`](crate::Builder::notify_drained),
    /// which says when it comes.
    Drained,
}

mod sealed {
    pub trait Sealed {}
}

/// A receive mode: what [`Event::Message`] carries. Implemented by [`Owned`]
/// and [`InPlace`] only.
pub trait ReceiveMode: sealed::Sealed + Sized + 'static {
    /// The payload of [`Event::Message`] in this mode.
    type Message: fmt::Debug + 'static;

    /// An event whose message slot is ready to receive into.
    #[doc(hidden)]
    fn blank() -> Event<Self::Message>;

    /// Receives the next frame into the event's slot. Returns the frame's
    /// size, whether more frames of the same message follow, and the
    /// message being received (for gathering multipart messages).
    #[doc(hidden)]
    fn recv<'a>(
        event: &'a mut Event<Self::Message>,
        io: &'a mut SocketHandle,
    ) -> zmq::Result<Receipt<'a>>;
}

/// The default receive mode: each message comes to the callback as an owned
/// [`Multipart`] in [`Event::Message`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Owned;

/// The receive-in-place mode
/// ([`Builder::receive_in_place`](crate::Builder::receive_in_place)): each
/// message is announced by [`Event::Message`]`(`[`Received`]`)` and read
/// through [`SocketHandle::received`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InPlace;

/// What [`Event::Message`] carries in the [`InPlace`] mode: a whole message
/// arrived and waits in the source. Read it with [`SocketHandle::received`]
/// or keep it with [`SocketHandle::take_received`], during this callback.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Received;

impl sealed::Sealed for Owned {}
impl sealed::Sealed for InPlace {}

impl ReceiveMode for Owned {
    type Message = Multipart;

    // The event is built first and libzmq fills its frame in place: no freshly
    // written `zmq_msg_t` is copied on the way to the callback (see
    // `Frame::unready`, and BENCHMARKS.md on the store-forwarding stall a
    // copy costs).
    #[inline(always)]
    fn blank() -> Event<Multipart> {
        Event::Message(Multipart::from(Frame::unready()))
    }

    #[inline(always)]
    fn recv<'a>(
        event: &'a mut Event<Multipart>,
        io: &'a mut SocketHandle,
    ) -> zmq::Result<Receipt<'a>> {
        // `blank` built this event one line before the caller's call: a
        // message of one frame. The enum cannot say so, hence the checks.
        let Event::Message(msg) = event else {
            return Err(zmq::Error::EFAULT);
        };
        let [frame] = msg.frames_mut() else {
            return Err(zmq::Error::EFAULT);
        };
        frame.init_in_place();
        let (len, more) = io.recv_into(frame)?;
        Ok((len, more, msg))
    }
}

impl ReceiveMode for InPlace {
    type Message = Received;

    #[inline(always)]
    fn blank() -> Event<Received> {
        Event::Message(Received)
    }

    #[inline(always)]
    fn recv<'a>(_: &'a mut Event<Received>, io: &'a mut SocketHandle) -> zmq::Result<Receipt<'a>> {
        io.recv_in_place()
    }
}
