//! Frame storage for [`Multipart`](super::Multipart).
//!
//! Most ZeroMQ messages have one frame, so that case is kept inline: receiving
//! or sending it allocates nothing beyond libzmq's own buffer, and dropping it
//! is one `zmq_msg_close`. Any other count lives in a `Vec`. The two forms are
//! kept canonical (`One` exactly when there is one frame), so equality and
//! length never depend on how a message was built.

use std::ops::{Deref, DerefMut};

use crate::zmq::Frame;

/// The frames of one message, in order.
#[derive(Debug)]
pub(crate) enum Frames {
    /// Exactly one frame, inline.
    One(Frame),
    /// Zero frames, or two and more.
    Many(Vec<Frame>),
}

impl Default for Frames {
    fn default() -> Self {
        Frames::Many(Vec::new())
    }
}

impl Frames {
    /// Frames from a `Vec`, inline when there is just one.
    pub(crate) fn from_vec(mut frames: Vec<Frame>) -> Self {
        if frames.len() == 1
            && let Some(frame) = frames.pop()
        {
            return Frames::One(frame);
        }
        Frames::Many(frames)
    }

    /// The frames as a `Vec` (allocates for a single inline frame).
    pub(crate) fn into_vec(self) -> Vec<Frame> {
        match self {
            Frames::One(frame) => vec![frame],
            Frames::Many(frames) => frames,
        }
    }

    pub(crate) fn push(&mut self, frame: Frame) {
        match self {
            Frames::Many(frames) if !frames.is_empty() => frames.push(frame),
            _ => self.edit(|frames| frames.push(frame)),
        }
    }

    pub(crate) fn insert(&mut self, index: usize, frame: Frame) {
        self.edit(|frames| frames.insert(index, frame));
    }

    pub(crate) fn remove(&mut self, index: usize) -> Frame {
        self.edit(|frames| frames.remove(index))
    }

    /// Applies a `Vec` edit, then restores the canonical form. For the rare
    /// edits; the hot paths never come here.
    fn edit<R>(&mut self, f: impl FnOnce(&mut Vec<Frame>) -> R) -> R {
        let mut frames = std::mem::take(self).into_vec();
        let result = f(&mut frames);
        *self = Frames::from_vec(frames);
        result
    }

    /// Drops every frame as one a successful send emptied
    /// ([`Frame::forget_sent`]), leaving no frames.
    pub(crate) fn forget_sent(&mut self) {
        match std::mem::take(self) {
            Frames::One(frame) => frame.forget_sent(),
            Frames::Many(mut frames) => frames.drain(..).for_each(Frame::forget_sent),
        }
    }
}

impl Deref for Frames {
    type Target = [Frame];

    fn deref(&self) -> &[Frame] {
        match self {
            Frames::One(frame) => std::slice::from_ref(frame),
            Frames::Many(frames) => frames,
        }
    }
}

impl DerefMut for Frames {
    fn deref_mut(&mut self) -> &mut [Frame] {
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

impl FromIterator<Frame> for Frames {
    fn from_iter<I: IntoIterator<Item = Frame>>(iter: I) -> Self {
        Frames::from_vec(iter.into_iter().collect())
    }
}

impl IntoIterator for Frames {
    type Item = Frame;
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
    One(std::option::IntoIter<Frame>),
    Many(std::vec::IntoIter<Frame>),
}

impl Iterator for IntoIter {
    type Item = Frame;

    fn next(&mut self) -> Option<Frame> {
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
    fn next_back(&mut self) -> Option<Frame> {
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

    fn frame(s: &str) -> Frame {
        Frame::from(s)
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
