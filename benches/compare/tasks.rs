//! The executor the async variants run on (kept out of common.rs, which the
//! peer programs share and which builds without calloop's executor).

/// The executor an async variant runs its tasks on: calloop-zmq's in-loop
/// executor, or calloop's with `COMPARE_ASYNC_EXECUTOR=calloop`.
pub enum Tasks {
    InLoop(calloop_zmq::executor::Scheduler<()>),
    Calloop(calloop_zmq::calloop::futures::Scheduler<()>),
}

impl Tasks {
    /// Inserts the chosen executor into `event_loop`.
    pub fn insert<D>(event_loop: &calloop_zmq::calloop::EventLoop<'_, D>) -> Tasks {
        let handle = event_loop.handle();
        if std::env::var_os("COMPARE_ASYNC_EXECUTOR").is_some_and(|v| v == "calloop") {
            let (exec, scheduler) =
                calloop_zmq::calloop::futures::executor().expect("calloop: executor");
            handle
                .insert_source(exec, |(), _, _| {})
                .expect("calloop: insert the executor");
            Tasks::Calloop(scheduler)
        } else {
            let (exec, scheduler) =
                calloop_zmq::executor::executor().expect("calloop-zmq: executor");
            handle
                .insert_source(exec, |(), _, _| {})
                .expect("calloop-zmq: insert the executor");
            Tasks::InLoop(scheduler)
        }
    }

    /// Spawns `task`.
    pub fn schedule(&self, task: impl std::future::Future<Output = ()> + 'static) {
        match self {
            Tasks::InLoop(s) => s.schedule(task).expect("calloop-zmq: schedule"),
            Tasks::Calloop(s) => s.schedule(task).expect("calloop: schedule"),
        }
    }
}
