//! REQ/REP echo written as `async fn`s on calloop's executor: the server
//! awaits each request and sends it back, the client sends three requests
//! and awaits each reply, all on one loop. Finishes by itself.
//!
//! ```sh
//! cargo run --example async_echo
//! ```

use std::time::{Duration, Instant};

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::calloop::futures::executor;
use calloop_zmq::{AsyncSocket, ZmqSource, zmq};

type BoxError = Box<dyn std::error::Error>;

/// Answers every request with the same message, until the socket ends.
async fn serve(rep: AsyncSocket) -> Result<(), BoxError> {
    loop {
        let request = match rep.recv().await {
            Ok(request) => request,
            // The loop is going away (or the socket broke): done.
            Err(_) => return Ok(()),
        };
        // Waits (without blocking the loop) while the outbox is full.
        rep.send(request).await?;
    }
}

/// Sends `n` requests, one at a time, and checks each reply.
async fn ask(req: AsyncSocket, n: usize) -> Result<usize, BoxError> {
    for i in 0..n {
        let text = format!("request {i}");
        req.send(text.as_str()).await?;
        let reply = req.recv().await?;
        let echoed = reply.frame_str(0).unwrap_or_default();
        println!("sent {text:?}, got {echoed:?}");
        if echoed != text {
            return Err(format!("expected {text:?}, got {echoed:?}").into());
        }
    }
    Ok(n)
}

fn main() -> Result<(), BoxError> {
    let ctx = zmq::Context::new();
    let rep = ZmqSource::new(ctx.socket(zmq::SocketType::Rep)?)?;
    rep.bind("inproc://async-echo")?;
    let req = ZmqSource::new(ctx.socket(zmq::SocketType::Req)?)?;
    req.connect("inproc://async-echo")?;

    let mut event_loop: EventLoop<Option<Result<usize, String>>> = EventLoop::try_new()?;
    let handle = event_loop.handle();
    let rep = AsyncSocket::insert(rep, &handle, 16)?;
    let req = AsyncSocket::insert(req, &handle, 16)?;

    let (exec, scheduler) = executor()?;
    handle
        .insert_source(exec, |outcome: Option<Result<usize, String>>, _, done| {
            if outcome.is_some() {
                *done = outcome;
            }
        })
        .map_err(|e| e.error)?;
    scheduler.schedule(async move {
        if let Err(e) = serve(rep).await {
            eprintln!("server: {e}");
        }
        None
    })?;
    scheduler.schedule(async move { Some(ask(req, 3).await.map_err(|e| e.to_string())) })?;

    let mut done = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while done.is_none() {
        if Instant::now() > deadline {
            return Err("no answer within 10 s".into());
        }
        event_loop.dispatch(Duration::from_millis(100), &mut done)?;
    }
    let answered = done.unwrap_or(Ok(0))?;
    println!("{answered} requests answered");
    Ok(())
}
