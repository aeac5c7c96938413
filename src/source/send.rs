//! Sending to libzmq for a source: what each [`Outcome`] means for the
//! counters, and draining the outbox into the socket.
//!
//! The outbox is a queue only; this is where its messages meet the socket.
//! Both ways out (the handler's send, through
//! [`SocketHandle::send`](crate::SocketHandle::send), and the dispatch's
//! drain) count through [`count`], so a new outcome cannot be tallied in one
//! and forgotten in the other.

use crate::outbox::Outbox;
use crate::stats::Tally;
use crate::wire::{self, Outcome};
use crate::zmq::{self, Socket};

/// Counts one send's outcome.
#[inline(always)]
pub(super) fn count(tally: &mut Tally, outcome: &Outcome) {
    match outcome {
        Outcome::Sent(bytes) => {
            tally.messages_out += 1;
            tally.bytes_out += *bytes as u64;
        }
        Outcome::WouldBlock => tally.send_eagain += 1,
        Outcome::Refused(_) | Outcome::Fatal(_) => tally.send_failures += 1,
    }
}

/// Sends from the head of the outbox until the socket pushes back, nothing
/// is left or `limit` messages left the outbox. Refused messages wait in the
/// outbox to be handed back. Returns how many messages left, or the error
/// that broke the socket (the message it hit stays at the head, to be
/// handed back when the source ends).
pub(super) fn drain(
    socket: &Socket,
    outbox: &mut Outbox,
    limit: usize,
    tally: &mut Tally,
) -> Result<usize, zmq::Error> {
    let mut done = 0;
    while done < limit {
        let Some(msg) = outbox.head() else {
            break;
        };
        let outcome = wire::send(socket, msg);
        count(tally, &outcome);
        match outcome {
            Outcome::Sent(_) => outbox.sent(),
            Outcome::WouldBlock => break,
            Outcome::Refused(error) => outbox.refuse_head(error),
            Outcome::Fatal(error) => return Err(error),
        }
        done += 1;
    }
    // Room made since the last refill is published now, so the handler's
    // sends in this dispatch see it.
    outbox.settle();
    Ok(done)
}
