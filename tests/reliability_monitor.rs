//! Monitor events from real sockets: every kind the tests can provoke on
//! loopback, decoded with its endpoint and value.

mod support;

use std::io::Write;
use std::net::TcpStream;

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::monitor::{EventKind, EventMask, Monitor, MonitorEvent, ProtocolError};
use calloop_zmq::{ZmqSource, zmq};
use support::{Child, WAIT, run_until_showing, unused_tcp_endpoint};

/// Runs a loop holding a monitor until an event satisfies `want` and returns
/// that event; `events` keeps every event seen. Panics naming `what` after
/// [`WAIT`].
fn wait_for(
    event_loop: &mut EventLoop<'static, Vec<MonitorEvent>>,
    events: &mut Vec<MonitorEvent>,
    what: &str,
    mut want: impl FnMut(&MonitorEvent) -> bool,
) -> MonitorEvent {
    run_until_showing(event_loop, events, WAIT, what, |seen| {
        seen.iter().any(&mut want)
    });
    events
        .iter()
        .find(|e| want(e))
        .cloned()
        .expect("found above")
}

fn monitored_loop(
    socket: &zmq::Socket,
    ctx: &zmq::Context,
) -> (EventLoop<'static, Vec<MonitorEvent>>, Vec<MonitorEvent>) {
    let event_loop: EventLoop<Vec<MonitorEvent>> = EventLoop::try_new().expect("loop");
    Monitor::attach(socket, ctx, EventMask::ALL)
        .expect("attach")
        .insert(&event_loop.handle(), |e, seen: &mut Vec<MonitorEvent>| {
            seen.push(e)
        })
        .expect("insert monitor");
    (event_loop, Vec::new())
}

#[test]
fn reliability_monitor_server_lifecycle() {
    let ctx = zmq::Context::new();
    let server = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    let (mut ev, mut seen) = monitored_loop(server.socket(), &ctx);
    server.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = server.socket().last_endpoint().unwrap();

    let listening = wait_for(&mut ev, &mut seen, "listening", |e| {
        e.kind == EventKind::Listening
    });
    assert_eq!(listening.endpoint, endpoint);
    assert!(listening.value > 0, "value is the listening fd");

    let peer = ctx.socket(zmq::SocketType::Push).unwrap();
    peer.set_linger(0).unwrap();
    peer.connect(&endpoint).unwrap();
    let accepted = wait_for(&mut ev, &mut seen, "accepted", |e| {
        e.kind == EventKind::Accepted
    });
    assert_eq!(accepted.endpoint, endpoint);
    wait_for(&mut ev, &mut seen, "handshake succeeded", |e| {
        e.kind == EventKind::HandshakeSucceeded
    });
    drop(peer);
    let gone = wait_for(&mut ev, &mut seen, "disconnected", |e| {
        e.kind == EventKind::Disconnected
    });
    assert_eq!(gone.value, accepted.value, "same connection fd");

    // Closing the monitored socket closes the listener and stops the monitor.
    let closed = server.close();
    drop(closed.socket);
    wait_for(&mut ev, &mut seen, "monitor stopped", |e| {
        e.kind == EventKind::MonitorStopped
    });
    assert!(
        seen.iter()
            .any(|e| e.kind == EventKind::Closed && e.value == listening.value),
        "listener close reported: {seen:#?}"
    );
    for e in &seen {
        assert!(
            !matches!(e.kind, EventKind::Unknown { .. } | EventKind::Malformed),
            "{e}"
        );
    }
}

#[test]
fn reliability_monitor_client_connect_retry_and_connect() {
    let ctx = zmq::Context::new();
    // A free port, left closed: the client must retry.
    let endpoint = unused_tcp_endpoint();

    let client = ZmqSource::new(ctx.socket(zmq::SocketType::Dealer).unwrap()).unwrap();
    client.socket().set_reconnect_ivl(50).unwrap();
    let (mut ev, mut seen) = monitored_loop(client.socket(), &ctx);
    client.connect(&endpoint).unwrap();
    let retried = wait_for(&mut ev, &mut seen, "connect retried", |e| {
        e.kind == EventKind::ConnectRetried
    });
    assert_eq!(retried.endpoint, endpoint);
    assert!(retried.value >= 50, "value is the reconnect interval in ms");
    assert!(
        seen.iter().any(|e| e.kind == EventKind::ConnectDelayed),
        "{seen:#?}"
    );

    // Now bring up a server on that port: the retry connects.
    let server = ctx.socket(zmq::SocketType::Router).unwrap();
    server.set_linger(0).unwrap();
    if server.bind(&endpoint).is_err() {
        eprintln!("{endpoint} was taken in between; skipping the connect half");
        return;
    }
    let connected = wait_for(&mut ev, &mut seen, "connected", |e| {
        e.kind == EventKind::Connected
    });
    assert_eq!(connected.endpoint, endpoint);
    wait_for(&mut ev, &mut seen, "handshake succeeded", |e| {
        e.kind == EventKind::HandshakeSucceeded
    });
}

#[test]
fn reliability_monitor_bind_failed() {
    let ctx = zmq::Context::new();
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("tcp://{}", holder.local_addr().unwrap());
    let server = ZmqSource::new(ctx.socket(zmq::SocketType::Pub).unwrap()).unwrap();
    let (mut ev, mut seen) = monitored_loop(server.socket(), &ctx);
    let err = server.bind(&endpoint).expect_err("port is taken");
    assert!(err.to_string().contains(&endpoint), "{err}");
    let failed = wait_for(&mut ev, &mut seen, "bind failed", |e| {
        e.kind == EventKind::BindFailed
    });
    assert_eq!(failed.error(), Some(zmq::Error::EADDRINUSE), "{failed}");
    // libzmq names the address without the transport here.
    assert!(endpoint.ends_with(&failed.endpoint), "{failed}");
}

/// A valid ZMTP 3.0 greeting announcing `mechanism`.
fn greeting(mechanism: &str) -> Vec<u8> {
    let mut g = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0];
    let mut mech = mechanism.as_bytes().to_vec();
    mech.resize(20, 0);
    g.extend_from_slice(&mech);
    g.push(0); // as-server
    g.extend_from_slice(&[0; 31]);
    g
}

#[test]
fn reliability_monitor_handshake_failed_protocol() {
    let ctx = zmq::Context::new();
    let server = ZmqSource::new(ctx.socket(zmq::SocketType::Router).unwrap()).unwrap();
    let (mut ev, mut seen) = monitored_loop(server.socket(), &ctx);
    server.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = server.socket().last_endpoint().unwrap();
    let mut raw = TcpStream::connect(endpoint.trim_start_matches("tcp://")).unwrap();
    // The server speaks NULL; a PLAIN greeting is a mechanism mismatch.
    raw.write_all(&greeting("PLAIN")).unwrap();
    let failed = wait_for(&mut ev, &mut seen, "handshake failed (protocol)", |e| {
        matches!(e.kind, EventKind::HandshakeFailedProtocol(_))
    });
    assert_eq!(
        failed.kind,
        EventKind::HandshakeFailedProtocol(ProtocolError::ZmtpMechanismMismatch),
        "{failed}"
    );
}

#[test]
fn reliability_monitor_handshake_failed_no_detail() {
    let ctx = zmq::Context::new();
    let server = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    let (mut ev, mut seen) = monitored_loop(server.socket(), &ctx);
    server.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = server.socket().last_endpoint().unwrap();
    let mut raw = TcpStream::connect(endpoint.trim_start_matches("tcp://")).unwrap();
    // Half a greeting, then hang up.
    raw.write_all(&greeting("NULL")[..5]).unwrap();
    drop(raw);
    wait_for(&mut ev, &mut seen, "handshake failed (no detail)", |e| {
        e.kind == EventKind::HandshakeFailedNoDetail
    });
}

#[test]
fn reliability_monitor_handshake_failed_auth() {
    let ctx = zmq::Context::new();
    // A ZAP handler that refuses everyone, on a plain thread.
    let zap = ctx.socket(zmq::SocketType::Rep).unwrap();
    zap.set_linger(0).unwrap();
    zap.bind("inproc://zeromq.zap.01").unwrap();
    let zap_thread = std::thread::spawn(move || {
        if !zap
            .poll(zmq::POLLIN, WAIT.as_millis() as i64)
            .is_ok_and(|ready| ready.contains(zmq::POLLIN))
        {
            return;
        }
        let request = zap.recv_multipart(0).unwrap();
        let request_id = request.get(1).cloned().unwrap_or_default();
        let reply: Vec<Vec<u8>> = vec![
            b"1.0".to_vec(),
            request_id,
            b"400".to_vec(),
            b"denied by test".to_vec(),
            Vec::new(),
            Vec::new(),
        ];
        zap.send_multipart(reply, 0).unwrap();
    });

    let server = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    server.socket().set_plain_server(true).unwrap();
    let (mut ev, mut seen) = monitored_loop(server.socket(), &ctx);
    server.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = server.socket().last_endpoint().unwrap();

    let client = ctx.socket(zmq::SocketType::Push).unwrap();
    client.set_linger(0).unwrap();
    client.set_plain_username("mallory").unwrap();
    client.set_plain_password("wrong").unwrap();
    client.connect(&endpoint).unwrap();
    let failed = wait_for(&mut ev, &mut seen, "handshake failed (auth)", |e| {
        matches!(e.kind, EventKind::HandshakeFailedAuth { .. })
    });
    assert_eq!(
        failed.kind,
        EventKind::HandshakeFailedAuth { status_code: 400 }
    );
    assert_eq!(failed.value, 400);
    zap_thread.join().unwrap();
}

#[test]
fn reliability_monitor_mask_and_unique_endpoints() {
    let ctx = zmq::Context::new();
    let a = ctx.socket(zmq::SocketType::Pull).unwrap();
    let b = ctx.socket(zmq::SocketType::Pull).unwrap();
    let ma = Monitor::attach(&a, &ctx, EventMask::ACCEPTED | EventMask::DISCONNECTED).unwrap();
    let mb = Monitor::attach(&b, &ctx, EventMask::ALL).unwrap();
    assert_ne!(ma.endpoint(), mb.endpoint());

    // Only the requested kinds arrive: no Listening for `a`.
    let mut event_loop: EventLoop<Vec<MonitorEvent>> = EventLoop::try_new().unwrap();
    ma.insert(&event_loop.handle(), |e, seen: &mut Vec<MonitorEvent>| {
        seen.push(e)
    })
    .unwrap();
    let mut seen = Vec::new();
    a.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = a.last_endpoint().unwrap();
    let peer = ctx.socket(zmq::SocketType::Push).unwrap();
    peer.set_linger(0).unwrap();
    peer.connect(&endpoint).unwrap();
    wait_for(&mut event_loop, &mut seen, "accepted", |e| {
        e.kind == EventKind::Accepted
    });
    drop(peer);
    wait_for(&mut event_loop, &mut seen, "disconnected", |e| {
        e.kind == EventKind::Disconnected
    });
    for e in &seen {
        assert!(
            matches!(e.kind, EventKind::Accepted | EventKind::Disconnected),
            "event outside the mask: {e}"
        );
    }
    drop(mb);
}

/// Runs `examples/monitor.rs` (built by `cargo test` next to the test
/// binaries) and checks it reports a connect and a disconnect and exits.
#[test]
fn reliability_monitor_example_runs() {
    let exe = std::env::current_exe().expect("current_exe");
    let Some(example) = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("examples").join("monitor"))
        .filter(|p| p.exists())
    else {
        println!("SKIPPED reliability_monitor_example_runs: examples/monitor not built");
        return;
    };
    let mut child = Child::spawn(
        std::process::Command::new(&example).stdout(std::process::Stdio::piped()),
        "examples/monitor",
    );
    let status = child.wait_within(WAIT, "examples/monitor");
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.inner.stdout.take().unwrap(), &mut out).unwrap();
    assert!(status.success(), "examples/monitor failed: {status}\n{out}");
    assert!(out.contains("handshake succeeded"), "{out}");
    assert!(out.contains("disconnected"), "{out}");
}
