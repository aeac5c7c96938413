//! The main loop: one socket, stdin, stdout, timers and signals on one
//! calloop event loop.

use std::io::Write;
use std::sync::mpsc;
use std::time::Duration;

use calloop::signals::{Signal, Signals};
use calloop_zmq::calloop::channel::{self, Channel};
use calloop_zmq::calloop::timer::{TimeoutAction, Timer};
use calloop_zmq::calloop::{Dispatcher, EventLoop, LoopSignal};
use calloop_zmq::{Event, Multipart, Sender, SocketHandle, ZmqSource, zmq};

use crate::args::{Linger, Settings, SocketKind};
use crate::format::{Input, Output};
use crate::input::{Feeder, InputEvent};
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
}

/// Everything the callbacks share.
struct State {
    kind: SocketKind,
    output: Output,
    /// Encoded messages not yet written to stdout.
    pending_out: Vec<u8>,
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
        self.output.write(&msg, &mut self.pending_out);
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

    /// After each dispatch: write what was received, see whether we are done.
    fn after_dispatch(&mut self) {
        if !self.pending_out.is_empty() {
            let written = self.progress.suspend(|| {
                let mut stdout = std::io::stdout().lock();
                stdout
                    .write_all(&self.pending_out)
                    .and_then(|()| stdout.flush())
            });
            self.pending_out.clear();
            if let Err(e) = written {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    self.stop(Stop::OutputClosed);
                } else {
                    self.stop(Stop::Failed(format!("writing stdout failed: {e}")));
                }
            }
        }
        if let Some(sent) = self.input_sent {
            let done = match self.kind {
                SocketKind::Pub | SocketKind::Push => self.sender.is_empty(),
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

    let source = ZmqSource::builder(socket)
        .outbox_capacity(args.outbox.min(usize::MAX as u64) as usize)
        .build()
        .map_err(|e| e.to_string())?;
    let sender = source.sender();
    let progress = Progress::new(source.stats(), !args.quiet);
    for endpoint in &args.binds {
        source.bind(endpoint).map_err(|e| e.to_string())?;
        let bound = source
            .socket()
            .last_endpoint()
            .unwrap_or_else(|_| endpoint.clone());
        progress.note(&format!("zmqcat: bound to {bound}"));
    }
    for endpoint in &args.connects {
        source.connect(endpoint).map_err(|e| e.to_string())?;
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
    let socket_source = Dispatcher::new(
        source,
        |event, socket: &mut SocketHandle, state: &mut State| match event {
            Event::Message(msg) => state.on_message(msg, socket),
            Event::SendFailed(failure) => state.progress.note(&format!(
                "zmqcat: the socket refused a message ({}): {:?}",
                explain(failure.error, state.kind),
                failure.message
            )),
            // The socket broke (its context ended): only this source is gone,
            // so say why and stop.
            Event::Fatal(fatal) => state.stop(Stop::Failed(format!(
                "the socket failed: {} ({} message(s) not sent)",
                fatal.error,
                fatal.undelivered.len()
            ))),
            _ => {}
        },
    );
    let token = handle
        .register_dispatcher(socket_source.clone())
        .map_err(|e| format!("cannot add the socket to the event loop: {e}"))?;

    let insert_err =
        |what: &str, e: calloop::Error| format!("cannot add {what} to the event loop: {e}");
    handle
        .insert_source(signals, |event, _, state: &mut State| {
            let name = match event.signal() {
                Signal::SIGINT => "SIGINT",
                _ => "SIGTERM",
            };
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
        pending_out: Vec::new(),
        received: 0,
        count: args.count,
        echo: args.echo,
        permits: gated.then_some(permit_tx),
        input_sent: None,
        sender,
        stop: None,
        signal: event_loop.get_signal(),
        progress,
    };
    if args.count == Some(0) {
        state.stop(Stop::Count);
    }
    let ran = event_loop.run(None, &mut state, State::after_dispatch);
    // Write whatever the last dispatch received, even after an error.
    state.after_dispatch();
    if let Err(e) = ran {
        state.stop = Some(Stop::Failed(format!("event loop failed: {e}")));
    }

    // Shutdown: take the socket out of the loop, hand everything still
    // queued to libzmq (bounded by --linger), then close the socket and the
    // context, which waits up to the linger for libzmq to deliver.
    handle.remove(token);
    drop(event_loop);
    let mut source = socket_source.into_source_inner();
    let flush_for = match settings.args.linger {
        Linger::For(d) => d,
        Linger::Forever => Duration::from_secs(365 * 24 * 3600),
    };
    if let Err(e) = source.flush(flush_for) {
        state.progress.note(&format!("zmqcat: {e}"));
    }
    let closed = source.close();
    let undelivered = closed.undelivered.len();
    if !kind.can_send() {
        // A SUB or PULL socket only holds subscriptions and handshakes;
        // lingering on them would only delay the exit.
        let _ = closed.socket.set_linger(0);
    }
    drop(closed);
    drop(ctx);

    let stop = state.stop.clone().unwrap_or(Stop::InputDone);
    if !settings.args.quiet {
        let why = describe(&stop, state.received, state.count);
        eprintln!("{}", state.progress.finish(undelivered, &why));
    }
    Ok(Outcome {
        stop,
        received: state.received,
        count: state.count,
    })
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
