//! The README's async example as a user writes it, in a crate of its own
//! that depends on calloop-zmq alone (default features, no `calloop` line):
//! a REP server as an `async fn` on calloop's executor, reached through
//! `calloop_zmq::calloop`, answering a REQ client on the same loop. Runs to
//! completion by itself (`cargo run -p user-crate`).

use std::time::{Duration, Instant};

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::calloop::futures::executor;
use calloop_zmq::{AsyncSocket, ZmqSource, zmq};

type BoxError = Box<dyn std::error::Error>;

fn main() -> Result<(), BoxError> {
    let ctx = zmq::Context::new();
    let source = ZmqSource::new(ctx.socket(zmq::SocketType::Rep)?)?;
    source.bind("inproc://user-crate")?;
    let client = ZmqSource::new(ctx.socket(zmq::SocketType::Req)?)?;
    client.connect("inproc://user-crate")?;

    let mut event_loop: EventLoop<Option<String>> = EventLoop::try_new()?;
    // One executor for the server (the snippet's future), one for the client.
    let (exec, scheduler) = executor()?;
    event_loop
        .handle()
        .insert_source(exec, |served: Result<(), calloop_zmq::SendError>, _, _| {
            if let Err(e) = served {
                eprintln!("server: {e}");
            }
        })
        .map_err(|e| e.error)?;
    let (client_exec, client_scheduler) = executor()?;
    event_loop
        .handle()
        .insert_source(client_exec, |reply: Option<String>, _, got| *got = reply)
        .map_err(|e| e.error)?;

    // The README's snippet, as it is there.
    let socket = AsyncSocket::insert(source, &event_loop.handle(), 16)?;
    scheduler.schedule(async move {
        while let Ok(request) = socket.recv().await {
            socket.send(request).await?; // waits while the socket pushes back
        }
        Ok::<_, calloop_zmq::SendError>(())
    })?;

    let client = AsyncSocket::insert(client, &event_loop.handle(), 16)?;
    client_scheduler.schedule(async move {
        client.send("hello").await.ok()?;
        let reply = client.recv().await.ok()?;
        reply.frame_str(0).map(str::to_owned)
    })?;

    let mut got = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.is_none() {
        if Instant::now() > deadline {
            return Err("no reply within 10 s".into());
        }
        event_loop.dispatch(Duration::from_millis(50), &mut got)?;
    }
    if got.as_deref() != Some("hello") {
        return Err(format!("expected \"hello\" back, got {got:?}").into());
    }
    println!("echoed {got:?}");
    Ok(())
}
