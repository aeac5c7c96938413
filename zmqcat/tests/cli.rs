//! End-to-end tests: the zmqcat binary driven through std::process, against
//! itself and against peers built on calloop-zmq, over loopback tcp and ipc
//! in a temporary directory.
//!
//! Every wait has a deadline and fails loudly; every child is killed by its
//! PID when a test fails (see [`Proc`]'s `Drop`).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use calloop_zmq::calloop::{EventLoop, LoopSignal};
use calloop_zmq::{Event, ZmqSource, zmq};

const WAIT: Duration = Duration::from_secs(20);

/// A running zmqcat with its output read on background threads.
struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout_lines: mpsc::Receiver<String>,
    stderr_lines: mpsc::Receiver<String>,
    readers: Vec<JoinHandle<()>>,
}

fn lines_of(stream: impl Read + Send + 'static) -> (mpsc::Receiver<String>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (rx, reader)
}

impl Proc {
    fn start(args: &[&str]) -> Proc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zmqcat"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn zmqcat");
        let (stdout_lines, out) = lines_of(child.stdout.take().unwrap());
        let (stderr_lines, err) = lines_of(child.stderr.take().unwrap());
        Proc {
            stdin: child.stdin.take(),
            child,
            stdout_lines,
            stderr_lines,
            readers: vec![out, err],
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn write(&mut self, data: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin
            .write_all(data.as_bytes())
            .expect("write zmqcat's stdin");
        stdin.flush().expect("flush zmqcat's stdin");
    }

    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The next stderr line that starts with `prefix`, within the deadline.
    fn stderr_line(&self, prefix: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr_lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(e) => panic!("no stderr line starting with {prefix:?} ({e})"),
            }
        }
    }

    /// The endpoint the process reports having bound.
    fn bound_endpoint(&self) -> String {
        let line = self.stderr_line("zmqcat: bound to ");
        line.trim_start_matches("zmqcat: bound to ").to_owned()
    }

    fn stdout_line(&self) -> String {
        self.stdout_lines
            .recv_timeout(WAIT)
            .expect("a line on zmqcat's stdout in time")
    }

    /// Waits for the exit, then returns the status, all remaining stdout lines
    /// and all remaining stderr as one string.
    fn finish(mut self) -> (ExitStatus, Vec<String>, String) {
        self.close_stdin();
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "zmqcat (pid {}) did not exit within {WAIT:?}",
                self.pid()
            );
            // Polling a child's exit; no synchronisation rides on this pause.
            std::thread::sleep(Duration::from_millis(10));
        };
        for reader in self.readers.drain(..) {
            reader.join().expect("reader thread");
        }
        let out = self.stdout_lines.try_iter().collect();
        let err = self.stderr_lines.try_iter().collect::<Vec<_>>().join("\n");
        (status, out, err)
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} {} failed", self.pid());
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // Only children of this test, by PID; harmless if already reaped.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs zmqcat to completion with the given stdin (for argument errors).
fn run_to_end(args: &[&str]) -> (ExitStatus, String) {
    let mut p = Proc::start(args);
    p.close_stdin();
    let (status, _, err) = p.finish();
    (status, err)
}

/// A calloop-zmq peer on its own thread, stopped and joined on drop.
struct Peer {
    stop: LoopSignal,
    thread: Option<JoinHandle<()>>,
}

impl Peer {
    /// Binds `socket` on tcp loopback, runs `handler` on each message.
    fn start<F>(
        kind: zmq::SocketType,
        setup: impl FnOnce(&zmq::Socket),
        handler: F,
    ) -> (Peer, String)
    where
        F: FnMut(Event, &mut calloop_zmq::SocketHandle, &mut ()) + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        let ctx = zmq::Context::new();
        let socket = ctx.socket(kind).unwrap();
        setup(&socket);
        let thread = std::thread::spawn(move || {
            let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
            let source = ZmqSource::new(socket).unwrap();
            source.bind("tcp://127.0.0.1:*").unwrap();
            let endpoint = source.socket().last_endpoint().unwrap();
            source.insert(&event_loop.handle(), handler).unwrap();
            tx.send((event_loop.get_signal(), endpoint)).unwrap();
            event_loop.run(None, &mut (), |_| {}).unwrap();
        });
        let (stop, endpoint) = rx.recv_timeout(WAIT).expect("peer started");
        (
            Peer {
                stop,
                thread: Some(thread),
            },
            endpoint,
        )
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop.stop();
        self.stop.wakeup();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn push_pipes_lines_to_pull_over_tcp() {
    let pull = Proc::start(&[
        "pull",
        "--bind",
        "tcp://127.0.0.1:*",
        "--count",
        "100",
        "--timeout",
        "20s",
    ]);
    let endpoint = pull.bound_endpoint();
    assert!(endpoint.starts_with("tcp://127.0.0.1:"), "{endpoint}");
    let mut push = Proc::start(&["push", "--connect", &endpoint, "--linger", "20s"]);
    // --linger 20s above: stdin ends before the handshake may be done, and
    // zmqcat waits for the peer up to the linger; a busy machine gets time.
    let input: String = (1..=100).map(|i| format!("line {i}\n")).collect();
    push.write(&input);
    let (push_status, _, push_err) = push.finish();
    assert!(push_status.success(), "push failed: {push_err}");
    assert!(push_err.contains("sent 100 messages"), "{push_err}");
    let (status, out, err) = pull.finish();
    assert!(status.success(), "pull failed: {err}");
    let expected: Vec<String> = (1..=100).map(|i| format!("line {i}")).collect();
    assert_eq!(out, expected);
    assert!(err.contains("received 100 of --count 100"), "{err}");
}

#[test]
fn multipart_with_delimiters_over_ipc_as_json_and_hex() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("ipc://{}", dir.path().join("pipe.sock").display());
    let pull = Proc::start(&[
        "pull", "-b", &endpoint, "-n", "3", "-t", "20s", "--format", "json",
    ]);
    pull.bound_endpoint();
    let mut push = Proc::start(&[
        "push", "-c", &endpoint, "-d", "\\0", "-F", "|", "--linger", "20s",
    ]);
    push.write("topic|{\"a\": 1}\0single\0tab\there|\u{e9}|\0");
    let (push_status, _, push_err) = push.finish();
    assert!(push_status.success(), "{push_err}");
    let (status, out, err) = pull.finish();
    assert!(status.success(), "{err}");
    assert_eq!(
        out,
        vec![
            r#"["topic","{\"a\": 1}"]"#,
            r#"["single"]"#,
            r#"["tab\there","é",""]"#,
        ]
    );

    // The same bytes, printed as hex with a custom frame separator.
    let endpoint = format!("ipc://{}", dir.path().join("hex.sock").display());
    let pull = Proc::start(&["pull", "-b", &endpoint, "-n", "1", "-f", "hex", "-F", " "]);
    pull.bound_endpoint();
    let mut push = Proc::start(&["push", "-c", &endpoint, "-F", ",", "--linger", "20s"]);
    push.write("AB,\n");
    push.finish();
    let (status, out, _) = pull.finish();
    assert!(status.success());
    assert_eq!(out, vec!["4142 "]);
}

#[test]
fn req_asks_a_calloop_zmq_rep_server() {
    // A library REP that answers in upper case from its handler.
    let (_peer, endpoint) = Peer::start(
        zmq::SocketType::Rep,
        |_| {},
        |event, socket, _| {
            if let Event::Message(request) = event {
                let reply = request.frame_str(0).unwrap_or("").to_uppercase();
                socket.send(reply).unwrap();
            }
        },
    );
    let mut req = Proc::start(&["req", "--connect", &endpoint, "--timeout", "20s"]);
    req.write("one\ntwo\nthree\n");
    // REQ ends by itself once stdin is done and the last reply is in.
    let (status, out, err) = req.finish();
    assert!(status.success(), "{err}");
    assert_eq!(out, vec!["ONE", "TWO", "THREE"]);
    assert!(err.contains("input done; sent 3 messages"), "{err}");
}

#[test]
fn rep_echo_serves_library_requests_until_sigterm() {
    let rep = Proc::start(&["rep", "--bind", "tcp://127.0.0.1:*", "--echo"]);
    let endpoint = rep.bound_endpoint();
    let ctx = zmq::Context::new();
    let req = ctx.socket(zmq::SocketType::Req).unwrap();
    req.set_rcvtimeo(20_000).unwrap();
    req.set_linger(0).unwrap();
    req.connect(&endpoint).unwrap();
    for i in 0..5 {
        let body = format!("ping {i}");
        req.send_multipart([body.as_bytes(), b"second frame"], 0)
            .unwrap();
        let reply = req.recv_multipart(0).expect("echo within 20 s");
        assert_eq!(reply, vec![body.into_bytes(), b"second frame".to_vec()]);
    }
    // Its stdout shows each request, frames tab-separated.
    assert_eq!(rep.stdout_line(), "ping 0\tsecond frame");
    rep.signal("TERM");
    let (status, out, err) = rep.finish();
    assert!(status.success(), "{err}");
    assert_eq!(out.len(), 4, "{out:?}");
    assert!(err.contains("SIGTERM, shut down"), "{err}");
    assert!(err.contains("received 5 messages"), "{err}");
}

#[test]
fn router_talks_to_a_named_dealer_interactively() {
    let mut router = Proc::start(&["router", "--bind", "tcp://127.0.0.1:*", "--count", "2"]);
    let endpoint = router.bound_endpoint();
    let ctx = zmq::Context::new();
    let dealer = ctx.socket(zmq::SocketType::Dealer).unwrap();
    dealer.set_routing_id(b"peer-1").unwrap();
    dealer.set_rcvtimeo(20_000).unwrap();
    dealer.set_linger(0).unwrap();
    dealer.connect(&endpoint).unwrap();
    dealer.send("hello router", 0).unwrap();
    assert_eq!(router.stdout_line(), "peer-1\thello router");
    // Answer by routing id, then try an unknown one.
    router.write("nobody\tlost\npeer-1\thello dealer\n");
    let reply = dealer.recv_bytes(0).expect("reply within 20 s");
    assert_eq!(reply, b"hello dealer");
    assert!(
        router
            .stderr_line("zmqcat: the socket refused")
            .contains("no connected peer"),
    );
    dealer.send("bye", 0).unwrap();
    let (status, out, err) = router.finish();
    // The message for "nobody" was refused: that is a failure.
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("1 message was refused by the socket"), "{err}");
    assert_eq!(out, vec!["peer-1\tbye"]);
}

#[test]
fn sub_filters_a_library_publisher_and_prints_json() {
    // A library PUB publishing on a timer until the test ends (bounded).
    let ticks = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let ctx = zmq::Context::new();
    let publisher = ctx.socket(zmq::SocketType::Pub).unwrap();
    publisher.set_linger(0).unwrap();
    publisher.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = publisher.last_endpoint().unwrap();
    let sub = Proc::start(&[
        "sub", "-c", &endpoint, "-s", "weather.", "-f", "json", "-n", "3", "-t", "20s",
    ]);
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let counter = ticks.clone();
    let publishing = std::thread::spawn(move || {
        let deadline = Instant::now() + WAIT;
        // SUB joins late (it must connect and subscribe first): publish until
        // the test says stop, bounded by the deadline.
        while Instant::now() < deadline && done_rx.try_recv().is_err() {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            publisher
                .send_multipart([&b"news.x"[..], b"skip me"], 0)
                .unwrap();
            publisher
                .send_multipart([&b"weather.x"[..], &[0xff, n as u8][..]], 0)
                .unwrap();
            // Pacing only: the subscriber's progress decides the test.
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let (status, out, err) = sub.finish();
    let _ = done_tx.send(());
    publishing.join().unwrap();
    assert!(status.success(), "{err}");
    assert_eq!(out.len(), 3, "{out:?}");
    for line in out {
        assert!(line.starts_with(r#"["weather.x",{"hex":"ff"#), "{line}");
    }
}

#[test]
fn sigint_while_waiting_on_stdin_shuts_down_cleanly() {
    let pull = Proc::start(&["pull", "-b", "tcp://127.0.0.1:*", "-n", "3", "-t", "20s"]);
    let endpoint = pull.bound_endpoint();
    let mut push = Proc::start(&["push", "-c", &endpoint]);
    push.write("a\nb\nc\n");
    // The pull has all three once it exits; the push still waits on stdin.
    let (status, out, err) = pull.finish();
    assert!(status.success(), "{err}");
    assert_eq!(out, vec!["a", "b", "c"]);
    push.signal("INT");
    let (status, _, err) = push.finish();
    assert!(status.success(), "{err}");
    assert!(err.contains("SIGINT, shut down; sent 3 messages"), "{err}");
}

#[test]
fn timeout_before_count_is_a_failure() {
    let (status, err) = run_to_end(&["pull", "-b", "tcp://127.0.0.1:*", "-n", "5", "-t", "200ms"]);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("--timeout passed after receiving 0 of --count 5"),
        "{err}"
    );
}

#[test]
fn bad_arguments_fail_with_a_clear_message() {
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["foo", "-b", "tcp://127.0.0.1:*"],
            2,
            "invalid value 'foo'",
        ),
        (
            &["pull", "-b", "5555"],
            2,
            "did you mean tcp://127.0.0.1:5555?",
        ),
        (&["pull", "-c", "tcp://localhost"], 2, "no port"),
        (
            &["pull", "-c", "tpc://127.0.0.1:1"],
            2,
            "unknown transport \"tpc\"",
        ),
        (&["pull"], 2, "give at least one --bind or --connect"),
        (
            &["push", "-c", "tcp://127.0.0.1:1", "-s", "x"],
            2,
            "--subscribe only applies",
        ),
        (
            &["pull", "-b", "tcp://127.0.0.1:1", "-d", "\\q"],
            2,
            "unknown escape",
        ),
        (
            &["pull", "-b", "tcp://127.0.0.1:1", "-t", "soon"],
            2,
            "not a duration",
        ),
        // Endpoints are checked per transport before libzmq sees them.
        (
            &["pull", "-b", "tcp://999.1.1.1:5"],
            2,
            "\"999.1.1.1\" is not an IPv4 address",
        ),
        (
            &["pull", "-b", "tcp://nonsense:xx"],
            2,
            "port \"xx\" is not a number",
        ),
        (
            &["pull", "-b", "tcp://127.0.0.1:"],
            2,
            "no port after the colon",
        ),
        (
            &["pull", "-b", "tcp://127.0.0.1:abc"],
            2,
            "port \"abc\" is not a number",
        ),
        (
            &["pull", "-b", "tcp://127.0.0.1:-5"],
            2,
            "port \"-5\" is not a number",
        ),
        (
            &["pull", "-b", "tcp://127.0.0.1:99999"],
            2,
            "port 99999 is out of range 0-65535",
        ),
        (
            &["push", "-c", "tcp://127.0.0.1:*"],
            2,
            "port * (any free port) only works with --bind",
        ),
        (&["pull", "-b", ":abc"], 2, "has no transport"),
        (&["pull", "-b", ":-5"], 2, "has no transport"),
        (&["pull", "-b", "ipc://"], 2, "has no address after ipc://"),
        (&["pull", "-b", "tcp://[::1]:*"], 2, "add --ipv6"),
        (
            &["pull", "-c", "inproc://"],
            2,
            "has no address after inproc://",
        ),
        // A separator that hex ids use would make printed ids unreadable.
        (
            &["router", "-b", "tcp://127.0.0.1:*", "-F", "x"],
            2,
            "--frame-separator contains 'x'",
        ),
    ];
    for (args, code, message) in cases {
        let (status, err) = run_to_end(args);
        assert_eq!(status.code(), Some(*code), "zmqcat {args:?}: {err}");
        assert!(err.contains(message), "zmqcat {args:?}: {err}");
    }
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("ipc://{}", dir.path().join("no/such/dir/x.sock").display());
    let (status, err) = run_to_end(&["pull", "-b", &missing]);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains(&missing), "{err}");
}

#[test]
fn help_teaches_with_examples() {
    let out = Command::new(env!("CARGO_BIN_EXE_zmqcat"))
        .arg("--help")
        .output()
        .expect("run zmqcat --help");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "EXAMPLES:",
        "--subscribe",
        "--frame-separator",
        "router",
        "EXIT STATUS",
        "ENDPOINTS",
        "ROUTING IDS",
        "0x30786162",
        "WHAT \"SENT\" MEANS",
        // Issue 25: every way out, and how long each may take.
        "HOW LONG IT WAITS",
        "it takes at most --linger more",
        "the socket refused a message",
        "messages were still queued when",
        "zmqcat gave up waiting for a peer",
        "--identity not 1-255",
        "a --frame-separator that contains the --delimiter",
        "--no-input\n     on pub or push",
        "--count 0",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
}

#[test]
fn stream_echoes_raw_tcp() {
    let stream = Proc::start(&[
        "stream",
        "--bind",
        "tcp://127.0.0.1:*",
        "--echo",
        "-f",
        "hex",
    ]);
    let endpoint = stream.bound_endpoint();
    let address = endpoint.trim_start_matches("tcp://");
    let mut tcp = std::net::TcpStream::connect(address).expect("connect to zmqcat stream");
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    tcp.write_all(b"ping").unwrap();
    let mut reply = [0u8; 4];
    tcp.read_exact(&mut reply).expect("echo within 20 s");
    assert_eq!(&reply, b"ping");
    // First the connection notice [id, ""], then the data, both in hex.
    let connected = stream.stdout_line();
    assert!(connected.ends_with('\t'), "{connected:?}");
    let data = stream.stdout_line();
    assert!(data.ends_with("\t70696e67"), "{data:?}");
    stream.signal("TERM");
    let (status, _, err) = stream.finish();
    assert!(status.success(), "{err}");
}

#[test]
fn pipe_over_ipv6_loopback() {
    let pull = Proc::start(&[
        "pull",
        "--ipv6",
        "-b",
        "tcp://[::1]:*",
        "-n",
        "2",
        "-t",
        "20s",
    ]);
    let line = pull.stderr_line("zmqcat: ");
    let Some(endpoint) = line.strip_prefix("zmqcat: bound to ") else {
        // A machine without IPv6 on loopback: nothing to test here.
        eprintln!("skipping: cannot bind [::1]: {line}");
        return;
    };
    let mut push = Proc::start(&["push", "--ipv6", "-c", endpoint, "--linger", "20s"]);
    push.write("six\nseven\n");
    let (status, _, err) = push.finish();
    assert!(status.success(), "{err}");
    let (status, out, err) = pull.finish();
    assert!(status.success(), "{err}");
    assert_eq!(out, vec!["six", "seven"]);
}

#[test]
fn bind_and_connect_failures_are_explained_in_words() {
    // No such interface: a bind resolves interface names, never DNS.
    let (status, err) = run_to_end(&["pull", "-b", "tcp://nosuchif0:5555"]);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "cannot bind \"tcp://nosuchif0:5555\": no such network interface or address (ENODEV)"
        ),
        "{err}"
    );
    // The port is taken by another zmqcat.
    let first = Proc::start(&["pull", "-b", "tcp://127.0.0.1:*"]);
    let endpoint = first.bound_endpoint();
    let (status, err) = run_to_end(&["pull", "-b", &endpoint]);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("the address is already in use") && err.contains("(EADDRINUSE)"),
        "{err}"
    );
    first.signal("TERM");
    let (status, _, err) = first.finish();
    assert!(status.success(), "{err}");
}

#[test]
fn version_names_zmqcat_and_its_libzmq() {
    let out = Command::new(env!("CARGO_BIN_EXE_zmqcat"))
        .arg("--version")
        .output()
        .expect("run zmqcat --version");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("zmqcat {}\n", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    let (major, minor, patch) = zmq::version();
    assert!(
        text.contains(&format!("libzmq {major}.{minor}.{patch} with")),
        "{text}"
    );
}

#[test]
fn router_reads_back_ids_that_look_like_hex() {
    let mut router = Proc::start(&["router", "--bind", "tcp://127.0.0.1:*", "--count", "3"]);
    let endpoint = router.bound_endpoint();
    let ctx = zmq::Context::new();
    let connect = |id: &[u8]| {
        let dealer = ctx.socket(zmq::SocketType::Dealer).unwrap();
        dealer.set_routing_id(id).unwrap();
        dealer.set_rcvtimeo(20_000).unwrap();
        dealer.set_linger(0).unwrap();
        dealer.connect(&endpoint).unwrap();
        dealer
    };
    // Four ASCII characters that look like hex, and the one byte 0xAB.
    let text_id = connect(b"0xab");
    text_id.send("ping", 0).unwrap();
    assert_eq!(router.stdout_line(), "0x30786162\tping");
    let byte_id = connect(&[0xab]);
    byte_id.send("hi", 0).unwrap();
    assert_eq!(router.stdout_line(), "0xab\thi");
    // Typed back exactly as printed, each reaches its own peer.
    router.write("0x30786162\tpong\n0xab\tyo\n");
    assert_eq!(text_id.recv_bytes(0).expect("pong within 20 s"), b"pong");
    assert_eq!(byte_id.recv_bytes(0).expect("yo within 20 s"), b"yo");
    text_id.send("bye", 0).unwrap();
    let (status, out, err) = router.finish();
    assert!(status.success(), "{err}");
    assert_eq!(out, vec!["0x30786162\tbye"]);
    assert!(!err.contains("refused"), "{err}");
}

#[test]
fn unanswered_request_is_a_failure() {
    // A REP that takes requests and never answers; it says when it has one.
    let (got_tx, got_rx) = mpsc::channel();
    let (_peer, endpoint) = Peer::start(
        zmq::SocketType::Rep,
        |_| {},
        move |event, _, _| {
            if let Event::Message(request) = event {
                let _ = got_tx.send(request.to_vecs());
            }
        },
    );
    let mut req = Proc::start(&["req", "--connect", &endpoint]);
    req.write("hello?\n");
    let request = got_rx.recv_timeout(WAIT).expect("the REP got the request");
    assert_eq!(request, vec![b"hello?".to_vec()]);
    req.signal("INT");
    let (status, out, err) = req.finish();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(out.is_empty(), "{out:?}");
    assert!(err.contains("0 of 1 requests answered"), "{err}");
    assert!(err.contains("1 peer connected"), "{err}");
    assert!(
        err.contains("1 request was handed to libzmq but never answered"),
        "{err}"
    );
}

#[test]
fn messages_for_nobody_are_not_reported_as_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let nobody = format!("ipc://{}", dir.path().join("nobody.sock").display());
    let mut push = Proc::start(&["push", "--connect", &nobody, "--linger", "300ms"]);
    push.write("1\n2\n3\n");
    let (status, _, err) = push.finish();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("sent 3 messages"), "{err}");
    assert!(err.contains("0 peers connected"), "{err}");
    assert!(
        err.contains("warning: 3 messages handed to libzmq, but no peer ever connected"),
        "{err}"
    );
}

#[test]
fn push_to_a_listening_pull_reports_the_peer() {
    let pull = Proc::start(&["pull", "-b", "tcp://127.0.0.1:*", "-n", "2", "-t", "20s"]);
    let endpoint = pull.bound_endpoint();
    // A long --linger: zmqcat waits for the peer's handshake at most that
    // long after stdin ends, and no longer than the handshake takes.
    let mut push = Proc::start(&["push", "-c", &endpoint, "--linger", "20s"]);
    push.write("a\nb\n");
    let (status, _, err) = push.finish();
    assert!(status.success(), "{err}");
    assert!(err.contains("1 peer connected"), "{err}");
    assert!(!err.contains("warning"), "{err}");
    let (status, out, err) = pull.finish();
    assert!(status.success(), "{err}");
    assert_eq!(out, vec!["a", "b"]);
    assert!(err.contains("received 2 messages (2 B)"), "{err}");
    assert!(err.contains("; printed 2; 1 peer connected"), "{err}");
}

/// A child killed (by its PID) if the test fails before it exits.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn summary_counts_what_was_printed_after_stdout_closed() {
    // As `zmqcat pull ... | head -1`: the reader takes one line and goes.
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_zmqcat"))
            .args(["pull", "--bind", "tcp://127.0.0.1:*", "--timeout", "20s"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn zmqcat"),
    );
    let child = &mut child.0;
    let mut stdout = child.stdout.take().unwrap();
    let (stderr_lines, stderr_reader) = lines_of(child.stderr.take().unwrap());
    let bound = stderr_lines.recv_timeout(WAIT).expect("zmqcat bound");
    let endpoint = bound
        .strip_prefix("zmqcat: bound to ")
        .unwrap_or_else(|| panic!("{bound}"))
        .to_owned();
    let ctx = zmq::Context::new();
    let push = ctx.socket(zmq::SocketType::Push).unwrap();
    push.set_linger(0).unwrap();
    push.set_sndtimeo(20_000).unwrap();
    push.connect(&endpoint).unwrap();
    push.send("first", 0).unwrap();
    // Read exactly one line, byte by byte (a read blocks until zmqcat
    // writes), then close the pipe as head does.
    let mut line = Vec::new();
    let mut byte = [0u8];
    while line.last() != Some(&b'\n') {
        stdout.read_exact(&mut byte).expect("zmqcat's first line");
        line.push(byte[0]);
    }
    assert_eq!(line, b"first\n");
    drop(stdout);
    // Every later write fails, so nothing after "first" is printed.
    for i in 0..300 {
        push.send(format!("later {i}").as_str(), 0).unwrap();
    }
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "zmqcat did not stop after its stdout closed"
        );
        // Polling a child's exit; no synchronisation rides on this pause.
        std::thread::sleep(Duration::from_millis(10));
    };
    stderr_reader.join().unwrap();
    let err: Vec<String> = stderr_lines.try_iter().collect();
    let err = err.join("\n");
    assert!(status.success(), "{err}");
    assert!(err.contains("stdout closed;"), "{err}");
    assert!(err.contains("; printed 1; 1 peer connected"), "{err}");
}

/// A tcp port on 127.0.0.1 that nothing listens on now: the kernel picks a
/// free one, and it is closed again before zmqcat uses it.
fn unused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener.local_addr().unwrap().port()
}

/// Writes up to `max` lines to zmqcat's stdin on a thread and keeps stdin
/// open until they are all written or zmqcat stops reading and exits (a
/// write then fails). Returns how many lines were written. Each line is a
/// kilobyte, so the kernel's socket buffers fill after thousands of them,
/// not millions, and zmqcat's outbox soon after.
fn feed_lines(p: &mut Proc, max: u64) -> JoinHandle<u64> {
    let mut stdin = p.stdin.take().expect("stdin still open");
    std::thread::spawn(move || {
        let mut written = 0;
        while written < max {
            if stdin
                .write_all(format!("{written:0>1000}\n").as_bytes())
                .is_err()
            {
                break;
            }
            written += 1;
        }
        written
    })
}

/// Floods `p`'s stdin (see [`feed_lines`]) until it exits, which it must do
/// before reading all [`FLOOD`] lines; returns its status and stderr.
fn flood_until_exit(mut p: Proc) -> (ExitStatus, String) {
    let writer = feed_lines(&mut p, FLOOD);
    let (status, _, err) = p.finish();
    let written = writer.join().unwrap();
    assert!(written < FLOOD, "zmqcat read all {written} lines: {err}");
    eprintln!("{written} lines written; zmqcat said: {err}");
    (status, err)
}

/// Up to this many lines go to a zmqcat that should stop reading long
/// before: far more than its outbox, libzmq's queue and the kernel's
/// buffers hold, so reaching it means zmqcat never gave up.
const FLOOD: u64 = 200_000;

#[test]
fn push_bound_without_a_peer_waits_linger_and_fails() {
    // Issue 25, 1: `seq 3 | zmqcat push --bind ...` with nobody connecting
    // hung for ever, even with --linger 0.
    for (linger, shown) in [("0", "0s"), ("300ms", "300ms")] {
        let mut push = Proc::start(&["push", "--bind", "tcp://127.0.0.1:*", "--linger", linger]);
        push.bound_endpoint();
        push.write("1\n2\n3\n");
        let (status, _, err) = push.finish();
        assert_eq!(status.code(), Some(1), "--linger {linger}: {err}");
        assert!(err.contains("3 still queued at exit, not sent"), "{err}");
        assert!(
            err.contains(&format!(
                "3 queued messages not sent: the socket did not take them within --linger ({shown})"
            )),
            "{err}"
        );
    }
}

#[test]
fn push_connecting_to_nobody_gives_up_at_the_high_water_mark() {
    // Issue 25, 1: `seq 5000 | zmqcat push --connect` with no listener
    // stopped at libzmq's 1000-message queue and waited for ever.
    let endpoint = format!("tcp://127.0.0.1:{}", unused_port());
    let push = Proc::start(&[
        "push",
        "--connect",
        &endpoint,
        "--linger",
        "300ms",
        "--outbox",
        "16",
    ]);
    let (status, err) = flood_until_exit(push);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "gave up after --linger (300ms): no peer has connected, and the socket took none \
             of the 16 messages in its outbox"
        ),
        "{err}"
    );
    // The 16 and the line the stdin thread held, waiting for room.
    assert!(err.contains("; 17 still queued at exit, not sent"), "{err}");
    assert!(
        err.contains("17 queued messages not sent: the socket did not take them"),
        "{err}"
    );
    assert!(err.contains("but no peer ever connected"), "{err}");
}

#[test]
fn push_whose_pull_exits_early_gives_up() {
    // Issue 25, 1: a PUSH whose PULL left after --count 10 hung at 2000 sent.
    let pull = Proc::start(&["pull", "--bind", "tcp://127.0.0.1:*", "--count", "10"]);
    let endpoint = pull.bound_endpoint();
    let push = Proc::start(&["push", "--connect", &endpoint, "--linger", "300ms"]);
    let flooding = std::thread::spawn(move || flood_until_exit(push));
    let (status, out, err) = pull.finish();
    assert!(status.success(), "{err}");
    assert_eq!(out.len(), 10, "{out:?}");
    let (status, err) = flooding.join().unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("gave up after --linger (300ms): the peer that connected has left"),
        "{err}"
    );
    assert!(err.contains("1 peer connected"), "{err}");
}

#[test]
fn push_to_a_peer_that_stops_reading_ends_at_timeout_and_reports_the_rest() {
    // A connected peer that takes nothing is backpressure: zmqcat waits for
    // it (no give-up while a peer is there) until --timeout, then has
    // --linger to send the rest, and says what stayed queued.
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::SocketType::Pull).unwrap();
    pull.set_linger(0).unwrap();
    pull.set_rcvhwm(1).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = pull.last_endpoint().unwrap();
    let push = Proc::start(&[
        "push",
        "--connect",
        &endpoint,
        "--timeout",
        "2s",
        "--linger",
        "300ms",
    ]);
    let (status, err) = flood_until_exit(push);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("--timeout passed; sent"), "{err}");
    assert!(!err.contains("gave up"), "{err}");
    assert!(err.contains("1 peer connected"), "{err}");
    assert!(
        err.contains(
            "queued messages not sent: the socket did not take them within --linger (300ms)"
        ),
        "{err}"
    );
}

#[test]
fn a_refused_message_is_a_failure() {
    // Issue 25, 9: a ROUTER run that said "1 refused by the socket" exited 0.
    let mut router = Proc::start(&["router", "--bind", "tcp://127.0.0.1:*", "--timeout", "20s"]);
    router.bound_endpoint();
    router.write("nobody\tlost\n");
    assert!(
        router
            .stderr_line("zmqcat: the socket refused")
            .contains("no connected peer has that routing id"),
    );
    router.signal("TERM");
    let (status, _, err) = router.finish();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("; 1 refused by the socket"), "{err}");
    assert!(
        err.contains("1 message was refused by the socket (it was reported above)"),
        "{err}"
    );
}

#[test]
fn arguments_that_cannot_work_are_refused() {
    // Issue 25, 9: each of these exited 1 after opening a socket, or ran for
    // ever doing nothing, or printed frames as messages.
    let long_id = "a".repeat(300);
    let cases: &[(&[&str], &str)] = &[
        (
            &["dealer", "-c", "tcp://127.0.0.1:1", "--identity", ""],
            "--identity is 0 bytes long; a ZeroMQ routing id is 1 to 255 bytes",
        ),
        (
            &["dealer", "-c", "tcp://127.0.0.1:1", "--identity", &long_id],
            "--identity is 300 bytes long; a ZeroMQ routing id is 1 to 255 bytes",
        ),
        (
            &["push", "-c", "tcp://127.0.0.1:1", "-F", "\\n"],
            "--frame-separator contains the --delimiter",
        ),
        (
            &["pull", "-b", "tcp://127.0.0.1:*", "-F", ";\\0", "-d", "\\0"],
            "--frame-separator contains the --delimiter",
        ),
        (
            &["push", "-c", "tcp://127.0.0.1:1", "--no-input"],
            "--no-input leaves a push socket nothing to do",
        ),
        (
            &["pub", "-b", "tcp://127.0.0.1:*", "--no-input"],
            "--no-input leaves a pub socket nothing to do",
        ),
        (
            &["push", "-c", "tcp://127.0.0.1:1", "--count", "0"],
            "invalid value '0' for '--count <N>'",
        ),
    ];
    for (args, message) in cases {
        let (status, err) = run_to_end(args);
        assert_eq!(status.code(), Some(2), "zmqcat {args:?}: {err}");
        assert!(err.contains(message), "zmqcat {args:?}: {err}");
        assert!(!err.contains("bound to"), "zmqcat {args:?}: {err}");
    }
    // The longest identity works, and a delimiter that holds the separator
    // (paragraphs of lines) is fine.
    let id = "b".repeat(255);
    let (status, err) = run_to_end(&[
        "dealer",
        "-c",
        "tcp://127.0.0.1:1",
        "--identity",
        &id,
        "-d",
        "\\n\\n",
        "-F",
        "\\n",
        "--timeout",
        "10ms",
    ]);
    assert_eq!(status.code(), Some(0), "{err}");
}

#[test]
fn quiet_prints_only_what_cannot_be_known_otherwise() {
    // Issue 25, 9: -q still printed "bound to" for a port the user gave.
    let endpoint = format!("tcp://127.0.0.1:{}", unused_port());
    let (status, err) = run_to_end(&["pull", "-q", "-b", &endpoint, "--timeout", "10ms"]);
    assert!(status.success(), "{err}");
    assert_eq!(err, "");
    // A port libzmq chooses is still told: nothing else tells it.
    let pull = Proc::start(&["pull", "-q", "-b", "tcp://127.0.0.1:*", "--timeout", "10ms"]);
    assert!(pull.bound_endpoint().starts_with("tcp://127.0.0.1:"));
    let (status, _, err) = pull.finish();
    assert!(status.success(), "{err}");
    assert_eq!(err, "");
}
