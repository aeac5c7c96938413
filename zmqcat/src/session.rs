//! The main loop: one socket, stdin, stdout, timers and signals on one
//! calloop event loop.

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::os::fd::AsFd;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use calloop::signals::{Signal, Signals};
use calloop_zmq::calloop::channel::{self, Channel};
use calloop_zmq::calloop::timer::{TimeoutAction, Timer};
use calloop_zmq::calloop::{Dispatcher, EventLoop, LoopSignal};
use calloop_zmq::monitor::{EventKind, EventMask, MonitorEvent};
use calloop_zmq::{Closed, Event, Multipart, Sender, SocketHandle, Stats, ZmqSource, zmq};

use crate::args::{Linger, Settings, SocketKind};
use crate::format::{Input, Output};
use crate::input::{Feeder, Held, InputEvent};
use crate::progress::{self, Progress};

/// Why the loop stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// Input ended and everything it produced was sent (and, for REQ, answered).
    InputDone,
    /// --count messages were received (or sent).
    Count,
    /// --timeout passed.
    Timeout,
    /// SIGINT or SIGTERM.
    Signal(&'static str),
    /// stdout was closed by its reader.
    OutputClosed,
    /// Something failed.
    Failed(String),
}

/// How the session ended, for the exit status.
pub struct Outcome {
    /// Why the loop stopped.
    pub stop: Stop,
    /// Messages received.
    pub received: u64,
    /// The --count asked for, if any.
    pub count: Option<u64>,
    /// What is known about delivery.
    pub delivery: Delivery,
    /// Messages still queued in the outbox at exit, never handed to libzmq.
    pub undelivered: usize,
    /// Messages libzmq refused (each reported when it happened).
    pub refused: u64,
    /// --linger, for the words of the report.
    pub linger: Linger,
}

/// What zmqcat knows about the fate of what it sent. libzmq tells when a
/// message left the outbox for the socket ("handed to libzmq"), not when a
/// peer got it; ZeroMQ shows delivery only where the protocol does: a REQ's
/// reply, and a peer that connected (per the socket monitor).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Messages handed to libzmq.
    pub handed_over: u64,
    /// REQ: requests handed to libzmq that got no reply.
    pub unanswered: u64,
    /// Peers that connected (ZMTP handshake done; STREAM: TCP connected).
    pub peers: u64,
    /// False when some endpoint's transport (inproc, pgm ...) has no
    /// connection events, so `peers` says nothing.
    pub peers_known: bool,
}

impl Delivery {
    /// True when messages were handed to libzmq but, as far as the monitor
    /// can tell, no peer was ever there to take them.
    pub fn nobody_connected(&self) -> bool {
        self.handed_over > 0 && self.peers_known && self.peers == 0
    }
}

/// Everything the callbacks share.
struct State {
    kind: SocketKind,
    output: Output,
    /// stdout without a buffer, so a failed write tells exactly what was
    /// printed.
    stdout: File,
    /// Encoded messages not yet written to stdout.
    pending_out: Vec<u8>,
    /// Where each message in `pending_out` ends.
    pending_ends: Vec<usize>,
    /// Messages written to stdout in full.
    printed: u64,
    /// Peers that connected, per the monitor.
    peers: u64,
    /// Connections open now, per the monitor (accepted or connected, less
    /// disconnected).
    connected_now: u64,
    /// Watches for a socket that takes nothing while stdin waits.
    stall: StallWatch,
    /// SIGINT or SIGTERM arrived (also after the loop stopped for another
    /// reason: it ends the wait for a peer).
    signalled: bool,
    received: u64,
    count: Option<u64>,
    echo: bool,
    /// REQ/REP lockstep: one permit lets the input thread send one message.
    permits: Option<mpsc::Sender<()>>,
    /// Set when the input thread is done, with how many messages it queued.
    input_sent: Option<u64>,
    sender: Sender,
    stop: Option<Stop>,
    signal: LoopSignal,
    progress: Progress,
    /// How the socket's source ended: `Some` once it is out of the loop,
    /// with the socket when it closed as asked.
    ended: Option<Ended>,
}

/// How the socket's source left the loop.
enum Ended {
    /// Closed as asked (`Sender::close_source`): the socket and what did not
    /// go out.
    Closed(Closed),
    /// The socket broke; this many messages were not sent.
    Broken { undelivered: usize },
}

impl State {
    fn stop(&mut self, why: Stop) {
        if self.stop.is_none() {
            self.stop = Some(why);
        }
        self.signal.stop();
    }

    fn on_message(&mut self, msg: Multipart, socket: &mut SocketHandle) {
        if self.count.is_some_and(|n| self.received >= n) {
            return; // Past --count in the same batch: not ours to print.
        }
        self.received += 1;
        if self.stop != Some(Stop::OutputClosed) {
            self.output.write(&msg, &mut self.pending_out);
            self.pending_ends.push(self.pending_out.len());
        }
        // STREAM reports a peer connecting or leaving as [id, ""]; sending
        // that back would close the connection, so it is not echoed.
        let stream_event = self.kind == SocketKind::Stream && msg.frame(1) == Some(&[][..]);
        if self.echo && !stream_event {
            if let Err(e) = socket.send(msg) {
                self.progress.note(&format!("zmqcat: echo failed: {e}"));
            }
        } else if let Some(permits) = &self.permits {
            // REQ: the reply frees the next request. REP: the request allows
            // one reply. The input thread may have ended; that's fine.
            let _ = permits.send(());
        }
        if self.count.is_some_and(|n| self.received >= n) {
            socket.pause_recv();
            self.stop(Stop::Count);
        }
    }

    /// A connection event from the socket monitor.
    fn on_peer_event(&mut self, kind: EventKind) {
        match kind {
            EventKind::Accepted | EventKind::Connected => self.connected_now += 1,
            EventKind::Disconnected => self.connected_now = self.connected_now.saturating_sub(1),
            _ => {}
        }
        let peer = match self.kind {
            // Raw TCP has no ZMTP handshake.
            SocketKind::Stream => matches!(kind, EventKind::Accepted | EventKind::Connected),
            _ => kind == EventKind::HandshakeSucceeded,
        };
        if peer {
            self.peers += 1;
        }
    }

    /// Writes what was received to stdout, counting the messages that got
    /// there whole.
    fn write_pending(&mut self) {
        if self.pending_out.is_empty() {
            return;
        }
        let mut written = 0;
        let result = self.progress.suspend(|| {
            while written < self.pending_out.len() {
                match (&self.stdout).write(&self.pending_out[written..]) {
                    Ok(0) => return Err(std::io::Error::from(ErrorKind::WriteZero)),
                    Ok(n) => written += n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        });
        self.printed += self
            .pending_ends
            .iter()
            .filter(|&&end| end <= written)
            .count() as u64;
        self.pending_out.clear();
        self.pending_ends.clear();
        if let Err(e) = result {
            if e.kind() == ErrorKind::BrokenPipe {
                self.stop(Stop::OutputClosed);
            } else {
                self.stop(Stop::Failed(format!("writing stdout failed: {e}")));
            }
        }
    }

    /// After each dispatch: write what was received, see whether we are done.
    fn after_dispatch(&mut self) {
        self.write_pending();
        if let Some(sent) = self.input_sent {
            let done = match self.kind {
                // What is still queued goes out in the shutdown, for at
                // most --linger: waiting here for the outbox to empty would
                // wait for ever when no peer takes it.
                SocketKind::Pub | SocketKind::Push => true,
                SocketKind::Req => self.received >= sent,
                // Other types go on receiving after stdin ends, as netcat
                // does; --count, --timeout or a signal ends them.
                _ => false,
            };
            if done {
                self.stop(Stop::InputDone);
            }
        }
    }
}

/// Gives up when the socket takes no message for --linger while the outbox
/// is full (so stdin reading is held up) and no peer is connected: nobody
/// there to take them, and without it zmqcat would wait for ever. A
/// connected peer that reads slowly is backpressure, not a reason to stop.
struct StallWatch {
    /// Only with a --linger that is a duration.
    limit: Option<Duration>,
    stats: Stats,
    capacity: u64,
    /// `messages_out` at the last check.
    last_out: u64,
    /// Since when the socket is stuck, if it is.
    since: Option<Instant>,
    /// Set when it gave up: the shutdown then waits no more.
    gave_up: bool,
}

impl StallWatch {
    /// How often the watch looks: often enough to give up close to
    /// --linger, rarely enough to cost nothing.
    fn tick(&self) -> Duration {
        self.limit
            .map_or(Duration::from_millis(100), |d| d / 4)
            .clamp(Duration::from_millis(10), Duration::from_millis(100))
    }

    /// One look; `Some(why)` when it is time to give up.
    fn check(&mut self, connected_now: u64, peers_ever: u64) -> Option<String> {
        let limit = self.limit?;
        let s = self.stats.snapshot();
        let moved = s.messages_out != self.last_out;
        self.last_out = s.messages_out;
        let stuck = !moved && s.outbox_depth >= self.capacity && connected_now == 0;
        if !stuck {
            self.since = None;
            return None;
        }
        let since = *self.since.get_or_insert_with(Instant::now);
        if since.elapsed() < limit {
            return None;
        }
        self.gave_up = true;
        let nobody = match peers_ever {
            0 => "no peer has connected".to_owned(),
            1 => "the peer that connected has left".to_owned(),
            n => format!("all {n} peers that connected have left"),
        };
        Some(format!(
            "gave up after --linger ({}): {nobody}, and the socket took none of the {} messages \
             in its outbox while stdin waited; the rest of stdin is not sent (--linger -1 waits \
             for ever)",
            show_duration(limit),
            s.outbox_depth
        ))
    }
}

/// A duration as the user would type it.
pub fn show_duration(d: Duration) -> String {
    if d.is_zero() {
        "0s".to_owned()
    } else {
        format!("{d:?}")
    }
}

/// Runs zmqcat with checked settings until it has a reason to stop.
pub fn run(settings: Settings) -> Result<Outcome, String> {
    // Block SIGINT/SIGTERM before any thread exists (libzmq's, the stdin
    // reader, the socket closer), so they all inherit the mask and the
    // signal reaches the loop's signalfd instead of killing the process.
    let signals = Signals::new(&[Signal::SIGINT, Signal::SIGTERM])
        .map_err(|e| format!("cannot watch SIGINT/SIGTERM: {e}"))?;
    let args = &settings.args;
    let kind = args.socket_type;

    let ctx = zmq::Context::new();
    let socket = ctx
        .socket(kind.zmq_type())
        .map_err(|e| format!("cannot create a {} socket: {e}", kind.zmq_type()))?;
    configure(&socket, &settings)?;
    // Attached before any bind or connect, so no connection goes unseen.
    let monitor = watch_peers(&socket, &ctx)?;
    let stdout = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(File::from)
        .map_err(|e| format!("cannot use stdout: {e}"))?;

    let source = ZmqSource::builder(socket)
        .outbox_capacity(args.outbox.min(usize::MAX as u64) as usize)
        .build()
        .map_err(|e| e.to_string())?;
    let sender = source.sender();
    let stats = source.stats();
    let progress = Progress::new(source.stats(), !args.quiet);
    for endpoint in &args.binds {
        source
            .socket()
            .bind(endpoint)
            .map_err(|e| endpoint_failure(&e))?;
        let bound = source
            .socket()
            .last_endpoint()
            .unwrap_or_else(|_| endpoint.clone());
        // Even with --quiet a chosen port is told: nothing else tells it.
        if !args.quiet || libzmq_chooses(endpoint) {
            progress.note(&format!("zmqcat: bound to {bound}"));
        }
    }
    for endpoint in &args.connects {
        source
            .socket()
            .connect(endpoint)
            .map_err(|e| endpoint_failure(&e))?;
    }
    if kind == SocketKind::Xsub {
        // XSUB subscribes by sending 0x01 + prefix.
        for prefix in &args.subscribe {
            let mut frame = vec![1u8];
            frame.extend_from_slice(prefix.as_bytes());
            sender
                .try_send(frame)
                .map_err(|e| format!("cannot queue the subscription {prefix:?}: {e}"))?;
        }
    }

    let mut event_loop: EventLoop<State> =
        EventLoop::try_new().map_err(|e| format!("cannot create the event loop: {e}"))?;
    let handle = event_loop.handle();
    source
        .insert(
            &handle,
            |event, socket: &mut SocketHandle, state: &mut State| match event {
                Event::Message(msg) => state.on_message(msg, socket),
                Event::SendFailed(failure) => state.progress.note(&format!(
                    "zmqcat: the socket refused a message ({}): {:?}",
                    explain(failure.error, state.kind),
                    failure.message
                )),
                // The shutdown below asked for this: the socket comes back with
                // whatever --linger did not let go out.
                Event::Closed(closed) => state.ended = Some(Ended::Closed(closed)),
                // The socket broke (its context ended): only this source is gone,
                // so say why and stop.
                Event::Fatal(fatal) => {
                    state.ended = Some(Ended::Broken {
                        undelivered: fatal.undelivered.len(),
                    });
                    state.stop(Stop::Failed(format!(
                        "the socket failed: {} ({} message(s) not sent)",
                        fatal.error,
                        fatal.undelivered.len()
                    )));
                }
                _ => {}
            },
        )
        .map_err(|e| format!("cannot add the socket to the event loop: {e}"))?;

    let insert_err =
        |what: &str, e: calloop::Error| format!("cannot add {what} to the event loop: {e}");
    let monitor_token = handle
        .register_dispatcher(monitor.clone())
        .map_err(|e| format!("cannot add the socket monitor to the event loop: {e}"))?;
    handle
        .insert_source(signals, |event, _, state: &mut State| {
            let name = match event.signal() {
                Signal::SIGINT => "SIGINT",
                _ => "SIGTERM",
            };
            state.signalled = true;
            state.stop(Stop::Signal(name));
        })
        .map_err(|e| insert_err("the signal source", e.error))?;
    if let Some(timeout) = args.timeout {
        handle
            .insert_source(Timer::from_duration(timeout), |_, _, state: &mut State| {
                state.stop(Stop::Timeout);
                TimeoutAction::Drop
            })
            .map_err(|e| insert_err("the --timeout timer", e.error))?;
    }
    let stall = StallWatch {
        limit: match args.linger {
            Linger::For(d) if settings.read_input => Some(d),
            _ => None,
        },
        stats: stats.clone(),
        capacity: sender.capacity() as u64,
        last_out: 0,
        since: None,
        gave_up: false,
    };
    if stall.limit.is_some() {
        handle
            .insert_source(
                Timer::from_duration(stall.tick()),
                |_, _, state: &mut State| {
                    if let Some(why) = state.stall.check(state.connected_now, state.peers) {
                        state.stop(Stop::Failed(why));
                        return TimeoutAction::Drop;
                    }
                    TimeoutAction::ToDuration(state.stall.tick())
                },
            )
            .map_err(|e| insert_err("the stall timer", e.error))?;
    }
    if progress.is_live() {
        handle
            .insert_source(
                Timer::from_duration(progress::REFRESH),
                |_, _, state: &mut State| {
                    state.progress.refresh();
                    TimeoutAction::ToDuration(progress::REFRESH)
                },
            )
            .map_err(|e| insert_err("the progress timer", e.error))?;
    }

    // REQ sends first, then waits for each reply; REP waits for a request.
    let gated = matches!(kind, SocketKind::Req | SocketKind::Rep) && settings.read_input;
    let (permit_tx, permit_rx) = mpsc::channel();
    let held = Held::default();
    if kind == SocketKind::Req {
        let _ = permit_tx.send(());
    }
    if settings.read_input {
        let (events_tx, events_rx): (_, Channel<InputEvent>) = channel::channel();
        handle
            .insert_source(events_rx, |event, _, state: &mut State| match event {
                channel::Event::Msg(InputEvent::Done { sent }) => state.input_sent = Some(sent),
                channel::Event::Msg(InputEvent::Failed(why)) => state.stop(Stop::Failed(why)),
                channel::Event::Closed => {}
            })
            .map_err(|e| insert_err("the stdin channel", e.error))?;
        // Send-only sockets and REQ stop after --count messages sent; others
        // count what they receive.
        let limit = match kind {
            SocketKind::Pub | SocketKind::Push | SocketKind::Req => args.count,
            _ => None,
        };
        Feeder {
            input: Input {
                separator: settings.input_separator.clone(),
                routing_id_first: kind.routes(),
            },
            delimiter: settings.delimiter.clone(),
            sender: sender.clone(),
            permits: gated.then_some(permit_rx),
            limit,
            events: events_tx,
            held: held.clone(),
        }
        .spawn()
        .map_err(|e| format!("cannot start the stdin thread: {e}"))?;
    }

    let mut state = State {
        kind,
        output: Output {
            format: args.format,
            separator: settings.output_separator.clone(),
            delimiter: settings.delimiter.clone(),
        },
        stdout,
        pending_out: Vec::new(),
        pending_ends: Vec::new(),
        printed: 0,
        peers: 0,
        connected_now: 0,
        stall,
        signalled: false,
        received: 0,
        count: args.count,
        echo: args.echo,
        permits: gated.then_some(permit_tx),
        input_sent: None,
        sender,
        stop: None,
        signal: event_loop.get_signal(),
        progress,
        ended: None,
    };
    let ran = event_loop.run(None, &mut state, State::after_dispatch);
    // Write whatever the last dispatch received, even after an error.
    state.after_dispatch();
    if let Err(e) = ran {
        state.stop = Some(Stop::Failed(format!("event loop failed: {e}")));
    }
    let peers_known = args
        .binds
        .iter()
        .chain(&args.connects)
        .all(|e| e.starts_with("tcp://") || e.starts_with("ipc://"));
    // From here on, everything zmqcat still does (wait for a peer, send
    // what is queued, let libzmq deliver what it holds) shares one deadline,
    // --linger from now; none if the stall watch already waited that long.
    let deadline = match (state.stall.gave_up, args.linger) {
        (true, _) => Some(Instant::now()),
        (false, Linger::For(d)) => Some(Instant::now() + d),
        (false, Linger::Forever) => None,
    };
    let left = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
    let waited_in_vain = wait_for_peer(
        &mut event_loop,
        &mut state,
        stats.snapshot().messages_out > 0 && peers_known,
        deadline,
    );

    // Shutdown: the source closes itself from inside the loop: it sends
    // what is still queued (until the deadline) and hands the socket back
    // with whatever did not go out. The loop keeps serving signals and the
    // monitor meanwhile, and the source's own deadline timer ends the wait.
    let flush_for = left().unwrap_or(Duration::from_secs(365 * 24 * 3600));
    if let Some(Stop::Signal(name)) = state.stop
        && !state.sender.is_empty()
        && !args.quiet
    {
        // The user asked to stop and it does not, at once: say why, and how.
        let how_long = match args.linger {
            Linger::For(d) => format!("for at most --linger ({})", show_duration(d)),
            Linger::Forever => "for as long as it takes (--linger -1)".to_owned(),
        };
        state.progress.note(&format!(
            "zmqcat: {name}: sending the {} queued messages {how_long}; \
             Ctrl-C again stops now",
            state.sender.len()
        ));
    }
    state.sender.close_source(flush_for);
    // A signal that stopped the session still gets the --linger flush; one
    // that arrives during the flush ends the wait.
    state.signalled = false;
    let mut hurried = false;
    while state.ended.is_none() {
        if state.signalled && !hurried {
            hurried = true;
            state.sender.close_source(Duration::ZERO);
        }
        if let Err(e) = event_loop.dispatch(None, &mut state) {
            state
                .progress
                .note(&format!("zmqcat: event loop failed while closing: {e}"));
            break;
        }
    }
    state.after_dispatch();
    handle.remove(monitor_token);
    drop(event_loop);
    // The monitor's socket is closed here, not dropped on a background
    // thread as a dropped source is: whichever socket goes last holds the
    // context, and the context's termination below must run on this thread
    // (it is what waits up to --linger for libzmq to deliver; a process
    // that leaves main while another thread waits there loses the queue).
    drop(monitor.into_source_inner().close());
    let undelivered = match state.ended.take() {
        Some(Ended::Closed(closed)) => {
            let undelivered = closed.undelivered.len();
            if !kind.can_send() || waited_in_vain || hurried {
                // A SUB or PULL socket only holds subscriptions and
                // handshakes, a socket that waited the whole --linger for a
                // peer has waited enough, and a signal during the flush
                // asked to stop waiting (the context's termination below
                // cannot see a signal: with --linger -1 it would never end).
                let _ = closed.socket.set_linger(0);
            } else if let Some(left) = left() {
                // What libzmq still holds gets what is left of the deadline.
                let _ = closed.socket.set_linger(Linger::For(left).millis());
            }
            drop(closed);
            undelivered
        }
        Some(Ended::Broken { undelivered }) => undelivered,
        None => 0,
    };
    // And the line the stdin thread held, waiting for room, if any: the
    // source has ended, so its send has returned it (or does so now).
    let undelivered = undelivered + held.returned(Duration::from_secs(1)) as usize;
    drop(ctx);

    let stop = state.stop.clone().unwrap_or(Stop::InputDone);
    let sent = stats.snapshot().messages_out;
    let delivery = Delivery {
        handed_over: sent,
        unanswered: match kind {
            SocketKind::Req => sent.saturating_sub(state.received),
            _ => 0,
        },
        peers: state.peers,
        peers_known,
    };
    if !settings.args.quiet {
        let why = describe(&stop, state.received, state.count);
        let known = known_facts(kind, &delivery, state.printed);
        eprintln!("{}", state.progress.finish(undelivered, &why, &known));
    }
    Ok(Outcome {
        stop,
        received: state.received,
        count: state.count,
        delivery,
        undelivered,
        refused: stats.snapshot().send_failures,
        linger: args.linger,
    })
}

/// The socket monitor's events, where `State::on_peer_event` counts peers.
type PeerWatch<'l> = Dispatcher<'l, ZmqSource, State>;

/// Starts libzmq's socket monitor on `socket` and returns its receiving end
/// as a source. Not `calloop_zmq::monitor::Monitor`: that one is dropped,
/// not closed, so its socket would outlive the exit sequence (see `run`).
/// Only the events that show a peer are asked for: with BIND_FAILED in the
/// mask, libzmq 4.3.5 reports a failed bind to the monitor before returning,
/// and that send overwrites the bind's errno (it reads EAGAIN).
fn watch_peers<'l>(socket: &zmq::Socket, ctx: &zmq::Context) -> Result<PeerWatch<'l>, String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        format!("cannot watch the socket's connections ({what}): {e}")
    };
    let endpoint = format!("inproc://zmqcat.monitor.{}", std::process::id());
    let events = EventMask::HANDSHAKE_SUCCEEDED
        | EventMask::ACCEPTED
        | EventMask::CONNECTED
        | EventMask::DISCONNECTED;
    socket
        .monitor(&endpoint, u32::from(events.0))
        .map_err(|e| fail("zmq_socket_monitor", &e))?;
    let pair = ctx
        .socket(zmq::SocketType::Pair)
        .map_err(|e| fail("PAIR socket", &e))?;
    pair.set_linger(0).map_err(|e| fail("ZMQ_LINGER", &e))?;
    pair.connect(&endpoint).map_err(|e| fail("connect", &e))?;
    let source = ZmqSource::new(pair).map_err(|e| fail("source", &e))?;
    Ok(Dispatcher::new(source, |event, _, state: &mut State| {
        if let Event::Message(msg) = event {
            state.on_peer_event(MonitorEvent::decode(&msg).kind);
        }
    }))
}

/// After stdin ended with everything handed to libzmq but no peer seen
/// yet (a connect that has not completed, or nobody listening), keeps the
/// loop running for up to `linger`, until a peer connects or a signal
/// comes, so the summary can say whether anyone was there. True when it
/// waited and no peer came.
fn wait_for_peer(
    event_loop: &mut EventLoop<State>,
    state: &mut State,
    handed_over: bool,
    deadline: Option<Instant>,
) -> bool {
    // PUB drops what no subscriber takes at once: waiting saves nothing.
    let queues = !matches!(state.kind, SocketKind::Pub | SocketKind::Xpub);
    if !(handed_over && queues && state.peers == 0 && state.stop == Some(Stop::InputDone)) {
        return false;
    }
    while state.peers == 0 && !state.signalled {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left == Some(Duration::ZERO) {
            break;
        }
        if let Err(e) = event_loop.dispatch(left, state) {
            state
                .progress
                .note(&format!("zmqcat: event loop failed: {e}"));
            break;
        }
        state.write_pending();
    }
    state.peers == 0
}

/// True when libzmq picks the address: a tcp port `*` or `0`, an ipc path `*`.
fn libzmq_chooses(endpoint: &str) -> bool {
    match endpoint.split_once("://") {
        Some(("tcp", address)) => address
            .rsplit_once(':')
            .is_some_and(|(_, port)| port == "*" || port == "0"),
        Some(("ipc", path)) => path == "*",
        _ => false,
    }
}

/// What the summary can say about delivery and output, beyond the counters.
fn known_facts(kind: SocketKind, delivery: &Delivery, printed: u64) -> String {
    let mut facts = Vec::new();
    if !matches!(kind, SocketKind::Pub | SocketKind::Push) {
        facts.push(format!("printed {printed}"));
    }
    if kind == SocketKind::Req {
        facts.push(format!(
            "{} of {} requests answered",
            delivery.handed_over - delivery.unanswered,
            delivery.handed_over
        ));
    }
    if delivery.peers_known {
        facts.push(match delivery.peers {
            1 => "1 peer connected".to_owned(),
            n => format!("{n} peers connected"),
        });
    }
    facts.join("; ")
}

/// A failed bind or connect in words: what was tried, where, and why.
fn endpoint_failure(e: &zmq::EndpointError) -> String {
    let why = match e.zmq_error() {
        Some(error) => errno_words(error),
        None => "the endpoint contains a NUL byte".to_owned(),
    };
    format!("cannot {} {:?}: {why}", e.op(), e.endpoint())
}

/// libzmq's errno for a bind or connect, in the user's terms, with its name.
fn errno_words(error: zmq::Error) -> String {
    let words = match error {
        zmq::Error::ENODEV => "no such network interface or address",
        zmq::Error::EADDRINUSE => "the address is already in use (another socket has bound it)",
        zmq::Error::EADDRNOTAVAIL => "the address is not one of this machine's",
        zmq::Error::ENOENT => "no such file or directory (the ipc path's directory)",
        zmq::Error::EPROTONOSUPPORT => "this libzmq was built without that transport",
        zmq::Error::ENOCOMPATPROTO => "that transport does not work with this socket type",
        zmq::Error::EAFNOSUPPORT => "the address family is not supported here",
        zmq::Error::EMTHREAD => "libzmq has no I/O thread left for it",
        zmq::Error::EINVAL => "libzmq refuses the endpoint as invalid",
        _ => match std::io::Error::from_raw_os_error(error.to_raw()).kind() {
            ErrorKind::PermissionDenied => {
                "permission denied (ports below 1024 need privileges; ipc needs a writable directory)"
            }
            _ => &error.message(),
        },
    };
    match error.name() {
        Some(name) => format!("{words} ({name})"),
        None => format!("{words} (errno {})", error.to_raw()),
    }
}

/// Applies socket options; all must be set before bind/connect.
fn configure(socket: &zmq::Socket, settings: &Settings) -> Result<(), String> {
    let args = &settings.args;
    let set = |what: &str, r: zmq::Result<()>| r.map_err(|e| format!("cannot set {what}: {e}"));
    set("--linger", socket.set_linger(args.linger.millis()))?;
    if let Some(hwm) = args.sndhwm {
        set("--sndhwm", socket.set_sndhwm(hwm))?;
    }
    if let Some(hwm) = args.rcvhwm {
        set("--rcvhwm", socket.set_rcvhwm(hwm))?;
    }
    if args.ipv6 {
        set("--ipv6", socket.set_ipv6(true))?;
    }
    if let Some(identity) = &args.identity {
        set("--identity", socket.set_routing_id(identity.as_bytes()))?;
    }
    if args.socket_type == SocketKind::Router {
        // Report a message for an unknown peer instead of dropping it silently.
        set("ZMQ_ROUTER_MANDATORY", socket.set_router_mandatory(true))?;
    }
    if args.socket_type == SocketKind::Sub {
        if args.subscribe.is_empty() {
            set("the subscription", socket.set_subscribe(b""))?;
        }
        for prefix in &args.subscribe {
            set("--subscribe", socket.set_subscribe(prefix.as_bytes()))?;
        }
    }
    Ok(())
}

/// A libzmq send error in the user's terms.
fn explain(error: zmq::Error, kind: SocketKind) -> String {
    match (error, kind) {
        (zmq::Error::EHOSTUNREACH, _) => {
            "no connected peer has that routing id (the first frame)".into()
        }
        (zmq::Error::EFSM, SocketKind::Rep) => "REP must receive a request before replying".into(),
        (zmq::Error::EFSM, _) => "the socket is not in a state to send".into(),
        (e, _) => e.to_string(),
    }
}

/// The summary's first words.
fn describe(stop: &Stop, received: u64, count: Option<u64>) -> String {
    // A failure itself is reported by main, as the error it is.
    match stop {
        Stop::InputDone => "input done".into(),
        Stop::Count => format!("received {received} of --count {}", count.unwrap_or(0)),
        Stop::Timeout => "--timeout passed".into(),
        Stop::Signal(name) => format!("{name}, shut down"),
        Stop::OutputClosed => "stdout closed".into(),
        Stop::Failed(_) => "failed".into(),
    }
}
