//! The zmq.rs side of calloop-zmq's `compare` benchmark, in a process of its
//! own: zmq.rs (crate `zeromq` 0.7) on a tokio runtime against libzmq 4.3.5.
//! The command line, the libzmq side and the output are
//! benches/peer-harness's.
//!
//! zmq.rs's API is one awaited `send` or `recv` of one whole message
//! (`ZmqMessage`, a queue of `Bytes` frames) at a time; it has no batch
//! call. Its writers batch by themselves: `send` only queues the message for
//! the connection's writer task. Messages are sent as `Bytes::from_static`,
//! so no payload is copied on the way out, and a reply is the request
//! message itself.

use std::sync::mpsc;

use bytes::Bytes;
use peer_harness::{Mark, Outcome, Recv, Sample, Sink, Spec, Stack, failed, payload, wait_async};
use zeromq::prelude::*;
use zeromq::{PullSocket, PushSocket, RepSocket, SocketOptions, ZmqMessage};

struct ZmqRs;

/// A socket that gives up connecting within the harness's bounds.
fn new_socket<S: Socket>() -> S {
    let mut options = SocketOptions::default();
    options.connect_timeout(peer_harness::WAIT / 3);
    S::with_options(options)
}

impl Stack for ZmqRs {
    const ABOUT: &'static str = "zmq.rs (zeromq 0.7)";
    const NAME: &'static str = "zeromq";

    fn recv(&self, ep: &str, spec: &Spec, mut clock: Recv) -> Outcome<Sample> {
        peer_harness::block_on("zmq.rs recv", async {
            let mut pull: PullSocket = new_socket();
            pull.connect(ep).await.map_err(failed("zmq.rs: connect"))?;
            for _ in 0..spec.warmup {
                pull.recv().await.map_err(failed("zmq.rs: warm-up recv"))?;
            }
            clock.start()?;
            for _ in 0..spec.count {
                pull.recv().await.map_err(failed("zmq.rs: recv"))?;
            }
            clock.stop(spec.count)
        })
    }

    fn send(&self, ep: &str, spec: &Spec, sink: Sink) -> Outcome<(Mark, Mark)> {
        let data = payload(spec.size);
        let message = || ZmqMessage::from(Bytes::from_static(data));
        peer_harness::block_on("zmq.rs send", async {
            let warm = wait_async(sink.warm, "the warm-up to arrive");
            let done = wait_async(sink.done, "the sink to get everything");
            let mut push: PushSocket = new_socket();
            push.connect(ep).await.map_err(failed("zmq.rs: connect"))?;
            for _ in 0..spec.warmup {
                push.send(message())
                    .await
                    .map_err(failed("zmq.rs: warm-up send"))?;
            }
            warm.await?;
            let start = Mark::now();
            for _ in 0..spec.count {
                push.send(message()).await.map_err(failed("zmq.rs: send"))?;
            }
            // The socket lives until the sink has everything.
            Ok((start, done.await?))
        })
    }

    fn rtt(&self, ep: &str, total: usize, done: mpsc::Receiver<()>) -> Outcome<()> {
        peer_harness::block_on("zmq.rs rtt", async {
            let done = wait_async(done, "the client to finish");
            let mut rep: RepSocket = new_socket();
            rep.connect(ep).await.map_err(failed("zmq.rs: connect"))?;
            for _ in 0..total {
                let request = rep.recv().await.map_err(failed("zmq.rs: recv"))?;
                rep.send(request).await.map_err(failed("zmq.rs: reply"))?;
            }
            done.await
        })
    }
}

fn main() {
    peer_harness::main(ZmqRs)
}
