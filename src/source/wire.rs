//! Non-blocking frame I/O that never gives a message away on failure.
//!
//! rust-zmq's `Socket::send` consumes its message even when libzmq refuses it
//! (rust-zmq#211), which would lose a message on `EAGAIN`. `zmq_msg_send`
//! itself leaves a refused message untouched, so we call it directly on the
//! frame. `zmq::Message` is a single-field wrapper over `zmq_msg_t`; since
//! Rust does not promise that layout, it is verified once at run time, and if
//! the check ever failed we fall back to sending a copy of the bytes.

use std::sync::OnceLock;

use crate::Multipart;

/// What happened to one message.
pub(crate) enum Outcome {
    /// libzmq took every frame: this many payload bytes.
    Sent(usize),
    /// The socket cannot take it now (`EAGAIN`); the message is untouched.
    WouldBlock,
    /// libzmq refused it for a reason of its own; hand it back.
    Refused(zmq::Error),
    /// The socket is unusable (context terminated, not a socket, or a
    /// multipart broken half way); hand the message back and stop.
    Fatal(zmq::Error),
}

/// Sends all frames of `msg` with `DONTWAIT`. Retries `EINTR`.
pub(crate) fn send(socket: &mut zmq::Socket, msg: &mut Multipart) -> Outcome {
    send_with(socket, msg, layout_verified())
}

/// [`send`], through `zmq_msg_send` on the frames themselves when `verified`,
/// else through rust-zmq's copying `send`.
fn send_with(socket: &mut zmq::Socket, msg: &mut Multipart, verified: bool) -> Outcome {
    if verified && let [frame] = msg.frames_mut() {
        // The common case, one frame, kept short: it runs once per message.
        let result = loop {
            match send_frame(socket, frame, zmq::DONTWAIT) {
                Err(zmq::Error::EINTR) => continue,
                other => break other,
            }
        };
        return match result {
            Ok(n) => {
                // SAFETY: the only frame went through a successful zmq_msg_send.
                unsafe { msg.forget_sent_frames() };
                Outcome::Sent(n)
            }
            Err(zmq::Error::EAGAIN) => Outcome::WouldBlock,
            Err(e) if is_fatal(e) => Outcome::Fatal(e),
            Err(e) => Outcome::Refused(e),
        };
    }
    let frames = msg.frames_mut();
    let last = match frames.len() {
        0 => return Outcome::Refused(zmq::Error::EINVAL),
        n => n - 1,
    };
    let mut bytes = 0;
    for (i, frame) in frames.iter_mut().enumerate() {
        let flags = zmq::DONTWAIT | if i < last { zmq::SNDMORE } else { 0 };
        let result = loop {
            let result = if verified {
                send_frame(socket, frame, flags)
            } else {
                socket.send(&frame[..], flags).map(|()| frame.len())
            };
            match result {
                Err(zmq::Error::EINTR) => continue,
                other => break other,
            }
        };
        match result {
            Ok(n) => bytes += n,
            // libzmq accepts the rest of a multipart once it took the first
            // frame, so only the first frame can see EAGAIN in practice.
            Err(zmq::Error::EAGAIN) if i == 0 => return Outcome::WouldBlock,
            Err(e) if i == 0 && !is_fatal(e) => return Outcome::Refused(e),
            Err(e) => return Outcome::Fatal(e),
        }
    }
    if verified {
        // SAFETY: every frame went through a successful zmq_msg_send above.
        unsafe { msg.forget_sent_frames() };
    }
    Outcome::Sent(bytes)
}

/// Errors after which the socket cannot be used again.
pub(crate) fn is_fatal(e: zmq::Error) -> bool {
    matches!(
        e,
        zmq::Error::ETERM | zmq::Error::ENOTSOCK | zmq::Error::EFAULT
    )
}

/// Sends one frame through `zmq_msg_send`, which leaves it untouched on
/// failure. Returns its size, which `zmq_msg_send` reports, so the sender
/// need not ask for it first. Only once the layout is verified.
#[inline]
fn send_frame(
    socket: &mut zmq::Socket,
    frame: &mut zmq::Message,
    flags: i32,
) -> zmq::Result<usize> {
    let msg = frame as *mut zmq::Message as *mut zmq_sys::zmq_msg_t;
    // SAFETY: `layout_verified` proved that a `zmq::Message` starts with its
    // `zmq_msg_t` and is nothing else; the socket pointer is live because we
    // hold `&mut Socket`. On failure libzmq leaves the message unchanged, on
    // success it resets it to an empty message, which `zmq::Message`'s drop
    // closes as usual.
    let rc = unsafe { zmq_sys::zmq_msg_send(msg, socket.as_mut_ptr(), flags) };
    if rc == -1 {
        Err(zmq::Error::from_raw(unsafe { zmq_sys::zmq_errno() }))
    } else {
        Ok(rc as usize)
    }
}

/// A frame's size in bytes with one FFI call (`Deref` to `[u8]` makes two).
pub(crate) fn frame_len(frame: &zmq::Message) -> usize {
    if !layout_verified() {
        return frame.len();
    }
    let msg = frame as *const zmq::Message as *const zmq_sys::zmq_msg_t;
    // SAFETY: layout verified as in `send_frame`; zmq_msg_size only reads.
    unsafe { zmq_sys::zmq_msg_size(msg) }
}

/// True when a `zmq::Message` is exactly a `zmq_msg_t`, checked once.
#[inline]
fn layout_verified() -> bool {
    static VERIFIED: OnceLock<bool> = OnceLock::new();
    *VERIFIED.get_or_init(|| {
        use std::mem::{align_of, size_of};
        if size_of::<zmq::Message>() != size_of::<zmq_sys::zmq_msg_t>()
            || align_of::<zmq::Message>() != align_of::<zmq_sys::zmq_msg_t>()
        {
            return false;
        }
        // A payload too big for libzmq's inline storage, so data() points
        // into a separate buffer and a mismatch cannot pass by chance.
        let mut probe = zmq::Message::from(vec![7u8; 100]);
        let data = probe.as_ptr();
        let raw = &mut probe as *mut zmq::Message as *mut zmq_sys::zmq_msg_t;
        // SAFETY: sizes match; zmq_msg_size/zmq_msg_data only read the struct.
        unsafe {
            zmq_sys::zmq_msg_size(raw) == 100 && zmq_sys::zmq_msg_data(raw) as *const u8 == data
        }
    })
}

/// Receives one frame with `DONTWAIT` into `frame`, an initialised message
/// whose old content libzmq closes first (on `EAGAIN` too), retrying `EINTR`. Returns the frame's size and whether more
/// frames of the same message follow.
///
/// This is the receive hot path. libzmq writes the frame where it will stay
/// (inside the message the callback gets), so no freshly written `zmq_msg_t`
/// is copied around, and the size comes from `zmq_msg_recv`'s return value:
/// two FFI calls per frame where rust-zmq's `recv`, `len` and `get_more`
/// make four.
#[inline]
pub(crate) fn recv_into(
    socket: &mut zmq::Socket,
    frame: &mut zmq::Message,
) -> zmq::Result<(usize, bool)> {
    if !layout_verified() {
        return recv_into_portable(socket, frame);
    }
    let raw = frame as *mut zmq::Message as *mut zmq_sys::zmq_msg_t;
    loop {
        // SAFETY: `layout_verified` proved a `zmq::Message` is exactly a
        // `zmq_msg_t`, and `frame` is an initialised message we borrow
        // mutably; the socket pointer is live because we hold `&mut Socket`.
        // On failure libzmq leaves the message as it was.
        let rc = unsafe { zmq_sys::zmq_msg_recv(raw, socket.as_mut_ptr(), zmq::DONTWAIT) };
        if rc >= 0 {
            let more = unsafe { zmq_sys::zmq_msg_more(raw) } != 0;
            return Ok((rc as usize, more));
        }
        match zmq::Error::from_raw(unsafe { zmq_sys::zmq_errno() }) {
            zmq::Error::EINTR => continue,
            e => return Err(e),
        }
    }
}

/// An empty frame for [`recv_into`], built so it can be moved into place
/// before libzmq touches it: [`init_in_place`] finishes it where it ends up.
/// Until then it must not be dropped, which `init_in_place` guarantees by
/// running right after, with nothing in between that could unwind.
#[inline]
pub(crate) fn unready_frame() -> zmq::Message {
    if !layout_verified() {
        return zmq::Message::new();
    }
    // SAFETY: `zmq::Message` is exactly a `zmq_msg_t` (verified), a plain
    // byte array for which all zeros is a valid value; it becomes a valid
    // libzmq message once `init_in_place` runs.
    unsafe { std::mem::zeroed() }
}

/// Makes a frame from [`unready_frame`] a valid, empty libzmq message, in
/// place. Copying a `zmq_msg_t` right after libzmq wrote it would stall the
/// CPU (the copy's wide loads wait for libzmq's narrow stores), so the
/// receive path initialises and fills frames where they stay.
#[inline]
pub(crate) fn init_in_place(frame: &mut zmq::Message) {
    if layout_verified() {
        // SAFETY: layout verified; zmq_msg_init only writes the struct and
        // cannot fail.
        unsafe { zmq_sys::zmq_msg_init(frame as *mut zmq::Message as *mut zmq_sys::zmq_msg_t) };
    }
}

/// [`recv_into`] through rust-zmq's safe API, for the case the layout check
/// failed.
fn recv_into_portable(
    socket: &zmq::Socket,
    frame: &mut zmq::Message,
) -> zmq::Result<(usize, bool)> {
    loop {
        match socket.recv(frame, zmq::DONTWAIT) {
            Err(zmq::Error::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(()) => return Ok((frame.len(), frame.get_more())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connected inproc pair with a two-frame message waiting.
    fn pair_with_message() -> (zmq::Context, zmq::Socket, zmq::Socket) {
        let ctx = zmq::Context::new();
        let a = ctx.socket(zmq::PAIR).unwrap();
        let b = ctx.socket(zmq::PAIR).unwrap();
        a.bind("inproc://wire-recv").unwrap();
        b.connect("inproc://wire-recv").unwrap();
        a.send_multipart(["head".as_bytes(), &[7u8; 100]], 0)
            .unwrap();
        (ctx, a, b)
    }

    fn check_frames(mut recv: impl FnMut(&mut zmq::Message) -> zmq::Result<(usize, bool)>) {
        let mut head = zmq::Message::new();
        assert_eq!(recv(&mut head), Ok((4, true)));
        assert_eq!(&head[..], b"head");
        let mut body = zmq::Message::new();
        assert_eq!(recv(&mut body), Ok((100, false)));
        assert_eq!(&body[..], &[7u8; 100][..]);
        let mut none = zmq::Message::new();
        assert_eq!(recv(&mut none), Err(zmq::Error::EAGAIN));
        assert!(none.is_empty());
    }

    #[test]
    fn direct_receive_reports_size_and_more() {
        assert!(layout_verified(), "the fast path should be in use here");
        let (_ctx, _a, mut b) = pair_with_message();
        check_frames(|frame| recv_into(&mut b, frame));
    }

    fn check_send(verified: bool) {
        let (_ctx, a, mut b) = pair_with_message();
        let mut msg = Multipart::from(vec![b"ab".to_vec(), vec![1u8; 50]]);
        assert!(matches!(
            send_with(&mut b, &mut msg, verified),
            Outcome::Sent(52)
        ));
        let got = a
            .recv_multipart(zmq::DONTWAIT)
            .expect("the message arrived");
        assert_eq!(got, [b"ab".to_vec(), vec![1u8; 50]]);
        let mut empty = Multipart::new();
        assert!(matches!(
            send_with(&mut b, &mut empty, verified),
            Outcome::Refused(zmq::Error::EINVAL)
        ));
    }

    #[test]
    fn direct_send_reports_bytes() {
        check_send(true);
    }

    #[test]
    fn portable_send_matches_the_direct_one() {
        check_send(false);
    }

    #[test]
    fn portable_receive_matches_the_direct_one() {
        let (_ctx, _a, b) = pair_with_message();
        check_frames(|frame| recv_into_portable(&b, frame));
    }
}
