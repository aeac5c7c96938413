//! REQ/REP echo on one event loop: a server replies from inside its handler,
//! a client sends ten requests one after another, then the program exits.
//!
//! Run with `cargo run --example quickstart`.

use std::time::Duration;

use calloop_zmq::calloop::{EventLoop, LoopSignal};
use calloop_zmq::{Event, Sender, ZmqSource, zmq};

const REQUESTS: u32 = 10;

struct Client {
    sender: Sender,
    replies: u32,
    stop: LoopSignal,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ctx = zmq::Context::new();
    let mut event_loop: EventLoop<Client> = EventLoop::try_new()?;
    let handle = event_loop.handle();

    // The server: echo every request straight back from the handler.
    let server = ZmqSource::new(ctx.socket(zmq::SocketType::Rep)?)?;
    server.bind("tcp://127.0.0.1:*")?;
    let endpoint = server.socket().last_endpoint()?;
    server.insert(&handle, |event, socket, _| match event {
        Event::Message(request) => {
            if let Err(e) = socket.send(request) {
                eprintln!("server: {e}");
            }
        }
        Event::SendFailed(failure) => eprintln!("server: reply refused: {}", failure.error),
        _ => {}
    })?;

    // The client: print each reply and send the next request.
    let client = ZmqSource::new(ctx.socket(zmq::SocketType::Req)?)?;
    client.connect(&endpoint)?;
    let mut state = Client {
        sender: client.sender(),
        replies: 0,
        stop: event_loop.get_signal(),
    };
    client.insert(&handle, |event, _, state: &mut Client| {
        if let Event::Message(reply) = event {
            state.replies += 1;
            println!(
                "reply {}: {}",
                state.replies,
                reply.frame_str(0).unwrap_or("<binary>")
            );
            if state.replies == REQUESTS {
                state.stop.stop();
            } else if let Err(e) = state
                .sender
                .try_send(format!("hello {}", state.replies + 1))
            {
                eprintln!("client: {e}");
                state.stop.stop();
            }
        }
    })?;

    println!("echo server on {endpoint}");
    state.sender.try_send("hello 1")?;
    // A timer on the same loop bounds the run, in case the server never answers.
    let timeout = calloop_zmq::calloop::timer::Timer::from_duration(Duration::from_secs(10));
    handle.insert_source(timeout, |_, _, state: &mut Client| {
        eprintln!("timed out after {} replies", state.replies);
        state.stop.stop();
        calloop_zmq::calloop::timer::TimeoutAction::Drop
    })?;
    event_loop.run(None, &mut state, |_| {})?;
    if state.replies != REQUESTS {
        return Err(format!("only {} of {REQUESTS} replies", state.replies).into());
    }
    println!("done: {REQUESTS} round trips");
    Ok(())
}
