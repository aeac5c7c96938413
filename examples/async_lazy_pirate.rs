//! The zguide's Lazy Pirate client as an `async fn`: a REQ socket that waits
//! at most 250 ms for each reply and, on a timeout, throws the socket away,
//! opens a new one and sends the request again, giving up after three tries.
//! The server on the same loop (a ROUTER) ignores every third request it
//! sees, so the retries happen. Finishes by itself.
//!
//! The callback version, a state machine, is `examples/lazy_pirate.rs`.
//!
//! ```sh
//! cargo run --example async_lazy_pirate
//! ```

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use calloop_zmq::calloop::futures::executor;
use calloop_zmq::calloop::timer::TimeoutFuture;
use calloop_zmq::calloop::{EventLoop, LoopHandle};
use calloop_zmq::{AsyncSocket, ZmqSource, zmq};

type BoxError = Box<dyn std::error::Error>;
type Done = Option<Result<usize, String>>;

const ENDPOINT: &str = "inproc://async-lazy-pirate";
const REQUEST_TIMEOUT: Duration = Duration::from_millis(250);
const TRIES: usize = 3;

/// Whichever of two futures finishes first; the other is dropped. `recv` is
/// cancellation-safe, so a reply that loses the race stays in the inbox.
async fn first<A: Future, B: Future>(a: A, b: B) -> Result<A::Output, B::Output> {
    let (mut a, mut b) = (pin!(a), pin!(b));
    poll_fn(|cx| {
        if let Poll::Ready(out) = a.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        b.as_mut().poll(cx).map(Err)
    })
    .await
}

/// A new REQ socket on the loop, connected to the server.
fn connect(
    ctx: &zmq::Context,
    handle: &LoopHandle<'static, Done>,
) -> Result<AsyncSocket, BoxError> {
    let req = ZmqSource::new(ctx.socket(zmq::SocketType::Req)?)?;
    // A request nobody answered is not worth keeping when the socket goes.
    req.socket().set_linger(0)?;
    req.connect(ENDPOINT)?;
    Ok(AsyncSocket::insert(req, handle, 4)?)
}

/// Sends `n` requests, each retried on a fresh socket until it is answered
/// or [`TRIES`] attempts timed out.
async fn client(
    ctx: zmq::Context,
    handle: LoopHandle<'static, Done>,
    n: usize,
) -> Result<usize, BoxError> {
    let mut req = connect(&ctx, &handle)?;
    for seq in 0..n {
        let request = format!("request {seq}");
        let mut tries = 0;
        loop {
            req.send(request.as_str()).await?;
            let timeout = TimeoutFuture::from_duration(&handle, REQUEST_TIMEOUT);
            match first(req.recv(), timeout).await {
                Ok(reply) => {
                    let reply = reply?;
                    let text = reply.frame_str(0).unwrap_or_default();
                    if text != request {
                        return Err(format!("expected {request:?}, got {text:?}").into());
                    }
                    println!("{request}: answered after {} tries", tries + 1);
                    break;
                }
                Err(()) => {
                    tries += 1;
                    println!("{request}: no reply within {REQUEST_TIMEOUT:?} (try {tries})");
                    if tries == TRIES {
                        return Err(format!("{request}: server seems to be offline").into());
                    }
                    // A REQ that sent and got nothing cannot send again:
                    // close it (without flushing) and start over.
                    req.close(Duration::ZERO);
                    req = connect(&ctx, &handle)?;
                }
            }
        }
    }
    req.close(Duration::ZERO);
    Ok(n)
}

/// Answers requests, ignoring every third one as if it were lost.
async fn server(router: AsyncSocket) {
    let mut seen = 0u64;
    while let Ok(request) = router.recv().await {
        seen += 1;
        if seen.is_multiple_of(3) {
            continue; // "lost": the client times out and retries
        }
        // The request is [peer id, empty, body]; the reply has the same
        // envelope. Nothing waits for the reply if the client is gone.
        if router.send(request).await.is_err() {
            return;
        }
    }
}

fn main() -> Result<(), BoxError> {
    let ctx = zmq::Context::new();
    let router = ZmqSource::new(ctx.socket(zmq::SocketType::Router)?)?;
    router.bind(ENDPOINT)?;

    let mut event_loop: EventLoop<'static, Done> = EventLoop::try_new()?;
    let handle = event_loop.handle();
    let router = AsyncSocket::insert(router, &handle, 16)?;
    let (exec, scheduler) = executor()?;
    handle
        .insert_source(exec, |outcome: Done, _, done| {
            if outcome.is_some() {
                *done = outcome;
            }
        })
        .map_err(|e| e.error)?;
    scheduler.schedule(async move {
        server(router).await;
        None
    })?;
    let client_handle = handle.clone();
    scheduler.schedule(async move {
        Some(
            client(ctx, client_handle, 5)
                .await
                .map_err(|e| e.to_string()),
        )
    })?;

    let mut done = None;
    let deadline = Instant::now() + Duration::from_secs(20);
    while done.is_none() {
        if Instant::now() > deadline {
            return Err("not done within 20 s".into());
        }
        event_loop.dispatch(Duration::from_millis(100), &mut done)?;
    }
    let answered = done.unwrap_or(Ok(0))?;
    println!("{answered} requests answered");
    Ok(())
}
