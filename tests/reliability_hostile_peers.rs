//! Hostile peers over tcp (127.0.0.1), measured: while each attack runs, a
//! 1 ms calloop `Timer` ticks on the loop and two good DEALER peers do
//! lockstep round trips with the ROUTER server on the same loop. Each test
//! prints one `RELIABILITY hostile-peers` line with the timer's worst gap
//! during the attack, the process's RSS and open fds before and after, and
//! the good peers' round trips (every one answered, in order: a lost or
//! wrong reply fails the test).
//!
//! The attacks: garbage greetings; a valid handshake then a frame over
//! `ZMQ_MAXMSGSIZE`; handshakes that never finish (`ZMQ_HANDSHAKE_IVL`);
//! 1,000 connections opened and dropped at once; CURVE clients with wrong
//! keys, one after another. `reliability_hostile.rs` runs the first two
//! against every socket type; here they run in volume, with figures.
//!
//! Nothing here asserts a speed: the machine is shared. The bounds are for
//! liveness (every wait is `WAIT`, a stalled loop fails) and for memory
//! (a generous RSS ceiling, so a leak per connection fails loudly).

mod reliability_hostile_wire;
mod support;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::calloop::timer::{TimeoutAction, Timer};
use calloop_zmq::{Event, ZmqSource, zmq};
use reliability_hostile_wire::{closed_by_server, greeting, noise, oversized, raw, ready};
use support::WAIT;

const MAX_MSG: i64 = 1024;
/// Good round trips before an attack starts and after it ends.
const GOOD_ROUNDS: u64 = 20;
/// How long one attack may take in all before the test fails.
const ATTACK_LIMIT: Duration = Duration::from_secs(120);
/// RSS may grow this much over an attack before the test calls it a leak.
const RSS_CEILING: u64 = 256 << 20;

/// RSS and open fds are the whole process's: the attacks run one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    // A failed attack poisons the lock; the next one still runs alone.
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

/// The loop's state: the echo server's counts and the timer's gaps.
#[derive(Default)]
struct State {
    echoed: u64,
    /// Messages from a hostile peer (they must never get through).
    hostile: u64,
    send_failures: u64,
    ticks: u64,
    last_tick: Option<Instant>,
    worst_gap: Duration,
}

/// Figures of one attack.
struct Figures {
    attack: &'static str,
    hostile: String,
    seconds: f64,
    ticks: u64,
    worst_gap: Duration,
    rss_before: u64,
    rss_after: u64,
    fds_before: usize,
    fds_after: usize,
    good: Vec<u64>,
    echoed: u64,
    send_failures: u64,
}

impl Figures {
    fn print(&self) {
        println!(
            "RELIABILITY hostile-peers {}: {} in {:.1} s; 1 ms timer: {} ticks, worst gap {:.1} ms; \
             RSS {} KiB before, {} KiB after ({:+} KiB); fds {} before, {} after; \
             good peers {:?} round trips, all answered in order (server echoed {}, send failures {})",
            self.attack,
            self.hostile,
            self.seconds,
            self.ticks,
            self.worst_gap.as_secs_f64() * 1e3,
            self.rss_before >> 10,
            self.rss_after >> 10,
            (self.rss_after as i64 - self.rss_before as i64) / 1024,
            self.fds_before,
            self.fds_after,
            self.good,
            self.echoed,
            self.send_failures,
        );
    }
}

/// Resident set size in bytes (`/proc/self/statm`, second field, in pages).
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .expect("resident pages in /proc/self/statm");
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * u64::try_from(page).expect("page size")
}

/// Open file descriptors of this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("list /proc/self/fd")
        .count()
}

/// The soft limit on open files (`ulimit -n`).
fn fd_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("read /proc/self/limits");
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|soft| soft.parse().ok())
        .unwrap_or(u64::MAX) // "unlimited"
}

type Setup = Arc<dyn Fn(&zmq::Socket) + Send + Sync>;

/// A good peer: lockstep round trips until told to stop. Every reply must
/// come within `WAIT` and be the request it answers.
fn good_peer(
    ctx: zmq::Context,
    endpoint: String,
    id: usize,
    setup: Setup,
    stop: Arc<AtomicBool>,
    rounds: Arc<AtomicU64>,
) -> JoinHandle<u64> {
    thread::spawn(move || {
        let socket = ctx.socket(zmq::SocketType::Dealer).unwrap();
        socket.set_linger(0).unwrap();
        setup(&socket);
        socket.connect(&endpoint).unwrap();
        let wait = WAIT.as_millis() as i64;
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let body = format!("good {id} {n}").into_bytes();
            let writable = socket.poll(zmq::POLLOUT, wait).unwrap();
            assert!(
                writable.contains(zmq::POLLOUT),
                "good peer {id}: could not send round trip {n} within {WAIT:?}"
            );
            socket.send(&body, zmq::DONTWAIT).unwrap();
            let readable = socket.poll(zmq::POLLIN, wait).unwrap();
            assert!(
                readable.contains(zmq::POLLIN),
                "good peer {id}: no reply to round trip {n} within {WAIT:?}"
            );
            let reply = socket.recv_multipart(0).unwrap();
            assert_eq!(
                reply,
                vec![body],
                "good peer {id}: wrong reply in round {n}"
            );
            n += 1;
            rounds.fetch_add(1, Ordering::Relaxed);
        }
        n
    })
}

/// The server on its loop, the timer, and the good peers around it.
struct Arena {
    ctx: zmq::Context,
    event_loop: EventLoop<'static, State>,
    state: State,
    endpoint: String,
    addr: String,
}

impl Arena {
    /// A ROUTER echo server on loopback (`ZMQ_MAXMSGSIZE` 1024, backlog
    /// 1024) set up further by `setup`, and the 1 ms timer.
    fn new(ctx: zmq::Context, setup: impl FnOnce(&zmq::Socket)) -> Arena {
        let event_loop: EventLoop<State> = EventLoop::try_new().unwrap();
        Arena::on_loop(ctx, event_loop, setup)
    }

    fn on_loop(
        ctx: zmq::Context,
        event_loop: EventLoop<'static, State>,
        setup: impl FnOnce(&zmq::Socket),
    ) -> Arena {
        let socket = ctx.socket(zmq::SocketType::Router).unwrap();
        socket.set_maxmsgsize(MAX_MSG).unwrap();
        socket.set_linger(0).unwrap();
        socket.set_backlog(1024).unwrap();
        setup(&socket);
        let source = ZmqSource::new(socket).unwrap();
        source.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = source.socket().last_endpoint().unwrap();
        let addr = endpoint.trim_start_matches("tcp://").to_owned();
        let handle = event_loop.handle();
        source
            .insert(&handle, |event, socket, state: &mut State| match event {
                Event::Message(msg) => {
                    if msg.frame(1).is_some_and(|b| b.starts_with(b"good ")) {
                        state.echoed += 1;
                        if socket.send(msg).is_err() {
                            state.send_failures += 1;
                        }
                    } else {
                        state.hostile += 1;
                    }
                }
                Event::SendFailed(_) => state.send_failures += 1,
                _ => {}
            })
            .unwrap();
        handle
            .insert_source(
                Timer::from_duration(Duration::from_millis(1)),
                |_deadline, _, state: &mut State| {
                    // The event is the deadline; the gap that matters is
                    // between the callbacks actually running.
                    let now = Instant::now();
                    if let Some(last) = state.last_tick {
                        state.worst_gap = state.worst_gap.max(now.saturating_duration_since(last));
                    }
                    state.last_tick = Some(now);
                    state.ticks += 1;
                    TimeoutAction::ToDuration(Duration::from_millis(1))
                },
            )
            .unwrap();
        Arena {
            ctx,
            event_loop,
            state: State::default(),
            endpoint,
            addr,
        }
    }

    fn dispatch_until(
        &mut self,
        what: &str,
        peers: &[JoinHandle<u64>],
        done: impl Fn(&State) -> bool,
    ) {
        let deadline = Instant::now() + ATTACK_LIMIT;
        while !done(&self.state) {
            assert!(
                Instant::now() < deadline,
                "timed out after {ATTACK_LIMIT:?} waiting for: {what}"
            );
            if let Some(i) = peers.iter().position(JoinHandle::is_finished) {
                panic!("good peer {i} stopped early while waiting for: {what}");
            }
            self.event_loop
                .dispatch(Some(Duration::from_millis(20)), &mut self.state)
                .unwrap_or_else(|e| panic!("dispatch failed while waiting for {what}: {e}"));
        }
    }

    /// Runs `attack` on its own thread while the good peers (set up by
    /// `good`) do round trips, then checks they are still served, that the
    /// process's fds come back to where they were, and reports.
    ///
    /// `zmtp10` says the attack may look like a ZMTP/1.0 peer, whose bytes
    /// libzmq delivers as messages (see `reliability_hostile.rs`): those are
    /// counted and reported; from any other attack none may arrive.
    fn run<A>(mut self, attack_name: &'static str, good: Setup, zmtp10: bool, attack: A) -> Figures
    where
        A: FnOnce(String, zmq::Context) -> String + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let rounds = Arc::new(AtomicU64::new(0));
        let peers: Vec<_> = (0..2)
            .map(|id| {
                good_peer(
                    self.ctx.clone(),
                    self.endpoint.clone(),
                    id,
                    good.clone(),
                    stop.clone(),
                    rounds.clone(),
                )
            })
            .collect();
        let count = || rounds.load(Ordering::Relaxed);
        self.dispatch_until("good peers' first round trips", &peers, |_| {
            count() >= GOOD_ROUNDS
        });

        let fds_before = open_fds();
        let rss_before = rss();
        self.state.worst_gap = Duration::ZERO;
        self.state.last_tick = None;
        let ticks_before = self.state.ticks;
        let started = Instant::now();
        let attacker = {
            let addr = self.addr.clone();
            let ctx = self.ctx.clone();
            thread::spawn(move || attack(addr, ctx))
        };
        let hostile = loop {
            if attacker.is_finished() {
                break attacker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            }
            if let Some(i) = peers.iter().position(JoinHandle::is_finished) {
                panic!("{attack_name}: good peer {i} stopped during the attack");
            }
            assert!(
                started.elapsed() < ATTACK_LIMIT,
                "{attack_name}: the attack still runs after {ATTACK_LIMIT:?}"
            );
            self.event_loop
                .dispatch(Some(Duration::from_millis(20)), &mut self.state)
                .unwrap_or_else(|e| panic!("dispatch failed during {attack_name}: {e}"));
        };
        let seconds = started.elapsed().as_secs_f64();
        let worst_gap = self.state.worst_gap;
        let ticks = self.state.ticks - ticks_before;

        // Afterwards: the good peers are still served, and every fd the
        // attack opened (both ends) is closed again.
        let after_attack = count();
        self.dispatch_until("good peers served after the attack", &peers, |_| {
            count() >= after_attack + GOOD_ROUNDS
        });
        self.dispatch_until("the attack's connections closed (fds back)", &peers, |_| {
            open_fds() <= fds_before
        });
        let fds_after = open_fds();
        stop.store(true, Ordering::Relaxed);
        let deadline = Instant::now() + WAIT;
        while !peers.iter().all(JoinHandle::is_finished) {
            assert!(
                Instant::now() < deadline,
                "good peers did not stop within {WAIT:?}"
            );
            self.event_loop
                .dispatch(Some(Duration::from_millis(20)), &mut self.state)
                .unwrap();
        }
        let good: Vec<u64> = peers
            .into_iter()
            .map(|p| p.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect();
        let rss_after = rss();

        let figures = Figures {
            attack: attack_name,
            hostile,
            seconds,
            ticks,
            worst_gap,
            rss_before,
            rss_after,
            fds_before,
            fds_after,
            echoed: self.state.echoed,
            send_failures: self.state.send_failures,
            good,
        };
        figures.print();
        assert_eq!(
            figures.echoed,
            figures.good.iter().sum::<u64>(),
            "{attack_name}: every good request was echoed exactly once"
        );
        assert_eq!(
            figures.send_failures, 0,
            "{attack_name}: a good reply failed"
        );
        if zmtp10 {
            println!(
                "RELIABILITY hostile-peers {attack_name}: {} messages from peers libzmq took \
                 for ZMTP/1.0 reached the server (ignored by it; the good peers lost nothing)",
                self.state.hostile
            );
        } else {
            assert_eq!(
                self.state.hostile, 0,
                "{attack_name}: a hostile message got through"
            );
        }
        assert!(
            worst_gap < WAIT,
            "{attack_name}: the loop stalled for {worst_gap:?}"
        );
        assert!(
            rss_after < rss_before + RSS_CEILING,
            "{attack_name}: RSS grew from {rss_before} to {rss_after} bytes"
        );
        figures
    }
}

fn plain_dealer() -> Setup {
    Arc::new(|_: &zmq::Socket| {})
}

// Ignored: in about half of the runs of this file, libzmq 4.3.5 aborts the
// whole process after this attack (`errno_assert` on EAGAIN in
// zmtp_engine.cpp:422, `process_routing_id_msg`: a peer libzmq took for
// ZMTP/1.0 sends its routing id before the session has a pipe). A hostile
// peer can bring the process down; no setting of ours prevents it
// (RELIABILITY.md, SECURITY.md). Run it alone with `--ignored`.
#[test]
#[ignore = "libzmq 4.3.5 can abort the process on this input (zmtp_engine.cpp:422)"]
fn garbage_greetings() {
    let _alone = one_at_a_time();
    let arena = Arena::new(zmq::Context::new(), |_| {});
    arena.run("garbage greeting", plain_dealer(), true, |addr, _| {
        const ROUNDS: usize = 100;
        const PER_ROUND: usize = 10;
        for round in 0..ROUNDS {
            let mut held = Vec::new();
            for i in 0..PER_ROUND {
                let mut s = raw(&addr);
                let mut bytes = noise((round * PER_ROUND + i) as u64 + 1, 64 + 97 * i);
                // Half look like a ZMTP 3 greeting (0xFF ... 0x7F) gone
                // wrong, half are not ZMTP at all.
                if i % 2 == 0 {
                    bytes[0] = 0xff;
                    bytes[9] = 0x7f;
                }
                let _ = s.write_all(&bytes);
                held.push(s);
            }
            drop(held);
        }
        format!("{} connections of noise", ROUNDS * PER_ROUND)
    });
}

#[test]
fn valid_greeting_then_oversized_frame() {
    let _alone = one_at_a_time();
    let arena = Arena::new(zmq::Context::new(), |_| {});
    arena.run("oversized frame", plain_dealer(), false, |addr, _| {
        const CONNECTIONS: usize = 200;
        let mut longest = Duration::ZERO;
        for i in 0..CONNECTIONS {
            let mut s = raw(&addr);
            let _ = s.write_all(&greeting());
            let _ = s.write_all(&ready("DEALER"));
            // A message, or a command, far over ZMQ_MAXMSGSIZE.
            let flags = if i % 2 == 0 { 0x02 } else { 0x06 };
            let _ = s.write_all(&oversized(flags, (MAX_MSG as u64) * 1000));
            let sent = Instant::now();
            assert!(
                closed_by_server(&mut s),
                "connection {i}: a frame over ZMQ_MAXMSGSIZE {MAX_MSG} did not get it closed within {WAIT:?}"
            );
            longest = longest.max(sent.elapsed());
        }
        format!(
            "{CONNECTIONS} connections with a frame of {} KiB over a {MAX_MSG}-byte ZMQ_MAXMSGSIZE, \
             each closed by the server (slowest after {} ms)",
            MAX_MSG * 1000 / 1024,
            longest.as_millis()
        )
    });
}

#[test]
fn handshakes_that_never_finish() {
    let _alone = one_at_a_time();
    const IVL_MS: i32 = 250;
    let arena = Arena::new(zmq::Context::new(), |s| {
        s.set_handshake_ivl(IVL_MS).unwrap()
    });
    arena.run("unfinished handshake", plain_dealer(), false, |addr, _| {
        const ROUNDS: usize = 50;
        let g = greeting();
        let mut held = Vec::new();
        for _ in 0..ROUNDS {
            // Silent; half a greeting; a whole greeting and no READY.
            held.push(raw(&addr));
            let mut s = raw(&addr);
            let _ = s.write_all(&g[..10]);
            held.push(s);
            let mut s = raw(&addr);
            let _ = s.write_all(&g);
            held.push(s);
        }
        let opened = Instant::now();
        for (i, s) in held.iter_mut().enumerate() {
            assert!(
                closed_by_server(s),
                "connection {i}: an unfinished handshake was not closed within {WAIT:?} \
                 (ZMQ_HANDSHAKE_IVL {IVL_MS} ms)"
            );
        }
        format!(
            "{} connections stalled mid-handshake, all closed by the server within {} ms \
             of the last opening (ZMQ_HANDSHAKE_IVL {IVL_MS} ms)",
            held.len(),
            opened.elapsed().as_millis()
        )
    });
}

#[test]
fn a_thousand_connections_opened_and_dropped_at_once() {
    let _alone = one_at_a_time();
    const CONNECTIONS: usize = 1000;
    const ROUNDS: usize = 3;
    // Both ends of every connection live in this process, plus libzmq's
    // own fds and the test harness's.
    let needed = (2 * CONNECTIONS + 256) as u64;
    let limit = fd_limit();
    assert!(
        limit >= needed,
        "this test opens {CONNECTIONS} loopback connections (both ends here): \
         it needs `ulimit -n` >= {needed}, and it is {limit}"
    );
    let arena = Arena::new(zmq::Context::new(), |_| {});
    arena.run(
        "1,000 connections at once",
        plain_dealer(),
        false,
        |addr, _| {
            let mut slowest_open = Duration::ZERO;
            for _ in 0..ROUNDS {
                let t = Instant::now();
                let held: Vec<TcpStream> = (0..CONNECTIONS)
                    .map(|i| {
                        TcpStream::connect(&addr)
                            .unwrap_or_else(|e| panic!("connection {i} of {CONNECTIONS}: {e}"))
                    })
                    .collect();
                slowest_open = slowest_open.max(t.elapsed());
                drop(held);
            }
            format!(
                "{ROUNDS} x {CONNECTIONS} connections opened, then dropped at once \
             (slowest {CONNECTIONS} opened in {} ms)",
                slowest_open.as_millis()
            )
        },
    );
}

#[cfg(all(feature = "auth", feature = "monitor"))]
#[test]
fn curve_clients_with_wrong_keys_in_a_loop() {
    let _alone = one_at_a_time();
    use calloop_zmq::auth::{Authenticator, KeyPair};
    use calloop_zmq::monitor::{EventKind, EventMask, MonitorEvent};

    const ATTEMPTS: u64 = 200;
    assert!(
        calloop_zmq::auth::curve_available(),
        "the default build bundles CURVE (libsodium)"
    );
    let ctx = zmq::Context::new();
    let event_loop: EventLoop<State> = EventLoop::try_new().unwrap();
    let auth = Authenticator::new(&ctx).unwrap();
    let config = auth.config();
    let stats = auth.stats();
    auth.insert(&event_loop.handle(), |_, _| {}).unwrap();

    let server_keys = KeyPair::generate().unwrap();
    let good_keys = KeyPair::generate().unwrap();
    config
        .add_curve_key("hostile", &good_keys.public().to_z85())
        .unwrap();
    let arena = Arena::on_loop(ctx, event_loop, |s| {
        server_keys.configure_server(s).unwrap();
        s.set_zap_domain("hostile").unwrap();
    });
    let server_public = *server_keys.public();
    let good: Setup = Arc::new(move |s: &zmq::Socket| {
        good_keys.configure_client(s, &server_public).unwrap();
    });
    let before = stats.snapshot();
    let figures = arena.run("CURVE wrong keys", good, false, move |addr, ctx| {
        let endpoint = format!("tcp://{addr}");
        for i in 0..ATTEMPTS {
            // A fresh, unlisted client key each time, the right server key:
            // the handshake reaches ZAP, which must refuse it.
            let stranger = KeyPair::generate().unwrap();
            let s = ctx.socket(zmq::SocketType::Dealer).unwrap();
            s.set_linger(0).unwrap();
            stranger.configure_client(&s, &server_public).unwrap();
            // One try per key: no reconnect after the refusal.
            s.set_reconnect_ivl(-1).unwrap();
            s.connect(&endpoint).unwrap();
            // The client learns of the refusal through its own monitor.
            let monitor_endpoint = format!("inproc://wrong-key-{i}");
            s.monitor(&monitor_endpoint, EventMask::HANDSHAKE_FAILED_AUTH.0.into())
                .unwrap();
            let events = ctx.socket(zmq::SocketType::Pair).unwrap();
            events.set_linger(0).unwrap();
            events.connect(&monitor_endpoint).unwrap();
            s.connect(&endpoint).unwrap();
            let _ = s.send(&b"hostile"[..], zmq::DONTWAIT);
            let frames = support::recv_within(&events, &format!("ZAP refusing wrong key {i}"));
            let event = MonitorEvent::decode(&frames.into());
            assert_eq!(
                event.kind,
                EventKind::HandshakeFailedAuth { status_code: 400 },
                "wrong key {i}: {event}"
            );
        }
        format!("{ATTEMPTS} CURVE clients with unlisted keys, each refused by ZAP")
    });
    let after = stats.snapshot();
    assert!(
        after.denied - before.denied >= ATTEMPTS,
        "every wrong key refused: {before:?} -> {after:?}"
    );
    assert_eq!(after.malformed + after.failed, 0);
    println!(
        "RELIABILITY hostile-peers CURVE wrong keys: ZAP allowed {}, denied {}; good peers {:?}",
        after.allowed, after.denied, figures.good
    );
}
