//! A producer driven by the loop alone: a PUSH floods a PULL in the same
//! loop, sending from its handler on `Event::Drained`
//! (`Builder::notify_drained`) until the socket pushes back, with no loop of
//! its own around `dispatch`. Bounded: it sends 200 000 messages, the PULL
//! counts them, and the program ends by itself.
//!
//! ```sh
//! cargo run --release --example producer
//! ```

use std::time::{Duration, Instant};

use calloop_zmq::calloop::{EventLoop, LoopSignal};
use calloop_zmq::{Event, ZmqSource, zmq};

const TOTAL: u64 = 200_000;

struct Run {
    sent: u64,
    received: u64,
    /// Times the producer was told the outbox emptied.
    drained: u64,
    signal: LoopSignal,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ctx = zmq::Context::new();
    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull)?)?;
    pull.bind("inproc://producer")?;
    let push = ZmqSource::builder(ctx.socket(zmq::SocketType::Push)?)
        .notify_drained()
        .build()?;
    push.connect("inproc://producer")?;

    let mut event_loop: EventLoop<Run> = EventLoop::try_new()?;
    push.insert(&event_loop.handle(), |event, socket, run| {
        if let Event::Drained = event {
            run.drained += 1;
            // Produce until the socket pushes back (the message waits in the
            // outbox, whole) or the work is done; the next Drained comes
            // when libzmq has taken it.
            while run.sent < TOTAL && socket.queued() == 0 {
                if let Err(e) = socket.send(run.sent.to_le_bytes().as_slice()) {
                    eprintln!("producer: {e}");
                    run.signal.stop();
                    return;
                }
                run.sent += 1;
            }
        }
    })?;
    pull.insert(&event_loop.handle(), |event, _, run| {
        if let Event::Message(_) = event {
            run.received += 1;
            if run.received == TOTAL {
                run.signal.stop();
            }
        }
    })?;

    let mut run = Run {
        sent: 0,
        received: 0,
        drained: 0,
        signal: event_loop.get_signal(),
    };
    let started = Instant::now();
    // A bound, so a bug shows as an error rather than a hang.
    let stop = event_loop.get_signal();
    event_loop.handle().insert_source(
        calloop_zmq::calloop::timer::Timer::from_duration(Duration::from_secs(60)),
        move |_, _, _| {
            stop.stop();
            calloop_zmq::calloop::timer::TimeoutAction::Drop
        },
    )?;
    event_loop.run(None, &mut run, |_| {})?;
    let took = started.elapsed();
    println!(
        "sent {} and received {} messages in {took:.2?}, told {} times the outbox emptied",
        run.sent, run.received, run.drained
    );
    if run.received != TOTAL {
        return Err(format!("received {} of {TOTAL} within 60 s", run.received).into());
    }
    Ok(())
}
