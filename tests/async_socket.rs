//! `AsyncSocket`: whole messages as futures, a bounded inbox that pauses
//! receiving, cancellation that loses nothing: every case runs on calloop's
//! executor and on calloop-zmq's in-loop executor.

mod support;

mod on_calloops_executor {
    pub use calloop_zmq::calloop::futures::{Scheduler, executor};
    mod cases {
        include!("async_socket/cases.rs");
    }
}

mod on_the_in_loop_executor {
    pub use calloop_zmq::executor::{Scheduler, executor};
    mod cases {
        include!("async_socket/cases.rs");
    }
}
