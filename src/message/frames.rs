//! Frame storage for [`Multipart`](super::Multipart).
//!
//! Most ZeroMQ messages have one frame, so that case is kept inline: receiving
//! or sending it allocates nothing beyond libzmq's own buffer, and dropping it
//! is one `zmq_msg_close`. Any other count lives in a `Vec`. The two forms are
//! kept canonical (`One` exactly when there is one frame), so equality and
//! length never depend on how a message was built.

use std::ops::{Deref, DerefMut};

/// The frames of one message, in order.
#[derive(Debug)]
pub(crate) enum Frames {
    /// Exactly one frame, inline.
    One(zmq::Message),
    /// Zero frames, or two and more.
    Many(Vec<zmq::Message>),
}

impl Default for Frames {
    fn default() -> Self {
        Frames::Many(Vec::new())
    }
}

impl Frames {
    /// Frames from a `Vec`, inline when there is just one.
    pub(crate) fn from_vec(mut frames: Vec<zmq::Message>) -> Self {
        if frames.len() == 1
            && let Some(frame) = frames.pop()
        {
            return Frames::One(frame);
        }
        Frames::Many(frames)
    }

    /// The frames as a `Vec` (allocates for a single inline frame).
    pub(crate) fn into_vec(self) -> Vec<zmq::Message> {
        match self {
            Frames::One(frame) => vec![frame],
            Frames::Many(frames) => frames,
        }
    }

    pub(crate) fn push(&mut self, frame: zmq::Message) {
        match self {
            Frames::Many(frames) if !frames.is_empty() => frames.push(frame),
            _ => self.edit(|frames| frames.push(frame)),
        }
    }

    pub(crate) fn insert(&mut self, index: usize, frame: zmq::Message) {
        self.edit(|frames| frames.insert(index, frame));
    }

    pub(crate) fn remove(&mut self, index: usize) -> zmq::Message {
        self.edit(|frames| frames.remove(index))
    }

    /// Applies a `Vec` edit, then restores the canonical form. For the rare
    /// edits; the hot paths never come here.
    fn edit<R>(&mut self, f: impl FnOnce(&mut Vec<zmq::Message>) -> R) -> R {
        let mut frames = std::mem::take(self).into_vec();
        let result = f(&mut frames);
        *self = Frames::from_vec(frames);
        result
    }

    /// Forgets every frame without closing it, leaving no frames.
    ///
    /// # Safety
    /// The frames must hold no resources (each went through a successful
    /// `zmq_msg_send`, which leaves it empty).
    pub(crate) unsafe fn forget_all(&mut self) {
        match std::mem::take(self) {
            Frames::One(frame) => std::mem::forget(frame),
            Frames::Many(mut frames) => {
                // SAFETY: per the caller, nothing in them needs dropping; the
                // Vec's own buffer is still freed.
                unsafe { frames.set_len(0) }
            }
        }
    }
}

impl Deref for Frames {
    type Target = [zmq::Message];

    fn deref(&self) -> &[zmq::Message] {
        match self {
            Frames::One(frame) => std::slice::from_ref(frame),
            Frames::Many(frames) => frames,
        }
    }
}

impl DerefMut for Frames {
    fn deref_mut(&mut self) -> &mut [zmq::Message] {
        match self {
            Frames::One(frame) => std::slice::from_mut(frame),
            Frames::Many(frames) => frames,
        }
    }
}

impl PartialEq for Frames {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Frames {}

impl FromIterator<zmq::Message> for Frames {
    fn from_iter<I: IntoIterator<Item = zmq::Message>>(iter: I) -> Self {
        Frames::from_vec(iter.into_iter().collect())
    }
}

impl IntoIterator for Frames {
    type Item = zmq::Message;
    type IntoIter = IntoIter;

    fn into_iter(self) -> IntoIter {
        match self {
            Frames::One(frame) => IntoIter::One(Some(frame).into_iter()),
            Frames::Many(frames) => IntoIter::Many(frames.into_iter()),
        }
    }
}

/// The frames by value.
#[derive(Debug)]
pub(crate) enum IntoIter {
    One(std::option::IntoIter<zmq::Message>),
    Many(std::vec::IntoIter<zmq::Message>),
}

impl Iterator for IntoIter {
    type Item = zmq::Message;

    fn next(&mut self) -> Option<zmq::Message> {
        match self {
            IntoIter::One(it) => it.next(),
            IntoIter::Many(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            IntoIter::One(it) => it.size_hint(),
            IntoIter::Many(it) => it.size_hint(),
        }
    }
}

impl DoubleEndedIterator for IntoIter {
    fn next_back(&mut self) -> Option<zmq::Message> {
        match self {
            IntoIter::One(it) => it.next_back(),
            IntoIter::Many(it) => it.next_back(),
        }
    }
}

impl ExactSizeIterator for IntoIter {}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(s: &str) -> zmq::Message {
        zmq::Message::from(s)
    }

    fn texts(frames: &Frames) -> Vec<&str> {
        frames.iter().map(|f| f.as_str().unwrap()).collect()
    }

    #[test]
    fn one_frame_is_inline_however_it_was_built() {
        let mut pushed = Frames::default();
        pushed.push(frame("a"));
        assert!(matches!(pushed, Frames::One(_)));
        let mut shrunk = Frames::from_vec(vec![frame("a"), frame("b")]);
        assert_eq!(shrunk.remove(1).as_str(), Some("b"));
        assert!(matches!(shrunk, Frames::One(_)));
        assert_eq!(pushed, shrunk);
        assert_eq!(pushed, Frames::from_vec(vec![frame("a")]));
    }

    #[test]
    fn edits_keep_order() {
        let mut frames = Frames::from_vec(vec![frame("b")]);
        frames.insert(0, frame("a"));
        frames.push(frame("d"));
        frames.insert(2, frame("c"));
        assert_eq!(texts(&frames), ["a", "b", "c", "d"]);
        let back: Vec<_> = frames.into_iter().rev().map(|f| f.to_vec()).collect();
        assert_eq!(
            back,
            [b"d".to_vec(), b"c".to_vec(), b"b".to_vec(), b"a".to_vec()]
        );
    }

    #[test]
    fn by_value_iteration_reports_its_length() {
        let mut one = Frames::from_vec(vec![frame("x")]).into_iter();
        assert_eq!(one.len(), 1);
        assert_eq!(one.next().unwrap().as_str(), Some("x"));
        assert_eq!(one.len(), 0);
        assert_eq!(Frames::default().into_iter().len(), 0);
    }
}
