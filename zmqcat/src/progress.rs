//! The live rate line on stderr (only when stderr is a terminal) and the
//! summary printed at exit.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use calloop_zmq::{Stats, StatsSnapshot};
use indicatif::{HumanBytes, HumanCount, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the rate line is redrawn.
pub const REFRESH: Duration = Duration::from_millis(250);

/// Tracks the socket's counters for the rate line and the summary.
pub struct Progress {
    bar: Option<ProgressBar>,
    stats: Stats,
    started: Instant,
    last: (Instant, StatsSnapshot),
}

impl Progress {
    /// A rate line appears only when `enabled` and stderr is a terminal.
    pub fn new(stats: Stats, enabled: bool) -> Self {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        });
        let now = Instant::now();
        let first = stats.snapshot();
        Progress {
            bar,
            stats,
            started: now,
            last: (now, first),
        }
    }

    /// True when a rate line is shown (and needs a refresh timer).
    pub fn is_live(&self) -> bool {
        self.bar.is_some()
    }

    /// Redraws the rate line with the rates since the last refresh.
    pub fn refresh(&mut self) {
        let Some(bar) = &self.bar else { return };
        let now = Instant::now();
        let s = self.stats.snapshot();
        let (then, before) = self.last;
        let secs = now.duration_since(then).as_secs_f64().max(1e-3);
        let rate = |a: u64, b: u64| (a.saturating_sub(b)) as f64 / secs;
        bar.set_message(format!(
            "in {} msg ({:.0} msg/s, {}/s) | out {} msg ({:.0} msg/s, {}/s) | queued {}",
            HumanCount(s.messages_in),
            rate(s.messages_in, before.messages_in),
            HumanBytes(rate(s.bytes_in, before.bytes_in) as u64),
            HumanCount(s.messages_out),
            rate(s.messages_out, before.messages_out),
            HumanBytes(rate(s.bytes_out, before.bytes_out) as u64),
            s.outbox_depth,
        ));
        bar.tick();
        self.last = (now, s);
    }

    /// Runs `f` (which writes to stdout) with the rate line out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Prints a line on stderr without garbling the rate line.
    pub fn note(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the rate line and returns the summary: `why` it ended, the
    /// counters, and the `known` facts about delivery and output.
    pub fn finish(&mut self, undelivered: usize, why: &str, known: &str) -> String {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let s = self.stats.snapshot();
        let secs = self.started.elapsed().as_secs_f64();
        let mut line = format!(
            "zmqcat: {why}; sent {} messages ({}), received {} messages ({}) in {secs:.2} s",
            s.messages_out,
            HumanBytes(s.bytes_out),
            s.messages_in,
            HumanBytes(s.bytes_in),
        );
        if secs > 0.0 && s.messages_in + s.messages_out > 0 {
            line += &format!(
                " ({:.0} msg/s)",
                (s.messages_in + s.messages_out) as f64 / secs
            );
        }
        if !known.is_empty() {
            line += "; ";
            line += known;
        }
        if s.send_failures > 0 {
            line += &format!("; {} refused by the socket", s.send_failures);
        }
        if undelivered > 0 {
            line += &format!("; {undelivered} still queued at exit, not sent");
        }
        line
    }
}
