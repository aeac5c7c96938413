//! Helpers shared by the auth_* tests: one event loop holding an
//! authenticator and any number of recording servers, plus plain clients.
//! The waits underneath are `crate::support`'s.
#![allow(dead_code)]

use calloop_zmq::auth::{AuthConfig, AuthCounts, AuthStats, Authenticator, Decision, Status};
use calloop_zmq::calloop::EventLoop;
use calloop_zmq::{Event, ZmqSource, zmq};

use crate::support::{WAIT, run_until_showing};

/// A message a server received, with what libzmq attached to it.
#[derive(Debug, Clone)]
pub struct Received {
    /// Which server (the tag given to [`World::server`]).
    pub server: &'static str,
    pub body: Vec<Vec<u8>>,
    pub user_id: Option<String>,
    pub role: Option<String>,
}

impl Received {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body.concat()).into_owned()
    }
}

/// Everything the loop saw.
#[derive(Debug, Default)]
pub struct Seen {
    pub received: Vec<Received>,
    pub decisions: Vec<Decision>,
}

impl Seen {
    pub fn texts(&self) -> Vec<String> {
        self.received.iter().map(Received::text).collect()
    }

    pub fn count(&self, status: Status) -> usize {
        self.decisions.iter().filter(|d| d.status == status).count()
    }
}

pub struct World {
    pub ctx: zmq::Context,
    pub event_loop: EventLoop<'static, Seen>,
    pub seen: Seen,
    pub config: AuthConfig,
    pub stats: AuthStats,
}

impl World {
    /// A context, a loop and an authenticator on it with an empty config.
    pub fn new() -> Self {
        let ctx = zmq::Context::new();
        let event_loop: EventLoop<'static, Seen> = EventLoop::try_new().expect("event loop");
        let auth = Authenticator::new(&ctx).expect("bind the ZAP endpoint");
        let config = auth.config();
        let stats = auth.stats();
        auth.insert(&event_loop.handle(), |decision, seen: &mut Seen| {
            seen.decisions.push(decision)
        })
        .expect("insert authenticator");
        Self {
            ctx,
            event_loop,
            seen: Seen::default(),
            config,
            stats,
        }
    }

    /// A PULL server on the loop, set up by `setup` before binding
    /// `endpoint`; returns the bound endpoint. Every message is recorded with
    /// its `User-Id` and `Role` properties.
    pub fn server(
        &mut self,
        tag: &'static str,
        endpoint: &str,
        setup: impl FnOnce(&zmq::Socket),
    ) -> String {
        let socket = self.ctx.socket(zmq::SocketType::Pull).expect("PULL socket");
        socket.set_linger(0).unwrap();
        setup(&socket);
        let source = ZmqSource::new(socket).expect("source");
        source.bind(endpoint).expect("bind server");
        let bound = source.socket().last_endpoint().expect("last endpoint");
        source
            .insert(
                &self.event_loop.handle(),
                move |event, _, seen: &mut Seen| {
                    if let Event::Message(mut msg) = event {
                        let frame = &mut msg.frames_mut()[0];
                        let user_id = frame.gets("User-Id").map(str::to_owned);
                        let role = frame.gets("Role").map(str::to_owned);
                        seen.received.push(Received {
                            server: tag,
                            body: msg.to_vecs(),
                            user_id,
                            role,
                        });
                    }
                },
            )
            .expect("insert server");
        bound
    }

    /// A PUSH client (not on the loop) set up by `setup`, connected to
    /// `endpoint`, that has queued `body` for sending.
    pub fn client(
        &self,
        endpoint: &str,
        body: &str,
        setup: impl FnOnce(&zmq::Socket),
    ) -> zmq::Socket {
        let socket = self.ctx.socket(zmq::SocketType::Push).expect("PUSH socket");
        socket.set_linger(0).unwrap();
        setup(&socket);
        socket.connect(endpoint).expect("connect client");
        // Not immediate: the pipe exists at once, so this queues.
        socket
            .send(body, zmq::DONTWAIT)
            .expect("queue the client's message");
        socket
    }

    /// Dispatches until `done(seen)`; panics naming `what`, and showing
    /// what was seen, after [`WAIT`].
    pub fn wait_for(&mut self, what: &str, done: impl FnMut(&Seen) -> bool) {
        run_until_showing(&mut self.event_loop, &mut self.seen, WAIT, what, done);
    }

    /// Waits for the `n`th denial.
    pub fn wait_denials(&mut self, n: usize) {
        self.wait_for(&format!("{n} ZAP denial(s)"), |s| {
            s.count(Status::Denied) >= n
        });
    }

    /// Waits until a message with text `body` arrived.
    pub fn wait_message(&mut self, body: &str) {
        self.wait_for(&format!("message {body:?}"), |s| {
            s.received.iter().any(|r| r.text() == body)
        });
    }

    pub fn counts(&self) -> AuthCounts {
        self.stats.snapshot()
    }
}

/// Fails `test` loudly when the linked libzmq has no CURVE.
///
/// The default build bundles libzmq 4.3.5 with libsodium, so CURVE is always
/// there: a build without it is broken, and its CURVE tests must fail, never
/// pass as skipped.
pub fn require_curve(test: &str) {
    assert!(
        calloop_zmq::auth::curve_available(),
        "{test}: this libzmq has no CURVE (zmq::has(\"curve\") is false, libzmq {:?}); \
         the default build bundles libzmq 4.3.5 with libsodium (the `curve` feature), \
         so this build is missing it",
        zmq::version()
    );
}
