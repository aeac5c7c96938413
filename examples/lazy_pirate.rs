//! The ZeroMQ guide's Lazy Pirate pattern (lpclient + lpserver): reliable
//! request-reply on the client side, with calloop timers.
//!
//! A REQ socket that never gets its reply is stuck: it may not send again.
//! The Lazy Pirate client therefore waits for each reply at most
//! [`REQUEST_TIMEOUT`] (a calloop timer), and on a timeout throws the socket
//! away, opens a new one and sends the request again, up to [`RETRIES`]
//! times before it gives up on the server.
//!
//! Throwing a source away while its loop runs takes three steps, shown in
//! [`Client::reconnect`]: insert the source through a [`Dispatcher`] so the
//! program keeps a handle on it, remove it from the loop, then take it back
//! with [`Dispatcher::into_source_inner`] and [`ZmqSource::close`] it, which
//! returns the socket and any message it had not sent.
//!
//! The server is a ROUTER on the same loop that drops requests at random,
//! from a seeded generator and never more than [`RETRIES`]` - 1` in a row,
//! so every run is the same and ends by itself: all [`REQUESTS`] answered,
//! with a few retries on the way.
//!
//! Run with `cargo run --example lazy_pirate`; it finishes by itself.

use std::time::{Duration, Instant};

use calloop_zmq::calloop::timer::{TimeoutAction, Timer};
use calloop_zmq::calloop::{Dispatcher, EventLoop, LoopHandle, RegistrationToken};
use calloop_zmq::{Event, SocketHandle, ZmqSource, zmq};

const REQUESTS: u64 = 10;
const REQUEST_TIMEOUT: Duration = Duration::from_millis(100);
/// Attempts per request before the client abandons the server.
const RETRIES: u32 = 3;

type BoxError = Box<dyn std::error::Error>;
type ClientSource<'l> = Dispatcher<'l, ZmqSource, State>;

/// What the callbacks report to the code driving the loop.
#[derive(Default)]
struct State {
    /// Replies the client received, in order.
    replies: Vec<String>,
    /// The sequence number whose timer expired, if any.
    expired: Option<u64>,
    /// Server side: requests seen, dropped, and dropped in a row.
    seen: u64,
    dropped: u64,
    dropped_in_a_row: u32,
    rng: u64,
}

fn main() -> Result<(), BoxError> {
    let ctx = zmq::Context::new();
    let mut event_loop: EventLoop<State> = EventLoop::try_new()?;
    let handle = event_loop.handle();

    let endpoint = start_server(&ctx, &handle)?;
    println!("server: ROUTER on {endpoint}, dropping requests at random");

    let mut state = State {
        rng: 0x1a2b_3c4d_5e6f_7788,
        ..State::default()
    };
    let mut client = Client::connect(&ctx, &endpoint, &handle)?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut retries = 0;

    for seq in 1..=REQUESTS {
        let mut attempts_left = RETRIES;
        client.request(seq, &handle)?;
        loop {
            event_loop.dispatch(Some(REQUEST_TIMEOUT), &mut state)?;
            if Instant::now() > deadline {
                return Err("deadline passed: the example is stuck".into());
            }
            // Keep replies that match the request; a late reply to an older
            // attempt cannot arrive (its socket is gone), but check anyway.
            if let Some(reply) = state.replies.pop() {
                if reply == seq.to_string() {
                    println!("client: server replied OK ({reply})");
                    client.cancel_timer(&handle);
                    break;
                }
                println!("client: malformed reply from server: {reply}");
            }
            if state.expired.take() == Some(seq) {
                attempts_left -= 1;
                if attempts_left == 0 {
                    return Err(format!("server seems to be offline, abandoning at {seq}").into());
                }
                retries += 1;
                println!("client: no response from server, retrying request {seq}");
                client = client.reconnect(&ctx, &endpoint, &handle)?;
                client.request(seq, &handle)?;
            }
        }
    }
    println!(
        "done: {REQUESTS} requests answered, {retries} retries; the server saw {} requests and dropped {}",
        state.seen, state.dropped
    );
    Ok(())
}

/// lpserver: a ROUTER that answers most requests at once and ignores the rest.
fn start_server(ctx: &zmq::Context, handle: &LoopHandle<'_, State>) -> Result<String, BoxError> {
    let server = ZmqSource::new(ctx.socket(zmq::SocketType::Router)?)?;
    server.bind("tcp://127.0.0.1:*")?;
    let endpoint = server.socket().last_endpoint()?;
    server.insert(handle, |event, socket, state: &mut State| {
        let Event::Message(request) = event else {
            return;
        };
        state.seen += 1;
        state.rng ^= state.rng << 13;
        state.rng ^= state.rng >> 7;
        state.rng ^= state.rng << 17;
        // Drop about one request in three, never so many in a row that the
        // client runs out of retries: the run must end the same way each time.
        if state.rng.is_multiple_of(3) && state.dropped_in_a_row < RETRIES - 1 {
            state.dropped += 1;
            state.dropped_in_a_row += 1;
            println!(
                "server: dropping request {:?}",
                request.frame_str(2).unwrap_or("?")
            );
            return;
        }
        state.dropped_in_a_row = 0;
        // [peer id, "", body] goes back as it came: an echo.
        if let Err(e) = socket.send(request) {
            eprintln!("server: {e}");
        }
    })?;
    Ok(endpoint)
}

/// The client's REQ source and its request timer.
struct Client<'l> {
    source: ClientSource<'l>,
    token: RegistrationToken,
    timer: Option<RegistrationToken>,
}

impl<'l> Client<'l> {
    fn connect(
        ctx: &zmq::Context,
        endpoint: &str,
        handle: &LoopHandle<'l, State>,
    ) -> Result<Self, BoxError> {
        let socket = ctx.socket(zmq::SocketType::Req)?;
        // Whatever the old socket still holds when it is closed is moot.
        socket.set_linger(0)?;
        let source = ZmqSource::new(socket)?;
        source.connect(endpoint)?;
        let source =
            Dispatcher::new(
                source,
                |event, _: &mut SocketHandle, state: &mut State| match event {
                    Event::Message(reply) => {
                        state
                            .replies
                            .push(reply.frame_str(0).unwrap_or("<binary>").to_owned());
                    }
                    Event::SendFailed(f) => eprintln!("client: request refused: {}", f.error),
                    _ => {}
                },
            );
        let token = handle.register_dispatcher(source.clone())?;
        Ok(Client {
            source,
            token,
            timer: None,
        })
    }

    /// Sends request `seq` and starts its timer.
    fn request(&mut self, seq: u64, handle: &LoopHandle<'l, State>) -> Result<(), BoxError> {
        self.source.as_source_mut().handle().send(seq.to_string())?;
        let timer = Timer::from_duration(REQUEST_TIMEOUT);
        let token = handle
            .insert_source(timer, move |_, _, state: &mut State| {
                state.expired = Some(seq);
                TimeoutAction::Drop
            })
            .map_err(|e| e.error)?;
        self.timer = Some(token);
        Ok(())
    }

    fn cancel_timer(&mut self, handle: &LoopHandle<'l, State>) {
        if let Some(token) = self.timer.take() {
            handle.remove(token);
        }
    }

    /// Closes this client's socket and opens a new one: the only way to
    /// unstick a REQ socket whose reply will never come.
    fn reconnect(
        mut self,
        ctx: &zmq::Context,
        endpoint: &str,
        handle: &LoopHandle<'l, State>,
    ) -> Result<Self, BoxError> {
        self.cancel_timer(handle);
        handle.remove(self.token);
        let closed = self.source.into_source_inner().close();
        if !closed.undelivered.is_empty() {
            println!(
                "client: {} unsent message(s) discarded with the old socket",
                closed.undelivered.len()
            );
        }
        drop(closed.socket);
        Client::connect(ctx, endpoint, handle)
    }
}
