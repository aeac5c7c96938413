//! Fairness: how late a 1 ms repeating calloop timer fires on the loop that
//! also runs a calloop-zmq PULL, while a blocking rust-zmq PUSH floods it
//! with 16-byte messages (and, as a floor, with no flood at all).
//!
//! Lateness is `now - deadline` in the timer's callback; the timer re-arms at
//! `deadline + 1 ms`, so a late fire does not move the schedule.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::calloop::timer::{TimeoutAction, Timer};
use calloop_zmq::{Event, ZmqSource, zmq};

use crate::common::{
    Site, Transport, WAIT, bind, check_deadline, join, payload, percentile, send_static, socket,
    spawn, wait_for,
};

const PERIOD: Duration = Duration::from_millis(1);
const WARMUP: usize = 1000;

/// What one run saw.
pub struct Report {
    pub transport: Transport,
    pub flooded: bool,
    pub fires: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    /// Messages the loop received per second while the timer was measured.
    pub rate: f64,
}

#[derive(Default)]
struct State {
    got: usize,
    recording: bool,
    late: Vec<f64>,
}

pub fn measure(
    transport: Transport,
    flood: bool,
    duration: Duration,
    ipc_dir: &std::path::Path,
) -> Report {
    let site = Site::new(transport, ipc_dir);
    let stop = Arc::new(AtomicBool::new(false));
    let (ep_tx, ep_rx) = mpsc::channel();
    let (sent_tx, sent_rx) = mpsc::channel::<usize>();
    let (ack_tx, ack_rx) = mpsc::channel::<()>();
    let (peer_ctx, bind_ep, data, peer_stop) = (
        site.peer.clone(),
        site.bind.clone(),
        payload(16),
        stop.clone(),
    );
    let flooder = flood.then(|| {
        spawn("timer-flood", move || {
            let mut s = socket(&peer_ctx, zmq::PUSH);
            let _ = ep_tx.send(bind(&s, &bind_ep));
            let mut sent = 0;
            while sent < WARMUP || !peer_stop.load(Ordering::Relaxed) {
                send_static(&mut s, data, "timer flood");
                sent += 1;
            }
            let _ = sent_tx.send(sent);
            wait_for(&ack_rx, "the receiver's acknowledgement");
        })
    });

    let source = ZmqSource::new(socket(&site.variant, zmq::PULL)).expect("build the source");
    if flood {
        source
            .connect(&wait_for(&ep_rx, "the flood's endpoint"))
            .expect("connect");
    }
    let mut event_loop: EventLoop<State> = EventLoop::try_new().expect("calloop: new loop");
    let handle = event_loop.handle();
    source
        .insert(&handle, |event, _, state: &mut State| {
            if let Event::Message(_) = event {
                state.got += 1;
            }
        })
        .expect("insert the source");
    handle
        .insert_source(
            Timer::from_duration(PERIOD),
            |deadline, _, state: &mut State| {
                if state.recording {
                    state.late.push(
                        Instant::now()
                            .saturating_duration_since(deadline)
                            .as_secs_f64(),
                    );
                }
                TimeoutAction::ToInstant(deadline + PERIOD)
            },
        )
        .expect("insert the timer");

    let mut state = State::default();
    let dispatch = |event_loop: &mut EventLoop<State>, state: &mut State| {
        event_loop
            .dispatch(Some(Duration::from_millis(50)), state)
            .expect("calloop: dispatch");
    };
    let deadline = Instant::now() + WAIT;
    if flood {
        while state.got < WARMUP {
            dispatch(&mut event_loop, &mut state);
            check_deadline(deadline, "the flood's warm-up");
        }
    }
    let start = Instant::now();
    let got_before = state.got;
    state.recording = true;
    while start.elapsed() < duration {
        dispatch(&mut event_loop, &mut state);
    }
    state.recording = false;
    let secs = start.elapsed().as_secs_f64();
    let rate = (state.got - got_before) as f64 / secs;
    stop.store(true, Ordering::Relaxed);
    if let Some(flooder) = flooder {
        // Keep the loop going: the flood may be blocked at its high-water
        // mark and only sees the stop flag once we make room.
        let deadline = Instant::now() + WAIT;
        let sent = loop {
            if let Ok(sent) = sent_rx.try_recv() {
                break sent;
            }
            dispatch(&mut event_loop, &mut state);
            check_deadline(deadline, "the flood's count");
        };
        while state.got < sent {
            dispatch(&mut event_loop, &mut state);
            check_deadline(deadline, "the rest of the flood");
        }
        let _ = ack_tx.send(());
        join(flooder, "timer flood");
    }
    let mut late = std::mem::take(&mut state.late);
    late.sort_by(f64::total_cmp);
    Report {
        transport,
        flooded: flood,
        fires: late.len(),
        p50: percentile(&late, 50.0),
        p99: percentile(&late, 99.0),
        max: late.last().copied().unwrap_or(f64::NAN),
        rate,
    }
}
