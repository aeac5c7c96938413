//! zmqcat built with `draft`: the draft socket types are accepted on the
//! command line, --group is checked, and the types zmqcat cannot drive yet
//! end with a clear error and exit status 2, never a hang.
#![cfg(feature = "draft")]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

/// Runs zmqcat with `args` and stdin closed; returns its exit code and stderr.
fn run(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zmqcat"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start zmqcat");
    let deadline = Instant::now() + WAIT;
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("zmqcat {args:?} still running after {WAIT:?}, killed");
        }
        // Polling a child's exit; no synchronisation rides on this pause.
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn every_draft_type_is_known_and_refused_clearly() {
    for kind in ["server", "client", "gather", "scatter", "peer", "channel"] {
        let (code, err) = run(&[kind, "--bind", "tcp://127.0.0.1:*"]);
        assert_eq!(code, Some(2), "{kind}: {err}");
        assert!(err.contains("not supported yet"), "{kind}: {err}");
    }
    for kind in ["radio", "dish"] {
        let (code, err) = run(&[kind, "--group", "weather", "--bind", "udp://127.0.0.1:*"]);
        assert_eq!(code, Some(2), "{kind}: {err}");
        assert!(err.contains("not supported yet"), "{kind}: {err}");
    }
}

#[test]
fn group_is_checked() {
    let cases: [(&[&str], &str); 3] = [
        (
            &["push", "--group", "g", "--connect", "tcp://127.0.0.1:1"],
            "only applies to radio and dish",
        ),
        (
            &["dish", "--connect", "udp://127.0.0.1:5556"],
            "needs --group",
        ),
        (
            &[
                "radio",
                "--group",
                "a-group-name-too-long",
                "--connect",
                "udp://127.0.0.1:5556",
            ],
            "at most 15",
        ),
    ];
    for (args, says) in cases {
        let (code, err) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
