//! [`SocketType`]: the ZeroMQ socket types and what each can do.

use std::fmt;

use calloop_zmq_sys as sys;

/// The ZeroMQ socket types (zmq_socket(3)): the twelve classic ones, and
/// with the `draft` feature the eight thread-safe draft types.
///
/// The draft types (libzmq calls their API unstable) are thread-safe
/// ([`is_thread_safe`](Self::is_thread_safe)), have no `ZMQ_FD` (use a
/// `Poller`) and carry single-frame messages only
/// ([`is_single_frame`](Self::is_single_frame)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SocketType {
    /// `ZMQ_PAIR`: one exclusive peer, both directions.
    Pair,
    /// `ZMQ_PUB`: publishes to subscribers; never receives; drops at HWM.
    Pub,
    /// `ZMQ_SUB`: receives what it subscribed to; never sends.
    Sub,
    /// `ZMQ_REQ`: strict send, receive, send ... with one REP/ROUTER.
    Req,
    /// `ZMQ_REP`: strict receive, send, receive ... answering REQ/DEALER.
    Rep,
    /// `ZMQ_DEALER`: round-robin out, fair-queued in, no envelope rules.
    Dealer,
    /// `ZMQ_ROUTER`: addresses peers by routing id (the first frame).
    Router,
    /// `ZMQ_PULL`: receives from PUSH peers; never sends.
    Pull,
    /// `ZMQ_PUSH`: round-robin to PULL peers; never receives.
    Push,
    /// `ZMQ_XPUB`: PUB that also receives subscription messages.
    Xpub,
    /// `ZMQ_XSUB`: SUB that subscribes by sending messages.
    Xsub,
    /// `ZMQ_STREAM`: raw TCP, each message prefixed by a connection id.
    Stream,
    /// `ZMQ_SERVER` (draft): answers CLIENTs, addressing each reply by the
    /// routing id of the request's frame ([`Frame::routing_id`](super::Frame::routing_id)).
    #[cfg(feature = "draft")]
    Server,
    /// `ZMQ_CLIENT` (draft): round-robin out, fair-queued in, to SERVERs.
    #[cfg(feature = "draft")]
    Client,
    /// `ZMQ_RADIO` (draft): publishes to a group ([`Frame::set_group`](super::Frame::set_group));
    /// never receives; drops at HWM. Also over `udp://`.
    #[cfg(feature = "draft")]
    Radio,
    /// `ZMQ_DISH` (draft): receives the groups it [joined](super::Socket::join);
    /// never sends.
    #[cfg(feature = "draft")]
    Dish,
    /// `ZMQ_GATHER` (draft): fair-queued in from SCATTERs; never sends.
    #[cfg(feature = "draft")]
    Gather,
    /// `ZMQ_SCATTER` (draft): round-robin out to GATHERs; never receives.
    #[cfg(feature = "draft")]
    Scatter,
    /// `ZMQ_PEER` (draft): many peers, each addressed by routing id
    /// ([`Socket::connect_peer`](super::Socket::connect_peer)).
    #[cfg(feature = "draft")]
    Peer,
    /// `ZMQ_CHANNEL` (draft): one exclusive peer, both directions (a
    /// thread-safe PAIR).
    #[cfg(feature = "draft")]
    Channel,
}

impl SocketType {
    /// Every classic type, in libzmq's numbering order.
    pub const ALL: [SocketType; 12] = [
        SocketType::Pair,
        SocketType::Pub,
        SocketType::Sub,
        SocketType::Req,
        SocketType::Rep,
        SocketType::Dealer,
        SocketType::Router,
        SocketType::Pull,
        SocketType::Push,
        SocketType::Xpub,
        SocketType::Xsub,
        SocketType::Stream,
    ];

    /// libzmq's number for the type (`ZMQ_PUSH` ...).
    pub fn to_raw(self) -> i32 {
        match self {
            SocketType::Pair => sys::ZMQ_PAIR,
            SocketType::Pub => sys::ZMQ_PUB,
            SocketType::Sub => sys::ZMQ_SUB,
            SocketType::Req => sys::ZMQ_REQ,
            SocketType::Rep => sys::ZMQ_REP,
            SocketType::Dealer => sys::ZMQ_DEALER,
            SocketType::Router => sys::ZMQ_ROUTER,
            SocketType::Pull => sys::ZMQ_PULL,
            SocketType::Push => sys::ZMQ_PUSH,
            SocketType::Xpub => sys::ZMQ_XPUB,
            SocketType::Xsub => sys::ZMQ_XSUB,
            SocketType::Stream => sys::ZMQ_STREAM,
            #[cfg(feature = "draft")]
            SocketType::Server => sys::ZMQ_SERVER,
            #[cfg(feature = "draft")]
            SocketType::Client => sys::ZMQ_CLIENT,
            #[cfg(feature = "draft")]
            SocketType::Radio => sys::ZMQ_RADIO,
            #[cfg(feature = "draft")]
            SocketType::Dish => sys::ZMQ_DISH,
            #[cfg(feature = "draft")]
            SocketType::Gather => sys::ZMQ_GATHER,
            #[cfg(feature = "draft")]
            SocketType::Scatter => sys::ZMQ_SCATTER,
            #[cfg(feature = "draft")]
            SocketType::Peer => sys::ZMQ_PEER,
            #[cfg(feature = "draft")]
            SocketType::Channel => sys::ZMQ_CHANNEL,
        }
    }

    /// The eight draft types, in libzmq's numbering order.
    #[cfg(feature = "draft")]
    pub const DRAFT: [SocketType; 8] = [
        SocketType::Server,
        SocketType::Client,
        SocketType::Radio,
        SocketType::Dish,
        SocketType::Gather,
        SocketType::Scatter,
        SocketType::Peer,
        SocketType::Channel,
    ];

    /// The type for libzmq's number, or `None` for unknown types (and for
    /// the draft types without the `draft` feature).
    pub fn from_raw(raw: i32) -> Option<SocketType> {
        #[cfg(feature = "draft")]
        let mut known = SocketType::ALL.into_iter().chain(SocketType::DRAFT);
        #[cfg(not(feature = "draft"))]
        let mut known = SocketType::ALL.into_iter();
        known.find(|t| t.to_raw() == raw)
    }

    /// True for the thread-safe types (the draft ones): a socket of such a
    /// type may be used from several threads at once
    /// (`ThreadSafeSocket`, feature `draft`), and has no
    /// `ZMQ_FD`.
    pub fn is_thread_safe(self) -> bool {
        self.is_draft()
    }

    /// True for the types whose messages are single frames (the draft ones):
    /// [`SNDMORE`](super::SNDMORE) is refused (`EINVAL`).
    pub fn is_single_frame(self) -> bool {
        self.is_draft()
    }

    /// True for the types of libzmq's draft API.
    pub fn is_draft(self) -> bool {
        #[cfg(feature = "draft")]
        {
            SocketType::DRAFT.contains(&self)
        }
        #[cfg(not(feature = "draft"))]
        {
            false
        }
    }

    /// The type's name as libzmq writes it (`"PUSH"`), which is also what
    /// peers see in the `Socket-Type` metadata.
    pub fn name(self) -> &'static str {
        match self {
            SocketType::Pair => "PAIR",
            SocketType::Pub => "PUB",
            SocketType::Sub => "SUB",
            SocketType::Req => "REQ",
            SocketType::Rep => "REP",
            SocketType::Dealer => "DEALER",
            SocketType::Router => "ROUTER",
            SocketType::Pull => "PULL",
            SocketType::Push => "PUSH",
            SocketType::Xpub => "XPUB",
            SocketType::Xsub => "XSUB",
            SocketType::Stream => "STREAM",
            #[cfg(feature = "draft")]
            SocketType::Server => "SERVER",
            #[cfg(feature = "draft")]
            SocketType::Client => "CLIENT",
            #[cfg(feature = "draft")]
            SocketType::Radio => "RADIO",
            #[cfg(feature = "draft")]
            SocketType::Dish => "DISH",
            #[cfg(feature = "draft")]
            SocketType::Gather => "GATHER",
            #[cfg(feature = "draft")]
            SocketType::Scatter => "SCATTER",
            #[cfg(feature = "draft")]
            SocketType::Peer => "PEER",
            #[cfg(feature = "draft")]
            SocketType::Channel => "CHANNEL",
        }
    }

    /// False for the types that never send (SUB, PULL; DISH, GATHER).
    pub fn can_send(self) -> bool {
        match self {
            SocketType::Sub | SocketType::Pull => false,
            #[cfg(feature = "draft")]
            SocketType::Dish | SocketType::Gather => false,
            _ => true,
        }
    }

    /// False for the types that never receive (PUB, PUSH; RADIO, SCATTER).
    pub fn can_recv(self) -> bool {
        match self {
            SocketType::Pub | SocketType::Push => false,
            #[cfg(feature = "draft")]
            SocketType::Radio | SocketType::Scatter => false,
            _ => true,
        }
    }
}

impl fmt::Display for SocketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
