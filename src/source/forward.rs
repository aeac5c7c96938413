//! For event sources built around a [`ZmqSource`](crate::ZmqSource) (the
//! monitor and the authenticator): everything but `process_events` is the inner
//! source's business, so it is forwarded in one place.

/// Expands, inside an `impl EventSource`, to the lifecycle constant and the
/// `register`, `reregister`, `unregister`, `before_sleep` and
/// `before_handle_events` methods, each forwarded to the `ZmqSource` in
/// field `$field`.
macro_rules! forward_registration {
    ($field:ident) => {
        const NEEDS_EXTRA_LIFECYCLE_EVENTS: bool =
            <$crate::source::ZmqSource as calloop::EventSource>::NEEDS_EXTRA_LIFECYCLE_EVENTS;

        fn register(
            &mut self,
            poll: &mut calloop::Poll,
            factory: &mut calloop::TokenFactory,
        ) -> calloop::Result<()> {
            self.$field.register(poll, factory)
        }

        fn reregister(
            &mut self,
            poll: &mut calloop::Poll,
            factory: &mut calloop::TokenFactory,
        ) -> calloop::Result<()> {
            self.$field.reregister(poll, factory)
        }

        fn unregister(&mut self, poll: &mut calloop::Poll) -> calloop::Result<()> {
            self.$field.unregister(poll)
        }

        fn before_sleep(
            &mut self,
        ) -> calloop::Result<Option<(calloop::Readiness, calloop::Token)>> {
            self.$field.before_sleep()
        }

        fn before_handle_events(&mut self, events: calloop::EventIterator<'_>) {
            self.$field.before_handle_events(events)
        }
    };
}

pub(crate) use forward_registration;
