//! The ZeroMQ guide's parallel pipeline (taskvent, taskwork, tasksink):
//! PUSH/PULL, with a producer thread feeding the ventilator's [`Sender`].
//!
//! - **Ventilator**: a PUSH socket on the main loop. Tasks come from a
//!   separate *producer thread* that calls the blocking [`Sender::send`]: the
//!   outbox is kept small on purpose, so the producer is held back whenever
//!   the workers fall behind, and the loop thread never blocks.
//! - **Workers**: [`WORKERS`] threads, each with its own event loop, a PULL
//!   socket for tasks and a PUSH socket towards the sink. A task says how many
//!   milliseconds of "work" it takes; the worker pauses receiving, lets a
//!   calloop timer run for that long, sends the result and resumes. (The guide's
//!   worker sleeps; this one could serve other sources meanwhile.)
//! - **Sink**: a PULL socket on the main loop that collects the results.
//!
//! Each worker first sends "ready" to the sink; the producer starts when all
//! have, so the first worker to connect does not get every task (the guide's
//! "slow joiner"). The program prints how the tasks spread and how much
//! faster than serial the batch went, then exits.
//!
//! Run with `cargo run --example pipeline`; it finishes by itself.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use calloop_zmq::calloop::timer::{TimeoutAction, Timer};
use calloop_zmq::calloop::{Dispatcher, EventLoop, LoopSignal};
use calloop_zmq::{Event, SendError, Sender, SocketHandle, ZmqSource, zmq};

const WORKERS: usize = 4;
const TASKS: usize = 100;
/// The ventilator's outbox: small, so the producer feels the backpressure.
const OUTBOX: usize = 8;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

struct Sink {
    ready: usize,
    /// Results per worker.
    done: [usize; WORKERS],
    results: usize,
    /// Tells the producer thread to start, once every worker is ready.
    go: Option<mpsc::Sender<()>>,
    stop: LoopSignal,
}

fn main() -> Result<(), BoxError> {
    let ctx = zmq::Context::new();
    let mut event_loop: EventLoop<Sink> = EventLoop::try_new()?;
    let handle = event_loop.handle();

    let ventilator = ZmqSource::builder(ctx.socket(zmq::SocketType::Push)?)
        .outbox_capacity(OUTBOX)
        .build()?;
    ventilator.bind("tcp://127.0.0.1:*")?;
    let tasks_endpoint = ventilator.socket().last_endpoint()?;
    let sink = ZmqSource::new(ctx.socket(zmq::SocketType::Pull)?)?;
    sink.bind("tcp://127.0.0.1:*")?;
    let sink_endpoint = sink.socket().last_endpoint()?;
    println!("ventilator on {tasks_endpoint}, sink on {sink_endpoint}");

    // The producer: a plain thread that blocks on the outbox, never on libzmq.
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let tasks = ventilator.sender();
    let stats = ventilator.stats();
    let producer = std::thread::spawn(move || produce(tasks, go_rx));

    ventilator
        .insert(&handle, |event, _, _: &mut Sink| {
            if let Event::SendFailed(f) = event {
                eprintln!("ventilator: refused: {}", f.error);
            }
        })
        .map_err(calloop_zmq::Error::from)?;
    sink.insert(&handle, |event, _, sink: &mut Sink| {
        let Event::Message(msg) = event else { return };
        let text = msg.frame_str(0).unwrap_or("");
        if text.starts_with("ready") {
            sink.ready += 1;
            if sink.ready == WORKERS
                && let Some(go) = sink.go.take()
            {
                let _ = go.send(());
            }
            return;
        }
        // "done <worker> <ms>"
        let worker = text.split(' ').nth(1).and_then(|w| w.parse::<usize>().ok());
        match worker {
            Some(w) if w < WORKERS => sink.done[w] += 1,
            _ => eprintln!("sink: unexpected message {msg:?}"),
        }
        sink.results += 1;
        if sink.results == TASKS {
            sink.stop.stop();
        }
    })
    .map_err(calloop_zmq::Error::from)?;
    handle
        .insert_source(
            Timer::from_duration(Duration::from_secs(30)),
            |_, _, sink: &mut Sink| {
                eprintln!("deadline passed with {} of {TASKS} results", sink.results);
                sink.stop.stop();
                TimeoutAction::Drop
            },
        )
        .map_err(|e| e.error)?;

    let mut workers = Vec::new();
    for id in 0..WORKERS {
        let (signal_tx, signal_rx) = mpsc::channel();
        let (ctx, tasks, results) = (ctx.clone(), tasks_endpoint.clone(), sink_endpoint.clone());
        let thread = std::thread::spawn(move || work(id, &ctx, &tasks, &results, signal_tx));
        let signal: LoopSignal = signal_rx.recv_timeout(Duration::from_secs(5))?;
        workers.push((thread, signal));
    }

    let mut sink_state = Sink {
        ready: 0,
        done: [0; WORKERS],
        results: 0,
        go: Some(go_tx),
        stop: event_loop.get_signal(),
    };
    let started = Instant::now();
    event_loop.run(None, &mut sink_state, |_| {})?;
    let elapsed = started.elapsed();

    for (_, signal) in &workers {
        signal.stop();
        signal.wakeup();
    }
    for (thread, _) in workers {
        thread.join().map_err(|_| "worker panicked")??;
    }
    // Dropping the state drops the go channel, so a producer still waiting for
    // the start signal gives up instead of hanging.
    let results = sink_state.results;
    let done = sink_state.done;
    drop(sink_state);
    let work_ms = producer.join().map_err(|_| "producer panicked")??;

    println!("tasks per worker: {done:?}");
    let s = stats.snapshot();
    println!(
        "ventilator outbox: peak {} of {OUTBOX}, {} loop wake-ups for {} tasks",
        s.outbox_peak, s.outbox_wakeups, s.messages_out
    );
    println!(
        "{results} results in {} ms for {work_ms} ms of work ({:.1}x parallel)",
        elapsed.as_millis(),
        work_ms as f64 / elapsed.as_millis().max(1) as f64
    );
    if results != TASKS {
        return Err(format!("only {results} of {TASKS} results").into());
    }
    Ok(())
}

/// taskvent's loop, on its own thread: wait for the go, then push every task
/// with a blocking send. Returns the total work in milliseconds.
fn produce(tasks: Sender, go: mpsc::Receiver<()>) -> Result<u64, BoxError> {
    if go.recv_timeout(Duration::from_secs(10)).is_err() {
        return Err("workers never got ready".into());
    }
    let mut seed: u64 = 0x0dd_ba11;
    let mut total = 0;
    for _ in 0..TASKS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let ms = seed % 20 + 1;
        total += ms;
        match tasks.send_timeout(ms.to_string(), Duration::from_secs(10)) {
            Ok(()) => {}
            // The loop ended (deadline or error): nobody will take more tasks.
            Err(SendError::Closed(_)) => break,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(total)
}

/// taskwork: PULL tasks, "work" on a timer while receiving is paused, PUSH
/// results.
fn work(
    id: usize,
    ctx: &zmq::Context,
    tasks_endpoint: &str,
    sink_endpoint: &str,
    signal_tx: mpsc::Sender<LoopSignal>,
) -> Result<(), BoxError> {
    /// Set by the work timer: the task is done, take the next one.
    struct Worker {
        resume: bool,
    }
    let mut event_loop: EventLoop<Worker> = EventLoop::try_new()?;
    let handle = event_loop.handle();
    let results = ZmqSource::new(ctx.socket(zmq::SocketType::Push)?)?;
    results.connect(sink_endpoint)?;
    let results_tx = results.sender();
    results
        .insert(&handle, |event, _, _: &mut Worker| {
            if let Event::SendFailed(f) = event {
                eprintln!("worker {id}: result refused: {}", f.error);
            }
        })
        .map_err(calloop_zmq::Error::from)?;
    results_tx.try_send(format!("ready {id}"))?;

    let tasks = ZmqSource::new(ctx.socket(zmq::SocketType::Pull)?)?;
    tasks.connect(tasks_endpoint)?;
    let timers = handle.clone();
    // A Dispatcher (instead of `insert`) keeps a handle on the source, so the
    // loop below can reach the socket to resume receiving.
    let tasks = Dispatcher::new(
        tasks,
        move |event, socket: &mut SocketHandle, _: &mut Worker| {
            let Event::Message(task) = event else { return };
            let ms: u64 = task.frame_str(0).and_then(|t| t.parse().ok()).unwrap_or(0);
            // One task at a time: no more tasks until this one is done.
            socket.pause_recv();
            let results_tx = results_tx.clone();
            let timer = Timer::from_duration(Duration::from_millis(ms));
            let inserted = timers.insert_source(timer, move |_, _, worker: &mut Worker| {
                if let Err(e) = results_tx.try_send(format!("done {id} {ms}")) {
                    eprintln!("worker {id}: {e}");
                }
                worker.resume = true;
                TimeoutAction::Drop
            });
            if let Err(e) = inserted {
                eprintln!("worker {id}: cannot start a timer: {}", e.error);
            }
        },
    );
    handle.register_dispatcher(tasks.clone())?;
    signal_tx.send(event_loop.get_signal())?;

    let mut worker = Worker { resume: false };
    // The closure runs after every dispatch, outside any source's callback,
    // where borrowing the tasks source is allowed.
    event_loop.run(None, &mut worker, |worker| {
        if std::mem::take(&mut worker.resume) {
            tasks.as_source_mut().handle().resume_recv();
        }
    })?;
    Ok(())
}
