//! A flooded socket must not starve the rest of the loop.

mod support;

use std::thread;
use std::time::{Duration, Instant};

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::calloop::timer::{TimeoutAction, Timer};
use calloop_zmq::{Event, ZmqSource, zmq};
use support::run_until_within;

#[derive(Default)]
struct State {
    received: u64,
    ticks: u64,
    received_at_tick: Vec<u64>,
}

fn flood_with_timer(budget: usize) -> (State, u64) {
    const TICKS: u64 = 50;
    const FLOOD: u64 = 200_000;
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::SocketType::Pull).unwrap();
    pull.set_rcvhwm(0).unwrap();
    let pull = ZmqSource::builder(pull).budget(budget).build().unwrap();
    pull.bind("inproc://flood").unwrap();
    let stats = pull.stats();

    let mut event_loop: EventLoop<State> = EventLoop::try_new().unwrap();
    let handle = event_loop.handle();
    pull.insert(&handle, |event, _, state: &mut State| {
        if let Event::Message(_) = event {
            state.received += 1;
            // A consumer slower than the producer, so the socket does not run
            // dry: without a budget one drain would swallow the whole flood.
            let t = Instant::now();
            while t.elapsed() < Duration::from_micros(5) {}
        }
    })
    .unwrap();
    handle
        .insert_source(
            Timer::from_duration(Duration::from_millis(1)),
            |_, _, state: &mut State| {
                state.ticks += 1;
                state.received_at_tick.push(state.received);
                TimeoutAction::ToDuration(Duration::from_millis(1))
            },
        )
        .unwrap();

    // The peer floods at full speed (unbounded HWM on inproc, so it never waits).
    let flooder = {
        let ctx = ctx.clone();
        thread::spawn(move || {
            let push = ctx.socket(zmq::SocketType::Push).unwrap();
            push.set_sndhwm(0).unwrap();
            push.connect("inproc://flood").unwrap();
            for _ in 0..FLOOD {
                push.send(&b"0123456789abcdef"[..], 0).unwrap();
            }
            push
        })
    };

    let mut state = State::default();
    run_until_within(
        &mut event_loop,
        &mut state,
        Duration::from_secs(60),
        &format!("the timer's {TICKS} ticks"),
        |s| s.ticks >= TICKS,
    );
    drop(flooder.join().unwrap());
    (state, stats.snapshot().budget_exhausted)
}

#[test]
fn a_one_ms_timer_keeps_firing_while_a_peer_floods() {
    let (state, exhausted) = flood_with_timer(calloop_zmq::DEFAULT_BUDGET);
    // Counted, not timed: 50 ticks came while most of the 200k-message flood
    // was still waiting, so the timer was not starved behind it. Each dispatch
    // handles at most one budget (256), so 50 ticks cover at most ~13k
    // messages; the bound below is generous.
    assert!(
        state.received < 100_000,
        "timer only reached 50 ticks after {} messages: starved by the flood (ticks saw {:?})",
        state.received,
        &state.received_at_tick[..5]
    );
    assert!(exhausted > 0, "the flood should have exhausted the budget");
}
