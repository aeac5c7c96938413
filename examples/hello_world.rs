//! The ZeroMQ guide's "hello world" (hwserver + hwclient) as calloop programs.
//!
//! The server runs on its own thread with its own event loop, as it would in
//! its own process: a REP socket that answers every "Hello" with "World". The
//! guide's server sleeps a second to "do some work"; this one never blocks its
//! loop: the handler starts a calloop timer and the timer sends the reply
//! through the source's [`Sender`]. A SIGINT/SIGTERM source sits beside the
//! socket so Ctrl-C stops it cleanly.
//!
//! The client, on the main thread, sends ten requests one after the other and
//! prints each reply, then tells the server to stop.
//!
//! Run with `cargo run --example hello_world`; it finishes by itself.

use std::time::Duration;

use calloop_zmq::calloop::signals::{Signal, Signals};
use calloop_zmq::calloop::timer::{TimeoutAction, Timer};
use calloop_zmq::calloop::{EventLoop, LoopSignal};
use calloop_zmq::{Event, Sender, ZmqSource, zmq};

const REQUESTS: u32 = 10;
/// How long the server "works" on each request (the guide sleeps 1 s).
const WORK: Duration = Duration::from_millis(20);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    // Signals are blocked per thread, and threads inherit the mask: set the
    // source up before spawning anything so no other thread takes Ctrl-C.
    let signals = Signals::new(&[Signal::SIGINT, Signal::SIGTERM])?;

    let ctx = zmq::Context::new();
    let server_socket = ctx.socket(zmq::SocketType::Rep)?;
    server_socket.bind("tcp://127.0.0.1:*")?;
    let endpoint = server_socket.last_endpoint()?;
    println!("server: listening on {endpoint}");

    // The server thread hands its LoopSignal back so main can stop it.
    let (stop_tx, stop_rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || serve(server_socket, stop_tx));
    let server_stop: LoopSignal = stop_rx.recv_timeout(Duration::from_secs(5))?;

    let result = client(&ctx, &endpoint, signals);
    server_stop.stop();
    server_stop.wakeup();
    let answered = server.join().map_err(|_| "server thread panicked")??;
    println!("server: answered {answered} requests, stopped");
    let replies = result?;
    if replies != REQUESTS {
        return Err(format!("client got {replies} of {REQUESTS} replies").into());
    }
    Ok(())
}

/// hwserver: one REP socket, replies delayed by a timer.
fn serve(
    socket: zmq::Socket,
    stop_tx: std::sync::mpsc::Sender<LoopSignal>,
) -> Result<u32, BoxError> {
    struct Server {
        answered: u32,
    }
    let mut event_loop: EventLoop<Server> = EventLoop::try_new()?;
    let handle = event_loop.handle();
    let source = ZmqSource::new(socket)?;
    let replies: Sender = source.sender();
    let timers = handle.clone();
    source
        .insert(&handle, move |event, _, _: &mut Server| match event {
            Event::Message(request) => {
                println!("server: received {:?}", request.frame_str(0).unwrap_or("?"));
                // "Do some work" without blocking: reply when the timer fires.
                let replies = replies.clone();
                let inserted = timers.insert_source(Timer::from_duration(WORK), move |_, _, s| {
                    match replies.try_send("World") {
                        Ok(()) => s.answered += 1,
                        Err(e) => eprintln!("server: {e}"),
                    }
                    TimeoutAction::Drop
                });
                if let Err(e) = inserted {
                    eprintln!("server: cannot start the work timer: {}", e.error);
                }
            }
            Event::SendFailed(f) => eprintln!("server: reply refused: {}", f.error),
            _ => {}
        })
        .map_err(calloop_zmq::Error::from)?;
    stop_tx.send(event_loop.get_signal())?;
    let mut state = Server { answered: 0 };
    event_loop.run(None, &mut state, |_| {})?;
    Ok(state.answered)
}

/// hwclient: ten requests in lockstep, on the main thread's loop.
fn client(ctx: &zmq::Context, endpoint: &str, signals: Signals) -> Result<u32, BoxError> {
    struct Client {
        sender: Sender,
        replies: u32,
        stop: LoopSignal,
    }
    let mut event_loop: EventLoop<Client> = EventLoop::try_new()?;
    let handle = event_loop.handle();
    let source = ZmqSource::new(ctx.socket(zmq::SocketType::Req)?)?;
    source.connect(endpoint)?;
    let mut state = Client {
        sender: source.sender(),
        replies: 0,
        stop: event_loop.get_signal(),
    };
    source
        .insert(&handle, |event, _, c: &mut Client| {
            if let Event::Message(reply) = event {
                c.replies += 1;
                println!(
                    "client: reply {} {:?}",
                    c.replies,
                    reply.frame_str(0).unwrap_or("?")
                );
                if c.replies == REQUESTS {
                    c.stop.stop();
                } else if let Err(e) = c.sender.try_send("Hello") {
                    eprintln!("client: {e}");
                    c.stop.stop();
                }
            }
        })
        .map_err(calloop_zmq::Error::from)?;
    handle
        .insert_source(signals, |signal, _, c: &mut Client| {
            println!("client: {:?}, stopping", signal.signal());
            c.stop.stop();
        })
        .map_err(|e| e.error)?;
    // Bound the run: a program that waits forever on a dead server is no example.
    handle
        .insert_source(
            Timer::from_duration(Duration::from_secs(10)),
            |_, _, c: &mut Client| {
                eprintln!("client: timed out after {} replies", c.replies);
                c.stop.stop();
                TimeoutAction::Drop
            },
        )
        .map_err(|e| e.error)?;
    state.sender.try_send("Hello")?;
    event_loop.run(None, &mut state, |_| {})?;
    Ok(state.replies)
}
