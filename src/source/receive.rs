//! How a source hands received messages to its callback: the receive mode.
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
use crate::zmq::{self, Frame};

use super::{Event, SocketHandle};

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
    /// size and whether more frames of the same message follow.
    #[doc(hidden)]
    fn recv(event: &mut Event<Self::Message>, io: &mut SocketHandle) -> zmq::Result<(usize, bool)>;

    /// The message being received, for gathering multipart messages.
    #[doc(hidden)]
    fn slot<'a>(event: &'a mut Event<Self::Message>, io: &'a mut SocketHandle)
    -> &'a mut Multipart;
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
    // `Frame::unready`).
    #[inline(always)]
    fn blank() -> Event<Multipart> {
        Event::Message(Multipart::from(Frame::unready()))
    }

    #[inline(always)]
    fn recv(event: &mut Event<Multipart>, io: &mut SocketHandle) -> zmq::Result<(usize, bool)> {
        let Event::Message(msg) = event else {
            // `blank` builds a message; nothing else reaches here.
            return Err(zmq::Error::EFAULT);
        };
        let Some(frame) = msg.frames_mut().first_mut() else {
            return Err(zmq::Error::EFAULT);
        };
        frame.init_in_place();
        io.recv_into(frame)
    }

    #[inline(always)]
    fn slot<'a>(event: &'a mut Event<Multipart>, io: &'a mut SocketHandle) -> &'a mut Multipart {
        match event {
            Event::Message(msg) => msg,
            // Not reached (see `recv`); the handle's slot is a harmless stand-in.
            _ => io.received_mut(),
        }
    }
}

impl ReceiveMode for InPlace {
    type Message = Received;

    #[inline(always)]
    fn blank() -> Event<Received> {
        Event::Message(Received)
    }

    #[inline(always)]
    fn recv(_: &mut Event<Received>, io: &mut SocketHandle) -> zmq::Result<(usize, bool)> {
        io.recv_in_place()
    }

    #[inline(always)]
    fn slot<'a>(_: &'a mut Event<Received>, io: &'a mut SocketHandle) -> &'a mut Multipart {
        io.received_mut()
    }
}
