//! Addressing on the draft socket types (feature `draft`): routing ids
//! (SERVER, PEER) and groups (RADIO/DISH) on a [`Frame`], joining and
//! leaving groups and connecting peers on a [`Socket`].
//!
//! A SERVER replies by setting the routing id of the request's frame on
//! the reply; a RADIO sends to a group, a DISH receives the groups it
//! joined:
//!
//! ```
//! use calloop_zmq::zmq::{self, Frame, SocketType};
//!
//! let ctx = zmq::Context::new();
//! let dish = ctx.socket(SocketType::Dish)?;
//! dish.bind("inproc://addressing-doc")?;
//! dish.join("weather")?;
//! let radio = ctx.socket(SocketType::Radio)?;
//! radio.connect("inproc://addressing-doc")?;
//! let mut frame = Frame::from("sunny");
//! frame.set_group("weather")?;
//! # // inproc connects at once, but the join travels as a command first.
//! # for _ in 0..1000 {
//! #     let mut f = Frame::from("sunny");
//! #     f.set_group("weather")?;
//! #     radio.send_frame(&mut f, 0)?;
//! #     if dish.poll(zmq::POLLIN, 10)?.contains(zmq::POLLIN) { break; }
//! # }
//! let got = dish.recv_frame(0)?;
//! assert_eq!(got.group(), Some("weather"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Every call here needs libzmq's draft API; without it (a system libzmq
//! built without drafts) each fails with [`Error::ENOTSUP`].

use std::ffi::{CStr, CString, c_char};

use calloop_zmq_sys as sys;

use super::error::{Error, Result};
use super::frame::Frame;
use super::socket::Socket;
use super::socket_type::SocketType;

/// Longest group name in bytes (`ZMQ_GROUP_MAX_LENGTH`).
pub const GROUP_MAX_LENGTH: usize = sys::ZMQ_GROUP_MAX_LENGTH;

/// libzmq's draft functions, or `ENOTSUP` when the linked library has none.
#[inline]
pub(super) fn api() -> Result<&'static sys::DraftApi> {
    sys::draft_api().ok_or(Error::ENOTSUP)
}

/// A group name as libzmq wants it: NUL-terminated, at most
/// [`GROUP_MAX_LENGTH`] bytes. libzmq itself would cut a longer name
/// (`strnlen` in `msg_t::set_group`) instead of refusing it.
fn group_name(group: &str) -> Result<CString> {
    if group.len() > GROUP_MAX_LENGTH {
        return Err(Error::EINVAL);
    }
    CString::new(group).map_err(|_| Error::EINVAL)
}

impl Frame {
    /// The routing id a SERVER or PEER socket gave this received frame
    /// (`zmq_msg_routing_id`): set it on the reply to send it back to that
    /// peer. `None` when the frame has none (it came from another type, or
    /// was built here).
    pub fn routing_id(&self) -> Option<u32> {
        let api = api().ok()?;
        // SAFETY: initialised message; zmq_msg_routing_id only reads it,
        // although its signature takes a mutable pointer.
        let id = unsafe { (api.zmq_msg_routing_id)(self.as_ptr().cast_mut()) };
        (id != 0).then_some(id)
    }

    /// Addresses the frame to the peer with this routing id
    /// (`zmq_msg_set_routing_id`), for sending on a SERVER or PEER socket.
    /// `EINVAL` for 0, which is no routing id.
    pub fn set_routing_id(&mut self, id: u32) -> Result<()> {
        let api = api()?;
        // SAFETY: initialised message; the call writes one field of it.
        let rc = unsafe { (api.zmq_msg_set_routing_id)(self.as_mut_ptr(), id) };
        if rc == 0 { Ok(()) } else { Err(Error::last()) }
    }

    /// The group of a frame received on a DISH socket, or set with
    /// [`set_group`](Self::set_group) (`zmq_msg_group`). `None` when it has
    /// none, or it is not UTF-8.
    pub fn group(&self) -> Option<&str> {
        let group = self.group_bytes()?.to_str().ok()?;
        (!group.is_empty()).then_some(group)
    }

    /// The group as libzmq keeps it, whatever its bytes.
    fn group_bytes(&self) -> Option<&CStr> {
        let api = api().ok()?;
        // SAFETY: initialised message; zmq_msg_group only reads it and
        // returns a pointer to the NUL-terminated group inside the message
        // (or its shared long-group block), which lives as long as the
        // message and does not change while we hold `&self`.
        let group = unsafe { (api.zmq_msg_group)(self.as_ptr().cast_mut()) };
        if group.is_null() {
            return None;
        }
        // SAFETY: as above.
        Some(unsafe { CStr::from_ptr(group) })
    }

    /// Sets the group a RADIO socket sends the frame to
    /// (`zmq_msg_set_group`). `EINVAL` for a name longer than
    /// [`GROUP_MAX_LENGTH`] bytes or containing a NUL byte; the frame is
    /// unchanged then.
    pub fn set_group(&mut self, group: &str) -> Result<()> {
        let api = api()?;
        let name = group_name(group)?;
        if self.group_bytes().is_some_and(|old| old.count_bytes() > 14) {
            // libzmq keeps a group of more than 14 bytes in a block of its
            // own, which setting another group would leak (`msg_t::set_group`
            // does not release it). Start from a fresh frame instead: a copy
            // of the bytes, with the routing id.
            let mut fresh = self.clone();
            if let Some(id) = self.routing_id() {
                fresh.set_routing_id(id)?;
            }
            *self = fresh;
        }
        // SAFETY: initialised message; `name` is NUL-terminated and at most
        // ZMQ_GROUP_MAX_LENGTH bytes, which libzmq copies.
        let rc = unsafe { (api.zmq_msg_set_group)(self.as_mut_ptr(), name.as_ptr()) };
        if rc == 0 { Ok(()) } else { Err(Error::last()) }
    }
}

type GroupFn = unsafe extern "C" fn(*mut std::ffi::c_void, *const c_char) -> std::ffi::c_int;

impl Socket {
    fn group_op(&self, f: GroupFn, group: &str) -> Result<()> {
        if self.socket_type() != SocketType::Dish {
            return Err(Error::ENOTSUP);
        }
        let name = group_name(group)?;
        // SAFETY: live socket, callable here (see `Socket::as_ptr`); the
        // name is NUL-terminated and outlives the call.
        let rc = unsafe { f(self.as_ptr(), name.as_ptr()) };
        if rc == 0 { Ok(()) } else { Err(Error::last()) }
    }

    /// DISH: receive the messages RADIOs send to `group` (`zmq_join`).
    /// `ENOTSUP` on any other type, `EINVAL` for a name longer than
    /// [`GROUP_MAX_LENGTH`] bytes or one with a NUL byte or one already
    /// joined.
    pub fn join(&self, group: &str) -> Result<()> {
        self.group_op(api()?.zmq_join, group)
    }

    /// DISH: stop receiving `group` (`zmq_leave`). `ENOTSUP` on any other
    /// type, `EINVAL` for a group not joined.
    pub fn leave(&self, group: &str) -> Result<()> {
        self.group_op(api()?.zmq_leave, group)
    }

    /// PEER: connects to `endpoint` and returns the routing id that
    /// addresses the new peer (`zmq_connect_peer`). `ENOTSUP` on any other
    /// type; the error names the endpoint.
    pub fn connect_peer(&self, endpoint: &str) -> Result<u32, super::EndpointError> {
        let fail = |error| super::EndpointError::new("connect_peer", endpoint, error);
        let api = api().map_err(|e| fail(Some(e)))?;
        if self.socket_type() != SocketType::Peer {
            return Err(fail(Some(Error::ENOTSUP)));
        }
        let c_endpoint = CString::new(endpoint).map_err(|_| fail(None))?;
        super::endpoint::check("connect", endpoint)
            .map_err(|refusal| super::EndpointError::refused("connect_peer", endpoint, refusal))?;
        // SAFETY: live socket, callable here (see `Socket::as_ptr`); the
        // endpoint is NUL-terminated and outlives the call.
        let id = unsafe { (api.zmq_connect_peer)(self.as_ptr(), c_endpoint.as_ptr()) };
        if id == 0 {
            Err(fail(Some(Error::last())))
        } else {
            Ok(id)
        }
    }
}
