//! The draft socket types at the binding level (feature `draft`, no event
//! loop): every pair exchanges messages over inproc, ipc and tcp (RADIO/DISH
//! also over udp), routing ids and groups, the bad inputs each refused with
//! a clear error, the poller fd's arming rule, and four threads sending on
//! one CLIENT at once.
//!
//! Every wait is bounded: sockets get receive and send timeouts of `WAIT`,
//! fds are polled with timeouts, and retry loops are bounded in count.
//!
//! With `system-libzmq` and a library without the draft API (Debian's
//! libzmq5), the one test that applies is `without_the_draft_api_...`; the
//! others say so and return.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::thread;
use std::time::{Duration, Instant};

use calloop_zmq::zmq::{
    self, Context, DONTWAIT, Error, Frame, GROUP_MAX_LENGTH, POLLIN, POLLOUT, Poller, SNDMORE,
    Socket, SocketType, ThreadSafeSocket,
};

/// The bound on every wait.
const WAIT: Duration = Duration::from_secs(5);

/// True when the linked libzmq has the draft API; the bundled build must.
fn drafts() -> bool {
    let has = zmq::has("draft");
    if cfg!(not(feature = "system-libzmq")) {
        assert!(
            has,
            "the bundled libzmq is built with the draft API under `draft`"
        );
    }
    if !has {
        eprintln!("skipped: the system libzmq has no draft API");
    }
    has
}

/// A socket of `kind` with bounded blocking calls and no linger.
fn socket(ctx: &Context, kind: SocketType) -> Socket {
    let s = ctx
        .socket(kind)
        .unwrap_or_else(|e| panic!("{kind} socket: {e}"));
    s.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    s.set_sndtimeo(WAIT.as_millis() as i32).unwrap();
    s.set_linger(0).unwrap();
    s
}

/// Binds `s` on each transport in turn and returns the endpoint to connect
/// to: inproc, ipc in `dir`, tcp on 127.0.0.1 with a port the OS picks.
fn bind(s: &Socket, transport: &str, dir: &std::path::Path, name: &str) -> String {
    let endpoint = match transport {
        "inproc" => format!("inproc://draft-{name}"),
        "ipc" => format!("ipc://{}/{name}.sock", dir.display()),
        "tcp" => "tcp://127.0.0.1:*".to_owned(),
        _ => unreachable!(),
    };
    s.bind(&endpoint).unwrap_or_else(|e| panic!("{e}"));
    s.last_endpoint().unwrap()
}

const TRANSPORTS: [&str; 3] = ["inproc", "ipc", "tcp"];

/// A socket of type `bound` bound on `transport`, and one of type
/// `connecting` connected to it.
fn pair(
    ctx: &Context,
    transport: &str,
    dir: &std::path::Path,
    (bound, connecting): (SocketType, SocketType),
) -> (Socket, Socket) {
    let name = format!("{bound}-{connecting}").to_lowercase();
    let a = socket(ctx, bound);
    let endpoint = bind(&a, transport, dir, &name);
    let b = socket(ctx, connecting);
    b.connect(&endpoint).unwrap_or_else(|e| panic!("{e}"));
    (a, b)
}

/// Receives one frame within `WAIT` (the socket's receive timeout).
fn recv(s: &Socket, what: &str) -> Frame {
    s.recv_frame(0)
        .unwrap_or_else(|e| panic!("{what}: no message within {WAIT:?}: {e}"))
}

#[test]
fn client_and_server_talk_by_routing_id_on_every_transport() {
    if !drafts() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for transport in TRANSPORTS {
        let ctx = Context::new();
        let pair_types = (SocketType::Server, SocketType::Client);
        let (server, client) = pair(&ctx, transport, dir.path(), pair_types);
        client.send("ping", 0).unwrap();
        let request = recv(&server, transport);
        assert_eq!(&request[..], b"ping", "{transport}");
        let id = request
            .routing_id()
            .expect("a SERVER's frame has a routing id");
        let mut reply = Frame::from("pong");
        reply.set_routing_id(id).unwrap();
        assert_eq!(reply.routing_id(), Some(id));
        assert_eq!(server.send_frame(&mut reply, 0), Ok(4), "{transport}");
        assert_eq!(&recv(&client, transport)[..], b"pong");

        // An unknown routing id: refused at once, the frame kept.
        let mut lost = Frame::from("nobody");
        lost.set_routing_id(id.wrapping_add(1000)).unwrap();
        assert_eq!(
            server.send_frame(&mut lost, DONTWAIT),
            Err(Error::EHOSTUNREACH),
            "{transport}"
        );
        assert_eq!(&lost[..], b"nobody");
        // A frame with no routing id at all.
        assert_eq!(server.send("anon", DONTWAIT), Err(Error::EHOSTUNREACH));
    }
}

#[test]
fn routing_id_zero_is_refused() {
    if !drafts() {
        return;
    }
    let mut frame = Frame::from("x");
    assert_eq!(frame.routing_id(), None);
    assert_eq!(frame.set_routing_id(0), Err(Error::EINVAL));
    assert_eq!(frame.routing_id(), None);
}

/// RADIO sends until DISH got one (the join travels to the RADIO as a
/// message of its own, so the first sends may find no subscriber).
fn radio_to_dish(radio: &Socket, dish: &Socket, group: &str, body: &str) -> Frame {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        let mut frame = Frame::from(body);
        frame.set_group(group).unwrap();
        radio.send_frame(&mut frame, 0).unwrap();
        if dish.poll(POLLIN, 20).unwrap().contains(POLLIN) {
            return recv(dish, "dish");
        }
    }
    panic!("DISH got nothing for {group:?} within {WAIT:?}");
}

#[test]
fn radio_and_dish_deliver_groups_on_every_transport() {
    if !drafts() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for transport in TRANSPORTS {
        let ctx = Context::new();
        let (dish, radio) = pair(
            &ctx,
            transport,
            dir.path(),
            (SocketType::Dish, SocketType::Radio),
        );
        dish.join("weather").unwrap();
        let got = radio_to_dish(&radio, &dish, "weather", "sunny");
        assert_eq!((&got[..], got.group()), (&b"sunny"[..], Some("weather")));
        check_join_and_leave(&radio, &dish);
    }
}

/// After a first delivery: other groups are filtered, a second join adds
/// one, leave removes it.
fn check_join_and_leave(radio: &Socket, dish: &Socket) {
    let mut other = Frame::from("ignored");
    other.set_group("sports").unwrap();
    radio.send_frame(&mut other, 0).unwrap();
    dish.join("news").unwrap();
    let got = radio_to_dish(radio, dish, "news", "headline");
    // Anything of "sports" would have come first (one connection, in order).
    assert_eq!(got.group(), Some("news"), "{got:?}");
    assert_eq!(dish.join("news"), Err(Error::EINVAL), "joined twice");
    dish.leave("news").unwrap();
    assert_eq!(dish.leave("news"), Err(Error::EINVAL), "left twice");
    // Still receiving "weather"; "news" no longer comes.
    let mut gone = Frame::from("gone");
    gone.set_group("news").unwrap();
    radio.send_frame(&mut gone, 0).unwrap();
    let got = radio_to_dish(radio, dish, "weather", "rain");
    assert_eq!(got.group(), Some("weather"), "{got:?}");
}

/// A udp port that was free a moment ago (udp:// has no wildcard port).
fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn radio_and_dish_deliver_groups_over_udp() {
    if !drafts() {
        return;
    }
    let ctx = Context::new();
    let dish = socket(&ctx, SocketType::Dish);
    let endpoint = format!("udp://127.0.0.1:{}", free_udp_port());
    dish.bind(&endpoint).unwrap();
    dish.join("weather").unwrap();
    let radio = socket(&ctx, SocketType::Radio);
    radio.connect(&endpoint).unwrap();
    let got = radio_to_dish(&radio, &dish, "weather", "sunny");
    assert_eq!((&got[..], got.group()), (&b"sunny"[..], Some("weather")));
    // udp carries the group in each datagram; the DISH filters itself.
    check_join_and_leave(&radio, &dish);
}

#[test]
fn malformed_udp_endpoints_are_errors() {
    if !drafts() {
        return;
    }
    let ctx = Context::new();
    let dish = socket(&ctx, SocketType::Dish);
    let radio = socket(&ctx, SocketType::Radio);
    for bad in [
        "udp://127.0.0.1",
        "udp://127.0.0.1:",
        "udp://:5555x",
        "udp://no such host:5555",
        "udp://",
    ] {
        let bind = dish.bind(bad).expect_err(bad);
        let connect = radio.connect(bad).expect_err(bad);
        assert_eq!(bind.endpoint(), bad);
        assert!(bind.zmq_error().is_some() && connect.zmq_error().is_some());
        assert!(bind.to_string().starts_with("bind \"udp://"), "{bind}");
    }
    // udp is for RADIO/DISH only.
    let client = socket(&ctx, SocketType::Client);
    let err = client.connect("udp://127.0.0.1:5555").unwrap_err();
    assert_eq!(err.zmq_error(), Some(Error::ENOCOMPATPROTO), "{err}");
}

#[test]
fn groups_longer_than_the_limit_are_refused_whole() {
    if !drafts() {
        return;
    }
    let longest = "g".repeat(GROUP_MAX_LENGTH);
    let too_long = "g".repeat(GROUP_MAX_LENGTH + 1);
    let mut frame = Frame::from("x");
    frame.set_group(&longest).unwrap();
    assert_eq!(frame.group(), Some(longest.as_str()));
    // libzmq itself would cut the name to 255 bytes and say nothing.
    assert_eq!(frame.set_group(&too_long), Err(Error::EINVAL));
    assert_eq!(frame.group(), Some(longest.as_str()), "unchanged");
    assert_eq!(frame.set_group("a\0b"), Err(Error::EINVAL));
    // A long group replaced by a short one, and back, keeps bytes and id.
    frame.set_routing_id(7).unwrap();
    frame.set_group("short").unwrap();
    assert_eq!(
        (frame.group(), frame.routing_id()),
        (Some("short"), Some(7))
    );
    frame.set_group(&longest).unwrap();
    frame.set_group(&"h".repeat(20)).unwrap();
    assert_eq!(frame.group(), Some("h".repeat(20).as_str()));
    assert_eq!((&frame[..], frame.routing_id()), (&b"x"[..], Some(7)));

    let ctx = Context::new();
    let dish = socket(&ctx, SocketType::Dish);
    dish.join(&longest).unwrap();
    assert_eq!(dish.join(&too_long), Err(Error::EINVAL));
    assert_eq!(dish.join("a\0b"), Err(Error::EINVAL));
}

#[test]
fn join_and_leave_on_other_types_are_enotsup() {
    if !drafts() {
        return;
    }
    let ctx = Context::new();
    for kind in [SocketType::Radio, SocketType::Client, SocketType::Sub] {
        let s = socket(&ctx, kind);
        assert_eq!(s.join("g"), Err(Error::ENOTSUP), "{kind}");
        assert_eq!(s.leave("g"), Err(Error::ENOTSUP), "{kind}");
    }
    let client = socket(&ctx, SocketType::Client);
    let err = client.connect_peer("tcp://127.0.0.1:5555").unwrap_err();
    assert_eq!(
        (err.op(), err.zmq_error()),
        ("connect_peer", Some(Error::ENOTSUP))
    );
}

#[test]
fn multipart_on_a_single_frame_type_is_refused_and_the_frame_kept() {
    if !drafts() {
        return;
    }
    let ctx = Context::new();
    let server = socket(&ctx, SocketType::Server);
    server.bind("inproc://draft-single-frame").unwrap();
    for kind in [SocketType::Client, SocketType::Radio, SocketType::Scatter] {
        let s = socket(&ctx, kind);
        let mut head = Frame::from("head");
        assert_eq!(
            s.send_frame(&mut head, SNDMORE | DONTWAIT),
            Err(Error::EINVAL),
            "{kind}"
        );
        assert_eq!(&head[..], b"head", "{kind}: the refused frame is kept");
        assert_eq!(
            s.send_multipart(["a", "b"], DONTWAIT),
            Err(Error::EINVAL),
            "{kind}"
        );
        assert!(kind.is_single_frame() && kind.is_thread_safe());
    }
    // The refusal sent nothing: the next single frame is all the server gets.
    let client = socket(&ctx, SocketType::Client);
    client.connect("inproc://draft-single-frame").unwrap();
    assert_eq!(client.send_multipart(["a", "b"], 0), Err(Error::EINVAL));
    client.send("whole", 0).unwrap();
    let got = recv(&server, "server");
    assert_eq!((&got[..], got.more()), (&b"whole"[..], false));
}

#[test]
fn scatter_gather_peer_and_channel_on_every_transport() {
    if !drafts() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for transport in TRANSPORTS {
        let ctx = Context::new();
        // SCATTER -> GATHER.
        let types = (SocketType::Gather, SocketType::Scatter);
        let (gather, scatter) = pair(&ctx, transport, dir.path(), types);
        scatter.send("part", 0).unwrap();
        assert_eq!(&recv(&gather, transport)[..], b"part");
        assert_eq!(gather.send("x", DONTWAIT), Err(Error::ENOTSUP));
        assert_eq!(scatter.recv_frame(DONTWAIT).unwrap_err(), Error::ENOTSUP);

        // PEER <-> PEER, addressed by the id connect_peer returns.
        let a = socket(&ctx, SocketType::Peer);
        let endpoint = bind(&a, transport, dir.path(), "peer");
        let b = socket(&ctx, SocketType::Peer);
        let to_a = b.connect_peer(&endpoint).unwrap();
        let mut hello = Frame::from("hello a");
        hello.set_routing_id(to_a).unwrap();
        b.send_frame(&mut hello, 0).unwrap();
        let got = recv(&a, transport);
        assert_eq!(&got[..], b"hello a");
        let mut back = Frame::from("hello b");
        back.set_routing_id(got.routing_id().unwrap()).unwrap();
        a.send_frame(&mut back, 0).unwrap();
        let got = recv(&b, transport);
        assert_eq!((&got[..], got.routing_id()), (&b"hello b"[..], Some(to_a)));

        // CHANNEL <-> CHANNEL.
        let types = (SocketType::Channel, SocketType::Channel);
        let (left, right) = pair(&ctx, transport, dir.path(), types);
        right.send("to left", 0).unwrap();
        assert_eq!(&recv(&left, transport)[..], b"to left");
        left.send("to right", 0).unwrap();
        assert_eq!(&recv(&right, transport)[..], b"to right");
    }
}

#[test]
fn socket_types_know_their_direction_and_nature() {
    for kind in SocketType::DRAFT {
        assert_eq!(SocketType::from_raw(kind.to_raw()), Some(kind));
        assert!(kind.is_draft() && kind.is_thread_safe() && kind.is_single_frame());
    }
    for kind in SocketType::ALL {
        assert!(!kind.is_draft() && !kind.is_thread_safe() && !kind.is_single_frame());
    }
    let sends: Vec<_> = SocketType::DRAFT
        .into_iter()
        .filter(|t| t.can_send())
        .collect();
    let recvs: Vec<_> = SocketType::DRAFT
        .into_iter()
        .filter(|t| t.can_recv())
        .collect();
    use SocketType::*;
    assert_eq!(sends, [Server, Client, Radio, Scatter, Peer, Channel]);
    assert_eq!(recvs, [Server, Client, Dish, Gather, Peer, Channel]);
    assert_eq!(Dish.to_string(), "DISH");
    if !drafts() {
        return;
    }
    let ctx = Context::new();
    for kind in SocketType::DRAFT {
        let s = socket(&ctx, kind);
        assert_eq!(s.thread_safe(), Ok(true), "{kind}");
        // No ZMQ_FD on thread-safe sockets (libzmq#2941): use a Poller.
        assert_eq!(s.notify_fd().unwrap_err(), Error::EINVAL, "{kind}");
        assert!(ThreadSafeSocket::new(s).is_ok());
    }
    let pull = socket(&ctx, SocketType::Pull);
    let pull = ThreadSafeSocket::new(pull).expect_err("PULL is not thread-safe");
    assert_eq!(pull.socket_type(), SocketType::Pull);
}

#[test]
fn draft_options_round_trip() {
    if !drafts() {
        return;
    }
    let ctx = Context::new();
    let router = socket(&ctx, SocketType::Router);
    router.set_router_notify(3).unwrap();
    assert_eq!(router.router_notify(), Ok(3));
    assert_eq!(router.set_router_notify(4), Err(Error::EINVAL));
    router.set_in_batch_size(4096).unwrap();
    assert_eq!(router.in_batch_size(), Ok(4096));
    assert_eq!(router.set_out_batch_size(0), Err(Error::EINVAL));
    router.set_hello_msg(b"hello").unwrap();
    router.set_disconnect_msg(b"bye").unwrap();
    router.set_socks_username("user").unwrap();
    assert_eq!(router.socks_username().unwrap(), "user");
    router.set_priority(2).unwrap();
    assert_eq!(router.priority(), Ok(2));
    router.set_reconnect_stop(1).unwrap();
    assert_eq!(router.reconnect_stop(), Ok(1));
    router.set_zap_enforce_domain(true).unwrap();
    assert_eq!(router.zap_enforce_domain(), Ok(true));
    router.set_metadata("X-color:blue").unwrap();
    assert_eq!(router.set_metadata("no colon"), Err(Error::EINVAL));
    let xpub = socket(&ctx, SocketType::Xpub);
    xpub.set_only_first_subscribe(true).unwrap();
    assert_eq!(xpub.topics_count(), Ok(0));
}

/// Whether `fd` becomes readable within `timeout_ms`.
fn readable(fd: BorrowedFd<'_>, timeout_ms: i32) -> bool {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the call.
    let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    assert!(rc >= 0, "poll failed");
    rc == 1
}

/// How long a silent fd is watched to call it silent.
const SILENCE_MS: i32 = 300;

#[test]
fn poller_fd_signals_only_after_ready_armed_it() {
    if !drafts() {
        return;
    }
    let ctx = Context::new();
    let server = ThreadSafeSocket::new(socket(&ctx, SocketType::Server)).unwrap();
    server.bind("inproc://draft-poller").unwrap();
    let client = socket(&ctx, SocketType::Client);
    client.connect("inproc://draft-poller").unwrap();

    let mut poller = Poller::new().unwrap();
    assert_eq!(
        poller.fd().unwrap_err(),
        Error::EINVAL,
        "no fd before a socket"
    );
    assert!(
        poller.ready().unwrap().is_empty(),
        "an empty poller is never ready"
    );
    poller.add(&server, POLLIN, 42).unwrap();
    assert_eq!(
        poller.add(&server, POLLIN, 42),
        Err(Error::EINVAL),
        "added twice"
    );
    assert_eq!(poller.len(), 1);

    // Settle: one round trip, then `ready` until it finds nothing (which
    // arms the fd) and the fd has no stale signal left (bounded).
    client.send("first", 0).unwrap();
    recv(&server, "first");
    for _ in 0..10 {
        assert!(poller.ready().unwrap().is_empty());
        if !readable(poller.fd().unwrap(), 0) {
            break;
        }
    }
    assert!(!readable(poller.fd().unwrap(), 0), "the fd settles");

    // Armed: a message makes the fd readable.
    client.send("second", 0).unwrap();
    assert!(
        readable(poller.fd().unwrap(), WAIT.as_millis() as i32),
        "armed fd signals"
    );
    let ready = poller.ready().unwrap().to_vec();
    assert_eq!(ready.len(), 1);
    assert_eq!((ready[0].token(), ready[0].events()), (42, POLLIN));
    // `ready` consumed the signal: readable no more, though the message is
    // still there (the fd is a notification, not a level).
    assert!(
        !readable(poller.fd().unwrap(), 0),
        "ready consumes the signal"
    );
    assert_eq!(
        poller.ready().unwrap().len(),
        1,
        "the message is still there"
    );
    assert_eq!(&recv(&server, "second")[..], b"second");

    // Not armed: after the receive no `ready` ran, and the next message
    // arrives without a signal, as with ZMQ_FD.
    client.send("third", 0).unwrap();
    assert!(
        !readable(poller.fd().unwrap(), SILENCE_MS),
        "an fd not re-armed after a receive stays silent"
    );
    // `ready` finds it anyway: the rule is "call ready before sleeping".
    assert_eq!(poller.ready().unwrap().len(), 1);
    assert_eq!(&recv(&server, "third")[..], b"third");

    // POLLOUT, modify and remove.
    poller.modify(&server, POLLIN | POLLOUT).unwrap();
    // A SERVER always reports POLLOUT: whether a send fits depends on the
    // routing id, which ZMQ_EVENTS cannot know.
    let ready = poller.ready().unwrap().to_vec();
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0].events(), POLLOUT);
    poller.remove(&server).unwrap();
    assert_eq!(poller.remove(&server), Err(Error::EINVAL));
    assert!(poller.is_empty() && poller.ready().unwrap().is_empty());
}

#[test]
fn a_poller_keeps_its_sockets_alive() {
    if !drafts() {
        return;
    }
    let ctx = Context::new();
    let mut poller = Poller::new().unwrap();
    let dish = ThreadSafeSocket::new(socket(&ctx, SocketType::Dish)).unwrap();
    poller.add(&dish, POLLIN, 1).unwrap();
    // The caller's handle goes; the poller's clone keeps the socket open.
    drop(dish);
    assert!(poller.ready().unwrap().is_empty());
    drop(poller);
}

#[test]
fn four_threads_send_on_one_client_at_once() {
    if !drafts() {
        return;
    }
    const THREADS: u64 = 4;
    const EACH: u64 = 2000;
    let ctx = Context::new();
    let server = socket(&ctx, SocketType::Server);
    let endpoint = bind(&server, "tcp", std::path::Path::new("."), "unused");
    let client = ThreadSafeSocket::new(socket(&ctx, SocketType::Client)).unwrap();
    client.connect(&endpoint).unwrap();
    let senders: Vec<_> = (0..THREADS)
        .map(|t| {
            let client = client.clone();
            thread::spawn(move || {
                for seq in 0..EACH {
                    let body = [t.to_le_bytes(), seq.to_le_bytes()].concat();
                    client.send(body, 0).expect("a send within the timeout");
                }
            })
        })
        .collect();
    // Each thread's messages arrive whole and in its own order (one
    // connection); the threads' interleaving is libzmq's lock order.
    let mut next = [0u64; THREADS as usize];
    for _ in 0..THREADS * EACH {
        let frame = recv(&server, "server");
        assert_eq!(frame.len(), 16);
        let t = u64::from_le_bytes(frame[..8].try_into().unwrap()) as usize;
        let seq = u64::from_le_bytes(frame[8..].try_into().unwrap());
        assert_eq!(seq, next[t], "thread {t} in order");
        next[t] += 1;
    }
    for sender in senders {
        sender.join().unwrap();
    }
    assert_eq!(next, [EACH; THREADS as usize]);
    assert_eq!(server.recv_frame(DONTWAIT).unwrap_err(), Error::EAGAIN);
}

/// On a libzmq without the draft API (e.g. Debian's, with `system-libzmq`)
/// every draft call is a clear `ENOTSUP`, never a crash or a link error.
#[test]
fn without_the_draft_api_every_draft_call_is_enotsup() {
    if zmq::has("draft") {
        return;
    }
    let ctx = Context::new();
    for kind in SocketType::DRAFT {
        assert_eq!(ctx.socket(kind).unwrap_err(), Error::ENOTSUP, "{kind}");
    }
    assert_eq!(Poller::new().unwrap_err(), Error::ENOTSUP);
    let mut frame = Frame::from("x");
    assert_eq!(frame.set_group("g"), Err(Error::ENOTSUP));
    assert_eq!(frame.set_routing_id(1), Err(Error::ENOTSUP));
    assert_eq!((frame.group(), frame.routing_id()), (None, None));
    let router = ctx.socket(SocketType::Router).unwrap();
    assert_eq!(router.join("g"), Err(Error::ENOTSUP));
    assert_eq!(router.set_router_notify(1), Err(Error::EINVAL));
}
