//! For event sources built around a [`ZmqSource`](crate::ZmqSource) (the
//! monitor, the authenticator, the async socket's feeder): everything but `process_events` is the inner
//! source's business, so it is forwarded in one place.

/// Expands, inside an `impl EventSource`, to the lifecycle constant and the
/// `register`, `reregister`, `unregister`, `before_sleep` and
/// `before_handle_events` methods, each forwarded to the `ZmqSource` that
/// `self.$($path)+` reaches (a field, or e.g. `source.borrow_mut()`).
macro_rules! forward_registration {
    ($($path:tt)+) => {
        const NEEDS_EXTRA_LIFECYCLE_EVENTS: bool =
            <$crate::source::ZmqSource as calloop::EventSource>::NEEDS_EXTRA_LIFECYCLE_EVENTS;

        fn register(
            &mut self,
            poll: &mut calloop::Poll,
            factory: &mut calloop::TokenFactory,
        ) -> calloop::Result<()> {
            self.$($path)+.register(poll, factory)
        }

        fn reregister(
            &mut self,
            poll: &mut calloop::Poll,
            factory: &mut calloop::TokenFactory,
        ) -> calloop::Result<()> {
            self.$($path)+.reregister(poll, factory)
        }

        fn unregister(&mut self, poll: &mut calloop::Poll) -> calloop::Result<()> {
            self.$($path)+.unregister(poll)
        }

        fn before_sleep(
            &mut self,
        ) -> calloop::Result<Option<(calloop::Readiness, calloop::Token)>> {
            self.$($path)+.before_sleep()
        }

        fn before_handle_events(&mut self, events: calloop::EventIterator<'_>) {
            self.$($path)+.before_handle_events(events)
        }
    };
}

pub(crate) use forward_registration;
