//! Helpers shared by the reliability tests: bounded waits, memory readings,
//! child processes and sequence checking.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use calloop_zmq::calloop::EventLoop;

/// Bound for any single wait that should take a moment.
pub const WAIT: Duration = Duration::from_secs(30);

/// Dispatches `event_loop` until `done(data)` holds; panics naming `what` if
/// it does not within `limit`.
pub fn run_until<D>(
    event_loop: &mut EventLoop<'_, D>,
    data: &mut D,
    limit: Duration,
    what: &str,
    mut done: impl FnMut(&D) -> bool,
) {
    let deadline = Instant::now() + limit;
    while !done(data) {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for: {what}"
        );
        event_loop
            .dispatch(Some(Duration::from_millis(20)), data)
            .unwrap_or_else(|e| panic!("dispatch failed while waiting for {what}: {e}"));
    }
}

/// Resident set size of this process in bytes, from /proc/self/statm.
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc_sysconf_pagesize() };
    pages * page
}

unsafe extern "C" {
    fn sysconf(name: i32) -> i64;
}

unsafe fn libc_sysconf_pagesize() -> u64 {
    // _SC_PAGESIZE is 30 on Linux.
    let v = unsafe { sysconf(30) };
    if v > 0 { v as u64 } else { 4096 }
}

/// Checks a stream of sequence numbers that should be 0, 1, 2, ...
#[derive(Debug, Default, Clone)]
pub struct SeqCheck {
    /// The next number expected.
    pub next: u64,
    /// Messages received.
    pub received: u64,
    /// Numbers skipped over (a gap counts each missing number).
    pub lost: u64,
    /// Numbers received again after they had been seen.
    pub duplicated: u64,
    /// Numbers that arrived after a later one (counted as out of order).
    pub reordered: u64,
}

impl SeqCheck {
    pub fn push(&mut self, seq: u64) {
        self.received += 1;
        if seq == self.next {
            self.next += 1;
        } else if seq > self.next {
            self.lost += seq - self.next;
            self.next = seq + 1;
        } else {
            // Either seen before or arrived late: with a strictly increasing
            // stream we cannot tell which without a set; callers that can
            // duplicate use `seen` bitmaps. Count as both signals of trouble.
            self.duplicated += 1;
            self.reordered += 1;
        }
    }

    pub fn clean(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.reordered == 0
    }
}

/// Encodes a sequence number as 8 bytes.
pub fn seq_bytes(seq: u64) -> Vec<u8> {
    seq.to_le_bytes().to_vec()
}

/// Decodes a sequence number; `None` when the frame is not 8 bytes.
pub fn seq_of(frame: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(frame.try_into().ok()?))
}

/// A child process killed by PID if the test ends before it does.
pub struct Child {
    pub inner: std::process::Child,
}

impl Child {
    /// Re-runs this test binary with only `test_name`, with `envs` set: the
    /// named test sees the variables and plays the peer.
    pub fn spawn_self(test_name: &str, envs: &[(&str, String)]) -> Child {
        let exe = std::env::current_exe().expect("current_exe");
        let mut cmd = std::process::Command::new(exe);
        cmd.args([test_name, "--exact", "--nocapture", "--test-threads=1"]);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.stdout(std::process::Stdio::null());
        Child {
            inner: cmd.spawn().expect("spawn child test process"),
        }
    }

    pub fn pid(&self) -> u32 {
        self.inner.id()
    }

    /// SIGKILL by PID, then reap.
    pub fn kill(&mut self) {
        let _ = self.inner.kill();
        let _ = self.inner.wait();
    }

    /// Waits up to `limit` for the child to exit; kills it and panics if not.
    pub fn wait_ok(&mut self, limit: Duration, what: &str) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.inner.try_wait().expect("try_wait") {
                assert!(status.success(), "{what}: child exited with {status}");
                return;
            }
            if Instant::now() > deadline {
                self.kill();
                panic!("{what}: child still running after {limit:?}, killed");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(None) = self.inner.try_wait() {
            self.kill();
        }
    }
}
