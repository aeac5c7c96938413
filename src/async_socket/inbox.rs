//! What an [`AsyncSocket`](super::AsyncSocket), its futures and its feeder
//! share on the loop's thread: the received messages, the waiting tasks,
//! and how the source ended.

use std::collections::VecDeque;

use crate::message::Multipart;
use crate::outbox::waiters::WaitList;
use crate::outbox::{SendFailure, Sender};
use crate::stats::Counters;

use super::error::RecvError;

pub(super) struct Inbox {
    pub(super) messages: VecDeque<Multipart>,
    pub(super) capacity: usize,
    /// The tasks awaiting `recv` or `ended` (usually one).
    pub(super) readers: WaitList,
    /// The tasks whose `send` waits for the loop to send what it holds.
    pub(super) held_waiters: WaitList,
    /// Receiving is paused because the inbox is full.
    pub(super) paused: bool,
    /// Messages `recv` may still take straight from the socket before the
    /// source's next dispatch (which refills it to the source's budget), so
    /// a task that keeps up with a flood still lets the loop go round.
    pub(super) direct_left: usize,
    /// A wake-up to resume receiving is on its way.
    pub(super) resume_pinged: bool,
    /// Queued messages libzmq refused, handed back by `take_refused`.
    pub(super) refused: Vec<SendFailure>,
    /// How the source ended, until `recv` hands it out.
    pub(super) ended: Option<RecvError>,
}

impl Inbox {
    pub(super) fn new(capacity: usize, direct_left: usize) -> Self {
        Inbox {
            messages: VecDeque::with_capacity(capacity),
            capacity,
            readers: WaitList::default(),
            held_waiters: WaitList::default(),
            paused: false,
            direct_left,
            resume_pinged: false,
            refused: Vec::new(),
            ended: None,
        }
    }

    /// Records how the source ended and wakes everyone who waits on it.
    pub(super) fn end(&mut self, how: RecvError) {
        self.ended = Some(how);
        self.readers.wake_all();
        self.held_waiters.wake_all();
    }
}

/// Counts and logs received messages that will never be read.
pub(super) fn count_unread(sender: &Sender, unread: usize) {
    if unread > 0 {
        Counters::bump(&sender.counters().dropped_unread, unread as u64);
        tracing::warn!(
            messages = unread,
            "AsyncSocket dropped with received messages nobody read"
        );
    }
}
