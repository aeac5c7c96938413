//! `Sender::reserve`: an awaitable, cancellation-safe send for any executor
//! on any thread. Reserved places count against the capacity; a dropped
//! future or permit loses nothing and leaks no place.

mod support;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::{Event, SendError, SourceClosed, ZmqSource, zmq};
use support::{WAIT, run_until, stuck_push};

/// Wakes a thread parked in [`block_on`].
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

fn thread_waker() -> Waker {
    Waker::from(Arc::new(Unpark(thread::current())))
}

/// Drives `fut` on this thread until it is ready, failing after [`WAIT`].
/// It re-polls only when woken (or at the deadline), so a lost wake-up
/// fails the test instead of being papered over by polling.
fn block_on<F: Future>(fut: F) -> F::Output {
    let deadline = Instant::now() + WAIT;
    let mut fut = pin!(fut);
    let waker = thread_waker();
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "future not woken and ready within {WAIT:?}"
        );
        thread::park_timeout(left);
    }
}

#[test]
fn reserved_places_count_against_the_capacity_and_come_back_when_dropped() {
    let ctx = zmq::Context::new();
    let source = stuck_push(&ctx, 2);
    let sender = source.sender();
    let first = sender.try_reserve().unwrap().expect("room for one");
    let second = sender.try_reserve().unwrap().expect("room for two");
    assert!(sender.try_reserve().unwrap().is_none());
    assert!(matches!(sender.try_send("full"), Err(SendError::Full(_))));
    assert_eq!(sender.len(), 2);

    drop(first); // unused: the place comes back
    sender.try_send("queued").unwrap();
    second.send("reserved").unwrap();
    assert_eq!(sender.len(), 2);
    assert!(sender.try_reserve().unwrap().is_none());

    let undelivered: Vec<_> = source
        .close()
        .undelivered
        .iter()
        .map(|m| m.frame_str(0).unwrap().to_owned())
        .collect();
    assert_eq!(undelivered, ["queued", "reserved"]);
    assert_eq!(sender.try_reserve().unwrap_err(), SourceClosed);
}

#[test]
fn a_waiting_reserve_ends_when_the_source_stops_accepting() {
    let ctx = zmq::Context::new();
    let source = stuck_push(&ctx, 1);
    let sender = source.sender();
    let permit = sender.try_reserve().unwrap().expect("room for one");
    let waiter = {
        let sender = sender.clone();
        thread::spawn(move || block_on(sender.reserve()).map(drop))
    };
    // The waiter is parked on a full outbox; closing must wake it.
    assert!(sender.close_source(Duration::ZERO));
    assert_eq!(waiter.join().unwrap(), Err(SourceClosed));
    // A permit taken before the close hands its message back.
    let err = permit.send("late").unwrap_err();
    assert!(matches!(&err, SendError::Closed(m) if m.frame_str(0) == Some("late")));
    drop(source);
}

/// Every reserve is polled once and, when it has to wait, alternately
/// cancelled (dropped, as a `select!` losing a race does) and retried, or
/// awaited. Every message must arrive exactly once and in order, and no
/// place may leak.
#[test]
fn cancelling_reserves_at_every_await_point_loses_and_duplicates_nothing() {
    const N: u64 = 100_000;
    const CAPACITY: usize = 8;
    let ctx = zmq::Context::new();
    let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
    pull.bind("inproc://reserve-cancel").unwrap();
    let push_socket = ctx.socket(zmq::SocketType::Push).unwrap();
    push_socket.set_sndhwm(4).unwrap();
    let push = ZmqSource::builder(push_socket)
        .outbox_capacity(CAPACITY)
        .build()
        .unwrap();
    push.connect("inproc://reserve-cancel").unwrap();
    let sender = push.sender();
    let stats = push.stats();

    let producer = {
        let sender = sender.clone();
        thread::spawn(move || {
            let waker = thread_waker();
            let mut cx = Context::from_waker(&waker);
            let mut cancelled = 0u64;
            for seq in 0..N {
                let permit = loop {
                    let mut fut = pin!(sender.reserve());
                    match fut.as_mut().poll(&mut cx) {
                        Poll::Ready(permit) => break permit.expect("source open"),
                        Poll::Pending if cancelled.is_multiple_of(2) => {
                            // Lose the race: the future is dropped here.
                            cancelled += 1;
                        }
                        Poll::Pending => {
                            cancelled += 1;
                            break block_on(fut).expect("source open");
                        }
                    }
                };
                permit.send(seq.to_le_bytes().to_vec()).unwrap();
            }
            cancelled
        })
    };

    struct Seen {
        next: u64,
        out_of_order: u64,
    }
    let mut event_loop: EventLoop<Seen> = EventLoop::try_new().unwrap();
    push.insert(&event_loop.handle(), |_, _, _| {}).unwrap();
    pull.insert(&event_loop.handle(), |event, _, seen: &mut Seen| {
        if let Event::Message(msg) = event {
            let bytes: [u8; 8] = msg.frame(0).unwrap().try_into().unwrap();
            if u64::from_le_bytes(bytes) != seen.next {
                seen.out_of_order += 1;
            }
            seen.next += 1;
        }
    })
    .unwrap();
    let mut seen = Seen {
        next: 0,
        out_of_order: 0,
    };
    run_until(&mut event_loop, &mut seen, "every message", |s| s.next == N);
    let cancelled = producer.join().unwrap();
    assert_eq!(seen.out_of_order, 0);
    assert!(
        cancelled > 0,
        "the outbox never pushed back: nothing was cancelled"
    );
    // Nothing is left reserved or queued once the loop settles.
    run_until(&mut event_loop, &mut seen, "an empty outbox", |_| {
        sender.is_empty()
    });
    let snapshot = stats.snapshot();
    assert!(snapshot.outbox_peak <= CAPACITY as u64, "{snapshot:?}");
    assert_eq!(snapshot.messages_out, N);
    // Every place is free again.
    let permits: Vec<_> = (0..CAPACITY)
        .map(|_| sender.try_reserve().unwrap().expect("a free place"))
        .collect();
    assert!(sender.try_reserve().unwrap().is_none());
    drop(permits);
}
