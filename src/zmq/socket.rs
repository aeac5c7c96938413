//! libzmq sockets: creation, endpoints, sending and receiving frames, and
//! polling. Socket options are in [`options`](super::options).

use std::ffi::{CString, c_int, c_void};
use std::fmt;
use std::marker::PhantomData;
use std::os::fd::BorrowedFd;
use std::ptr::NonNull;

use calloop_zmq_sys as sys;

use super::context::Context;
use super::endpoint::{Refusal, check};
use super::error::{Error, Result};
use super::frame::Frame;
use super::socket_type::SocketType;

/// Send and receive flag: do not wait (`ZMQ_DONTWAIT`); an operation that
/// would wait fails with [`Error::EAGAIN`] instead.
pub const DONTWAIT: i32 = sys::ZMQ_DONTWAIT;
/// Send flag: more frames of the same message follow (`ZMQ_SNDMORE`).
pub const SNDMORE: i32 = sys::ZMQ_SNDMORE;

/// Readiness flags, as `zmq_poll` and `ZMQ_EVENTS` report them.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PollEvents(i16);

/// A message can be received (`ZMQ_POLLIN`).
pub const POLLIN: PollEvents = PollEvents(sys::ZMQ_POLLIN);
/// A message can be sent (`ZMQ_POLLOUT`).
pub const POLLOUT: PollEvents = PollEvents(sys::ZMQ_POLLOUT);
/// An error on a plain file descriptor (`ZMQ_POLLERR`).
pub const POLLERR: PollEvents = PollEvents(sys::ZMQ_POLLERR);

impl PollEvents {
    /// No flag set.
    pub const fn empty() -> PollEvents {
        PollEvents(0)
    }

    /// True when every flag of `other` is set here.
    pub const fn contains(self, other: PollEvents) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The raw `short` libzmq uses.
    pub const fn bits(self) -> i16 {
        self.0
    }

    /// Flags from libzmq's raw value; unknown bits are kept.
    pub const fn from_bits(bits: i16) -> PollEvents {
        PollEvents(bits)
    }
}

impl std::ops::BitOr for PollEvents {
    type Output = PollEvents;
    fn bitor(self, rhs: PollEvents) -> PollEvents {
        PollEvents(self.0 | rhs.0)
    }
}

impl fmt::Debug for PollEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (POLLIN, "POLLIN"),
            (POLLOUT, "POLLOUT"),
            (POLLERR, "POLLERR"),
        ];
        let mut set = f.debug_set();
        for (flag, name) in names {
            if self.contains(flag) {
                set.entry(&format_args!("{name}"));
            }
        }
        set.finish()
    }
}

/// A libzmq socket.
///
/// Not thread-safe, like libzmq's own sockets: `Send` (it may move to another
/// thread) but not `Sync`. It keeps its [`Context`] alive, and dropping it
/// closes it (`zmq_close`, which never blocks; the context's termination is
/// what waits for `ZMQ_LINGER`).
///
/// Socket options are methods named after the option (`linger`,
/// `set_linger`, `set_subscribe` ...); see [`options`](super::options).
pub struct Socket {
    raw: NonNull<c_void>,
    kind: SocketType,
    ctx: Context,
    /// libzmq sockets must not be used from two threads at once.
    _not_sync: PhantomData<std::cell::Cell<()>>,
}

// SAFETY: libzmq allows a socket to migrate between threads when the move
// comes with a full memory barrier (zmq(7), "Thread safety"), which handing a
// value to another thread in Rust provides; `!Sync` keeps it to one thread at
// a time.
unsafe impl Send for Socket {}

impl Drop for Socket {
    fn drop(&mut self) {
        // SAFETY: the pointer came from zmq_socket and is closed only here.
        // zmq_close can only fail with ENOTSOCK, which it cannot be.
        unsafe { sys::zmq_close(self.raw.as_ptr()) };
    }
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket").field("type", &self.kind).finish()
    }
}

/// A failed bind, connect, unbind or disconnect, naming the endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointError {
    op: &'static str,
    endpoint: String,
    error: Option<Error>,
    /// What is wrong with the endpoint, when it was refused before libzmq
    /// saw it.
    detail: Option<&'static str>,
}

impl EndpointError {
    pub(super) fn new(op: &'static str, endpoint: &str, error: Option<Error>) -> EndpointError {
        EndpointError {
            op,
            endpoint: endpoint.to_owned(),
            error,
            detail: None,
        }
    }

    /// The endpoint refused before libzmq saw it (`endpoint::check`).
    pub(super) fn refused(op: &'static str, endpoint: &str, (error, detail): Refusal) -> Self {
        EndpointError {
            detail: Some(detail),
            ..EndpointError::new(op, endpoint, Some(error))
        }
    }

    /// `"bind"`, `"connect"`, `"unbind"`, `"disconnect"` (or
    /// `"connect_peer"`).
    pub fn op(&self) -> &'static str {
        self.op
    }

    /// The endpoint as given.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// What libzmq said, or would have said: `EINVAL` for a `tcp://` or
    /// `udp://` port that is not `*` or 0 to 65535 and `EADDRINUSE` for an
    /// `ipc://` path a live socket listens on (refused before libzmq, see
    /// `Display`); `None` when the endpoint contains a NUL byte.
    pub fn zmq_error(&self) -> Option<Error> {
        self.error
    }
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.error, self.detail) {
            (Some(e), Some(detail)) => {
                write!(f, "{} {:?} failed: {detail}: {e}", self.op, self.endpoint)
            }
            (Some(e), None) => write!(f, "{} {:?} failed: {e}", self.op, self.endpoint),
            (None, _) => write!(
                f,
                "{} {:?} failed: endpoint contains a NUL byte",
                self.op, self.endpoint
            ),
        }
    }
}

impl std::error::Error for EndpointError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.as_ref().map(|e| e as _)
    }
}

/// The result of `zmq_msg_send` / `zmq_msg_recv`: a byte count, or -1 and
/// the errno.
#[inline]
fn byte_count(rc: c_int) -> Result<usize> {
    usize::try_from(rc).map_err(|_| Error::last())
}

type EndpointFn = unsafe extern "C" fn(*mut c_void, *const std::ffi::c_char) -> c_int;

impl Socket {
    pub(super) fn new(ctx: Context, kind: SocketType) -> Result<Socket> {
        // A libzmq without drafts would refuse the type with EINVAL; say
        // what is missing instead.
        #[cfg(feature = "draft")]
        if kind.is_draft() && sys::draft_api().is_none() {
            return Err(Error::ENOTSUP);
        }
        // SAFETY: the context pointer is live (we hold a clone); libzmq
        // returns null on failure.
        let raw = unsafe { sys::zmq_socket(ctx.as_ptr(), kind.to_raw()) };
        match NonNull::new(raw) {
            Some(raw) => Ok(Socket {
                raw,
                kind,
                ctx,
                _not_sync: PhantomData,
            }),
            None => Err(Error::last()),
        }
    }

    /// The socket's type.
    pub fn socket_type(&self) -> SocketType {
        self.kind
    }

    /// The socket's notification fd (`ZMQ_FD`), borrowed for as long as the
    /// socket lives. It is edge-triggered: see `ZMQ_FD` in zmq_getsockopt(3).
    pub fn notify_fd(&self) -> Result<BorrowedFd<'_>> {
        let fd = self.fd()?;
        // SAFETY: libzmq opens ZMQ_FD with the socket and closes it only in
        // zmq_close, which runs in `Drop`; the returned borrow cannot outlive
        // `&self`, so the fd is open for all of it.
        Ok(unsafe { BorrowedFd::borrow_raw(fd) })
    }

    /// The context the socket belongs to.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// The libzmq socket pointer, for the libzmq calls in this module tree.
    ///
    /// The calls through it are sound because each happens either on the
    /// one thread that has the `Socket` (it is `!Sync`) or, through a
    /// `ThreadSafeSocket` (feature `draft`), on a socket of a thread-safe
    /// type, whose every call libzmq serialises with the socket's lock.
    /// "Callable here" in the SAFETY comments means this.
    #[inline]
    pub(crate) fn as_ptr(&self) -> *mut c_void {
        self.raw.as_ptr()
    }

    fn endpoint_op(
        &self,
        op: &'static str,
        f: EndpointFn,
        endpoint: &str,
    ) -> Result<(), EndpointError> {
        let fail = |error| EndpointError::new(op, endpoint, error);
        let c_endpoint = CString::new(endpoint).map_err(|_| fail(None))?;
        check(op, endpoint).map_err(|refusal| EndpointError::refused(op, endpoint, refusal))?;
        // SAFETY: the socket pointer is live and callable here (see
        // `as_ptr`); the endpoint is a NUL-terminated string that outlives
        // the call.
        let rc = unsafe { f(self.as_ptr(), c_endpoint.as_ptr()) };
        if rc == 0 {
            Ok(())
        } else {
            Err(fail(Some(Error::last())))
        }
    }

    /// Binds to `endpoint` (`tcp://127.0.0.1:*`, `ipc:///path`,
    /// `inproc://name` ...). The error names the endpoint.
    pub fn bind(&self, endpoint: &str) -> Result<(), EndpointError> {
        self.endpoint_op("bind", sys::zmq_bind, endpoint)
    }

    /// Connects to `endpoint`. The error names the endpoint.
    pub fn connect(&self, endpoint: &str) -> Result<(), EndpointError> {
        self.endpoint_op("connect", sys::zmq_connect, endpoint)
    }

    /// Undoes a [`bind`](Self::bind) (pass the endpoint `last_endpoint`
    /// reported when the bind used a wildcard port).
    pub fn unbind(&self, endpoint: &str) -> Result<(), EndpointError> {
        self.endpoint_op("unbind", sys::zmq_unbind, endpoint)
    }

    /// Undoes a [`connect`](Self::connect).
    pub fn disconnect(&self, endpoint: &str) -> Result<(), EndpointError> {
        self.endpoint_op("disconnect", sys::zmq_disconnect, endpoint)
    }

    /// Sends `frame` (`zmq_msg_send`) with `flags` ([`DONTWAIT`],
    /// [`SNDMORE`]) and returns its size. On success libzmq leaves the frame
    /// empty; on failure it is left exactly as it was, so nothing is lost.
    #[inline]
    pub fn send_frame(&self, frame: &mut Frame, flags: i32) -> Result<usize> {
        // SAFETY: the frame is an initialised message; the socket is live
        // and callable here (see `as_ptr`). libzmq empties the message on
        // success and leaves it unchanged on failure (zmq_msg_send(3)).
        let rc = unsafe { sys::zmq_msg_send(frame.as_mut_ptr(), self.as_ptr(), flags) };
        byte_count(rc)
    }

    /// Receives one frame into `frame` (`zmq_msg_recv`), replacing its
    /// bytes, and returns the new size; [`Frame::more`] tells whether the
    /// message goes on. libzmq releases the old bytes before it looks for a
    /// message, so after `EAGAIN` the frame is empty; an error that stops
    /// the call before that (`ETERM`) leaves them.
    #[inline]
    pub fn recv_into(&self, frame: &mut Frame, flags: i32) -> Result<usize> {
        // SAFETY: the frame is an initialised message, whose old content
        // libzmq releases first (zmq_msg_recv(3)); the socket is live and
        // callable here (see `as_ptr`).
        let rc = unsafe { sys::zmq_msg_recv(frame.as_mut_ptr(), self.as_ptr(), flags) };
        byte_count(rc)
    }

    /// Sends one frame. With [`SNDMORE`] more frames of the same message
    /// follow. On failure the frame is dropped: to keep a refused frame,
    /// build a [`Frame`] and use [`send_frame`](Self::send_frame), which
    /// leaves it untouched.
    pub fn send(&self, frame: impl Into<Frame>, flags: i32) -> Result<()> {
        self.send_frame(&mut frame.into(), flags).map(drop)
    }

    /// Sends a whole message, one frame per item. Frames after the first are
    /// sent with [`SNDMORE`] on the ones before; `flags` applies to all
    /// (usually 0 or [`DONTWAIT`]). libzmq takes the rest of a multipart
    /// message once it took its first frame.
    pub fn send_multipart<I>(&self, frames: I, flags: i32) -> Result<()>
    where
        I: IntoIterator,
        I::Item: Into<Frame>,
    {
        let mut frames = frames.into_iter().peekable();
        while let Some(frame) = frames.next() {
            let more = if frames.peek().is_some() { SNDMORE } else { 0 };
            self.send(frame, flags | more)?;
        }
        Ok(())
    }

    /// Receives one frame into a new [`Frame`].
    pub fn recv_frame(&self, flags: i32) -> Result<Frame> {
        let mut frame = Frame::new();
        self.recv_into(&mut frame, flags)?;
        Ok(frame)
    }

    /// Receives one frame as bytes.
    pub fn recv_bytes(&self, flags: i32) -> Result<Vec<u8>> {
        self.recv_frame(flags).map(|f| f.to_vec())
    }

    /// Receives every frame of one message as bytes. With [`DONTWAIT`],
    /// `EAGAIN` means no message; once the first frame arrived the rest are
    /// there (libzmq delivers messages whole).
    pub fn recv_multipart(&self, flags: i32) -> Result<Vec<Vec<u8>>> {
        let mut frames = Vec::new();
        let mut frame = Frame::new();
        loop {
            self.recv_into(&mut frame, flags)?;
            frames.push(frame.to_vec());
            if !frame.more() {
                return Ok(frames);
            }
        }
    }

    /// Waits up to `timeout_ms` milliseconds (-1: forever, 0: not at all)
    /// for any of `events` (`zmq_poll` on this one socket) and returns those
    /// that are ready (empty on timeout). This **blocks** the calling thread.
    pub fn poll(&self, events: PollEvents, timeout_ms: i64) -> Result<PollEvents> {
        let mut items = [self.as_poll_item(events)];
        poll(&mut items, timeout_ms)?;
        Ok(items[0].revents())
    }

    /// This socket as an entry for [`poll`].
    pub fn as_poll_item(&self, events: PollEvents) -> PollItem<'_> {
        PollItem {
            raw: sys::zmq_pollitem_t {
                socket: self.as_ptr(),
                fd: 0,
                events: events.bits(),
                revents: 0,
            },
            _socket: PhantomData,
        }
    }

    /// Starts publishing this socket's events (`zmq_socket_monitor`) on a
    /// PAIR socket that connects to the `inproc://` `endpoint`; `events` is
    /// a mask of `ZMQ_EVENT_*` bits. The [`monitor`](crate::monitor) module
    /// does this for you and decodes the events.
    pub fn monitor(&self, endpoint: &str, events: u32) -> Result<()> {
        let endpoint = CString::new(endpoint).map_err(|_| Error::EINVAL)?;
        let events = c_int::try_from(events).map_err(|_| Error::EINVAL)?;
        // SAFETY: live socket, callable here (see `as_ptr`); NUL-terminated
        // endpoint that outlives the call.
        let rc = unsafe { sys::zmq_socket_monitor(self.as_ptr(), endpoint.as_ptr(), events) };
        if rc == 0 { Ok(()) } else { Err(Error::last()) }
    }

    /// Stops a [`monitor`](Self::monitor) (`zmq_socket_monitor` with a null
    /// endpoint); libzmq then sends `MONITOR_STOPPED`.
    pub fn stop_monitor(&self) -> Result<()> {
        // SAFETY: live socket, callable here (see `as_ptr`); a null
        // endpoint is documented to stop it.
        let rc = unsafe { sys::zmq_socket_monitor(self.as_ptr(), std::ptr::null(), 0) };
        if rc == 0 { Ok(()) } else { Err(Error::last()) }
    }
}

/// One socket in a [`poll`] call.
#[repr(transparent)]
pub struct PollItem<'a> {
    raw: sys::zmq_pollitem_t,
    _socket: PhantomData<&'a Socket>,
}

impl PollItem<'_> {
    /// What was ready after the last [`poll`].
    pub fn revents(&self) -> PollEvents {
        PollEvents(self.raw.revents)
    }

    /// True when the last [`poll`] found a message to receive.
    pub fn is_readable(&self) -> bool {
        self.revents().contains(POLLIN)
    }

    /// True when the last [`poll`] found room to send.
    pub fn is_writable(&self) -> bool {
        self.revents().contains(POLLOUT)
    }
}

impl fmt::Debug for PollItem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollItem")
            .field("events", &PollEvents(self.raw.events))
            .field("revents", &self.revents())
            .finish()
    }
}

/// Waits up to `timeout_ms` milliseconds (-1: forever) until one of `items`
/// is ready (`zmq_poll`); returns how many are. **Blocks** the calling
/// thread; an event loop uses the socket's `ZMQ_FD` instead.
pub fn poll(items: &mut [PollItem<'_>], timeout_ms: i64) -> Result<usize> {
    let count = c_int::try_from(items.len()).map_err(|_| Error::EINVAL)?;
    let timeout = std::ffi::c_long::try_from(timeout_ms).map_err(|_| Error::EINVAL)?;
    // `PollItem` is `repr(transparent)` over `zmq_pollitem_t`, so the slice
    // is an array of `zmq_pollitem_t` as zmq_poll wants.
    let raw = items.as_mut_ptr().cast::<sys::zmq_pollitem_t>();
    let rc = loop {
        // SAFETY: `raw` points to `count` initialised items whose sockets
        // are live (each `PollItem` borrows its socket) and callable here
        // (see `Socket::as_ptr`); zmq_poll writes only their `revents`.
        let rc = unsafe { sys::zmq_poll(raw, count, timeout) };
        if rc >= 0 || Error::last() != Error::EINTR {
            break rc;
        }
    };
    if rc < 0 {
        return Err(Error::last());
    }
    Ok(rc as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_errors_name_the_endpoint_and_never_panic() {
        let ctx = Context::new();
        let s = ctx.socket(SocketType::Pull).unwrap();
        let nul = s.bind("inproc://a\0b").unwrap_err();
        assert_eq!((nul.op(), nul.zmq_error()), ("bind", None));
        assert!(nul.to_string().contains("NUL byte"), "{nul}");
        let bad = s.connect("nonsense://x").unwrap_err();
        assert_eq!(bad.zmq_error(), Some(Error::EPROTONOSUPPORT));
        assert_eq!(bad.endpoint(), "nonsense://x");
        assert!(
            bad.to_string()
                .starts_with("connect \"nonsense://x\" failed: ")
        );
        assert!(s.unbind("tcp://127.0.0.1:9").is_err());
    }

    #[test]
    fn socket_types_round_trip_and_know_their_direction() {
        let ctx = Context::new();
        for kind in SocketType::ALL {
            assert_eq!(SocketType::from_raw(kind.to_raw()), Some(kind));
            let s = ctx.socket(kind).unwrap();
            assert_eq!(s.socket_type(), kind);
            s.set_linger(0).unwrap();
        }
        assert_eq!(SocketType::from_raw(99), None);
        assert!(!SocketType::Pull.can_send() && !SocketType::Push.can_recv());
        assert_eq!(SocketType::Xpub.to_string(), "XPUB");
    }

    #[test]
    fn poll_reports_readiness() {
        let ctx = Context::new();
        let pull = ctx.socket(SocketType::Pull).unwrap();
        pull.bind("inproc://poll-test").unwrap();
        let push = ctx.socket(SocketType::Push).unwrap();
        push.connect("inproc://poll-test").unwrap();
        assert!(pull.poll(POLLIN, 0).unwrap().is_empty());
        push.send("x", 0).unwrap();
        assert_eq!(pull.poll(POLLIN, 5000).unwrap(), POLLIN);
        let mut items = [pull.as_poll_item(POLLIN), push.as_poll_item(POLLOUT)];
        assert_eq!(poll(&mut items, 5000), Ok(2));
        assert!(items[0].is_readable() && items[1].is_writable());
        assert_eq!(pull.recv_bytes(0).unwrap(), b"x");
        assert_eq!(format!("{:?}", POLLIN | POLLOUT), "{POLLIN, POLLOUT}");
    }

    #[test]
    fn send_keeps_a_refused_frame_and_recv_reports_more() {
        let ctx = Context::new();
        let push = ctx.socket(SocketType::Push).unwrap();
        let mut frame = Frame::from(vec![9u8; 5000]);
        // No peer: a PUSH socket cannot send, and the frame stays whole.
        assert_eq!(push.send_frame(&mut frame, DONTWAIT), Err(Error::EAGAIN));
        assert_eq!(&frame[..], &[9u8; 5000][..]);

        let pull = ctx.socket(SocketType::Pull).unwrap();
        // tcp, not inproc: only network connections carry metadata.
        pull.bind("tcp://127.0.0.1:*").unwrap();
        push.connect(&pull.last_endpoint().unwrap()).unwrap();
        let mut head = Frame::from("head");
        assert_eq!(push.send_frame(&mut head, SNDMORE), Ok(4));
        assert!(head.is_empty());
        assert_eq!(push.send_frame(&mut frame, 0), Ok(5000));
        assert!(frame.is_empty());

        let mut got = Frame::new();
        assert_eq!(pull.recv_into(&mut got, 0), Ok(4));
        assert!(got.more());
        assert_eq!(got.gets("Socket-Type"), Some("PUSH"));
        assert_eq!(got.gets("No-Such-Property"), None);
        assert_eq!(got.gets("bad\0name"), None);
        assert_eq!(pull.recv_into(&mut got, 0), Ok(5000));
        assert!(!got.more());
        assert_eq!(pull.recv_into(&mut got, DONTWAIT), Err(Error::EAGAIN));
        assert!(got.is_empty());
    }
}
