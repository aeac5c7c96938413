//! The ZeroMQ guide's weather service (wuserver + wuclient): PUB/SUB with a
//! subscription filter, the publisher driven by a calloop timer.
//!
//! One event loop holds everything a real program would: a PUB socket, a
//! repeating timer that publishes a batch of updates on every tick, two SUB
//! sockets that each subscribe to one zip code, a signal source for Ctrl-C and
//! a deadline timer. Each subscriber averages the temperature over
//! [`UPDATES`] updates for its zip code; when both are done the program
//! prints the figures and exits.
//!
//! A SUB socket only gets messages published after its subscription reached
//! the publisher (the guide's "slow joiner"), so the publisher simply keeps
//! publishing until the subscribers have had enough.
//!
//! Run with `cargo run --example weather`; it finishes by itself.

use std::time::Duration;

use calloop_zmq::calloop::signals::{Signal, Signals};
use calloop_zmq::calloop::timer::{TimeoutAction, Timer};
use calloop_zmq::calloop::{EventLoop, LoopSignal};
use calloop_zmq::{Event, Sender, ZmqSource, zmq};

/// Updates each subscriber averages over.
const UPDATES: usize = 20;
/// Zip codes range over 10000..10000+ZIPS, so a filter matches about 1/ZIPS.
const ZIPS: u32 = 10;
/// Updates published per timer tick.
const BATCH: usize = 50;
const TICK: Duration = Duration::from_millis(2);

/// A tiny deterministic generator (xorshift), so runs are repeatable and the
/// example needs no extra crate.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u32) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % u64::from(n)) as u32
    }
}

struct Subscriber {
    zip: u32,
    temperatures: Vec<i32>,
}

struct Weather {
    publisher: Sender,
    rng: Rng,
    published: u64,
    dropped: u64,
    subscribers: [Subscriber; 2],
    stop: LoopSignal,
    finished: bool,
}

impl Weather {
    fn done(&self) -> bool {
        self.subscribers
            .iter()
            .all(|s| s.temperatures.len() >= UPDATES)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let signals = Signals::new(&[Signal::SIGINT, Signal::SIGTERM])?;
    let ctx = zmq::Context::new();
    let mut event_loop: EventLoop<Weather> = EventLoop::try_new()?;
    let handle = event_loop.handle();

    // wuserver: the PUB socket. PUB drops what no subscriber wants, so its
    // outbox never fills for long.
    let publisher = ZmqSource::new(ctx.socket(zmq::SocketType::Pub)?)?;
    publisher.bind("tcp://127.0.0.1:*")?;
    let endpoint = publisher.socket().last_endpoint()?;
    println!("weather server publishing on {endpoint}");
    let mut state = Weather {
        publisher: publisher.sender(),
        rng: Rng(0x5eed_1234_abcd_9876),
        published: 0,
        dropped: 0,
        subscribers: [
            Subscriber {
                zip: 10001,
                temperatures: Vec::new(),
            },
            Subscriber {
                zip: 10005,
                temperatures: Vec::new(),
            },
        ],
        stop: event_loop.get_signal(),
        finished: false,
    };
    // A PUB socket receives nothing; the callback only sees send failures.
    publisher.insert(&handle, |event, _, _: &mut Weather| {
        if let Event::SendFailed(f) = event {
            eprintln!("publisher: refused: {}", f.error);
        }
    })?;

    // The publishing timer: a batch of updates per tick, rescheduled each time.
    handle
        .insert_source(Timer::immediate(), |_, _, w: &mut Weather| {
            for _ in 0..BATCH {
                let zip = 10000 + w.rng.below(ZIPS);
                let temperature = w.rng.below(215) as i32 - 80;
                let humidity = w.rng.below(50) + 10;
                let update = format!("{zip:05} {temperature} {humidity}");
                match w.publisher.try_send(update) {
                    Ok(()) => w.published += 1,
                    // The loop drains the outbox between ticks; a full outbox
                    // only means this tick outran it. Weather is perishable.
                    Err(_) => w.dropped += 1,
                }
            }
            TimeoutAction::ToDuration(TICK)
        })
        .map_err(|e| e.error)?;

    // wuclient, twice: each SUB filters on its zip code followed by a space,
    // so "10001 " does not also match "100010".
    for index in 0..state.subscribers.len() {
        let zip = state.subscribers[index].zip;
        let subscriber = ZmqSource::new(ctx.socket(zmq::SocketType::Sub)?)?;
        subscriber
            .socket()
            .set_subscribe(format!("{zip} ").as_bytes())?;
        subscriber.connect(&endpoint)?;
        subscriber.insert(&handle, move |event, socket, w: &mut Weather| {
            let Event::Message(update) = event else {
                return;
            };
            let fields: Vec<&str> = update.frame_str(0).unwrap_or("").split(' ').collect();
            let (Some(got_zip), Some(Ok(temperature))) =
                (fields.first(), fields.get(1).map(|t| t.parse::<i32>()))
            else {
                eprintln!("subscriber {zip}: malformed update {update:?}");
                return;
            };
            if *got_zip != zip.to_string() {
                eprintln!("subscriber {zip}: the filter let {got_zip} through");
                return;
            }
            let me = &mut w.subscribers[index];
            me.temperatures.push(temperature);
            if me.temperatures.len() == UPDATES {
                // Enough: stop receiving; the publisher goes on for the other.
                socket.pause_recv();
            }
            if w.done() {
                w.finished = true;
                w.stop.stop();
            }
        })?;
    }

    handle
        .insert_source(signals, |s, _, w: &mut Weather| {
            println!("{:?}: stopping", s.signal());
            w.stop.stop();
        })
        .map_err(|e| e.error)?;
    handle
        .insert_source(
            Timer::from_duration(Duration::from_secs(20)),
            |_, _, w: &mut Weather| {
                eprintln!("deadline passed before the subscribers were done");
                w.stop.stop();
                TimeoutAction::Drop
            },
        )
        .map_err(|e| e.error)?;

    event_loop.run(None, &mut state, |_| {})?;

    for s in &state.subscribers {
        let n = s.temperatures.len().max(1) as f64;
        let average = s.temperatures.iter().map(|&t| f64::from(t)).sum::<f64>() / n;
        println!(
            "average temperature for zip code {} over {} updates: {average:.1}F",
            s.zip,
            s.temperatures.len()
        );
    }
    println!(
        "published {} updates ({} skipped on a full outbox)",
        state.published, state.dropped
    );
    if !state.finished {
        return Err("subscribers did not get all their updates".into());
    }
    Ok(())
}
