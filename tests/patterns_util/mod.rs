//! Helpers for the socket-pattern matrix in `tests/patterns.rs`.
//!
//! A [`Case`] is one cell of the matrix: a pattern over a transport. It owns
//! the ZeroMQ context, hands out endpoints of its transport (an inproc name, an
//! ipc path inside its own temporary directory, or a tcp loopback port picked
//! by the kernel) and names itself in every failure message, so a red test
//! says which pattern broke over which transport. The waits and endpoints
//! underneath are `crate::support`'s.
#![allow(dead_code)]

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::JoinHandle;

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::{Event, Multipart, SocketHandle, Stats, StatsSnapshot, ZmqSource, zmq};

use crate::support::{IpcDir, WAIT, run_until};

/// A ZeroMQ transport the matrix runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// In-process pipes; both ends share the case's context.
    Inproc,
    /// Unix domain sockets in a fresh temporary directory.
    Ipc,
    /// tcp on 127.0.0.1 with a kernel-chosen port.
    Tcp,
}

impl Transport {
    /// Every transport, in the order the matrix lists them.
    pub const ALL: [Transport; 3] = [Transport::Inproc, Transport::Ipc, Transport::Tcp];

    /// The transport a test-name identifier (`inproc`, `ipc`, `tcp`) stands for.
    pub fn from_name(name: &str) -> Transport {
        Transport::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .unwrap_or_else(|| panic!("no transport called {name:?}"))
    }

    /// The URL scheme, also used in test names.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Inproc => "inproc",
            Transport::Ipc => "ipc",
            Transport::Tcp => "tcp",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One cell of the matrix: a pattern over a transport, with its context and,
/// for ipc, the temporary directory its socket files live in.
pub struct Case {
    pub pattern: &'static str,
    pub transport: Transport,
    pub ctx: zmq::Context,
    dir: Option<IpcDir>,
}

/// Inproc names are global to a context; a process-wide counter keeps them
/// unique even if a context were ever shared.
static NEXT_NAME: AtomicU32 = AtomicU32::new(0);

impl Case {
    /// A new case with a fresh context.
    pub fn new(pattern: &'static str, transport: Transport) -> Case {
        let dir = (transport == Transport::Ipc).then(IpcDir::new);
        Case {
            pattern,
            transport,
            ctx: zmq::Context::new(),
            dir,
        }
    }

    /// `"<pattern> over <transport>: <step>"`, for failure messages.
    pub fn step(&self, step: &str) -> String {
        format!("{self}: {step}")
    }

    /// A raw socket of `kind` in this case's context.
    pub fn socket(&self, kind: zmq::SocketType) -> zmq::Socket {
        self.ctx
            .socket(kind)
            .unwrap_or_else(|e| panic!("{self}: create a {kind:?} socket: {e}"))
    }

    /// A socket of `kind` wrapped as a source with default settings.
    pub fn source(&self, kind: zmq::SocketType) -> ZmqSource {
        self.wrap(self.socket(kind))
    }

    /// Wraps an already configured socket as a source.
    pub fn wrap(&self, socket: zmq::Socket) -> ZmqSource {
        ZmqSource::new(socket).unwrap_or_else(|e| panic!("{self}: build the source: {e}"))
    }

    /// A socket for a blocking peer thread: every send and receive on it
    /// times out after [`WAIT`] instead of hanging, and closing it lingers at
    /// most that long.
    pub fn peer_socket(&self, kind: zmq::SocketType) -> zmq::Socket {
        let socket = self.socket(kind);
        let ms = WAIT.as_millis() as i32;
        socket.set_rcvtimeo(ms).expect("set ZMQ_RCVTIMEO");
        socket.set_sndtimeo(ms).expect("set ZMQ_SNDTIMEO");
        socket.set_linger(ms).expect("set ZMQ_LINGER");
        socket
    }

    /// Binds `socket` to a fresh endpoint of this case's transport and returns
    /// the endpoint a peer connects to (for tcp, with the real port that
    /// `tcp://127.0.0.1:*` resolved to).
    pub fn bind(&self, socket: &zmq::Socket) -> String {
        let n = NEXT_NAME.fetch_add(1, Ordering::Relaxed);
        let slug: String = self
            .pattern
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let endpoint = match self.transport {
            Transport::Inproc => format!("inproc://{slug}-{n}"),
            Transport::Ipc => {
                let dir = self.dir.as_ref().expect("ipc cases own a temp dir");
                dir.endpoint(&format!("{n}.sock"))
            }
            Transport::Tcp => "tcp://127.0.0.1:*".to_owned(),
        };
        socket
            .bind(&endpoint)
            .unwrap_or_else(|e| panic!("{self}: {e}"));
        socket
            .last_endpoint()
            .unwrap_or_else(|e| panic!("{self}: read the bound endpoint: {e}"))
    }

    /// Connects `socket` to `endpoint`, failing with the case's name.
    pub fn connect(&self, socket: &zmq::Socket, endpoint: &str) {
        socket
            .connect(endpoint)
            .unwrap_or_else(|e| panic!("{self}: {e}"));
    }

    /// Dispatches until `done(data)` holds, for at most [`WAIT`].
    pub fn run_until<D>(
        &self,
        event_loop: &mut EventLoop<'_, D>,
        data: &mut D,
        step: &str,
        done: impl FnMut(&D) -> bool,
    ) {
        run_until(event_loop, data, &self.step(step), done);
    }

    /// Spawns a blocking peer on its own thread; see [`Peer`].
    pub fn spawn_peer<T: Send + 'static>(
        &self,
        role: &str,
        body: impl FnOnce() -> T + Send + 'static,
    ) -> Peer<T> {
        let label = self.step(role);
        let handle = std::thread::Builder::new()
            .name(format!("peer {label}"))
            .spawn(body)
            .unwrap_or_else(|e| panic!("{label}: spawn the peer thread: {e}"));
        Peer {
            label,
            handle: Some(handle),
        }
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} over {}", self.pattern, self.transport)
    }
}

/// A blocking peer (a plain `zmq::Socket`) running on its own thread. Its
/// sockets come from [`Case::peer_socket`], so it cannot hang; a panic in it
/// is re-raised, with the case's name, by [`join`](Self::join).
pub struct Peer<T> {
    label: String,
    handle: Option<JoinHandle<T>>,
}

impl<T> Peer<T> {
    /// True once the peer's body returned or panicked.
    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Waits for the peer (call once [`is_finished`](Self::is_finished) says
    /// so) and returns what it returned.
    pub fn join(mut self) -> T {
        let handle = self.handle.take().expect("joined once");
        match handle.join() {
            Ok(value) => value,
            Err(panic) => {
                let why = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(non-text panic)");
                panic!("{} panicked: {why}", self.label)
            }
        }
    }
}

/// Receives one whole message on a peer socket, failing with `what` after
/// the socket's receive timeout.
pub fn peer_recv(socket: &zmq::Socket, what: &str) -> Vec<Vec<u8>> {
    socket
        .recv_multipart(0)
        .unwrap_or_else(|e| panic!("{what}: receive failed: {e}"))
}

/// Sends text `frames` as one message on a peer socket, failing with `what`
/// after the socket's send timeout.
pub fn peer_send<S: AsRef<str>>(socket: &zmq::Socket, frames: &[S], what: &str) {
    let frames = frames.iter().map(|f| f.as_ref().as_bytes());
    socket
        .send_multipart(frames, 0)
        .unwrap_or_else(|e| panic!("{what}: send failed: {e}"));
}

/// Sends from a handler, panicking with `who` if the message is refused.
pub fn must_send(who: &str, socket: &mut SocketHandle, msg: impl Into<Multipart>) {
    socket
        .send(msg)
        .unwrap_or_else(|e| panic!("{who}: send from the handler: {e}"));
}

/// A message built from text frames.
pub fn mp<S: AsRef<str>>(frames: &[S]) -> Multipart {
    frames
        .iter()
        .map(|f| zmq::Frame::from(f.as_ref()))
        .collect()
}

/// Text frames as owned byte vectors, the shape `Multipart::to_vecs` returns.
pub fn vecs<S: AsRef<str>>(frames: &[S]) -> Vec<Vec<u8>> {
    frames
        .iter()
        .map(|f| f.as_ref().as_bytes().to_vec())
        .collect()
}

/// Total payload of text frames, as the byte counters count it.
pub fn bytes<S: AsRef<str>>(frames: &[S]) -> u64 {
    frames.iter().map(|f| f.as_ref().len() as u64).sum()
}

/// Total payload of messages `0..n`, each made by `frames(i)`.
pub fn total_bytes<S: AsRef<str>>(n: usize, frames: impl Fn(usize) -> Vec<S>) -> u64 {
    (0..n).map(|i| bytes(&frames(i))).sum()
}

/// The message inside `event`; panics naming `who` on anything else.
pub fn expect_message(who: &str, event: Event) -> Multipart {
    match event {
        Event::Message(msg) => msg,
        other => panic!("{who}: expected a message, got {other:?}"),
    }
}

/// Checks every read accessor of `msg` against the text frames it should
/// hold, so each pattern also proves frames arrive whole and in order.
pub fn check_frames<S: AsRef<str>>(who: &str, msg: &Multipart, expected: &[S]) {
    let expected: Vec<&str> = expected.iter().map(AsRef::as_ref).collect();
    assert_eq!(msg.to_vecs(), vecs(&expected), "{who}: frames (to_vecs)");
    assert_eq!(msg.len(), expected.len(), "{who}: frame count");
    assert_eq!(msg.is_empty(), expected.is_empty(), "{who}: is_empty");
    assert_eq!(msg.byte_len() as u64, bytes(&expected), "{who}: byte_len");
    for (i, want) in expected.iter().enumerate() {
        assert_eq!(msg.frame_str(i), Some(*want), "{who}: frame_str({i})");
        assert_eq!(msg.frame(i), Some(want.as_bytes()), "{who}: frame({i})");
        assert_eq!(&msg[i], want.as_bytes(), "{who}: msg[{i}]");
    }
    assert_eq!(
        msg.frame_str(expected.len()),
        None,
        "{who}: frame_str past the end"
    );
    assert_eq!(msg.frame(expected.len()), None, "{who}: frame past the end");
    assert_eq!(
        msg.first(),
        expected.first().map(|f| f.as_bytes()),
        "{who}: first"
    );
    assert_eq!(
        msg.last(),
        expected.last().map(|f| f.as_bytes()),
        "{who}: last"
    );
    let iterated: Vec<&[u8]> = msg.iter().collect();
    let wanted: Vec<&[u8]> = expected.iter().map(|f| f.as_bytes()).collect();
    assert_eq!(iterated, wanted, "{who}: iter");
}

/// The traffic counters a pattern test checks after its run. Build the
/// expectation with [`received`](Self::received), [`sent`](Self::sent) and
/// [`failed`](Self::failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Traffic {
    pub messages_in: u64,
    pub bytes_in: u64,
    pub messages_out: u64,
    pub bytes_out: u64,
    pub send_failures: u64,
}

impl Traffic {
    /// Nothing in, nothing out, no failures.
    pub fn none() -> Traffic {
        Traffic::default()
    }

    /// Expects `messages` received carrying `bytes` of payload in all.
    pub fn received(self, messages: usize, bytes: u64) -> Traffic {
        Traffic {
            messages_in: messages as u64,
            bytes_in: bytes,
            ..self
        }
    }

    /// Expects `messages` sent carrying `bytes` of payload in all.
    pub fn sent(self, messages: usize, bytes: u64) -> Traffic {
        Traffic {
            messages_out: messages as u64,
            bytes_out: bytes,
            ..self
        }
    }

    /// Expects `messages` refused by libzmq and handed back.
    pub fn failed(self, messages: usize) -> Traffic {
        Traffic {
            send_failures: messages as u64,
            ..self
        }
    }
}

impl From<StatsSnapshot> for Traffic {
    fn from(s: StatsSnapshot) -> Traffic {
        Traffic {
            messages_in: s.messages_in,
            bytes_in: s.bytes_in,
            messages_out: s.messages_out,
            bytes_out: s.bytes_out,
            send_failures: s.send_failures,
        }
    }
}

/// Asserts a source's counters, naming `who` and showing both sides on failure.
pub fn assert_traffic(who: &str, stats: &Stats, want: Traffic) {
    let got = Traffic::from(stats.snapshot());
    assert_eq!(got, want, "{who}: stats counters");
}
