//! Socket monitor events on the loop: a PULL server watches a peer connect,
//! send one message and go away, and prints each connection event.
//!
//! Run with `cargo run --example monitor`. It finishes by itself once the
//! peer's disconnect has been reported (or after 10 seconds, with an error).

use std::time::Duration;

use calloop_zmq::calloop::timer::{TimeoutAction, Timer};
use calloop_zmq::calloop::{EventLoop, LoopSignal};
use calloop_zmq::monitor::{EventKind, EventMask, Monitor};
use calloop_zmq::{Event, ZmqSource, zmq};

struct State {
    /// The peer, a plain socket; dropped once the server has its message.
    peer: Option<zmq::Socket>,
    connected: bool,
    disconnected: bool,
    stop: LoopSignal,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ctx = zmq::Context::new();
    let mut event_loop: EventLoop<State> = EventLoop::try_new()?;
    let handle = event_loop.handle();

    let server = ZmqSource::new(ctx.socket(zmq::SocketType::Pull)?)?;
    // Attach before binding so the Listening event is seen too.
    let monitor = Monitor::attach_source(&server, &ctx, EventMask::ALL)?;
    server.bind("tcp://127.0.0.1:*")?;
    let endpoint = server.socket().last_endpoint()?;

    monitor.insert(&handle, |event, state: &mut State| {
        println!("monitor: {event}");
        match event.kind {
            EventKind::HandshakeSucceeded => state.connected = true,
            EventKind::Disconnected => {
                state.disconnected = true;
                state.stop.stop();
            }
            _ => {}
        }
    })?;
    server.insert(&handle, |event, _, state: &mut State| {
        if let Event::Message(msg) = event {
            println!("server: got {:?}; closing the peer", msg);
            // Closing the peer's socket ends its connection: the monitor
            // reports the disconnect.
            state.peer = None;
        }
    })?;

    let peer = ctx.socket(zmq::SocketType::Push)?;
    // The message goes out before close; never wait at close.
    peer.set_linger(0)?;
    peer.connect(&endpoint)?;
    peer.send("hello from the peer", 0)?;

    let mut state = State {
        peer: Some(peer),
        connected: false,
        disconnected: false,
        stop: event_loop.get_signal(),
    };
    handle.insert_source(
        Timer::from_duration(Duration::from_secs(10)),
        |_, _, state: &mut State| {
            eprintln!("timed out waiting for the peer's disconnect");
            state.stop.stop();
            TimeoutAction::Drop
        },
    )?;
    println!("server on {endpoint}");
    event_loop.run(None, &mut state, |_| {})?;
    if !(state.connected && state.disconnected) {
        return Err(format!(
            "expected a connect and a disconnect (connected: {}, disconnected: {})",
            state.connected, state.disconnected
        )
        .into());
    }
    println!("done: saw the peer connect and disconnect");
    Ok(())
}
