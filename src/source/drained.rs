//! The opt-in [`Event::Drained`](super::Event::Drained) notice
//! ([`Builder::notify_drained`](crate::Builder::notify_drained)): when a
//! dispatch must tell its callback that the outbox emptied.
//!
//! A source without the notice holds no [`DrainWatch`], and the dispatch
//! tests that once per dispatch, never per message.

/// Whether an empty outbox is news to the callback.
#[derive(Debug)]
pub(super) struct DrainWatch {
    /// The callback has not been told since the outbox last held messages
    /// (or since the source was built: the first dispatch tells it).
    due: bool,
}

impl Default for DrainWatch {
    fn default() -> Self {
        Self { due: true }
    }
}

impl DrainWatch {
    /// After a dispatch's sends: `moved` when messages left the outbox in
    /// it, `empty` when the outbox holds nothing now. True when the callback
    /// must hear [`Event::Drained`](super::Event::Drained) now.
    pub(super) fn after_sends(&mut self, moved: bool, empty: bool) -> bool {
        if !empty {
            self.due = true;
            return false;
        }
        let tell = self.due || moved;
        self.due = false;
        tell
    }

    /// True while the callback has not been told about an empty outbox:
    /// the loop must not sleep before a dispatch tells it.
    pub(super) fn is_due(&self) -> bool {
        self.due
    }
}

#[cfg(test)]
mod tests {
    use super::DrainWatch;

    #[test]
    fn tells_once_at_first_and_once_per_emptying() {
        let mut watch = DrainWatch::default();
        assert!(watch.after_sends(false, true), "the first dispatch tells");
        assert!(!watch.after_sends(false, true), "nothing changed since");
        assert!(!watch.after_sends(true, false), "still holding messages");
        assert!(watch.after_sends(true, true), "emptied");
        assert!(!watch.after_sends(false, true));
        assert!(watch.after_sends(true, true), "a batch went out");
    }
}
