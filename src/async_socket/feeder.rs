//! The event source behind an [`AsyncSocket`](super::AsyncSocket): the
//! socket's source in the loop, feeding the inbox.

use std::cell::RefCell;
use std::rc::Rc;

use calloop::{EventSource, PostAction, Readiness, Token};

use crate::error::Error;
use crate::executor;
use crate::outbox::Sender;
use crate::source::{Closed, Event, Fatal, SharedSource};
use crate::stats::Counters;

use super::error::RecvError;
use super::inbox::{Inbox, count_unread};

/// The socket's source, dispatched by the loop, moving what it receives
/// into the inbox and waking the tasks that wait. A `recv` that makes room
/// in a full inbox wakes it through the outbox's wake-up, which dispatches
/// the source.
pub(super) struct Feeder {
    pub(super) source: SharedSource,
    pub(super) inbox: Rc<RefCell<Inbox>>,
    /// The source's outbox handle, for its counters.
    pub(super) sender: Sender,
}

impl EventSource for Feeder {
    type Event = ();
    type Metadata = ();
    type Ret = ();
    type Error = Error;

    crate::source::forward_registration!(source.in_loop());

    fn process_events<F>(
        &mut self,
        readiness: Readiness,
        token: Token,
        _: F,
    ) -> Result<PostAction, Error>
    where
        F: FnMut((), &mut ()),
    {
        // Tasks on this thread's in-loop executors that this dispatch wakes
        // run as soon as it returns (and the source is free again).
        executor::dispatching(|| self.feed(readiness, token))
    }
}

impl Feeder {
    fn feed(&mut self, readiness: Readiness, token: Token) -> Result<PostAction, Error> {
        let mut source = self.source.in_loop();
        {
            let mut inbox = self.inbox.borrow_mut();
            inbox.resume_pinged = false;
            inbox.direct_left = source.budget();
            if inbox.paused && inbox.messages.len() < inbox.capacity {
                inbox.paused = false;
                source.handle().resume_recv();
            }
        }
        let inbox = &self.inbox;
        let sender = &self.sender;
        // Only the feeder holds the inbox once the `AsyncSocket` is dropped.
        let orphaned = Rc::strong_count(inbox) == 1;
        let action = source.process_events(readiness, token, |event, socket| {
            let mut inbox = inbox.borrow_mut();
            if orphaned {
                report_orphaned(event, sender);
                return;
            }
            match event {
                Event::Message(msg) => {
                    inbox.messages.push_back(msg);
                    if inbox.messages.len() >= inbox.capacity {
                        // Full: libzmq holds the rest, up to its HWM.
                        socket.pause_recv();
                        inbox.paused = true;
                    }
                    inbox.readers.wake_all();
                }
                Event::SendFailed(failure) => {
                    tracing::warn!(error = %failure.error, "queued message refused; see AsyncSocket::take_refused");
                    inbox.refused.push(failure);
                }
                Event::Closed(closed) => inbox.end(RecvError::Closed(closed)),
                Event::Fatal(fatal) => inbox.end(RecvError::Fatal(fatal)),
                // `AsyncSocket::ready` learns the same from the outbox.
                Event::Drained => {}
            }
        });
        if source.handle().queued() == 0 {
            self.inbox.borrow_mut().held_waiters.wake_all();
        }
        action
    }
}

impl Drop for Feeder {
    /// The loop let go of the source without it ending: the loop itself was
    /// dropped while the `AsyncSocket` lives on. Its futures would wait
    /// forever, and sends would queue for nobody, so the source ends here:
    /// the outbox stops accepting, and `recv` and `ended` say
    /// [`RecvError::Removed`] with what did not go out.
    fn drop(&mut self) {
        if Rc::strong_count(&self.inbox) == 1 {
            return; // the `AsyncSocket` is gone; its drop ended the source
        }
        let mut inbox = self.inbox.borrow_mut();
        if inbox.ended.is_some() {
            return;
        }
        // The loop is dropping the feeder, so it is in none of the source's
        // calls and the door opens.
        if let Some(mut source) = self.source.direct() {
            inbox.end(RecvError::Removed(source.end_removed()));
        }
    }
}

/// What the source says after its [`AsyncSocket`](super::AsyncSocket) was
/// dropped: nobody will read it, so losses are counted and logged here.
fn report_orphaned(event: Event, sender: &Sender) {
    match event {
        Event::Message(_) => count_unread(sender, 1),
        Event::Drained => {}
        Event::SendFailed(failure) => {
            tracing::warn!(error = %failure.error, "queued message refused after its AsyncSocket was dropped");
        }
        Event::Closed(Closed {
            undelivered,
            partial,
            ..
        })
        | Event::Fatal(Fatal {
            undelivered,
            partial,
            ..
        }) => {
            let lost = undelivered.len();
            if lost > 0 {
                Counters::bump(&sender.counters().dropped_at_drop, lost as u64);
                tracing::warn!(
                    messages = lost,
                    "AsyncSocket dropped with undelivered messages; flush or close it first to keep them"
                );
            }
            if !partial.is_empty() {
                tracing::warn!(
                    frames = partial.len(),
                    "AsyncSocket dropped in the middle of receiving a multipart message"
                );
            }
        }
    }
}
