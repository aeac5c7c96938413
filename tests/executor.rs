//! The in-loop executor (`calloop_zmq::executor`): a task woken by a
//! socket's dispatch runs in that loop iteration; a panicking task, a
//! task that never stops waking itself and a dropped executor each leave
//! the loop running and lose no message.

mod support;

use std::cell::Cell;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::calloop::timer::{TimeoutAction, Timer};
use calloop_zmq::executor::{ExecutorGone, Scheduler, executor};
use calloop_zmq::{AsyncSocket, Event, ZmqSource, zmq};
use support::{WAIT, run_until};

/// Loop iterations an async REP echo on the in-loop executor (`in_loop`)
/// or on calloop's takes for `n` round trips with a REQ source in the same
/// loop that asks again as soon as it has its answer: one thread, so the
/// count does not depend on scheduling.
fn iterations_for_round_trips(in_loop: bool, n: u32, endpoint: &str) -> u64 {
    #[derive(Default)]
    struct Count {
        answered: u32,
        done: u32,
    }
    let ctx = zmq::Context::new();
    let rep = ZmqSource::new(ctx.socket(zmq::SocketType::Rep).unwrap()).unwrap();
    rep.bind(endpoint).unwrap();
    let req = ZmqSource::new(ctx.socket(zmq::SocketType::Req).unwrap()).unwrap();
    req.connect(endpoint).unwrap();
    req.sender().try_send("0").unwrap();
    let mut event_loop: EventLoop<Count> = EventLoop::try_new().unwrap();
    req.insert(
        &event_loop.handle(),
        move |event, socket, count: &mut Count| {
            if let Event::Message(msg) = event {
                count.answered += 1;
                if count.answered < n {
                    socket.send(msg).expect("REQ asks again");
                }
            }
        },
    )
    .unwrap();
    let rep = AsyncSocket::insert(rep, &event_loop.handle(), 16).unwrap();
    let task = async move {
        for _ in 0..n {
            let msg = rep.recv().await.expect("a request");
            rep.send(msg).await.expect("the reply");
        }
        n
    };
    if in_loop {
        let (exec, scheduler) = executor().unwrap();
        event_loop
            .handle()
            .insert_source(exec, |done, _, count: &mut Count| count.done = done)
            .map_err(|e| e.error)
            .unwrap();
        scheduler.schedule(task).unwrap();
    } else {
        let (exec, scheduler) = calloop_zmq::calloop::futures::executor().unwrap();
        event_loop
            .handle()
            .insert_source(exec, |done, _, count: &mut Count| count.done = done)
            .map_err(|e| e.error)
            .unwrap();
        scheduler.schedule(task).unwrap();
    }
    let mut count = Count::default();
    let mut iterations = 0u64;
    let deadline = Instant::now() + WAIT;
    while count.answered < n {
        assert!(
            Instant::now() < deadline,
            "{} of {n} round trips within {WAIT:?}",
            count.answered
        );
        event_loop
            .dispatch(Some(Duration::from_millis(50)), &mut count)
            .unwrap();
        iterations += 1;
    }
    iterations
}

#[test]
fn a_round_trip_takes_one_iteration_less() {
    let n = 2_000;
    let in_loop = iterations_for_round_trips(true, n, "inproc://exec-rtt-in-loop");
    let calloops = iterations_for_round_trips(false, n, "inproc://exec-rtt-calloop");
    println!("{n} round trips: {in_loop} iterations in-loop, {calloops} on calloop's executor");
    // Structural, not timed: calloop's executor runs a woken task one
    // `epoll_wait` after the socket event that woke it; this one runs it
    // right after the socket's dispatch.
    // (Measured: 3,999 against 5,998 for 2,000.)
    assert!(
        in_loop + u64::from(n) - 1 <= calloops,
        "in-loop {in_loop} iterations, calloop's {calloops}, for {n} round trips"
    );
}

type Texts = Vec<String>;

/// An async PULL bound at `endpoint` in a new loop, and a PUSH to it.
fn pull_and_push(
    endpoint: &str,
) -> (
    zmq::Context,
    zmq::Socket,
    EventLoop<'static, Texts>,
    Rc<AsyncSocket>,
) {
    let ctx = zmq::Context::new();
    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    pull.bind(endpoint).unwrap();
    let push = ctx.socket(zmq::SocketType::Push).unwrap();
    push.connect(endpoint).unwrap();
    let event_loop: EventLoop<Texts> = EventLoop::try_new().unwrap();
    let pull = Rc::new(AsyncSocket::insert(pull, &event_loop.handle(), 16).unwrap());
    (ctx, push, event_loop, pull)
}

/// An in-loop executor in `event_loop` whose tasks' texts land in its data.
fn texts_executor(
    event_loop: &EventLoop<'static, Texts>,
) -> (Scheduler<String>, calloop_zmq::calloop::RegistrationToken) {
    let (exec, scheduler) = executor().unwrap();
    let token = event_loop
        .handle()
        .insert_source(exec, |text, _, got: &mut Texts| got.push(text))
        .map_err(|e| e.error)
        .unwrap();
    (scheduler, token)
}

#[test]
fn a_panicking_task_is_dropped_and_the_others_go_on() {
    let (_ctx, push, mut event_loop, pull) = pull_and_push("inproc://exec-panic");
    let (scheduler, _) = texts_executor(&event_loop);
    let first = pull.clone();
    scheduler
        .schedule(async move {
            let msg = first.recv().await.unwrap();
            if msg.frame_str(0) == Some("boom") {
                panic!("a task that panics on purpose");
            }
            String::from("not reached")
        })
        .unwrap();
    let second = pull.clone();
    scheduler
        .schedule(async move {
            let msg = second.recv().await.unwrap();
            msg.frame_str(0).unwrap().to_owned()
        })
        .unwrap();
    push.send("boom", 0).unwrap();
    push.send("after", 0).unwrap();
    let mut got = Vec::new();
    run_until(
        &mut event_loop,
        &mut got,
        "the second task's message",
        |got| !got.is_empty(),
    );
    assert_eq!(got, ["after"]);
}

#[test]
fn a_task_that_keeps_waking_itself_does_not_starve_a_timer() {
    let mut event_loop: EventLoop<u32> = EventLoop::try_new().unwrap();
    let (exec, scheduler) = executor::<()>().unwrap();
    event_loop
        .handle()
        .insert_source(exec, |(), _, _| {})
        .map_err(|e| e.error)
        .unwrap();
    let polls = Rc::new(Cell::new(0u64));
    let counted = polls.clone();
    scheduler
        .schedule(poll_fn(move |cx| {
            counted.set(counted.get() + 1);
            cx.waker().wake_by_ref();
            Poll::<()>::Pending
        }))
        .unwrap();
    event_loop
        .handle()
        .insert_source(
            Timer::from_duration(Duration::from_millis(5)),
            |_, _, fired: &mut u32| {
                *fired += 1;
                TimeoutAction::Drop
            },
        )
        .map_err(|e| e.error)
        .unwrap();
    let mut fired = 0;
    run_until(
        &mut event_loop,
        &mut fired,
        "the timer, beside a busy task",
        |f| *f == 1,
    );
    assert!(polls.get() > 0, "the busy task ran too");
}

#[test]
fn a_dropped_executor_drops_its_tasks_and_loses_no_message() {
    let (_ctx, push, mut event_loop, pull) = pull_and_push("inproc://exec-drop");
    let (scheduler, token) = texts_executor(&event_loop);
    // A task waiting in `recv` when its executor goes.
    let waiting = pull.clone();
    let dropped = Rc::new(Cell::new(false));
    struct Flag(Rc<Cell<bool>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let flag = Flag(dropped.clone());
    scheduler
        .schedule(async move {
            let _flag = flag;
            let msg = waiting.recv().await.unwrap();
            msg.frame_str(0).unwrap().to_owned()
        })
        .unwrap();
    for _ in 0..3 {
        event_loop
            .dispatch(Some(Duration::from_millis(1)), &mut Vec::new())
            .unwrap();
    }
    assert!(!dropped.get(), "the task is waiting, not gone");
    event_loop.handle().remove(token);
    assert!(
        dropped.get(),
        "removing the executor dropped its waiting task"
    );
    assert_eq!(
        scheduler.schedule(async { String::new() }),
        Err(ExecutorGone)
    );

    // The message the dropped task was waiting for is still there.
    push.send("kept", 0).unwrap();
    let (scheduler, _) = texts_executor(&event_loop);
    let again = pull.clone();
    scheduler
        .schedule(async move { again.recv().await.unwrap().frame_str(0).unwrap().to_owned() })
        .unwrap();
    let mut got = Vec::new();
    run_until(
        &mut event_loop,
        &mut got,
        "the message, on a new executor",
        |got| !got.is_empty(),
    );
    assert_eq!(got, ["kept"]);
}
