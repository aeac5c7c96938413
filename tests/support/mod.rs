//! Helpers every kind of integration test shares: the bound on any single
//! wait, a loop driver that fails loudly, loopback tcp and temp-dir ipc
//! endpoints, connected socket pairs, and child processes ended by PID.
//!
//! Each test file includes it with `mod support;`. The family modules
//! (`auth_common`, `patterns_util`, `reliability_common`) build on it through
//! `crate::support` and hold only what their own tests need.
#![allow(dead_code)]

use std::fmt::Debug;
use std::future::poll_fn;
use std::process::{Command, ExitStatus};
use std::task::Poll;
use std::time::{Duration, Instant};

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::{Event, SocketHandle, ZmqSource, zmq};
use tempfile::TempDir;

/// A boxed callback, for sources inserted through a `calloop::Dispatcher`.
pub type Callback<D> = Box<dyn FnMut(Event, &mut SocketHandle, &mut D)>;

/// Generous bound for any single wait: long enough for a loaded machine
/// (two cores shared by several builds), short enough that a hang fails the
/// test instead of the whole CI run.
pub const WAIT: Duration = Duration::from_secs(30);

/// The longest a single `dispatch` sleeps while waiting, so a deadline is
/// checked often and honoured closely.
const TICK: Duration = Duration::from_millis(20);

/// Dispatches `event_loop` until `done(data)` holds; panics naming `what` if
/// it does not within [`WAIT`] or a dispatch fails.
pub fn run_until<D>(
    event_loop: &mut EventLoop<'_, D>,
    data: &mut D,
    what: &str,
    done: impl FnMut(&D) -> bool,
) {
    run_until_within(event_loop, data, WAIT, what, done);
}

/// [`run_until`] with its own bound, for runs longer than one wait (soaks,
/// restarts).
pub fn run_until_within<D>(
    event_loop: &mut EventLoop<'_, D>,
    data: &mut D,
    limit: Duration,
    what: &str,
    done: impl FnMut(&D) -> bool,
) {
    dispatch_until(event_loop, data, limit, what, done, |_| String::new());
}

/// [`run_until_within`] for loop data that records what was seen (or how
/// far the run got): a timeout shows it.
pub fn run_until_showing<D: Debug>(
    event_loop: &mut EventLoop<'_, D>,
    data: &mut D,
    limit: Duration,
    what: &str,
    done: impl FnMut(&D) -> bool,
) {
    dispatch_until(event_loop, data, limit, what, done, |d| {
        format!("; saw {d:#?}")
    });
}

fn dispatch_until<D>(
    event_loop: &mut EventLoop<'_, D>,
    data: &mut D,
    limit: Duration,
    what: &str,
    mut done: impl FnMut(&D) -> bool,
    show: impl Fn(&D) -> String,
) {
    let deadline = Instant::now() + limit;
    while !done(data) {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            panic!(
                "timed out after {limit:?} waiting for: {what}{}",
                show(data)
            );
        };
        event_loop
            .dispatch(Some(left.min(TICK)), data)
            .unwrap_or_else(|e| panic!("dispatch failed while waiting for {what}: {e}"));
    }
}

/// A blocking receive bounded by [`WAIT`].
pub fn recv_within(socket: &zmq::Socket, what: &str) -> Vec<Vec<u8>> {
    let ready = socket
        .poll(zmq::POLLIN, WAIT.as_millis() as i64)
        .expect("poll");
    assert!(
        ready.contains(zmq::POLLIN),
        "timed out after {WAIT:?} waiting for: {what}"
    );
    socket.recv_multipart(0).expect("recv")
}

/// Returns `Pending` once (asking to be polled again), so calloop's executor
/// lets the rest of the loop run before the task goes on.
pub async fn yield_now() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// A tcp loopback endpoint that `socket` bound on an ephemeral port.
pub fn bind_tcp(socket: &zmq::Socket) -> String {
    socket.bind("tcp://127.0.0.1:*").expect("bind tcp loopback");
    socket.last_endpoint().expect("last endpoint")
}

/// `tcp://127.0.0.1:<port>` for a port the kernel just handed out and that
/// nobody listens on any more (the probe holding it is closed): for a connect
/// that must retry, or a peer that must come back on a known port.
pub fn unused_tcp_endpoint() -> String {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback probe");
    format!("tcp://{}", probe.local_addr().expect("the probe's address"))
}

/// A fresh temporary directory for ipc socket files, removed on drop.
pub struct IpcDir {
    dir: TempDir,
}

impl IpcDir {
    /// A new, empty directory.
    pub fn new() -> IpcDir {
        let dir = tempfile::Builder::new()
            .prefix("calloop-zmq-ipc")
            .tempdir()
            .unwrap_or_else(|e| panic!("create a temp dir for ipc endpoints: {e}"));
        IpcDir { dir }
    }

    /// `ipc://<dir>/<name>`.
    pub fn endpoint(&self, name: &str) -> String {
        format!("ipc://{}/{name}", self.dir.path().display())
    }
}

/// A source of `kind` bound to `endpoint`, and a plain `peer` socket
/// connected to it.
pub fn source_bound(
    ctx: &zmq::Context,
    kind: zmq::SocketType,
    endpoint: &str,
    peer: zmq::SocketType,
) -> (ZmqSource, zmq::Socket) {
    let source = ZmqSource::new(ctx.socket(kind).unwrap()).unwrap();
    source.bind(endpoint).unwrap();
    let peer = ctx.socket(peer).unwrap();
    peer.connect(endpoint).unwrap();
    (source, peer)
}

/// A plain `peer` socket bound to `endpoint`, and a source of `kind`
/// connected to it.
pub fn source_connected(
    ctx: &zmq::Context,
    kind: zmq::SocketType,
    endpoint: &str,
    peer: zmq::SocketType,
) -> (ZmqSource, zmq::Socket) {
    let peer = ctx.socket(peer).unwrap();
    peer.bind(endpoint).unwrap();
    let source = ZmqSource::new(ctx.socket(kind).unwrap()).unwrap();
    source.connect(endpoint).unwrap();
    (source, peer)
}

/// A PUSH source with no peer (and no pipe until one connects, linger 0):
/// every message it is given stays queued in its outbox.
pub fn stuck_push(ctx: &zmq::Context, capacity: usize) -> ZmqSource {
    let socket = ctx.socket(zmq::SocketType::Push).unwrap();
    socket.set_immediate(true).unwrap();
    socket.set_linger(0).unwrap();
    let source = ZmqSource::builder(socket)
        .outbox_capacity(capacity)
        .build()
        .unwrap();
    source.connect("tcp://127.0.0.1:1").unwrap(); // nobody listens
    source
}

/// A child process killed by PID if the test ends before it does.
pub struct Child {
    pub inner: std::process::Child,
}

impl Child {
    /// Starts `cmd`; `what` names it if that fails.
    pub fn spawn(cmd: &mut Command, what: &str) -> Child {
        Child {
            inner: cmd.spawn().unwrap_or_else(|e| panic!("spawn {what}: {e}")),
        }
    }

    /// Re-runs this test binary with only `test_name`, with `envs` set: the
    /// named test sees the variables and plays the peer.
    pub fn spawn_self(test_name: &str, envs: &[(&str, String)]) -> Child {
        let exe = std::env::current_exe().expect("current_exe");
        let mut cmd = Command::new(exe);
        cmd.args([test_name, "--exact", "--nocapture", "--test-threads=1"]);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.stdout(std::process::Stdio::null());
        Child::spawn(&mut cmd, "child test process")
    }

    pub fn pid(&self) -> u32 {
        self.inner.id()
    }

    /// SIGKILL by PID, then reap.
    pub fn kill(&mut self) {
        let _ = self.inner.kill();
        let _ = self.inner.wait();
    }

    /// Waits up to `limit` for the child to exit and returns how it ended;
    /// kills it and panics naming `what` if it is still running.
    pub fn wait_within(&mut self, limit: Duration, what: &str) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.inner.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() > deadline {
                self.kill();
                panic!("{what}: child still running after {limit:?}, killed");
            }
            // No readiness to wait on for a child's exit: poll it, bounded.
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits up to `limit` for the child to exit successfully; kills it and
    /// panics if it does not.
    pub fn wait_ok(&mut self, limit: Duration, what: &str) {
        let status = self.wait_within(limit, what);
        assert!(status.success(), "{what}: child exited with {status}");
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(None) = self.inner.try_wait() {
            self.kill();
        }
    }
}

/// Runs `task` on calloop's executor in `event_loop` until it returns, and
/// gives its output (bounded by [`run_until`]'s timeout).
pub fn run_task<T: 'static>(
    event_loop: &mut EventLoop<'static, Option<T>>,
    task: impl std::future::Future<Output = T> + 'static,
    what: &str,
) -> T {
    let (exec, scheduler) = calloop_zmq::calloop::futures::executor().unwrap();
    event_loop
        .handle()
        .insert_source(exec, |out, _, slot: &mut Option<T>| *slot = Some(out))
        .unwrap();
    scheduler.schedule(task).unwrap();
    let mut out = None;
    run_until(event_loop, &mut out, what, Option::is_some);
    out.unwrap()
}
