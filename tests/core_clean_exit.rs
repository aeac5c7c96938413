//! A clean exit: `ZmqSource::close_blocking` hands everything to libzmq,
//! closes with a finite linger, and the program can return from `main` at
//! once without cutting the tail. The sender is a child process (this test
//! binary re-run), so "returning from main" is real: the process ends.

mod support;

use std::time::{Duration, Instant};

use calloop_zmq::{Error, ZmqSource, zmq};
use support::{Child, WAIT};

const N: u64 = 20_000;
const ENDPOINT_VAR: &str = "CALLOOP_ZMQ_CLEAN_EXIT_ENDPOINT";

/// The child's part (does nothing unless the parent set the endpoint):
/// queue N messages of 1 KiB, `close_blocking`, return at once.
#[test]
fn child_sends_then_returns_at_once() {
    let Ok(endpoint) = std::env::var(ENDPOINT_VAR) else {
        return;
    };
    let ctx = zmq::Context::new();
    let socket = ctx.socket(zmq::SocketType::Push).unwrap();
    // No pipe before the connection is up, and a short one after: the
    // messages wait in the outbox, as they do behind a slow peer, and must
    // still all arrive.
    socket.set_immediate(true).unwrap();
    socket.set_sndhwm(10).unwrap();
    let mut push = ZmqSource::builder(socket)
        .outbox_capacity(N as usize)
        .build()
        .unwrap();
    push.connect(&endpoint).unwrap();
    for seq in 0..N {
        let mut payload = vec![0u8; 1024];
        payload[..8].copy_from_slice(&seq.to_le_bytes());
        push.handle().send(payload).unwrap();
    }
    let refused = push
        .close_blocking(WAIT)
        .expect("everything handed to libzmq");
    assert!(refused.is_empty());
    // Returning drops `ctx`: the context terminates and waits, at most the
    // linger close_blocking set, for libzmq to write what it holds.
}

#[test]
fn a_peer_counts_every_message_of_a_child_that_returned_at_once() {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::SocketType::Pull).unwrap();
    let endpoint = support::bind_tcp(&pull);
    let mut child = Child::spawn_self(
        "child_sends_then_returns_at_once",
        &[(ENDPOINT_VAR, endpoint)],
    );
    let mut next = 0;
    while next < N {
        let msg = support::recv_within(&pull, &format!("message {next} of {N}"));
        let seq = u64::from_le_bytes(msg[0][..8].try_into().expect("8 bytes"));
        assert_eq!(seq, next, "out of order or lost");
        next += 1;
    }
    child.wait_ok(WAIT, "the sending child");
    assert_eq!(next, N);
}

#[test]
fn close_blocking_that_cannot_flush_in_time_hands_everything_back_unclosed() {
    let ctx = zmq::Context::new();
    let mut push = support::stuck_push(&ctx, 8);
    for i in 0..3 {
        push.handle().send(format!("{i}")).unwrap();
    }
    let started = Instant::now();
    let err = push
        .close_blocking(Duration::from_millis(100))
        .expect_err("no peer: the flush cannot finish");
    assert!(started.elapsed() < WAIT);
    assert!(
        matches!(err.error, Error::FlushTimeout { remaining: 3 }),
        "{err}"
    );
    let texts: Vec<_> = err
        .closed
        .undelivered
        .iter()
        .map(|m| m.frame_str(0).unwrap().to_owned())
        .collect();
    assert_eq!(texts, ["0", "1", "2"]);
    assert!(err.to_string().contains("3 message(s) not sent"), "{err}");
    // The socket came back open, its linger as it was (0 from stuck_push).
    assert_eq!(err.closed.socket.linger().unwrap(), 0);
}
