//! PUB/SUB with a timer, as `async fn`s on calloop's executor: a publisher
//! sends a weather reading every 10 ms (a calloop `TimeoutFuture`), a
//! subscriber awaits readings for one city until it has ten, then both
//! sockets close and the program ends by itself.
//!
//! PUB drops what it sends before a subscription reaches it (the "slow
//! joiner"), so the publisher simply keeps publishing on its timer.
//!
//! ```sh
//! cargo run --example async_pubsub
//! ```

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use calloop_zmq::calloop::futures::executor;
use calloop_zmq::calloop::timer::TimeoutFuture;
use calloop_zmq::calloop::{EventLoop, LoopHandle};
use calloop_zmq::{AsyncSocket, ZmqSource, zmq};

type BoxError = Box<dyn std::error::Error>;

/// What the program needs from the loop: a done flag for `main`.
type Done = Option<Result<(), String>>;

/// Publishes one reading per city every `period` until `stop` is set, then
/// closes its socket and says how many it published.
async fn publish(
    pub_socket: AsyncSocket,
    handle: LoopHandle<'static, Done>,
    period: Duration,
    stop: Rc<Cell<bool>>,
) -> Result<u64, BoxError> {
    let mut published = 0u64;
    while !stop.get() {
        TimeoutFuture::from_duration(&handle, period).await;
        for city in ["paris", "lima"] {
            let reading = format!("{city} {}", 10 + published % 20);
            // PUB never pushes back (it drops at its HWM), so this never waits long.
            pub_socket.send(reading.as_str()).await?;
            published += 1;
        }
    }
    pub_socket.close(Duration::from_millis(100));
    drop(pub_socket.ended().await?.socket);
    Ok(published)
}

/// Awaits `wanted` readings for `city` and returns them.
async fn subscribe(sub: AsyncSocket, city: &str, wanted: usize) -> Result<Vec<String>, BoxError> {
    let mut readings = Vec::with_capacity(wanted);
    while readings.len() < wanted {
        let msg = sub.recv().await?;
        let text = msg.frame_str(0).unwrap_or_default();
        if !text.starts_with(city) {
            return Err(format!("subscribed to {city:?} but got {text:?}").into());
        }
        readings.push(text.to_owned());
    }
    sub.close(Duration::ZERO);
    Ok(readings)
}

fn main() -> Result<(), BoxError> {
    let ctx = zmq::Context::new();
    let publisher = ZmqSource::new(ctx.socket(zmq::SocketType::Pub)?)?;
    publisher.bind("inproc://async-weather")?;
    let subscriber = ZmqSource::new(ctx.socket(zmq::SocketType::Sub)?)?;
    subscriber.socket().set_subscribe(b"paris")?;
    subscriber.connect("inproc://async-weather")?;

    let mut event_loop: EventLoop<'static, Done> = EventLoop::try_new()?;
    let handle = event_loop.handle();
    let publisher = AsyncSocket::insert(publisher, &handle, 16)?;
    let subscriber = AsyncSocket::insert(subscriber, &handle, 16)?;

    let (exec, scheduler) = executor()?;
    handle
        .insert_source(exec, |outcome: Done, _, done| {
            if outcome.is_some() {
                *done = outcome;
            }
        })
        .map_err(|e| e.error)?;
    let stop = Rc::new(Cell::new(false));
    let stop_publishing = stop.clone();
    let timers = handle.clone();
    scheduler.schedule(async move {
        let outcome = publish(publisher, timers, Duration::from_millis(10), stop).await;
        Some(
            outcome
                .map(|n| println!("published {n} readings"))
                .map_err(|e| e.to_string()),
        )
    })?;
    scheduler.schedule(async move {
        let readings = subscribe(subscriber, "paris", 10).await;
        stop_publishing.set(true);
        match readings {
            Ok(readings) => println!("got {} readings for paris: {readings:?}", readings.len()),
            Err(e) => return Some(Err(e.to_string())),
        }
        None // the publisher's task reports the end
    })?;

    let mut done = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while done.is_none() {
        if Instant::now() > deadline {
            return Err("not done within 10 s".into());
        }
        event_loop.dispatch(Duration::from_millis(100), &mut done)?;
    }
    done.unwrap_or(Ok(())).map_err(Into::into)
}
