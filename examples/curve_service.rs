//! A CURVE-secured REQ/REP service and its authenticator on one event loop.
//!
//! The server admits one client key (named "client-1"); that client sends
//! three requests and the server greets it by the `User-Id` the authenticator
//! gave it. An intruder with a key of its own is turned away at the
//! handshake, and the program exits once both have happened.
//!
//! Run with `cargo run --example curve_service`; it finishes by itself. The
//! default build bundles libzmq 4.3.5 with libsodium, so CURVE is there. A
//! build without it (no `curve` feature, or `system-libzmq` against a libzmq
//! built without libsodium) makes this example fail with a message saying so:
//! it exists to show CURVE working, and a smoke run must not pass without it.

use std::process::ExitCode;
use std::time::Duration;

use calloop_zmq::auth::{Authenticator, Identity, KeyPair, Status, curve_available};
use calloop_zmq::calloop::timer::{TimeoutAction, Timer};
use calloop_zmq::calloop::{EventLoop, LoopSignal};
use calloop_zmq::{Event, Sender, ZmqSource, zmq};

const REQUESTS: u32 = 3;
const DOMAIN: &str = "service";

struct State {
    client: Sender,
    replies: u32,
    denials: u32,
    stop: LoopSignal,
}

impl State {
    fn maybe_stop(&self) {
        if self.replies == REQUESTS && self.denials >= 1 {
            self.stop.stop();
        }
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("curve_service: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    if !curve_available() {
        let (major, minor, patch) = zmq::version();
        return Err(format!(
            "CURVE is not available: the linked libzmq {major}.{minor}.{patch} was built without \
             it (zmq::has(\"curve\") is false). The default build bundles libzmq with CURVE; \
             build with the default `curve` feature, or with `system-libzmq` link a libzmq \
             built with libsodium."
        )
        .into());
    }

    let ctx = zmq::Context::new();
    let mut event_loop: EventLoop<State> = EventLoop::try_new()?;
    let handle = event_loop.handle();

    // Keys: in real life each side loads its own pair from a file
    // (KeyPair::load) and the server's public key is distributed to clients.
    let server_keys = KeyPair::generate()?;
    let client_keys = KeyPair::generate()?;
    let intruder_keys = KeyPair::generate()?;

    // The authenticator first: it must be serving before the server accepts.
    let auth = Authenticator::new(&ctx)?;
    auth.config().add_curve_key_as(
        DOMAIN,
        &client_keys.public().to_z85(),
        Identity::new("client-1"),
    )?;
    auth.insert(&handle, |decision, state: &mut State| {
        println!(
            "auth: {:?} {} from {} ({})",
            decision.status,
            decision.claimed.as_deref().unwrap_or("-"),
            decision.address,
            decision.reason
        );
        if decision.status == Status::Denied {
            state.denials += 1;
            state.maybe_stop();
        }
    })?;

    // The server: a REP socket that greets each client by its User-Id.
    let server_socket = ctx.socket(zmq::SocketType::Rep)?;
    server_keys.configure_server(&server_socket)?;
    server_socket.set_zap_domain(DOMAIN)?;
    let server = ZmqSource::new(server_socket)?;
    server.bind("tcp://127.0.0.1:*")?;
    let endpoint = server.socket().last_endpoint()?;
    server.insert(&handle, |event, socket, _| {
        if let Event::Message(request) = event {
            let user = request
                .frames()
                .first()
                .and_then(|frame| frame.gets("User-Id"))
                .unwrap_or("<nobody>")
                .to_owned();
            let body = request.frame_str(0).unwrap_or("<binary>").to_owned();
            if let Err(e) = socket.send(format!("hello {user}, you said {body:?}")) {
                eprintln!("server: {e}");
            }
        }
    })?;

    // The client: on the same loop, sends the next request on each reply.
    let client_socket = ctx.socket(zmq::SocketType::Req)?;
    client_keys.configure_client(&client_socket, server_keys.public())?;
    let client = ZmqSource::new(client_socket)?;
    client.connect(&endpoint)?;
    let mut state = State {
        client: client.sender(),
        replies: 0,
        denials: 0,
        stop: event_loop.get_signal(),
    };
    client.insert(&handle, |event, _, state: &mut State| {
        if let Event::Message(reply) = event {
            state.replies += 1;
            println!("client: {}", reply.frame_str(0).unwrap_or("<binary>"));
            if state.replies < REQUESTS
                && let Err(e) = state
                    .client
                    .try_send(format!("request {}", state.replies + 1))
            {
                eprintln!("client: {e}");
                state.stop.stop();
            }
            state.maybe_stop();
        }
    })?;
    state.client.try_send("request 1")?;

    // The intruder: right server key, unknown client key. Its request stays
    // queued on its side; the handshake is refused, nothing reaches the server.
    let intruder = ctx.socket(zmq::SocketType::Req)?;
    intruder.set_linger(0)?;
    intruder_keys.configure_client(&intruder, server_keys.public())?;
    intruder.connect(&endpoint)?;
    intruder.send("let me in", zmq::DONTWAIT)?;

    println!(
        "CURVE service on {endpoint}, server key {}",
        server_keys.public()
    );
    let timeout = Timer::from_duration(Duration::from_secs(10));
    handle.insert_source(timeout, |_, _, state: &mut State| {
        eprintln!(
            "timed out with {} replies and {} denials",
            state.replies, state.denials
        );
        state.stop.stop();
        TimeoutAction::Drop
    })?;
    event_loop.run(None, &mut state, |_| {})?;

    if state.replies != REQUESTS || state.denials == 0 {
        return Err(format!(
            "expected {REQUESTS} replies and a denial, got {} and {}",
            state.replies, state.denials
        )
        .into());
    }
    println!(
        "done: {REQUESTS} authenticated round trips, intruder refused {} time(s)",
        state.denials
    );
    Ok(())
}
