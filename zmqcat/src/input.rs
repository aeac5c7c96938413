//! Reading stdin on its own thread and feeding the socket's outbox.
//!
//! The thread blocks where blocking is harmless: on stdin, and in
//! [`Sender::send`] when the outbox is full (that is the backpressure from a
//! slow peer reaching the producer). The event loop never waits for it.

use std::io::{BufRead, ErrorKind};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::{Duration, Instant};

use calloop_zmq::calloop::channel;
use calloop_zmq::{SendError, Sender};

use crate::format::Input;

/// What the input thread tells the loop.
#[derive(Debug)]
pub enum InputEvent {
    /// No more messages will come: stdin ended, the --count limit was
    /// reached, or the loop went away. `sent` messages were queued.
    Done {
        /// Messages handed to the outbox.
        sent: u64,
    },
    /// Reading stdin failed.
    Failed(String),
}

/// What the input thread needs.
pub struct Feeder {
    /// How chunks become messages.
    pub input: Input,
    /// What ends a chunk.
    pub delimiter: Vec<u8>,
    /// The socket's outbox.
    pub sender: Sender,
    /// For REQ and REP: wait for one permit before each message, so the
    /// socket's send/receive alternation is kept. `None`: send freely.
    pub permits: Option<mpsc::Receiver<()>>,
    /// Stop after this many messages.
    pub limit: Option<u64>,
    /// Where to report the end.
    pub events: channel::Sender<InputEvent>,
    /// What the thread holds while it waits for room in the outbox.
    pub held: Held,
}

/// The message the stdin thread holds in a blocking send (the outbox
/// full), so the exit can count it: when the source closes, that send
/// hands the message back, and without this it would be lost unsaid.
#[derive(Clone, Default)]
pub struct Held {
    shared: Arc<(Mutex<HeldState>, Condvar)>,
}

#[derive(Default)]
struct HeldState {
    /// A send is waiting now.
    sending: bool,
    /// Messages a send handed back because the source had closed.
    returned: u64,
}

impl Held {
    fn set(&self, change: impl FnOnce(&mut HeldState)) {
        let (state, changed) = &*self.shared;
        change(&mut state.lock().unwrap_or_else(|e| e.into_inner()));
        changed.notify_all();
    }

    /// Messages the stdin thread read but could not queue because the
    /// source closed. Call once the source has ended: a send still waiting
    /// then returns at once (the close woke it), and this waits for that,
    /// at most `bound` (a deadline that only a stuck thread would reach).
    pub fn returned(&self, bound: Duration) -> u64 {
        let (state, changed) = &*self.shared;
        let deadline = Instant::now() + bound;
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        while s.sending {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            s = changed
                .wait_timeout(s, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        s.returned + u64::from(s.sending)
    }
}

impl Feeder {
    /// Starts the thread. It ends by itself at end of input, at the limit, or
    /// when the source closes.
    pub fn spawn(self) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("zmqcat-stdin".into())
            .spawn(move || {
                let stdin = std::io::stdin();
                let events = self.events.clone();
                let event = self.feed(&mut stdin.lock());
                // The loop may be gone already; nothing left to tell then.
                let _ = events.send(event);
            })
    }

    fn feed(self, reader: &mut impl BufRead) -> InputEvent {
        let mut sent = 0;
        let mut chunk = Vec::new();
        loop {
            if self.limit.is_some_and(|limit| sent >= limit) {
                break;
            }
            match read_chunk(reader, &self.delimiter, &mut chunk) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return InputEvent::Failed(format!("reading stdin failed: {e}")),
            }
            if let Some(permits) = &self.permits
                && permits.recv().is_err()
            {
                break; // The loop ended.
            }
            self.held.set(|h| h.sending = true);
            let result = self.sender.send(self.input.parse(&chunk));
            self.held.set(|h| {
                h.sending = false;
                h.returned += u64::from(matches!(result, Err(SendError::Closed(_))));
            });
            match result {
                Ok(()) => sent += 1,
                Err(SendError::Closed(_)) => break,
                Err(e) => return InputEvent::Failed(format!("queueing a message failed: {e}")),
            }
        }
        InputEvent::Done { sent }
    }
}

/// Reads up to and including the next `delimiter` into `chunk`, without the
/// delimiter. False at end of input with nothing read; a last chunk without a
/// delimiter still counts.
pub fn read_chunk(
    reader: &mut impl BufRead,
    delimiter: &[u8],
    chunk: &mut Vec<u8>,
) -> std::io::Result<bool> {
    chunk.clear();
    let Some(&last) = delimiter.last() else {
        return Err(std::io::Error::new(
            ErrorKind::InvalidInput,
            "empty delimiter",
        ));
    };
    loop {
        let n = match reader.read_until(last, chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(!chunk.is_empty());
        }
        if chunk.ends_with(delimiter) {
            chunk.truncate(chunk.len() - delimiter.len());
            return Ok(true);
        }
        if chunk.last() != Some(&last) {
            // End of input in the middle of a chunk.
            return Ok(true);
        }
        // The delimiter's last byte alone, not the whole delimiter: go on.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(data: &[u8], delimiter: &[u8]) -> Vec<Vec<u8>> {
        let mut reader = std::io::Cursor::new(data.to_vec());
        let mut chunk = Vec::new();
        let mut all = Vec::new();
        while read_chunk(&mut reader, delimiter, &mut chunk).unwrap() {
            all.push(chunk.clone());
        }
        all
    }

    #[test]
    fn splits_on_single_and_multi_byte_delimiters() {
        assert_eq!(
            chunks(b"a\nb\n\nc", b"\n"),
            vec![&b"a"[..], b"b", b"", b"c"]
        );
        assert_eq!(chunks(b"a--b-c--", b"--"), vec![&b"a"[..], b"b-c"]);
        assert_eq!(chunks(b"x\0y\0", b"\0"), vec![&b"x"[..], b"y"]);
        assert!(chunks(b"", b"\n").is_empty());
    }
}
