//! Three hosts on one machine: network namespaces joined by veth links. A
//! ventilator (host A) hands out tasks to two worker processes (host B),
//! which pass results on to a sink (host C), all with calloop-zmq. Mid-run
//! the A-B link goes down for a few seconds and comes back; the job must
//! complete with every task accounted for (received once, none missing).
//!
//! ```text
//!   A: ventilator ── veth 10.77.1.0/24 ── B: 2 workers ── veth 10.77.2.0/24 ── C: sink
//!      PUSH bind                            PULL / PUSH                         PULL bind
//! ```
//!
//! Needs root and `ip netns` (iproute2); otherwise it prints why and skips.
//! The namespaces are removed by a drop guard, even when the test fails.
//! The processes are this test binary run again, inside a namespace with
//! `ip netns exec`, with `MULTIHOST_ROLE` set.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use calloop_zmq::calloop::EventLoop;
use calloop_zmq::{Event, ZmqSource, zmq};

const ROLE: &str = "MULTIHOST_ROLE";
const TASKS: u64 = 10_000;
const WORKERS: usize = 2;
/// How long the A-B link stays down.
const OUTAGE: Duration = Duration::from_secs(3);
/// No role process outlives this.
const ROLE_LIFETIME: Duration = Duration::from_secs(150);

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"))
}

/// Writes `endpoint` where the parent waits for it (atomically, by rename).
fn publish_endpoint(dir: &str, name: &str, endpoint: &str) {
    let tmp = Path::new(dir).join(format!("{name}.tmp"));
    std::fs::write(&tmp, endpoint).expect("write endpoint");
    std::fs::rename(&tmp, Path::new(dir).join(name)).expect("publish endpoint");
}

fn run_loop<D>(event_loop: &mut EventLoop<'_, D>, data: &mut D, mut done: impl FnMut(&D) -> bool) {
    let deadline = Instant::now() + ROLE_LIFETIME;
    while !done(data) && Instant::now() < deadline {
        event_loop
            .dispatch(Some(Duration::from_millis(50)), data)
            .expect("dispatch");
    }
}

/// The processes' side.
#[test]
fn multihost_role() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let dir = env("MULTIHOST_DIR");
    let ctx = zmq::Context::new();
    match role.as_str() {
        "ventilator" => {
            let push = ZmqSource::new(ctx.socket(zmq::SocketType::Push).unwrap()).unwrap();
            push.bind(&format!("tcp://{}:*", env("MULTIHOST_ADDR")))
                .unwrap();
            let endpoint = push.socket().last_endpoint().unwrap();
            let sender = push.sender();
            let stats = push.stats();
            // Tasks go out paced (100 per 20 ms, ~4 s in all) so the run is
            // still going when the link drops; a paused link stalls the
            // feeder on backpressure until it is back.
            std::thread::spawn(move || {
                for batch in 0..TASKS / 100 {
                    for i in 0..100 {
                        sender
                            .send_timeout(
                                (batch * 100 + i).to_le_bytes().to_vec(),
                                Duration::from_secs(60),
                            )
                            .expect("queue task");
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            });
            let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
            push.insert(&event_loop.handle(), |event, _, _| {
                if let Event::SendFailed(f) = event {
                    eprintln!("ventilator: task refused: {}", f.error);
                }
            })
            .unwrap();
            publish_endpoint(&dir, "ventilator", &endpoint);
            // Stay up until killed: the sockets keep delivering.
            run_loop(&mut event_loop, &mut (), |_| false);
            println!("ventilator: {:?}", stats.snapshot());
        }
        "worker" => {
            let id = env("MULTIHOST_WORKER");
            let push = ZmqSource::new(ctx.socket(zmq::SocketType::Push).unwrap()).unwrap();
            push.connect(&env("MULTIHOST_SINK")).unwrap();
            let forward = push.sender();
            std::thread::spawn(move || {
                let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
                push.insert(&event_loop.handle(), |_, _, _| {}).unwrap();
                run_loop(&mut event_loop, &mut (), |_| false);
            });
            let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
            pull.connect(&env("MULTIHOST_VENTILATOR")).unwrap();
            let mut event_loop: EventLoop<()> = EventLoop::try_new().unwrap();
            pull.insert(&event_loop.handle(), move |event, _, _| {
                if let Event::Message(task) = event {
                    // The "work": tag the task with this worker's id.
                    let result = vec![task[0].to_vec(), id.as_bytes().to_vec()];
                    forward
                        .send_timeout(result, Duration::from_secs(60))
                        .expect("forward result");
                }
            })
            .unwrap();
            run_loop(&mut event_loop, &mut (), |_| false);
        }
        "sink" => {
            struct Sink {
                seen: Vec<u32>,
                distinct: u64,
                duplicated: u64,
                per_worker: std::collections::BTreeMap<String, u64>,
            }
            let pull = ZmqSource::new(ctx.socket(zmq::SocketType::Pull).unwrap()).unwrap();
            pull.bind(&format!("tcp://{}:*", env("MULTIHOST_ADDR")))
                .unwrap();
            let endpoint = pull.socket().last_endpoint().unwrap();
            let mut event_loop: EventLoop<Sink> = EventLoop::try_new().unwrap();
            pull.insert(&event_loop.handle(), |event, _, sink: &mut Sink| {
                if let Event::Message(msg) = event {
                    let Some(task) = msg
                        .frame(0)
                        .and_then(|f| <[u8; 8]>::try_from(f).ok())
                        .map(u64::from_le_bytes)
                        .filter(|t| *t < TASKS)
                    else {
                        eprintln!("sink: malformed result {msg:?}");
                        return;
                    };
                    sink.seen[task as usize] += 1;
                    if sink.seen[task as usize] == 1 {
                        sink.distinct += 1;
                        if sink.distinct.is_multiple_of(500) {
                            println!("PROGRESS {}", sink.distinct);
                        }
                    } else {
                        sink.duplicated += 1;
                    }
                    let worker = msg.frame_str(1).unwrap_or("?").to_string();
                    *sink.per_worker.entry(worker).or_default() += 1;
                }
            })
            .unwrap();
            let mut sink = Sink {
                seen: vec![0; TASKS as usize],
                distinct: 0,
                duplicated: 0,
                per_worker: Default::default(),
            };
            publish_endpoint(&dir, "sink", &endpoint);
            run_loop(&mut event_loop, &mut sink, |s| s.distinct >= TASKS);
            println!(
                "DONE distinct={} duplicated={} missing={} per_worker={:?}",
                sink.distinct,
                sink.duplicated,
                TASKS - sink.distinct,
                sink.per_worker
            );
        }
        other => panic!("unknown role {other}"),
    }
}

/// Runs `ip` with `args`; the error names the command and its stderr.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The namespaces, veth links and processes of one run; all removed on drop.
struct Net {
    namespaces: Vec<String>,
    root_links: Vec<String>,
    children: Vec<Child>,
}

impl Net {
    fn ns_create(&mut self, name: &str) -> Result<(), String> {
        ip(&["netns", "add", name])?;
        self.namespaces.push(name.to_string());
        ip(&["-n", name, "link", "set", "lo", "up"])
    }

    /// A veth pair from `a` (address `addr_a`) to `b` (`addr_b`), /24.
    fn link(
        &mut self,
        a: &str,
        dev_a: &str,
        addr_a: &str,
        b: &str,
        dev_b: &str,
        addr_b: &str,
    ) -> Result<(), String> {
        ip(&["link", "add", dev_a, "type", "veth", "peer", "name", dev_b])?;
        self.root_links.push(dev_a.to_string());
        ip(&["link", "set", dev_a, "netns", a])?;
        ip(&["link", "set", dev_b, "netns", b])?;
        self.root_links.clear();
        for (ns, dev, addr) in [(a, dev_a, addr_a), (b, dev_b, addr_b)] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        Ok(())
    }

    /// Starts a role process inside `ns`; its stdout is piped.
    fn spawn(&mut self, ns: &str, envs: &[(&str, String)]) -> &mut Child {
        let exe = std::env::current_exe().expect("current_exe");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns])
            .arg(exe)
            .args([
                "multihost_role",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .stdout(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        self.children.push(cmd.spawn().expect("spawn role process"));
        self.children.last_mut().unwrap()
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for child in &mut self.children {
            // By PID (std's kill), then reap.
            let _ = child.kill();
            let _ = child.wait();
        }
        for dev in &self.root_links {
            let _ = ip(&["link", "del", dev]);
        }
        // Deleting a namespace deletes the veth ends inside it.
        for ns in &self.namespaces {
            if let Err(e) = ip(&["netns", "del", ns]) {
                eprintln!("multihost cleanup: {e}");
            }
        }
    }
}

/// Why this machine cannot run the test, if it cannot.
fn skip_reason() -> Option<String> {
    unsafe extern "C" {
        fn geteuid() -> u32;
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { geteuid() } != 0 {
        return Some("not running as root (network namespaces need CAP_SYS_ADMIN)".into());
    }
    match Command::new("ip").args(["netns", "list"]).output() {
        Err(e) => Some(format!("`ip` (iproute2) not available: {e}")),
        Ok(out) if !out.status.success() => Some(format!(
            "`ip netns` not usable: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Ok(_) => None,
    }
}

fn wait_for_file(path: &PathBuf, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(s) = std::fs::read_to_string(path) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{} did not appear within {limit:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn multihost_pipeline_survives_link_down() {
    if std::env::var(ROLE).is_ok() {
        return;
    }
    if let Some(reason) = skip_reason() {
        println!("SKIPPED multihost_pipeline_survives_link_down: {reason}");
        return;
    }
    let pid = std::process::id();
    let (a, b, c) = (
        format!("czmq{pid}a"),
        format!("czmq{pid}b"),
        format!("czmq{pid}c"),
    );
    // veth names: at most 15 characters.
    let tag = pid % 10_000_000;
    let (ab_a, ab_b, bc_b, bc_c) = (
        format!("cz{tag}ab"),
        format!("cz{tag}ba"),
        format!("cz{tag}bc"),
        format!("cz{tag}cb"),
    );
    let mut net = Net {
        namespaces: Vec::new(),
        root_links: Vec::new(),
        children: Vec::new(),
    };
    let setup = (|| {
        for ns in [&a, &b, &c] {
            net.ns_create(ns)?;
        }
        net.link(&a, &ab_a, "10.77.1.1", &b, &ab_b, "10.77.1.2")?;
        net.link(&b, &bc_b, "10.77.2.1", &c, &bc_c, "10.77.2.2")
    })();
    if let Err(e) = setup {
        // E.g. a container without permission for namespaces.
        println!("SKIPPED multihost_pipeline_survives_link_down: cannot build namespaces: {e}");
        return;
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let dir_s = dir.path().display().to_string();
    let start = Instant::now();
    net.spawn(
        &a,
        &[
            (ROLE, "ventilator".into()),
            ("MULTIHOST_DIR", dir_s.clone()),
            ("MULTIHOST_ADDR", "10.77.1.1".into()),
        ],
    );
    let sink = net.spawn(
        &c,
        &[
            (ROLE, "sink".into()),
            ("MULTIHOST_DIR", dir_s.clone()),
            ("MULTIHOST_ADDR", "10.77.2.2".into()),
        ],
    );
    // The sink's stdout, line by line, on a channel.
    let (lines_tx, lines) = mpsc::channel::<String>();
    let stdout = sink.stdout.take().expect("sink stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let ventilator = wait_for_file(&dir.path().join("ventilator"), Duration::from_secs(30));
    let sink_ep = wait_for_file(&dir.path().join("sink"), Duration::from_secs(30));
    for w in 0..WORKERS {
        net.spawn(
            &b,
            &[
                (ROLE, "worker".into()),
                ("MULTIHOST_DIR", dir_s.clone()),
                ("MULTIHOST_WORKER", format!("worker{w}")),
                ("MULTIHOST_VENTILATOR", ventilator.clone()),
                ("MULTIHOST_SINK", sink_ep.clone()),
            ],
        );
    }

    let deadline = Instant::now() + Duration::from_secs(120);
    let next_line = |what: &str| -> String {
        let left = deadline.saturating_duration_since(Instant::now());
        lines
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("sink said nothing more while waiting for {what}: {e}"))
    };
    // Mid-run: once a quarter of the tasks are in, cut the A-B link.
    let progress_at_cut = loop {
        let line = next_line("a quarter of the tasks");
        assert!(
            !line.starts_with("DONE"),
            "finished before the link cut: {line}"
        );
        if let Some(n) = line
            .strip_prefix("PROGRESS ")
            .and_then(|n| n.parse::<u64>().ok())
            && n >= TASKS / 4
        {
            break n;
        }
    };
    ip(&["-n", &b, "link", "set", &ab_b, "down"]).expect("link down");
    let cut_at = Instant::now();
    // The outage itself: a deliberate few seconds without the link.
    std::thread::sleep(OUTAGE);
    ip(&["-n", &b, "link", "set", &ab_b, "up"]).expect("link up");
    let outage = cut_at.elapsed();
    // What the sink got while the link was down: only what was already past it.
    let mut progress_at_up = progress_at_cut;
    let mut early_done = None;
    while let Ok(line) = lines.try_recv() {
        if let Some(n) = line
            .strip_prefix("PROGRESS ")
            .and_then(|n| n.parse::<u64>().ok())
        {
            progress_at_up = progress_at_up.max(n);
        } else if line.starts_with("DONE") {
            early_done = Some(line);
        }
    }
    let done = early_done.unwrap_or_else(|| {
        loop {
            let line = next_line("the sink's final count");
            if line.starts_with("DONE") {
                break line;
            }
        }
    });
    let elapsed = start.elapsed();
    println!(
        "RELIABILITY multihost: tasks={TASKS} workers={WORKERS} link A-B down for {:.1}s \
         after {progress_at_cut} tasks (sink at {progress_at_up} when it came back); total {:.1}s; sink: {done}",
        outage.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    assert!(
        done.contains(&format!("distinct={TASKS} duplicated=0 missing=0")),
        "every task accounted for: {done}"
    );
    drop(net);
}
