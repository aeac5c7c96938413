//! Non-blocking message I/O for the source: whole multipart messages, sent
//! with `DONTWAIT` and never given away on failure, received frame by frame
//! straight into the message the callback gets.
//!
//! The frame-level calls are [`Socket::send_frame`] and
//! [`Socket::recv_into`]; this
//! module adds the message-level rules: `EINTR` retried, what a failure
//! means for the message, and which errors end the socket.

use crate::message::Multipart;
use crate::zmq::{self, DONTWAIT, Frame, SNDMORE, Socket};

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

/// Sends `frame` with `flags`, retrying `EINTR`.
#[inline]
fn send_frame(socket: &Socket, frame: &mut Frame, flags: i32) -> zmq::Result<usize> {
    loop {
        match socket.send_frame(frame, flags) {
            Err(zmq::Error::EINTR) => continue,
            other => return other,
        }
    }
}

/// Sends all frames of `msg` with `DONTWAIT`. On success the message is left
/// empty; on any failure the frames libzmq did not take are still in it.
pub(crate) fn send(socket: &Socket, msg: &mut Multipart) -> Outcome {
    if let [frame] = msg.frames_mut() {
        // The common case, one frame, kept short: it runs once per message.
        return match send_frame(socket, frame, DONTWAIT) {
            Ok(n) => {
                msg.forget_sent_frames();
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
        let flags = DONTWAIT | if i < last { SNDMORE } else { 0 };
        match send_frame(socket, frame, flags) {
            Ok(n) => bytes += n,
            // libzmq accepts the rest of a multipart once it took the first
            // frame, so only the first frame can see EAGAIN in practice.
            Err(zmq::Error::EAGAIN) if i == 0 => return Outcome::WouldBlock,
            Err(e) if i == 0 && !is_fatal(e) => return Outcome::Refused(e),
            Err(e) => return Outcome::Fatal(e),
        }
    }
    msg.forget_sent_frames();
    Outcome::Sent(bytes)
}

/// Errors after which the socket cannot be used again.
pub(crate) fn is_fatal(e: zmq::Error) -> bool {
    matches!(
        e,
        zmq::Error::ETERM | zmq::Error::ENOTSOCK | zmq::Error::EFAULT
    )
}

/// Receives one frame with `DONTWAIT` into `frame` (libzmq closes its old
/// content first, on `EAGAIN` too), retrying `EINTR`. Returns the frame's
/// size and whether more frames of the same message follow.
///
/// This is the receive hot path: libzmq writes the frame where it will stay
/// (inside the message the callback gets), and the size comes from
/// `zmq_msg_recv`'s return value, so it costs two libzmq calls per frame.
#[inline]
pub(crate) fn recv_into(socket: &Socket, frame: &mut Frame) -> zmq::Result<(usize, bool)> {
    loop {
        match socket.recv_into(frame, DONTWAIT) {
            Ok(len) => return Ok((len, frame.more())),
            Err(zmq::Error::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zmq::{Context, SocketType};

    /// A connected inproc pair.
    fn pair() -> (Context, Socket, Socket) {
        let ctx = Context::new();
        let a = ctx.socket(SocketType::Pair).unwrap();
        let b = ctx.socket(SocketType::Pair).unwrap();
        a.bind("inproc://wire").unwrap();
        b.connect("inproc://wire").unwrap();
        (ctx, a, b)
    }

    #[test]
    fn receive_reports_size_and_more() {
        let (_ctx, a, b) = pair();
        a.send_multipart(["head".as_bytes(), &[7u8; 100]], 0)
            .unwrap();
        let mut head = Frame::new();
        assert_eq!(recv_into(&b, &mut head), Ok((4, true)));
        assert_eq!(&head[..], b"head");
        let mut body = Frame::new();
        assert_eq!(recv_into(&b, &mut body), Ok((100, false)));
        assert_eq!(&body[..], &[7u8; 100][..]);
        let mut none = Frame::new();
        assert_eq!(recv_into(&b, &mut none), Err(zmq::Error::EAGAIN));
        assert!(none.is_empty());
    }

    #[test]
    fn send_reports_bytes_and_keeps_what_it_could_not_send() {
        let (_ctx, a, b) = pair();
        let mut msg = Multipart::from(vec![b"ab".to_vec(), vec![1u8; 50]]);
        assert!(matches!(send(&b, &mut msg), Outcome::Sent(52)));
        assert!(msg.is_empty());
        assert_eq!(
            a.recv_multipart(DONTWAIT).unwrap(),
            [b"ab".to_vec(), vec![1u8; 50]]
        );
        let mut empty = Multipart::new();
        assert!(matches!(
            send(&b, &mut empty),
            Outcome::Refused(zmq::Error::EINVAL)
        ));
        // A PUSH with no peer pushes back; the message stays whole.
        let push = _ctx.socket(SocketType::Push).unwrap();
        let mut held = Multipart::from(vec![vec![3u8; 2000], b"tail".to_vec()]);
        assert!(matches!(send(&push, &mut held), Outcome::WouldBlock));
        assert_eq!(held.to_vecs(), [vec![3u8; 2000], b"tail".to_vec()]);
    }
}
