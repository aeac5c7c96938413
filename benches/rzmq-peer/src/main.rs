//! The rzmq side of calloop-zmq's `compare` benchmark, in a process of its
//! own: rzmq 0.5 on a tokio runtime against libzmq 4.3.5. The command
//! line, the libzmq side and the output are benches/peer-harness's.
//!
//! rzmq's API is an awaited `send` or `recv` of one frame (`Msg`) at a
//! time; batching is inside: the session drains up to `SNDBATCH_COUNT`
//! queued messages into one write and takes up to `RCVBATCH_COUNT` per
//! wake-up (both on by default). Its defaults otherwise stand, except the
//! high-water marks, set to libzmq's 1000 (rzmq's own default is 256), so
//! that every variant queues as deeply. Messages go out as
//! `Msg::from_static` (no copy of the payload) and a reply is the request
//! frame itself. Its standard tokio I/O is measured, not its opt-in
//! io-uring backend (TCP only).

use std::sync::mpsc;

use peer_harness::{Mark, Outcome, Recv, Sample, Sink, Spec, Stack, failed, payload, wait_async};
use rzmq::socket::options::{RCVHWM, SNDHWM};
use rzmq::{Context, Msg, Socket, SocketType};

/// libzmq's default high-water mark.
const HWM: i32 = 1000;

struct Rzmq;

/// A socket of `kind` with libzmq's high-water marks, connected to `ep`
/// (`connect` returns before the connection is up; messages wait for it).
async fn connected(ctx: &Context, kind: SocketType, ep: &str) -> Outcome<Socket> {
    let socket = ctx.socket(kind).map_err(failed("rzmq: create a socket"))?;
    for option in [SNDHWM, RCVHWM] {
        socket
            .set_option(option, HWM)
            .await
            .map_err(failed("rzmq: set the high-water mark"))?;
    }
    socket.connect(ep).await.map_err(failed("rzmq: connect"))?;
    Ok(socket)
}

impl Stack for Rzmq {
    const ABOUT: &'static str = "rzmq 0.5";
    const NAME: &'static str = "rzmq";

    fn recv(&self, ep: &str, spec: &Spec, mut clock: Recv) -> Outcome<Sample> {
        peer_harness::block_on("rzmq recv", async {
            let ctx = Context::new().map_err(failed("rzmq: create a context"))?;
            let pull = connected(&ctx, SocketType::Pull, ep).await?;
            for _ in 0..spec.warmup {
                pull.recv().await.map_err(failed("rzmq: warm-up recv"))?;
            }
            clock.start()?;
            for _ in 0..spec.count {
                pull.recv().await.map_err(failed("rzmq: recv"))?;
            }
            let sample = clock.stop(spec.count)?;
            let _ = ctx.term().await;
            Ok(sample)
        })
    }

    fn send(&self, ep: &str, spec: &Spec, sink: Sink) -> Outcome<(Mark, Mark)> {
        let data = payload(spec.size);
        peer_harness::block_on("rzmq send", async {
            let warm = wait_async(sink.warm, "the warm-up to arrive");
            let done = wait_async(sink.done, "the sink to get everything");
            let ctx = Context::new().map_err(failed("rzmq: create a context"))?;
            let push = connected(&ctx, SocketType::Push, ep).await?;
            for _ in 0..spec.warmup {
                push.send(Msg::from_static(data))
                    .await
                    .map_err(failed("rzmq: warm-up send"))?;
            }
            warm.await?;
            let start = Mark::now();
            for _ in 0..spec.count {
                push.send(Msg::from_static(data))
                    .await
                    .map_err(failed("rzmq: send"))?;
            }
            // The socket lives until the sink has everything.
            let end = done.await?;
            let _ = ctx.term().await;
            Ok((start, end))
        })
    }

    fn rtt(&self, ep: &str, total: usize, done: mpsc::Receiver<()>) -> Outcome<()> {
        peer_harness::block_on("rzmq rtt", async {
            let done = wait_async(done, "the client to finish");
            let ctx = Context::new().map_err(failed("rzmq: create a context"))?;
            let rep = connected(&ctx, SocketType::Rep, ep).await?;
            for _ in 0..total {
                let request = rep.recv().await.map_err(failed("rzmq: recv"))?;
                rep.send(request).await.map_err(failed("rzmq: reply"))?;
            }
            done.await?;
            let _ = ctx.term().await;
            Ok(())
        })
    }
}

fn main() {
    peer_harness::main(Rzmq)
}
