//! Counters exact when read: what an `AsyncSocket` moves straight through
//! libzmq (outside any dispatch of its source) shows before the loop next
//! sleeps, and `stats_now` on the loop's thread is exact at any moment.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::calloop::futures::{Scheduler, executor};
use calloop_zmq::{AsyncSocket, Stats, ZmqSource, zmq};
use support::run_until;

const N: u64 = 50;

/// A PUSH and a PULL source behind `AsyncSocket`s in `event_loop`, with
/// their `Stats` handles, and calloop's executor to run tasks on them.
fn async_pair(
    event_loop: &EventLoop<'static, ()>,
    name: &str,
) -> (AsyncSocket, AsyncSocket, Stats, Stats, Scheduler<()>) {
    let ctx = zmq::Context::new();
    let push = ZmqSource::new(ctx.socket(zmq::SocketType::Push).unwrap()).unwrap();
    push.bind(&format!("inproc://{name}")).unwrap();
    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    pull.connect(&format!("inproc://{name}")).unwrap();
    let (push_stats, pull_stats) = (push.stats(), pull.stats());
    let push = AsyncSocket::insert(push, &event_loop.handle(), 4).unwrap();
    let pull = AsyncSocket::insert(pull, &event_loop.handle(), 4).unwrap();
    let (exec, scheduler) = executor().unwrap();
    event_loop
        .handle()
        .insert_source(exec, |(), _, _| {})
        .unwrap();
    (push, pull, push_stats, pull_stats, scheduler)
}

/// Schedules a task that sends N messages through `push` and receives them
/// through `pull`, then sets its output: what `stats_now` said after the
/// sends and after the receives when `probe` is set, (0, 0) otherwise (the
/// counters are then left for the loop to publish).
fn move_n(
    event_loop: &mut EventLoop<'static, ()>,
    name: &str,
    probe: bool,
) -> (u64, u64, Stats, Stats) {
    let (push, pull, push_stats, pull_stats, scheduler) = async_pair(event_loop, name);
    let seen = Rc::new(Cell::new(None));
    let out = seen.clone();
    scheduler
        .schedule(async move {
            for i in 0..N {
                push.send(i.to_le_bytes().as_slice()).await.unwrap();
            }
            let sent = if probe {
                push.stats_now().messages_out
            } else {
                0
            };
            for _ in 0..N {
                pull.recv().await.unwrap();
            }
            let received = if probe {
                pull.stats_now().messages_in
            } else {
                0
            };
            out.set(Some((sent, received)));
            // Keep both sockets in the loop while the test reads.
            std::future::pending::<()>().await;
        })
        .unwrap();
    run_until(event_loop, &mut (), "the task's sends and receives", |_| {
        seen.get().is_some()
    });
    let (sent, received) = seen.get().unwrap();
    (sent, received, push_stats, pull_stats)
}

#[test]
fn what_async_futures_move_is_published_before_the_loop_next_sleeps() {
    let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    let (_, _, push_stats, pull_stats) = move_n(&mut event_loop, "stats-loop", false);
    // One more loop iteration, with nothing to do: the loop publishes before
    // it sleeps, so a reader on any thread sees every message.
    event_loop.dispatch(Some(Duration::ZERO), &mut ()).unwrap();
    let (push_now, pull_now) = (push_stats.snapshot(), pull_stats.snapshot());
    assert_eq!(push_now.messages_out, N, "{push_now:?}");
    assert_eq!(push_now.bytes_out, 8 * N);
    assert_eq!(pull_now.messages_in, N, "{pull_now:?}");
}

#[test]
fn async_stats_now_is_exact_right_after_the_calls() {
    let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    let (sent, received, _, _) = move_n(&mut event_loop, "stats-now", true);
    assert_eq!((sent, received), (N, N));
}

#[test]
fn stats_now_on_a_source_outside_a_loop_counts_its_handle_sends() {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::SocketType::Pull).unwrap();
    pull.bind("inproc://stats-now-outside").unwrap();
    let mut push = ZmqSource::new(ctx.socket(zmq::SocketType::Push).unwrap()).unwrap();
    push.connect("inproc://stats-now-outside").unwrap();
    push.handle().send("one").unwrap();
    push.handle().send("two").unwrap();
    assert_eq!(push.stats().snapshot().messages_out, 0, "not published yet");
    let now = push.stats_now();
    assert_eq!((now.messages_out, now.bytes_out), (2, 6));
    assert_eq!(push.stats().snapshot().messages_out, 2);
}
