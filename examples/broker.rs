//! The ZeroMQ guide's request-reply broker (rrbroker, rrclient, rrworker):
//! a ROUTER frontend and a DEALER backend on one calloop loop, as one
//! [`Proxy`].
//!
//! Clients are REQ sockets that connect to the ROUTER; workers are REP
//! sockets that connect to the DEALER. The proxy passes each message,
//! envelope and all, to the other socket: a request
//! arrives at the ROUTER as `[client id, "", body]`, leaves the DEALER as is,
//! reaches a worker's REP (which strips and restores the envelope), comes
//! back to the DEALER as `[client id, "", reply]` and the ROUTER routes it to
//! the right client by its first frame. That is all a broker does; the guide's
//! `zmq_poll` loop (or `zmq_proxy` on its own thread) becomes one source,
//! steerable from any thread through its [`ProxyControl`](calloop_zmq::proxy::ProxyControl).
//!
//! To keep the example one program, clients and workers live on the same
//! loop; they would work unchanged in other processes. Each client sends
//! [`REQUESTS`] requests; when all replies are in, the program prints who
//! served what and exits. Ctrl-C stops it early.
//!
//! Run with `cargo run --example broker`; it finishes by itself.

use std::time::Duration;

use calloop_zmq::calloop::signals::{Signal, Signals};
use calloop_zmq::calloop::timer::{TimeoutAction, Timer};
use calloop_zmq::calloop::{EventLoop, LoopSignal};
use calloop_zmq::proxy::{Proxy, ProxyEvent};
use calloop_zmq::{Event, Sender, ZmqSource, zmq};

const CLIENTS: usize = 3;
const WORKERS: usize = 2;
const REQUESTS: usize = 5;

struct State {
    /// Each client's outbox, to send its next request from its handler.
    clients: Vec<Sender>,
    replies: [usize; CLIENTS],
    /// Requests each worker served.
    served: [usize; WORKERS],
    stop: LoopSignal,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let signals = Signals::new(&[Signal::SIGINT, Signal::SIGTERM])?;
    let ctx = zmq::Context::new();
    let mut event_loop: EventLoop<State> = EventLoop::try_new()?;
    let handle = event_loop.handle();

    // --- the broker ---
    let frontend = ZmqSource::new(ctx.socket(zmq::SocketType::Router)?)?;
    frontend.bind("tcp://127.0.0.1:*")?;
    let frontend_endpoint = frontend.socket().last_endpoint()?;
    let backend = ZmqSource::new(ctx.socket(zmq::SocketType::Dealer)?)?;
    backend.bind("tcp://127.0.0.1:*")?;
    let backend_endpoint = backend.socket().last_endpoint()?;
    println!("broker: clients connect to {frontend_endpoint}, workers to {backend_endpoint}");

    // The whole broker: one Proxy. Each message, envelope and all, goes from
    // one socket to the other; a side that cannot take more stops the other
    // being read (back-pressure), and nothing is dropped.
    let proxy = Proxy::new(frontend, backend)?;
    let control = proxy.control();
    proxy.insert(&handle, |event, _: &mut State| match event {
        ProxyEvent::Refused { side, failure } => {
            eprintln!("broker: {side} refused a message: {}", failure.error)
        }
        ProxyEvent::Ended(ended) => eprintln!("broker: ended: {:?}", ended.reason),
        _ => {}
    })?;

    // --- workers: REP sockets that reply from their handler ---
    for worker in 0..WORKERS {
        let rep = ZmqSource::new(ctx.socket(zmq::SocketType::Rep)?)?;
        rep.connect(&backend_endpoint)?;
        rep.insert(&handle, move |event, socket, state: &mut State| {
            let Event::Message(request) = event else {
                return;
            };
            let body = request.frame_str(0).unwrap_or("?");
            state.served[worker] += 1;
            let reply = format!("{body} -> served by worker {worker}");
            if let Err(e) = socket.send(reply) {
                eprintln!("worker {worker}: {e}");
            }
        })?;
    }

    // --- clients: REQ sockets, one request at a time ---
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let req = ZmqSource::new(ctx.socket(zmq::SocketType::Req)?)?;
        req.connect(&frontend_endpoint)?;
        clients.push(req.sender());
        req.insert(&handle, move |event, _, state: &mut State| {
            let Event::Message(reply) = event else { return };
            println!("client {client}: {}", reply.frame_str(0).unwrap_or("?"));
            state.replies[client] += 1;
            let n = state.replies[client];
            if n < REQUESTS {
                if let Err(e) =
                    state.clients[client].try_send(format!("client {client} request {n}"))
                {
                    eprintln!("client {client}: {e}");
                }
            } else if state.replies.iter().all(|&r| r == REQUESTS) {
                state.stop.stop();
            }
        })?;
    }
    for (client, sender) in clients.iter().enumerate() {
        sender.try_send(format!("client {client} request 0"))?;
    }

    handle
        .insert_source(signals, |s, _, state: &mut State| {
            println!("{:?}: stopping", s.signal());
            state.stop.stop();
        })
        .map_err(|e| e.error)?;
    handle
        .insert_source(
            Timer::from_duration(Duration::from_secs(20)),
            |_, _, state: &mut State| {
                eprintln!("deadline passed; replies so far {:?}", state.replies);
                state.stop.stop();
                TimeoutAction::Drop
            },
        )
        .map_err(|e| e.error)?;

    let mut state = State {
        clients,
        replies: [0; CLIENTS],
        served: [0; WORKERS],
        stop: event_loop.get_signal(),
    };
    event_loop.run(None, &mut state, |_| {})?;

    let stats = control.stats();
    println!(
        "broker forwarded {} requests and {} replies; workers served {:?}",
        stats.frontend_to_backend, stats.backend_to_frontend, state.served
    );
    if state.replies.iter().any(|&r| r != REQUESTS) {
        return Err(format!(
            "replies per client {:?}, wanted {REQUESTS} each",
            state.replies
        )
        .into());
    }
    Ok(())
}
