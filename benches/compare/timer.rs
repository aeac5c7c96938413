//! Fairness: how late a 1 ms repeating calloop timer fires on the loop that
//! also runs a calloop-zmq PULL, while a blocking PUSH floods it
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
use calloop_zmq::{Event, zmq};

use crate::common::{
    Site, Transport, WAIT, bind, check_deadline, join, payload, percentile, send_static, socket,
    spawn, wait_for, zmq_source,
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
    /// Fires more than 1 ms late.
    pub late_fires: usize,
    /// Over the periods that ended in a fire more than 1 ms late: the share
    /// of wall time the loop thread was on a CPU (median). Well under 1
    /// means the thread was waiting for a CPU, not busy in the loop.
    pub late_cpu_share: f64,
    /// Involuntary context switches of the loop thread per second.
    pub preempt_per_sec: f64,
    /// The longest dispatch: wall time and the loop thread's CPU time in it.
    pub longest_dispatch: (f64, f64),
}

/// CPU time this thread has used.
fn thread_cpu() -> Duration {
    // SAFETY: clock_gettime only writes the struct we hand it.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Involuntary context switches of this thread so far.
fn thread_preemptions() -> i64 {
    // SAFETY: getrusage only writes the struct we hand it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    assert_eq!(rc, 0, "getrusage(RUSAGE_THREAD) failed");
    usage.ru_nivcsw
}

#[derive(Default)]
struct State {
    got: usize,
    recording: bool,
    late: Vec<f64>,
    /// Wall and thread CPU time at the previous fire.
    prev: Option<(Instant, Duration)>,
    /// On-CPU share of each period that ended in a fire over 1 ms late.
    late_shares: Vec<f64>,
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
            let s = socket(&peer_ctx, zmq::SocketType::Push);
            let _ = ep_tx.send(bind(&s, &bind_ep));
            let mut sent = 0;
            while sent < WARMUP || !peer_stop.load(Ordering::Relaxed) {
                send_static(&s, data, "timer flood");
                sent += 1;
            }
            let _ = sent_tx.send(sent);
            wait_for(&ack_rx, "the receiver's acknowledgement");
        })
    });

    let source = zmq_source(socket(&site.variant, zmq::SocketType::Pull));
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
                    let (now, cpu) = (Instant::now(), thread_cpu());
                    let late = now.saturating_duration_since(deadline);
                    state.late.push(late.as_secs_f64());
                    if let Some((wall0, cpu0)) = state.prev
                        && late > PERIOD
                    {
                        let wall = now.duration_since(wall0).as_secs_f64();
                        let used = cpu.saturating_sub(cpu0).as_secs_f64();
                        state.late_shares.push(used / wall.max(1e-9));
                    }
                    state.prev = Some((now, cpu));
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
    let preempt_before = thread_preemptions();
    state.recording = true;
    // The longest single dispatch, wall and thread CPU time: a timer can
    // only be held up inside the loop by the dispatch that runs when it
    // expires.
    let mut longest = (Duration::ZERO, Duration::ZERO);
    while start.elapsed() < duration {
        let (t0, c0) = (Instant::now(), thread_cpu());
        dispatch(&mut event_loop, &mut state);
        let wall = t0.elapsed();
        if wall > longest.0 {
            longest = (wall, thread_cpu().saturating_sub(c0));
        }
    }
    state.recording = false;
    let secs = start.elapsed().as_secs_f64();
    let preempt_per_sec = (thread_preemptions() - preempt_before) as f64 / secs;
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
    let mut shares = std::mem::take(&mut state.late_shares);
    shares.sort_by(f64::total_cmp);
    Report {
        transport,
        flooded: flood,
        fires: late.len(),
        p50: percentile(&late, 50.0),
        p99: percentile(&late, 99.0),
        max: late.last().copied().unwrap_or(f64::NAN),
        rate,
        late_fires: shares.len(),
        late_cpu_share: percentile(&shares, 50.0),
        preempt_per_sec,
        longest_dispatch: (longest.0.as_secs_f64(), longest.1.as_secs_f64()),
    }
}
