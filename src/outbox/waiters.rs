//! Tasks waiting for news, in one list: the outbox's waiting `reserve`s and
//! flushes, and the async socket's waiting `recv`s and sends.

use std::task::Waker;

/// Tasks waiting for one kind of news. Each waiting future keeps the id of
/// its entry in a slot of its own (`Option<u64>`), so polling it again
/// replaces its waker instead of adding another, and dropping it removes
/// the entry ([`forget`](Self::forget)): a list never holds a task twice or
/// a future that is gone.
#[derive(Debug, Default)]
pub(crate) struct WaitList {
    tasks: Vec<(u64, Waker)>,
    next_id: u64,
}

impl WaitList {
    /// Registers `waker` under the id in `slot`, replacing the waker a
    /// previous poll left there, or under a new id it puts in `slot`.
    pub(crate) fn register(&mut self, slot: &mut Option<u64>, waker: &Waker) {
        if let Some(id) = *slot
            && let Some((_, old)) = self.tasks.iter_mut().find(|(task, _)| *task == id)
        {
            if !old.will_wake(waker) {
                old.clone_from(waker);
            }
            return;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.tasks.push((id, waker.clone()));
        *slot = Some(id);
    }

    /// Removes the entry `slot` names, if it is still waiting, and empties
    /// `slot`.
    #[inline]
    pub(crate) fn forget(&mut self, slot: &mut Option<u64>) {
        // Inlined for the common case, a future that never waited.
        if let Some(id) = slot.take() {
            self.remove(id);
        }
    }

    fn remove(&mut self, id: u64) {
        self.tasks.retain(|(task, _)| *task != id);
    }

    /// Wakes every waiting task and empties the list; each re-checks its
    /// condition when polled and registers again if it must wait. Cheap when
    /// nobody waits (one comparison), as it is called per message.
    #[inline]
    pub(crate) fn wake_all(&mut self) {
        if !self.tasks.is_empty() {
            for (_, waker) in self.tasks.drain(..) {
                waker.wake();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn a_task_is_listed_once_and_leaves_when_forgotten() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut list = WaitList::default();
        let (mut a, mut b) = (None, None);
        list.register(&mut a, &waker);
        list.register(&mut a, &waker); // polled again: same entry
        list.register(&mut b, &waker);
        list.forget(&mut b); // dropped
        assert_eq!(b, None);
        list.wake_all();
        assert_eq!(count.0.load(Ordering::Relaxed), 1);
        // After a wake the slot's id is stale: registering makes a new entry.
        list.register(&mut a, &waker);
        list.wake_all();
        assert_eq!(count.0.load(Ordering::Relaxed), 2);
    }
}
