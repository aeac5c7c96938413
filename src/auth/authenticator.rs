//! The event source that answers ZAP requests on the loop.

use std::sync::Arc;

use calloop::{EventSource, LoopHandle, PostAction, Readiness, RegistrationToken, Token};

use super::AuthError;
use super::policy::AuthConfig;
use super::zap::{self, ZAP_ENDPOINT};
use crate::error::InsertError;
use crate::message::Multipart;
use crate::source::{Event, ZmqSource};
use crate::stats::counters;
use crate::zmq;

/// The outcome of one ZAP request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// Admitted (ZAP status 200).
    Allowed,
    /// Refused by the rules (ZAP status 400).
    Denied,
    /// The request itself was malformed (ZAP status 400).
    Malformed,
    /// The authenticator could not decide, so it refused (ZAP status 500).
    Failed,
}

impl Status {
    /// The ZAP status code sent in the reply.
    pub fn code(self) -> &'static str {
        match self {
            Status::Allowed => "200",
            Status::Denied | Status::Malformed => "400",
            Status::Failed => "500",
        }
    }

    /// True for [`Status::Allowed`].
    pub fn is_allowed(self) -> bool {
        self == Status::Allowed
    }
}

/// One answered ZAP request, as the authenticator's callback receives it
/// (and as it was logged).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Decision {
    /// What was decided.
    pub status: Status,
    /// Why, in words (e.g. `"address on the deny list"`).
    pub reason: String,
    /// The server socket's ZAP domain (empty when the request was malformed).
    pub domain: String,
    /// The peer's IP address as libzmq reported it (empty for ipc peers).
    pub address: String,
    /// `"NULL"`, `"PLAIN"`, `"CURVE"` or whatever the request named.
    pub mechanism: String,
    /// Who the peer claimed to be: the PLAIN user name or the CURVE public
    /// key in Z85. Never a password.
    pub claimed: Option<String>,
    /// The `User-Id` granted (allowed requests only).
    pub user_id: Option<String>,
}

counters! {
    /// Counts of answered requests, readable from any thread at any time.
    pub struct AuthCounts / AuthTally / Counters {
        /// Requests answered 200.
        allowed,
        /// Requests refused by the rules (400).
        denied,
        /// Malformed requests (400).
        malformed,
        /// Requests refused because the authenticator could not decide (500).
        failed,
        /// Replies libzmq would not take (the requesting session is gone: its
        /// handshake has failed anyway).
        reply_errors,
    }
}

impl AuthCounts {
    /// Every answered request.
    pub fn total(&self) -> u64 {
        self.allowed + self.denied + self.malformed + self.failed
    }
}

impl AuthTally {
    fn record(&mut self, status: Status) {
        *match status {
            Status::Allowed => &mut self.allowed,
            Status::Denied => &mut self.denied,
            Status::Malformed => &mut self.malformed,
            Status::Failed => &mut self.failed,
        } += 1;
    }
}

/// A cloneable, thread-safe handle on an [`Authenticator`]'s counters.
#[derive(Debug, Clone, Default)]
pub struct AuthStats {
    counters: Arc<Counters>,
}

impl AuthStats {
    /// The counts now. The authenticator publishes its counts once per
    /// dispatch, so a snapshot from another thread lags by at most one.
    pub fn snapshot(&self) -> AuthCounts {
        self.counters.snapshot()
    }
}

/// A ZAP handler as a calloop event source: serves
/// `inproc://zeromq.zap.01` on its context and answers every request
/// according to its [`AuthConfig`]. See the [module docs](super).
pub struct Authenticator {
    source: ZmqSource,
    config: AuthConfig,
    stats: AuthStats,
}

impl Authenticator {
    /// Binds the ZAP endpoint on `ctx` with an empty configuration (every
    /// request denied until you configure a domain).
    ///
    /// `ctx` must be the context of the sockets to protect: libzmq looks for
    /// the ZAP handler in the server socket's own context. Fails with
    /// [`AuthError::AlreadyRunning`] when the context already has one.
    pub fn new(ctx: &zmq::Context) -> Result<Self, AuthError> {
        Self::with_config(ctx, AuthConfig::new())
    }

    /// Like [`new`](Self::new), sharing an existing configuration handle
    /// (e.g. one filled in before the loop starts).
    pub fn with_config(ctx: &zmq::Context, config: AuthConfig) -> Result<Self, AuthError> {
        let socket = ctx
            .socket(zmq::SocketType::Router)
            .map_err(AuthError::zmq("create the ZAP ROUTER socket"))?;
        // A reply for a session that has gone away fails loudly (counted,
        // logged) instead of vanishing.
        socket
            .set_router_mandatory(true)
            .map_err(AuthError::zmq("set option ZMQ_ROUTER_MANDATORY"))?;
        // Replies to sessions that are gone are worthless at close.
        socket
            .set_linger(0)
            .map_err(AuthError::zmq("set option ZMQ_LINGER"))?;
        let source = ZmqSource::new(socket)?;
        match source.bind(ZAP_ENDPOINT) {
            Ok(()) => {}
            Err(e) if e.zmq_error() == Some(zmq::Error::EADDRINUSE) => {
                return Err(AuthError::AlreadyRunning);
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(endpoint = ZAP_ENDPOINT, "ZAP authenticator bound");
        Ok(Self {
            source,
            config,
            stats: AuthStats::default(),
        })
    }

    /// The configuration handle: clone it, send it to other threads, change
    /// it while the loop runs.
    pub fn config(&self) -> AuthConfig {
        self.config.clone()
    }

    /// The counters handle.
    pub fn stats(&self) -> AuthStats {
        self.stats.clone()
    }

    /// Inserts the authenticator into a loop. `callback` gets every
    /// [`Decision`] after its reply was queued, with the loop's shared data;
    /// pass `|_, _| {}` if the log is enough. On failure the authenticator
    /// comes back in the [`InsertError`].
    pub fn insert<'l, D, F>(
        self,
        handle: &LoopHandle<'l, D>,
        mut callback: F,
    ) -> Result<RegistrationToken, InsertError<Authenticator>>
    where
        F: FnMut(Decision, &mut D) + 'l,
        D: 'l,
    {
        handle
            .insert_source(self, move |decision, _, data| callback(decision, data))
            .map_err(|e| InsertError::new(e.inserted, e.error))
    }
}

/// Answers one message from the ZAP socket. Always produces a reply: a
/// request that cannot be judged gets 400, one that cannot be decided 500.
fn answer(config: &AuthConfig, msg: Multipart) -> (Multipart, Decision) {
    let (envelope, body) = zap::split(msg);
    let request = match body.and_then(|body| zap::parse(&body)) {
        Ok(request) => request,
        Err(malformed) => {
            let text = format!("malformed request: {}", malformed.reason);
            let reply = zap::reply(envelope, &malformed.request_id, "400", &text, "", b"");
            let decision = Decision {
                status: Status::Malformed,
                reason: malformed.reason,
                domain: String::new(),
                address: String::new(),
                mechanism: String::new(),
                claimed: None,
                user_id: None,
            };
            return (reply, decision);
        }
    };
    let verdict = config.decide(&request);
    let (user_id, metadata) = match &verdict.identity {
        Some(id) => (id.user_id(), zap::encode_metadata(id.properties())),
        None => ("", Vec::new()),
    };
    // The status text stays inside the process (libzmq sends the remote peer
    // only the code), but keep it generic anyway: details go to the log.
    let text = match verdict.status {
        Status::Allowed => "OK",
        Status::Denied | Status::Malformed => "authentication failed",
        Status::Failed => "internal error",
    };
    let reply = zap::reply(
        envelope,
        &request.request_id,
        verdict.status.code(),
        text,
        user_id,
        &metadata,
    );
    let decision = Decision {
        status: verdict.status,
        reason: verdict.reason,
        domain: request.domain,
        address: request.address,
        mechanism: request.mechanism,
        claimed: verdict.claimed,
        user_id: verdict.identity.map(|id| id.user_id().to_owned()),
    };
    (reply, decision)
}

/// Entry point for the ZAP fuzz target (`fuzz/`): what the authenticator
/// answers to one message from its socket. Not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    use super::{AuthConfig, Decision, Multipart};

    /// The reply the authenticator sends for `msg` (routing id first, as
    /// its ROUTER socket receives it) and the decision it reports.
    pub fn answer(config: &AuthConfig, msg: Multipart) -> (Multipart, Decision) {
        super::answer(config, msg)
    }
}

fn log(decision: &Decision) {
    let Decision {
        status,
        reason,
        domain,
        address,
        mechanism,
        claimed,
        user_id,
    } = decision;
    let code = status.code();
    match status {
        Status::Allowed => tracing::info!(
            code,
            domain,
            address,
            mechanism,
            ?claimed,
            ?user_id,
            reason,
            "ZAP: allowed"
        ),
        Status::Denied => tracing::warn!(
            code,
            domain,
            address,
            mechanism,
            ?claimed,
            reason,
            "ZAP: denied"
        ),
        Status::Malformed => tracing::warn!(code, reason, "ZAP: malformed request refused"),
        Status::Failed => tracing::error!(
            code,
            domain,
            address,
            mechanism,
            ?claimed,
            reason,
            "ZAP: could not decide, refused"
        ),
    }
}

impl EventSource for Authenticator {
    type Event = Decision;
    type Metadata = ();
    type Ret = ();
    type Error = crate::error::Error;

    crate::source::forward_registration!(source);

    fn process_events<F>(
        &mut self,
        readiness: Readiness,
        token: Token,
        mut callback: F,
    ) -> Result<PostAction, crate::error::Error>
    where
        F: FnMut(Decision, &mut ()),
    {
        let Self {
            source,
            config,
            stats,
        } = self;
        let mut tally = AuthTally::default();
        let action = source.process_events(readiness, token, |event, socket| match event {
            Event::Message(msg) => {
                let (reply, decision) = answer(config, msg);
                log(&decision);
                tally.record(decision.status);
                // ROUTER never pushes back on send; a refusal means the
                // session is gone, and with it the handshake.
                if let Err(e) = socket.send(reply) {
                    tally.reply_errors += 1;
                    tracing::warn!(error = %e, "ZAP: reply not delivered");
                }
                callback(decision, &mut ());
            }
            Event::SendFailed(failure) => {
                tally.reply_errors += 1;
                tracing::warn!(error = %failure.error, "ZAP: reply not delivered");
            }
            Event::Fatal(fatal) => {
                // The ZAP socket broke (its context was terminated): the
                // source leaves the loop. Replies it still held reach nobody;
                // count them.
                tally.reply_errors += fatal.undelivered.len() as u64;
                tracing::error!(error = %fatal.error, "ZAP authenticator stopped");
            }
            // The authenticator is never asked to close, nor for Drained.
            Event::Closed(_) | Event::Drained => {}
        });
        stats.counters.publish(&mut tally);
        action
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("endpoint", &ZAP_ENDPOINT)
            .field("counts", &self.stats.snapshot())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_messages_always_get_a_400_reply() {
        let config = AuthConfig::new();
        let shapes: Vec<Vec<&[u8]>> = vec![
            vec![b"rid"],
            vec![b"rid", b""],
            vec![b"rid", b"", b"1.0"],
            vec![b"rid", b"no-delimiter", b"x"],
            vec![b"rid", b"", b"9.9", b"id", b"d", b"a", b"", b"NULL"],
        ];
        for shape in shapes {
            let msg: Multipart = shape.iter().map(|f| zmq::Frame::from(*f)).collect();
            let (reply, decision) = answer(&config, msg);
            assert_eq!(decision.status, Status::Malformed, "{shape:?}");
            assert_eq!(&reply[0], b"rid");
            assert!(reply[1].is_empty());
            assert_eq!(reply.len(), 8, "{shape:?}");
            assert_eq!(reply.frame_str(4), Some("400"));
        }
    }
}
