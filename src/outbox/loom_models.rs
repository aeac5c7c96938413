//! Model checks of the outbox's synchronisation: loom runs each model under
//! every interleaving of its threads (up to a bound on preemptions) and every
//! value a relaxed atomic load may return.
//!
//! Run them with
//! `RUSTFLAGS="--cfg loom" cargo test -p calloop-zmq --release --lib outbox::`
//! (`LOOM_MAX_PREEMPTIONS` sets the bound, 2 when unset). Each model checks,
//! at every step, the one bound (`senders' queue + loop's count + reserved
//! <= capacity`, and `ahead` equal to what is queued and reserved: checked
//! under the lock by every critical section in a loom build, see
//! `Shared::check`), that the loop's count is never below what it holds,
//! and at the end that every message was delivered, refused by libzmq and
//! handed back, handed back to its sender, or returned by the close, exactly
//! once. A lost wake-up (of the loop, a blocked sender or a waiting task)
//! leaves every thread blocked, which loom reports as a deadlock.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use calloop::ping::{PingSource, make_ping};
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::thread::{self, JoinHandle};

use super::{Outbox, Sender};
use crate::error::SendError;
use crate::message::Multipart;
use crate::sync::Arc;
use crate::zmq;

/// Runs `f` under loom with at most `LOOM_MAX_PREEMPTIONS` (2 if unset)
/// preemptions per execution, which keeps each model to seconds.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}

/// Wakes a model thread parked in [`block_on`].
struct Unpark(thread::Thread);

impl Wake for Unpark {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives `future` on the current model thread, parking (a loom operation)
/// while it is pending: a wake-up that never comes leaves the thread parked,
/// which loom reports as a deadlock. (loom's own `future::block_on` needs
/// its `futures` feature.)
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(std::sync::Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

fn msg(id: &str) -> Multipart {
    Multipart::from(id)
}

fn id(msg: &Multipart) -> String {
    msg.frame_str(0)
        .expect("model messages are text")
        .to_owned()
}

/// What became of one message.
#[derive(Debug)]
enum Fate {
    /// The loop gave it to libzmq.
    Delivered,
    /// libzmq refused it; the loop handed it back (`take_refused`).
    Refused,
    /// Its sender got it back in the error.
    HandedBack,
    /// The close returned it.
    Returned,
}

type Fates = Vec<(String, Fate)>;

/// A sender thread's side: its handle, and the fates of its messages that
/// came back to it. Each hand-back is counted and pings the loop (the model's
/// loop stops once it has seen every message), so the loop is never woken
/// by anything but a queued message's own ping while a message is queued.
struct Side {
    sender: Sender,
    back: Arc<AtomicUsize>,
    fates: Fates,
}

impl Side {
    fn handed_back(&mut self, name: &str) {
        self.fates.push((name.to_owned(), Fate::HandedBack));
        self.back.fetch_add(1, Ordering::Release);
        self.sender.wake_loop();
    }

    /// A send's outcome: queued, or handed back in the error.
    fn record(&mut self, name: &str, result: Result<(), SendError>) {
        if let Err(err) = result {
            assert_eq!(id(&err.into_message()), name, "another message came back");
            self.handed_back(name);
        }
    }

    fn try_send(&mut self, name: &str) {
        let result = self.sender.try_send(msg(name));
        self.record(name, result);
    }

    fn send(&mut self, name: &str) {
        let result = self.sender.send(msg(name));
        self.record(name, result);
    }

    /// Queues `name` through a place reserved by the `reserve` future.
    fn reserve_and_send(&mut self, name: &str) {
        match block_on(self.sender.reserve()) {
            Ok(permit) => {
                let result = permit.send(msg(name));
                self.record(name, result);
            }
            // Only once the source is closing: the message was never given.
            Err(_) => self.handed_back(name),
        }
    }
}

/// Every message the model made has exactly one fate.
fn assert_each_once(made: &[&str], fates: &Fates) {
    for m in made {
        let n = fates.iter().filter(|(id, _)| id == m).count();
        assert_eq!(n, 1, "message {m} has {n} fates: {fates:?}");
    }
    assert_eq!(fates.len(), made.len(), "unknown messages: {fates:?}");
}

/// The loop's side, driven as the source drives it: take the head, send it
/// (or have libzmq refuse it), hand refused ones back, settle.
struct Loop {
    outbox: Outbox,
    _wake: PingSource,
    fates: Fates,
    /// How many messages came back to their senders.
    back: Arc<AtomicUsize>,
    /// Messages libzmq refuses in this model.
    refuse: &'static [&'static str],
}

impl Loop {
    fn new(capacity: usize, refuse: &'static [&'static str]) -> (Loop, Sender) {
        let (ping, wake) = make_ping().expect("an eventfd for the model's ping");
        let outbox = Outbox::new(capacity, ping);
        outbox.set_loop_thread();
        let sender = outbox.sender();
        let lp = Loop {
            outbox,
            _wake: wake,
            fates: Vec::new(),
            back: Arc::new(AtomicUsize::new(0)),
            refuse,
        };
        (lp, sender)
    }

    /// The loop's own invariant: its count never below what it holds (the
    /// lock checks the shared bound).
    fn check(&self) {
        let q = self.outbox.shared.lock();
        assert!(
            q.held >= self.outbox.exact(),
            "the loop's count {} is below the {} messages it holds",
            q.held,
            self.outbox.exact()
        );
        let truth = q.items.len() + self.outbox.exact() + q.reserved;
        assert!(truth <= self.outbox.capacity(), "{truth} places taken");
    }

    /// One dispatch: send what can be sent, hand back what was refused.
    fn dispatch(&mut self) {
        while let Some(head) = self.outbox.head() {
            let name = id(head);
            // The head was just taken in (perhaps by a refill): checked
            // before it is sent, while it is still held.
            self.check();
            if self.refuse.contains(&name.as_str()) {
                self.outbox.refuse_head(zmq::Error::EHOSTUNREACH);
            } else {
                self.outbox.sent();
                self.fates.push((name, Fate::Delivered));
            }
            self.check();
        }
        // The last `head` refilled: checked while the refused are held.
        self.check();
        for failure in self.outbox.take_refused() {
            self.fates.push((id(&failure.message), Fate::Refused));
        }
        self.outbox.settle();
        self.check();
    }

    /// Sleeps until pinged, as the real loop sleeps in `epoll`.
    fn sleep(&self) {
        self.outbox.shared.loop_wake.wait();
    }

    /// Dispatches until each of `made` messages was seen by the loop or
    /// handed back, sleeping in between.
    fn run_until_settled(&mut self, made: usize) {
        loop {
            let back = self.back.load(Ordering::Acquire);
            self.dispatch();
            if self.fates.len() + back == made {
                return;
            }
            self.sleep();
        }
    }

    fn close(&mut self) {
        for m in self.outbox.close() {
            self.fates.push((id(&m), Fate::Returned));
        }
        self.check();
        assert!(self.outbox.is_drained());
    }
}

/// Spawns a sender thread running `body`; joining it gives the fates of
/// the messages handed back to it.
fn spawn_sender(lp: &Loop, body: impl FnOnce(&mut Side) + Send + 'static) -> JoinHandle<Fates> {
    let mut side = Side {
        sender: lp.outbox.sender(),
        back: lp.back.clone(),
        fates: Vec::new(),
    };
    thread::spawn(move || {
        body(&mut side);
        side.fates
    })
}

fn join_all(lp: &mut Loop, threads: Vec<JoinHandle<Fates>>) {
    for t in threads {
        lp.fates.extend(t.join().expect("sender thread"));
    }
}

/// `try_send` (twice, one refused by libzmq) and a blocking `send` race the
/// loop taking and handing back, with the outbox full most of the time.
#[test]
fn try_send_and_blocking_send_race_the_loop() {
    model(|| {
        let (mut lp, _) = Loop::new(1, &["a2"]);
        let threads = vec![
            spawn_sender(&lp, |s| {
                s.try_send("a1");
                s.try_send("a2");
            }),
            spawn_sender(&lp, |s| s.send("b1")),
        ];
        lp.run_until_settled(3);
        join_all(&mut lp, threads);
        lp.close();
        assert_each_once(&["a1", "a2", "b1"], &lp.fates);
    });
}

/// `reserve` + `Permit::send` and `try_send` race for the one place while
/// the loop takes messages and hands a refused one back.
#[test]
fn reserve_and_try_send_race_the_loop() {
    model(|| {
        let (mut lp, _) = Loop::new(1, &["a1"]);
        let threads = vec![
            spawn_sender(&lp, |s| s.try_send("a1")),
            spawn_sender(&lp, |s| s.reserve_and_send("c1")),
        ];
        lp.run_until_settled(2);
        join_all(&mut lp, threads);
        lp.close();
        assert_each_once(&["a1", "c1"], &lp.fates);
    });
}

/// Three senders (`try_send`, blocking `send`, `reserve`) against the loop,
/// capacity 2.
#[test]
fn three_senders_race_the_loop() {
    model(|| {
        let (mut lp, _) = Loop::new(2, &[]);
        let threads = vec![
            spawn_sender(&lp, |s| s.try_send("a1")),
            spawn_sender(&lp, |s| s.send("b1")),
            spawn_sender(&lp, |s| s.reserve_and_send("c1")),
        ];
        lp.run_until_settled(3);
        join_all(&mut lp, threads);
        lp.close();
        assert_each_once(&["a1", "b1", "c1"], &lp.fates);
    });
}

/// `close_source` races a blocking send and a reservation; the loop honours
/// the request as the source does (stop accepting, drain, close). Nobody is
/// left blocked, and every message has one fate.
#[test]
fn close_source_races_sends() {
    model(|| {
        let (mut lp, sender) = Loop::new(1, &[]);
        let threads = vec![
            spawn_sender(&lp, |s| s.send("b1")),
            spawn_sender(&lp, |s| s.reserve_and_send("c1")),
            spawn_sender(&lp, |s| assert!(s.sender.close_source(Duration::ZERO))),
        ];
        loop {
            lp.dispatch();
            if lp.outbox.take_close_request().is_some() {
                lp.outbox.stop_accepting();
                lp.dispatch();
                lp.close();
                break;
            }
            lp.sleep();
        }
        join_all(&mut lp, threads);
        assert!(sender.is_closed());
        assert_each_once(&["b1", "c1"], &lp.fates);
    });
}

/// The loop closes the outbox (`ZmqSource::close`, a drop, a fatal error)
/// while a sender is blocked on a full outbox and another holds or waits
/// for a permit: both get their message back, a queued one is returned.
#[test]
fn loop_close_races_sends() {
    model(|| {
        let (mut lp, sender) = Loop::new(1, &[]);
        let threads = vec![
            spawn_sender(&lp, |s| {
                s.try_send("a1");
                s.send("b1");
            }),
            spawn_sender(&lp, |s| s.reserve_and_send("c1")),
        ];
        lp.close();
        join_all(&mut lp, threads);
        assert!(sender.try_reserve().is_err());
        assert_each_once(&["a1", "b1", "c1"], &lp.fates);
    });
}

/// A permit dropped unused on another thread gives its place back and wakes
/// both a waiting `reserve` and a blocked `send`.
#[test]
fn a_permit_dropped_on_another_thread_wakes_the_waiters() {
    model(|| {
        let (mut lp, sender) = Loop::new(1, &[]);
        let permit = sender.try_reserve().unwrap().expect("an empty outbox");
        let threads = vec![
            spawn_sender(&lp, move |_| drop(permit)),
            spawn_sender(&lp, |s| s.reserve_and_send("c1")),
            spawn_sender(&lp, |s| s.send("b1")),
        ];
        lp.run_until_settled(2);
        join_all(&mut lp, threads);
        assert_eq!(
            lp.outbox.shared.lock().reserved,
            0,
            "a place is still reserved"
        );
        lp.close();
        assert_each_once(&["b1", "c1"], &lp.fates);
    });
}

/// `ahead`, read by the loop without the lock: whatever happened before the
/// read (here, a send the loop learns of through a flag) is in it, the
/// loop's own taking is in it, and once the senders are done it is the
/// truth (the lock checks it against the queue at every critical section).
#[test]
fn ahead_tells_the_loop_what_is_ahead() {
    model(|| {
        let (mut lp, sender) = Loop::new(2, &[]);
        let sent = Arc::new(AtomicBool::new(false));
        let a = {
            let (sender, sent) = (sender.clone(), sent.clone());
            thread::spawn(move || {
                sender.try_send(msg("a1")).expect("room for a1");
                sent.store(true, Ordering::Release);
            })
        };
        let c = {
            let sender = sender.clone();
            thread::spawn(move || {
                let permit = sender.try_reserve().unwrap().expect("room for a place");
                drop(permit);
            })
        };
        if sent.load(Ordering::Acquire) {
            assert!(lp.outbox.ahead() >= 1, "a1 is queued, yet nothing is ahead");
        }
        a.join().unwrap();
        assert!(lp.outbox.ahead() >= 1, "a1 is queued, yet nothing is ahead");
        lp.dispatch();
        // The loop took a1: its own store says so, or a later one (the
        // permit's).
        assert!(lp.outbox.ahead() <= 1, "a1 was taken, yet counts as ahead");
        c.join().unwrap();
        assert_eq!(lp.outbox.ahead(), 0, "nothing is queued or reserved");
        lp.close();
        assert_each_once(&["a1"], &lp.fates);
    });
}

/// Waker registration racing the wake: a `reserve` waiting on a full outbox
/// and a task waiting for it to drain (`poll_drained`, the async socket's
/// flush) are woken when the loop makes room; none is lost.
#[test]
fn waiting_tasks_are_woken_when_the_loop_makes_room() {
    model(|| {
        let (mut lp, sender) = Loop::new(1, &[]);
        sender.try_send(msg("a1")).expect("room for a1");
        let threads = vec![
            spawn_sender(&lp, |s| s.reserve_and_send("c1")),
            spawn_sender(&lp, |s| {
                let mut slot = None;
                block_on(poll_fn(|cx| s.sender.poll_drained(cx, &mut slot, 0)));
                assert_eq!(slot, None, "a ready task left its registration");
            }),
        ];
        lp.run_until_settled(2);
        join_all(&mut lp, threads);
        lp.close();
        assert_each_once(&["a1", "c1"], &lp.fates);
    });
}
