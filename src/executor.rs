//! An executor for futures on the loop's thread that runs a task in the
//! same loop iteration as the socket event that woke it.
//!
//! With calloop's own executor, a task that an [`AsyncSocket`](crate::AsyncSocket) wakes (a
//! message arrived for its `recv().await`) runs only after the loop has
//! gone round once more: the wake pings the executor's eventfd, which the
//! next `epoll_wait` reports. This executor is used the same way
//! ([`executor`] gives an [`Executor`] to insert and a [`Scheduler`] to
//! spawn with), but a task woken while an `AsyncSocket`'s source is being
//! dispatched is polled right after that dispatch, before the loop moves on
//! or sleeps: one readiness event, one iteration, no eventfd write. Tasks
//! woken any other way (a timer, another thread, another calloop source)
//! wake the executor's own source, as calloop's executor does.
//!
//! It stays fair: at most [`TASKS_PER_TURN`] task polls run after a
//! dispatch and in each of the executor's own dispatches; what is left
//! waits for the next turn, so a task that keeps waking itself cannot
//! starve timers or other sources.
//!
//! A task that panics is dropped, the panic is logged (`tracing`, error)
//! and counted ([`Executor::panicked`]), and the loop goes on. Dropping the
//! [`Executor`] drops every task it still holds (their futures are
//! dropped, as a cancelled `select!` branch would be: every `AsyncSocket`
//! future is cancellation-safe, see
//! [`async_socket`](crate::async_socket#cancellation)); scheduling on a
//! [`Scheduler`] whose executor is gone fails with [`ExecutorGone`].
//!
//! Which to pick: this one when tasks await `AsyncSocket`s (round trips
//! take one loop iteration instead of two; BENCHMARKS.md); calloop's
//! (`calloop::futures::executor`) works with every `AsyncSocket` too, and
//! is the one to keep if other code already uses it. One loop per thread is
//! assumed: a task woken while some `AsyncSocket`'s source on this thread is
//! dispatched is polled then, whichever loop its executor is in.
//!
//! ```
//! use std::time::Duration;
//! use calloop_zmq::calloop::EventLoop;
//! use calloop_zmq::{executor, zmq, AsyncSocket, ZmqSource};
//!
//! let ctx = zmq::Context::new();
//! let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull)?)?;
//! pull.bind("inproc://executor-doc")?;
//! let push = ctx.socket(zmq::SocketType::Push)?;
//! push.connect("inproc://executor-doc")?;
//! push.send("hello", 0)?;
//!
//! let mut event_loop: EventLoop<Option<String>> = EventLoop::try_new()?;
//! let socket = AsyncSocket::insert(pull, &event_loop.handle(), 16)?;
//! let (exec, scheduler) = executor::executor()?;
//! event_loop
//!     .handle()
//!     .insert_source(exec, |text, _, got| *got = Some(text))
//!     .map_err(|e| e.error)?;
//! scheduler.schedule(async move {
//!     let msg = socket.recv().await.expect("the socket is open");
//!     msg.frame_str(0).unwrap_or_default().to_owned()
//! })?;
//! let mut got = None;
//! for _ in 0..100 {
//!     if got.is_some() {
//!         break;
//!     }
//!     event_loop.dispatch(Duration::from_millis(50), &mut got)?;
//! }
//! assert_eq!(got.as_deref(), Some("hello"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};

use async_task::{Builder, Runnable, Task};
use calloop::ping::{Ping, PingSource, make_ping};
use calloop::{EventSource, Poll, PostAction, Readiness, Token, TokenFactory};

use crate::error::Error;

/// Task polls per turn: after one socket dispatch, and per dispatch of the
/// executor's own source.
pub const TASKS_PER_TURN: usize = 256;

/// Creates an executor and its scheduler. Insert the [`Executor`] into the
/// loop whose `AsyncSocket`s its tasks await; its callback gets each task's
/// output. Fails only when the wake-up eventfd cannot be made.
pub fn executor<T: 'static>() -> Result<(Executor<T>, Scheduler<T>), Error> {
    let (ping, wake) = make_ping().map_err(|source| Error::Io {
        op: "create the executor's wake-up eventfd",
        source,
    })?;
    let local = Rc::new(Local {
        ready: Arc::new(Ready {
            queue: Mutex::new(VecDeque::new()),
            owner: thread::current().id(),
            ping,
            pinged: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }),
        tasks: RefCell::new(Tasks::default()),
        outputs: Rc::new(RefCell::new(VecDeque::new())),
        panicked: Cell::new(0),
    });
    let weak: Weak<dyn Turn> = Rc::downgrade(&(local.clone() as Rc<dyn Turn>));
    EXECUTORS.with(|all| {
        let mut all = all.borrow_mut();
        all.retain(|executor| executor.strong_count() > 0);
        all.push(weak);
    });
    Ok((
        Executor {
            local: local.clone(),
            wake,
        },
        Scheduler { local },
    ))
}

/// Runs the tasks of this thread's executors that were woken during `f`
/// (a socket's dispatch), up to [`TASKS_PER_TURN`] each, once `f` returns.
/// Wakes during `f` need no eventfd write: the tasks run here.
pub(crate) fn dispatching<R>(f: impl FnOnce() -> R) -> R {
    let outer = DISPATCHING.with(|d| d.replace(true));
    let result = f();
    DISPATCHING.with(|d| d.set(outer));
    if !outer {
        run_woken();
    }
    result
}

thread_local! {
    /// This thread's executors (dropped ones are pruned as they are met).
    static EXECUTORS: RefCell<Vec<Weak<dyn Turn>>> = const { RefCell::new(Vec::new()) };
    /// A socket's dispatch is under way on this thread: a task woken now
    /// runs when it returns.
    static DISPATCHING: Cell<bool> = const { Cell::new(false) };
}

fn run_woken() {
    // Taken out for the turn: a task may create or drop executors.
    let all = EXECUTORS.with(|all| std::mem::take(&mut *all.borrow_mut()));
    let mut live = Vec::with_capacity(all.len());
    for weak in all {
        if let Some(executor) = weak.upgrade() {
            executor.turn();
            live.push(weak);
        }
    }
    EXECUTORS.with(|all| {
        let mut all = all.borrow_mut();
        live.append(&mut all);
        *all = live;
    });
}

/// One executor's turn after a socket dispatch, without its output type.
trait Turn {
    fn turn(&self);
}

/// What a waker may touch, from any thread: the queue of woken tasks.
struct Ready {
    queue: Mutex<VecDeque<Runnable<usize>>>,
    /// The thread the executor (and every task on it) lives on.
    owner: ThreadId,
    ping: Ping,
    /// A ping is on its way (or a turn will come): no need for another.
    pinged: AtomicBool,
    /// The executor is gone: nothing will run what is woken now.
    closed: AtomicBool,
}

impl Ready {
    fn schedule(&self, runnable: Runnable<usize>) {
        if self.closed.load(Ordering::Acquire) {
            // Dropped on its own thread it cancels the task; on another
            // thread a local task must not be dropped, so it is kept (and
            // leaks with the queue).
            if thread::current().id() == self.owner {
                drop(runnable);
                return;
            }
        }
        self.lock().push_back(runnable);
        // Woken inside a socket's dispatch on the executor's own thread: it
        // runs when the dispatch returns, with no wake-up needed.
        let in_turn = thread::current().id() == self.owner
            && DISPATCHING.try_with(Cell::get).unwrap_or(false);
        if !in_turn {
            self.wake();
        }
    }

    fn wake(&self) {
        if !self.pinged.swap(true, Ordering::AcqRel) {
            self.ping.ping();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Runnable<usize>>> {
        // Every update is one push or pop, so a poisoned lock is consistent.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pop(&self) -> Option<Runnable<usize>> {
        self.lock().pop_front()
    }
}

/// The tasks an executor holds, by index, so dropping the executor can
/// cancel them.
#[derive(Default)]
struct Tasks {
    slots: Vec<Option<Task<(), usize>>>,
    free: Vec<usize>,
}

impl Tasks {
    fn insert_with(&mut self, spawn: impl FnOnce(usize) -> Task<(), usize>) {
        let index = self.free.pop().unwrap_or(self.slots.len());
        let task = spawn(index);
        if index == self.slots.len() {
            self.slots.push(Some(task));
        } else {
            self.slots[index] = Some(task);
        }
    }

    /// Forgets a task that has finished (or panicked).
    fn reap(&mut self, index: usize) {
        if let Some(slot) = self.slots.get_mut(index)
            && slot.as_ref().is_some_and(Task::is_finished)
        {
            *slot = None;
            self.free.push(index);
        }
    }
}

struct Local<T> {
    ready: Arc<Ready>,
    tasks: RefCell<Tasks>,
    outputs: Rc<RefCell<VecDeque<T>>>,
    panicked: Cell<u64>,
}

impl<T> Local<T> {
    /// Polls up to `limit` woken tasks. Returns whether woken tasks are left.
    fn run(&self, limit: usize) -> bool {
        for _ in 0..limit {
            let Some(runnable) = self.ready.pop() else {
                return false;
            };
            let index = *runnable.metadata();
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| runnable.run())) {
                self.panicked.set(self.panicked.get() + 1);
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a non-text panic".into());
                tracing::error!(panic = %what, "a task on the calloop-zmq executor panicked; it was dropped, the loop goes on");
            }
            self.tasks.borrow_mut().reap(index);
        }
        !self.ready.lock().is_empty()
    }
}

impl<T> Turn for Local<T> {
    fn turn(&self) {
        let left = self.run(TASKS_PER_TURN);
        // Outputs are handed out by the executor's own dispatch.
        if left || !self.outputs.borrow().is_empty() {
            self.ready.wake();
        }
    }
}

/// The executor's event source: insert it into the loop; its callback gets
/// each task's output. See the [module docs](self).
pub struct Executor<T> {
    local: Rc<Local<T>>,
    wake: PingSource,
}

impl<T> Executor<T> {
    /// Tasks that panicked so far (each was dropped and logged).
    pub fn panicked(&self) -> u64 {
        self.local.panicked.get()
    }
}

impl<T> fmt::Debug for Executor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("panicked", &self.local.panicked.get())
            .finish_non_exhaustive()
    }
}

impl<T> Drop for Executor<T> {
    fn drop(&mut self) {
        self.local.ready.closed.store(true, Ordering::Release);
        // Woken tasks first (dropping a runnable cancels its task), then the
        // rest: each future is dropped here, on the loop's thread.
        let woken: Vec<_> = self.local.ready.lock().drain(..).collect();
        drop(woken);
        let tasks = std::mem::take(&mut *self.local.tasks.borrow_mut());
        drop(tasks);
    }
}

impl<T: 'static> EventSource for Executor<T> {
    type Event = T;
    type Metadata = ();
    type Ret = ();
    type Error = Error;

    fn process_events<F>(
        &mut self,
        readiness: Readiness,
        token: Token,
        mut callback: F,
    ) -> Result<PostAction, Error>
    where
        F: FnMut(T, &mut ()),
    {
        self.wake
            .process_events(readiness, token, |(), &mut ()| {})
            .map_err(|e| Error::Io {
                op: "read the executor's wake-up eventfd",
                source: std::io::Error::other(e),
            })?;
        self.local.ready.pinged.store(false, Ordering::Release);
        let left = self.local.run(TASKS_PER_TURN);
        loop {
            // Not held across the callback, which may schedule more.
            let Some(output) = self.local.outputs.borrow_mut().pop_front() else {
                break;
            };
            callback(output, &mut ());
        }
        if left {
            // The rest next time round, after the other sources.
            self.local.ready.wake();
        }
        Ok(PostAction::Continue)
    }

    fn register(&mut self, poll: &mut Poll, factory: &mut TokenFactory) -> calloop::Result<()> {
        self.wake.register(poll, factory)
    }

    fn reregister(&mut self, poll: &mut Poll, factory: &mut TokenFactory) -> calloop::Result<()> {
        self.wake.reregister(poll, factory)
    }

    fn unregister(&mut self, poll: &mut Poll) -> calloop::Result<()> {
        self.wake.unregister(poll)
    }
}

/// Spawns futures on its [`Executor`]. Cloneable; stays on the loop's
/// thread (the futures need not be `Send`).
pub struct Scheduler<T> {
    local: Rc<Local<T>>,
}

impl<T> Clone for Scheduler<T> {
    fn clone(&self) -> Self {
        Self {
            local: self.local.clone(),
        }
    }
}

impl<T> fmt::Debug for Scheduler<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scheduler").finish_non_exhaustive()
    }
}

/// [`Scheduler::schedule`] after its [`Executor`] was dropped: the future
/// was dropped unpolled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the executor was dropped; the future was not run")]
pub struct ExecutorGone;

impl<T: 'static> Scheduler<T> {
    /// Spawns `future`; its output goes to the executor's callback. It is
    /// first polled in the executor's next turn.
    pub fn schedule<Fut>(&self, future: Fut) -> Result<(), ExecutorGone>
    where
        Fut: Future<Output = T> + 'static,
    {
        let ready = &self.local.ready;
        if ready.closed.load(Ordering::Acquire) {
            return Err(ExecutorGone);
        }
        let outputs = self.local.outputs.clone();
        let schedule_on = ready.clone();
        self.local.tasks.borrow_mut().insert_with(|index| {
            let (runnable, task) = Builder::new().metadata(index).spawn_local(
                move |_| async move {
                    let output = future.await;
                    outputs.borrow_mut().push_back(output);
                },
                move |runnable| schedule_on.schedule(runnable),
            );
            runnable.schedule();
            task
        });
        Ok(())
    }
}
