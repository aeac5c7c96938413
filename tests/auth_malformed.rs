//! Malformed ZAP requests, sent by hand to `inproc://zeromq.zap.01`, each get
//! a proper reply (status 400, the request id echoed) and never a panic or
//! silence; well-formed ones get 200 or 400 by the rules. Also: one
//! authenticator per context.

mod auth_common;
mod support;

use std::time::{Duration, Instant};

use auth_common::World;
use calloop_zmq::auth::{ANY_DOMAIN, AuthError, Authenticator, Status, ZAP_ENDPOINT};
use calloop_zmq::zmq;
use support::WAIT;

/// Sends `request` (after the REQ-style empty delimiter a DEALER must add
/// itself) and returns the reply frames after the delimiter.
fn ask(w: &mut World, zap: &zmq::Socket, request: &[&[u8]]) -> Vec<Vec<u8>> {
    let answered = w.counts().total();
    let mut frames: Vec<&[u8]> = vec![b""];
    frames.extend_from_slice(request);
    zap.send_multipart(frames, 0).expect("send ZAP request");
    let deadline = Instant::now() + WAIT;
    loop {
        w.event_loop
            .dispatch(Some(Duration::from_millis(10)), &mut w.seen)
            .expect("dispatch");
        if !zap.poll(zmq::POLLIN, 0).expect("poll").is_empty() {
            let mut reply = zap.recv_multipart(0).expect("recv reply");
            assert!(reply[0].is_empty(), "reply starts with the delimiter");
            reply.remove(0);
            assert_eq!(w.counts().total(), answered + 1, "counted once");
            return reply;
        }
        assert!(
            Instant::now() < deadline,
            "request not answered within {WAIT:?}"
        );
    }
}

fn requester(w: &World) -> zmq::Socket {
    let zap = w.ctx.socket(zmq::SocketType::Dealer).unwrap();
    zap.set_linger(0).unwrap();
    zap.connect(ZAP_ENDPOINT).unwrap();
    zap
}

#[test]
fn malformed_requests_get_400_with_their_request_id() {
    let mut w = World::new();
    w.config.add_domain(ANY_DOMAIN);
    let zap = requester(&w);
    let key31 = [1u8; 31];
    let cases: Vec<(&str, Vec<&[u8]>)> = vec![
        ("too few frames", vec![b"1.0", b"id-1", b"d"]),
        (
            "wrong version",
            vec![b"2.0", b"id-2", b"d", b"127.0.0.1", b"", b"NULL"],
        ),
        (
            "domain not UTF-8",
            vec![b"1.0", b"id-3", b"\xff\xfe", b"127.0.0.1", b"", b"NULL"],
        ),
        (
            "PLAIN without password",
            vec![b"1.0", b"id-4", b"d", b"127.0.0.1", b"", b"PLAIN", b"alice"],
        ),
        (
            "CURVE key of 31 bytes",
            vec![b"1.0", b"id-5", b"d", b"127.0.0.1", b"", b"CURVE", &key31],
        ),
        (
            "NULL with credentials",
            vec![b"1.0", b"id-6", b"d", b"127.0.0.1", b"", b"NULL", b"x"],
        ),
    ];
    for (what, request) in &cases {
        let reply = ask(&mut w, &zap, request);
        assert_eq!(reply.len(), 6, "{what}: {reply:?}");
        assert_eq!(reply[0], b"1.0", "{what}");
        let expected_id = request.get(1).copied().unwrap_or_default();
        assert_eq!(reply[1], expected_id, "{what}");
        assert_eq!(reply[2], b"400", "{what}");
        assert!(
            reply[4].is_empty(),
            "{what}: no user id for a refused request"
        );
    }
    let counts = w.counts();
    assert_eq!(counts.malformed, cases.len() as u64);
    assert_eq!(counts.allowed + counts.denied + counts.failed, 0);
    assert!(
        w.seen
            .decisions
            .iter()
            .all(|d| d.status == Status::Malformed && !d.reason.is_empty())
    );

    // Still serving afterwards: a well-formed request gets its answer.
    let ok = ask(
        &mut w,
        &zap,
        &[b"1.0", b"id-7", b"d", b"127.0.0.1", b"", b"NULL"],
    );
    assert_eq!(ok[1], b"id-7");
    assert_eq!(ok[2], b"200");
    // An unsupported mechanism is a denial (400), not a malformed request.
    let gssapi = ask(
        &mut w,
        &zap,
        &[
            b"1.0",
            b"id-8",
            b"d",
            b"127.0.0.1",
            b"",
            b"GSSAPI",
            b"token",
        ],
    );
    assert_eq!(gssapi[2], b"400");
    assert_eq!(
        w.seen.decisions.last().unwrap().reason,
        "unsupported mechanism"
    );
}

#[test]
fn one_authenticator_per_context() {
    let w = World::new();
    let err = Authenticator::new(&w.ctx).unwrap_err();
    assert!(matches!(err, AuthError::AlreadyRunning), "{err}");
    // Another context has its own ZAP endpoint.
    let other = zmq::Context::new();
    Authenticator::new(&other).expect("a second context gets its own handler");
}
