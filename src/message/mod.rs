//! Whole multipart messages.
//!
//! ZeroMQ delivers a message as one or more frames, atomically: a receiver sees
//! all of them or none. [`Multipart`] is that unit. Its frames are
//! [`Frame`](crate::zmq::Frame)s, so a received frame reaches your callback without a copy
//! and a frame you built from a `Vec<u8>` goes to libzmq without one either.
//!
//! ```
//! use calloop_zmq::Multipart;
//!
//! let msg = Multipart::from(vec![b"topic".to_vec(), b"payload".to_vec()]);
//! assert_eq!(msg.len(), 2);
//! assert_eq!(msg.frame_str(0), Some("topic"));
//! assert_eq!(msg.to_vecs(), vec![b"topic".to_vec(), b"payload".to_vec()]);
//!
//! // Arrays, tuples (frames of different types) and vectors of strings too,
//! // wherever an `impl Into<Multipart>` is taken (`send`, `try_send`...).
//! assert_eq!(Multipart::from(["topic", "payload"]), msg);
//! assert_eq!(Multipart::from(("topic", b"payload".to_vec())), msg);
//! assert_eq!(Multipart::from(vec!["topic", "payload"]), msg);
//! ```

use std::fmt;
use std::ops::Index;

mod frames;

use frames::Frames;

use crate::zmq::Frame;

/// One whole ZeroMQ message: an ordered list of frames.
///
/// Build it from bytes, strings or frames with `From`, or with
/// [`Multipart::new`] and [`Multipart::push`]. An empty `Multipart` (no frames)
/// cannot be sent; sending one reports [`zmq::Error::EINVAL`](crate::zmq::Error::EINVAL).
#[derive(Default, PartialEq, Eq)]
pub struct Multipart {
    frames: Frames,
}

impl Multipart {
    /// An empty message, to be filled with [`push`](Self::push).
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a frame (anything a [`Frame`] can be made from: `&[u8]`,
    /// `Vec<u8>`, `&str`, `Frame` ...).
    pub fn push(&mut self, frame: impl Into<Frame>) -> &mut Self {
        self.frames.push(frame.into());
        self
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when the message has no frames.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Total payload bytes over all frames.
    pub fn byte_len(&self) -> usize {
        self.frames.iter().map(Frame::len).sum()
    }

    /// The frames, in order.
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// Mutable access to the frames, e.g. to rewrite a ROUTER envelope in place.
    pub fn frames_mut(&mut self) -> &mut [Frame] {
        &mut self.frames
    }

    /// Inserts a frame at `index` (e.g. a routing id in front of a body).
    /// Returns `false` and drops nothing when `index > len()`.
    pub fn insert(&mut self, index: usize, frame: impl Into<Frame>) -> bool {
        if index > self.frames.len() {
            return false;
        }
        self.frames.insert(index, frame.into());
        true
    }

    /// Removes and returns frame `index`, or `None` when out of range.
    pub fn remove(&mut self, index: usize) -> Option<Frame> {
        (index < self.frames.len()).then(|| self.frames.remove(index))
    }

    /// Gives up the frames.
    pub fn into_frames(self) -> Vec<Frame> {
        self.frames.into_vec()
    }

    /// Iterates over the frames as byte slices.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.frames.iter().map(|f| &f[..])
    }

    /// Frame `index` as bytes, or `None` when out of range.
    pub fn frame(&self, index: usize) -> Option<&[u8]> {
        self.frames.get(index).map(|f| &f[..])
    }

    /// Frame `index` as UTF-8 text, or `None` when out of range or not UTF-8.
    pub fn frame_str(&self, index: usize) -> Option<&str> {
        self.frames.get(index).and_then(|f| f.as_str())
    }

    /// The first frame's bytes (for ROUTER, the peer's routing id).
    pub fn first(&self) -> Option<&[u8]> {
        self.frame(0)
    }

    /// The last frame's bytes (usually the body).
    pub fn last(&self) -> Option<&[u8]> {
        self.frames.last().map(|f| &f[..])
    }

    /// Copies every frame into an owned `Vec<u8>`.
    pub fn to_vecs(&self) -> Vec<Vec<u8>> {
        self.iter().map(<[u8]>::to_vec).collect()
    }

    /// The first frame longer than `limit` bytes, as `(index, size)`: what
    /// a receiver with `ZMQ_MAXMSGSIZE` = `limit` would refuse (libzmq
    /// checks each frame, not the whole message).
    pub(crate) fn oversized_frame(&self, limit: u64) -> Option<(usize, usize)> {
        self.frames
            .iter()
            .map(Frame::len)
            .enumerate()
            .find(|&(_, size)| u64::try_from(size).map_or(true, |size| size > limit))
    }

    /// Drops frames a successful send emptied, without closing each one
    /// (see [`Frame::forget_sent`]). Saves a libzmq call per frame on the
    /// send path.
    pub(crate) fn forget_sent_frames(&mut self) {
        self.frames.forget_sent();
    }

    /// Takes the frames gathered so far, leaving `frames` empty.
    pub(crate) fn take_from(frames: &mut Vec<Frame>) -> Self {
        frames.drain(..).collect()
    }
}

impl Index<usize> for Multipart {
    type Output = [u8];

    /// Frame `index` as bytes; panics when out of range, like slice indexing.
    fn index(&self, index: usize) -> &[u8] {
        &self.frames[index]
    }
}

impl fmt::Debug for Multipart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Text frames print as text, others as bytes: what you want in a log line.
        let mut list = f.debug_list();
        for frame in self.frames.iter() {
            match frame.as_str() {
                Some(s) => list.entry(&s),
                None => list.entry(&&frame[..]),
            };
        }
        list.finish()
    }
}

impl From<Frame> for Multipart {
    fn from(frame: Frame) -> Self {
        Self {
            frames: Frames::One(frame),
        }
    }
}

impl From<Vec<Frame>> for Multipart {
    fn from(frames: Vec<Frame>) -> Self {
        Self {
            frames: Frames::from_vec(frames),
        }
    }
}

impl From<Vec<u8>> for Multipart {
    fn from(frame: Vec<u8>) -> Self {
        Frame::from(frame).into()
    }
}

impl From<&[u8]> for Multipart {
    fn from(frame: &[u8]) -> Self {
        Frame::from(frame).into()
    }
}

impl<const N: usize> From<&[u8; N]> for Multipart {
    fn from(frame: &[u8; N]) -> Self {
        Frame::from(&frame[..]).into()
    }
}

impl From<&str> for Multipart {
    fn from(frame: &str) -> Self {
        Frame::from(frame).into()
    }
}

impl From<String> for Multipart {
    fn from(frame: String) -> Self {
        Frame::from(frame.into_bytes()).into()
    }
}

impl From<Vec<Vec<u8>>> for Multipart {
    fn from(frames: Vec<Vec<u8>>) -> Self {
        frames.into_iter().map(Frame::from).collect()
    }
}

impl<'a> From<&'a [&'a [u8]]> for Multipart {
    fn from(frames: &'a [&'a [u8]]) -> Self {
        frames.iter().map(|f| Frame::from(*f)).collect()
    }
}

impl<'a> From<&'a [&'a str]> for Multipart {
    fn from(frames: &'a [&'a str]) -> Self {
        frames.iter().map(|f| Frame::from(*f)).collect()
    }
}

impl<'a> From<Vec<&'a str>> for Multipart {
    fn from(frames: Vec<&'a str>) -> Self {
        frames.into_iter().map(Frame::from).collect()
    }
}

impl<'a> From<Vec<&'a [u8]>> for Multipart {
    fn from(frames: Vec<&'a [u8]>) -> Self {
        frames.into_iter().map(Frame::from).collect()
    }
}

impl From<Vec<String>> for Multipart {
    fn from(frames: Vec<String>) -> Self {
        frames.into_iter().map(Frame::from).collect()
    }
}

/// One frame per element, in order: `["topic", "body"]`, `[b"id", b"x"]`
/// (each `&[u8; N]` of the same length), `[frame_a, frame_b]`. Arrays of
/// `&str` of different lengths are fine; byte strings of different lengths
/// need slices (`[&b"id"[..], b"body"]`) or a tuple.
impl<T: Into<Frame>, const N: usize> From<[T; N]> for Multipart {
    fn from(frames: [T; N]) -> Self {
        frames.into_iter().map(Into::into).collect()
    }
}

/// Tuples of 2 to 4 frames, each anything a [`Frame`] is made from, so a
/// topic and a body of different types go together: `("topic", body_vec)`,
/// `(routing_id_frame, "", b"request")`.
macro_rules! multipart_from_tuple {
    ($($name:ident),+) => {
        impl<$($name: Into<Frame>),+> From<($($name,)+)> for Multipart {
            #[allow(non_snake_case)]
            fn from(($($name,)+): ($($name,)+)) -> Self {
                // Two frames or more: `Many` is the canonical form.
                Multipart {
                    frames: Frames::Many(vec![$($name.into()),+]),
                }
            }
        }
    };
}

multipart_from_tuple!(A, B);
multipart_from_tuple!(A, B, C);
multipart_from_tuple!(A, B, C, D);

impl FromIterator<Frame> for Multipart {
    fn from_iter<I: IntoIterator<Item = Frame>>(iter: I) -> Self {
        Self {
            frames: iter.into_iter().collect(),
        }
    }
}

impl IntoIterator for Multipart {
    type Item = Frame;
    type IntoIter = IntoFrames;

    fn into_iter(self) -> Self::IntoIter {
        IntoFrames(self.frames.into_iter())
    }
}

/// The frames of a [`Multipart`], by value, in order.
pub struct IntoFrames(frames::IntoIter);

impl Iterator for IntoFrames {
    type Item = Frame;

    fn next(&mut self) -> Option<Frame> {
        self.0.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for IntoFrames {
    fn next_back(&mut self) -> Option<Frame> {
        self.0.next_back()
    }
}

impl ExactSizeIterator for IntoFrames {}

impl fmt::Debug for IntoFrames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoFrames")
            .field("remaining", &self.0.len())
            .finish()
    }
}

impl From<Multipart> for Vec<Vec<u8>> {
    fn from(msg: Multipart) -> Self {
        msg.to_vecs()
    }
}
