//! The outbox capacity bounds every message a source holds for sending,
//! from the handler and from senders together, at every instant.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use calloop_zmq::calloop::timer::{TimeoutAction, Timer};
use calloop_zmq::calloop::{Dispatcher, EventLoop};
use calloop_zmq::{Event, SendError, SocketHandle, ZmqSource, zmq};
use support::{WAIT, stuck_push};

#[test]
fn handler_sends_and_sender_sends_share_one_capacity() {
    let ctx = zmq::Context::new();
    let mut source = stuck_push(&ctx, 4);
    let sender = source.sender();
    for i in 0..4 {
        source.handle().send(format!("handler {i}")).unwrap();
    }
    for i in 0..4 {
        let err = sender.try_send(format!("sender {i}")).unwrap_err();
        assert!(matches!(err, SendError::Full(_)), "{err}");
    }
    assert_eq!(sender.len(), 4);
    let closed = source.close();
    assert_eq!(closed.undelivered.len(), 4);

    // And the other way round.
    let mut source = stuck_push(&ctx, 4);
    let sender = source.sender();
    for i in 0..4 {
        sender.try_send(format!("sender {i}")).unwrap();
    }
    let err = source.handle().send("handler").unwrap_err();
    assert!(matches!(err, SendError::Full(_)), "{err}");
    assert_eq!(source.close().undelivered.len(), 4);
}

#[test]
fn the_bound_holds_while_the_loop_holds_senders_messages() {
    let ctx = zmq::Context::new();
    let source = stuck_push(&ctx, 4);
    let sender = source.sender();
    for i in 0..3 {
        sender.try_send(format!("sender {i}")).unwrap();
    }
    type Callback = Box<dyn FnMut(Event, &mut SocketHandle, &mut ())>;
    let callback: Callback = Box::new(|_, _, _| {});
    let dispatcher = Dispatcher::new(source, callback);
    let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    event_loop
        .handle()
        .register_dispatcher(dispatcher.clone())
        .unwrap();
    // The loop takes the senders' three messages and tries to send them.
    for _ in 0..3 {
        event_loop
            .dispatch(Some(Duration::from_millis(10)), &mut ())
            .unwrap();
    }
    assert_eq!(dispatcher.as_source_mut().handle().queued(), 3);
    dispatcher.as_source_mut().handle().send("handler").unwrap();
    let err = dispatcher
        .as_source_mut()
        .handle()
        .send("one too many")
        .unwrap_err();
    assert!(matches!(err, SendError::Full(_)), "{err}");
    assert!(matches!(sender.try_send("late"), Err(SendError::Full(_))));
    assert_eq!(sender.len(), 4);
    assert!(sender.stats().snapshot().outbox_peak <= 4);
}

/// One run of the property: `threads` senders each try to queue
/// `per_thread` messages (mixing `try_send`, `send_timeout` and `send`),
/// while the handler queues `handler_per_tick` messages on each timer tick;
/// the peer connects after `connect_after` ticks and reads slowly.
fn bound_holds(
    capacity: usize,
    threads: usize,
    per_thread: usize,
    handler_per_tick: usize,
    connect_after: usize,
) {
    let ctx = zmq::Context::new();
    let socket = ctx.socket(zmq::SocketType::Push).unwrap();
    socket.set_sndhwm(1).unwrap();
    let source = ZmqSource::builder(socket)
        .outbox_capacity(capacity)
        .budget(3)
        .build()
        .unwrap();
    let endpoint = format!(
        "inproc://outbox-bound-{capacity}-{threads}-{per_thread}-{handler_per_tick}-{connect_after}"
    );
    source.connect(&endpoint).unwrap();
    let sender = source.sender();
    let stats = source.stats();

    type Callback = Box<dyn FnMut(Event, &mut SocketHandle, &mut ())>;
    let callback: Callback = Box::new(|_, _, _| {});
    let dispatcher = Dispatcher::new(source, callback);
    let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
    event_loop
        .handle()
        .register_dispatcher(dispatcher.clone())
        .unwrap();

    let accepted = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let sender = sender.clone();
            let accepted = accepted.clone();
            let stop = stop.clone();
            thread::spawn(move || {
                for i in 0..per_thread {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let msg = format!("{t}:{i}");
                    let result = match i % 3 {
                        0 => sender.try_send(msg),
                        1 => sender.send_timeout(msg, Duration::from_millis(5)),
                        _ => sender.send_timeout(msg, WAIT),
                    };
                    match result {
                        Ok(()) => {
                            accepted.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(SendError::Full(_) | SendError::Timeout(_)) => {}
                        Err(e) => panic!("unexpected send error: {e}"),
                    }
                }
            })
        })
        .collect();

    // The handler's sends come from a timer on the same loop.
    let handler_accepted = Arc::new(AtomicUsize::new(0));
    let ticks = Arc::new(AtomicUsize::new(0));
    {
        let dispatcher = dispatcher.clone();
        let handler_accepted = handler_accepted.clone();
        let ticks = ticks.clone();
        event_loop
            .handle()
            .insert_source(Timer::immediate(), move |_, _, _| {
                let mut source = dispatcher.as_source_mut();
                for _ in 0..handler_per_tick {
                    match source.handle().send("handler") {
                        Ok(()) => {
                            handler_accepted.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(SendError::Full(_)) => {}
                        Err(e) => panic!("unexpected handler send error: {e}"),
                    }
                }
                let n = ticks.fetch_add(1, Ordering::Relaxed);
                if n > 200 {
                    return TimeoutAction::Drop;
                }
                TimeoutAction::ToDuration(Duration::from_micros(200))
            })
            .unwrap();
    }

    let pull = ctx.socket(zmq::SocketType::Pull).unwrap();
    pull.set_rcvhwm(1).unwrap();
    let mut connected = false;
    let mut received = 0;
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(
            Instant::now() < deadline,
            "property run did not finish within {WAIT:?}"
        );
        event_loop
            .dispatch(Some(Duration::from_millis(1)), &mut ())
            .unwrap();
        // The bound, checked on the loop thread between dispatches: what the
        // loop holds plus what senders queued.
        let held = dispatcher.as_source_mut().handle().queued();
        assert!(held <= capacity, "loop holds {held} > capacity {capacity}");
        let depth = sender.len();
        assert!(
            depth <= capacity,
            "outbox depth {depth} > capacity {capacity}"
        );
        if !connected && ticks.load(Ordering::Relaxed) >= connect_after {
            pull.bind(&endpoint).unwrap();
            connected = true;
        }
        if connected {
            // A slow reader: at most two messages per round.
            for _ in 0..2 {
                if pull.recv_multipart(zmq::DONTWAIT).is_ok() {
                    received += 1;
                }
            }
        }
        let workers_done = workers.iter().all(|w| w.is_finished());
        let timer_done = ticks.load(Ordering::Relaxed) > 200;
        let total = accepted.load(Ordering::Relaxed) + handler_accepted.load(Ordering::Relaxed);
        if workers_done && timer_done && connected && received == total {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let snapshot = stats.snapshot();
    assert!(
        snapshot.outbox_peak <= capacity as u64,
        "peak {} > capacity {capacity}",
        snapshot.outbox_peak
    );
    assert_eq!(snapshot.outbox_depth, 0);
}

/// 24 mixes drawn from a fixed-seed xorshift, so every run checks the same
/// cases and a failure names its parameters. (A plain loop rather than
/// proptest: shrinking a thread interleaving finds nothing, and proptest as a
/// dev-dependency would add a dozen crates to every first
/// `cargo run --example`.)
#[test]
fn the_bound_holds_at_every_instant_for_any_mix_of_senders() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |below: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % below as u64) as usize
    };
    for case in 0..24 {
        let capacity = 1 + next(5);
        let threads = 1 + next(3);
        let per_thread = 1 + next(59);
        let handler_per_tick = next(4);
        let connect_after = next(40);
        eprintln!(
            "case {case}: capacity {capacity}, threads {threads}, per thread {per_thread}, \
             handler per tick {handler_per_tick}, connect after {connect_after}"
        );
        bound_holds(
            capacity,
            threads,
            per_thread,
            handler_per_tick,
            connect_after,
        );
    }
}
