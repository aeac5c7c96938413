//! The monitor's vocabulary: which events to ask for ([`EventMask`]) and
//! what arrives ([`MonitorEvent`], [`EventKind`], [`ProtocolError`]),
//! decoded from libzmq's two-frame monitor messages without ever panicking.

use calloop_zmq_sys as zmq_sys;

use std::fmt;

use crate::message::Multipart;
use crate::zmq;

/// Which events a monitor asks libzmq for. Combine with `|`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventMask(pub u16);

impl EventMask {
    /// Every event libzmq can report.
    pub const ALL: EventMask = EventMask(zmq_sys::ZMQ_EVENT_ALL as u16);
    /// [`EventKind::Connected`].
    pub const CONNECTED: EventMask = EventMask(zmq_sys::ZMQ_EVENT_CONNECTED as u16);
    /// [`EventKind::ConnectDelayed`].
    pub const CONNECT_DELAYED: EventMask = EventMask(zmq_sys::ZMQ_EVENT_CONNECT_DELAYED as u16);
    /// [`EventKind::ConnectRetried`].
    pub const CONNECT_RETRIED: EventMask = EventMask(zmq_sys::ZMQ_EVENT_CONNECT_RETRIED as u16);
    /// [`EventKind::Listening`].
    pub const LISTENING: EventMask = EventMask(zmq_sys::ZMQ_EVENT_LISTENING as u16);
    /// [`EventKind::BindFailed`].
    pub const BIND_FAILED: EventMask = EventMask(zmq_sys::ZMQ_EVENT_BIND_FAILED as u16);
    /// [`EventKind::Accepted`].
    pub const ACCEPTED: EventMask = EventMask(zmq_sys::ZMQ_EVENT_ACCEPTED as u16);
    /// [`EventKind::AcceptFailed`].
    pub const ACCEPT_FAILED: EventMask = EventMask(zmq_sys::ZMQ_EVENT_ACCEPT_FAILED as u16);
    /// [`EventKind::Closed`].
    pub const CLOSED: EventMask = EventMask(zmq_sys::ZMQ_EVENT_CLOSED as u16);
    /// [`EventKind::CloseFailed`].
    pub const CLOSE_FAILED: EventMask = EventMask(zmq_sys::ZMQ_EVENT_CLOSE_FAILED as u16);
    /// [`EventKind::Disconnected`].
    pub const DISCONNECTED: EventMask = EventMask(zmq_sys::ZMQ_EVENT_DISCONNECTED as u16);
    /// [`EventKind::MonitorStopped`].
    pub const MONITOR_STOPPED: EventMask = EventMask(zmq_sys::ZMQ_EVENT_MONITOR_STOPPED as u16);
    /// [`EventKind::HandshakeFailedNoDetail`].
    pub const HANDSHAKE_FAILED_NO_DETAIL: EventMask =
        EventMask(zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL as u16);
    /// [`EventKind::HandshakeSucceeded`].
    pub const HANDSHAKE_SUCCEEDED: EventMask =
        EventMask(zmq_sys::ZMQ_EVENT_HANDSHAKE_SUCCEEDED as u16);
    /// [`EventKind::HandshakeFailedProtocol`].
    pub const HANDSHAKE_FAILED_PROTOCOL: EventMask =
        EventMask(zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL as u16);
    /// [`EventKind::HandshakeFailedAuth`].
    pub const HANDSHAKE_FAILED_AUTH: EventMask =
        EventMask(zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_AUTH as u16);
    /// The three handshake failures.
    pub const HANDSHAKE_FAILED: EventMask = EventMask(
        Self::HANDSHAKE_FAILED_NO_DETAIL.0
            | Self::HANDSHAKE_FAILED_PROTOCOL.0
            | Self::HANDSHAKE_FAILED_AUTH.0,
    );

    /// True when every bit of `other` is set here.
    pub fn contains(self, other: EventMask) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for EventMask {
    type Output = EventMask;

    fn bitor(self, rhs: EventMask) -> EventMask {
        EventMask(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for EventMask {
    fn bitor_assign(&mut self, rhs: EventMask) {
        self.0 |= rhs.0;
    }
}

/// What happened, decoded from libzmq's event code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// A bind succeeded; the socket listens. Value: the listening fd.
    Listening,
    /// A bind failed. Value: `errno`.
    BindFailed,
    /// A peer's connection was accepted. Value: the connection's fd.
    Accepted,
    /// Accepting a connection failed. Value: `errno`.
    AcceptFailed,
    /// An outgoing connection was established. Value: the connection's fd.
    Connected,
    /// An outgoing connection attempt is in progress. Value: `errno` of the
    /// pending connect (normally `EINPROGRESS`).
    ConnectDelayed,
    /// libzmq will retry a failed connection. Value: the reconnect interval
    /// in milliseconds.
    ConnectRetried,
    /// A listening or connection fd was closed. Value: the fd.
    Closed,
    /// Closing an fd failed. Value: `errno`.
    CloseFailed,
    /// A connection ended (the peer went away or the link broke). Value: the fd.
    Disconnected,
    /// The ZMTP handshake (and authentication, if any) succeeded. Value: 0.
    HandshakeSucceeded,
    /// The handshake failed for a reason libzmq does not detail (often the
    /// peer closed the connection mid-handshake). Value: `errno`.
    HandshakeFailedNoDetail,
    /// The handshake failed on a protocol error, e.g. a malformed greeting or
    /// command. Value: the protocol error code.
    HandshakeFailedProtocol(ProtocolError),
    /// The handshake failed because authentication (ZAP) refused the peer.
    HandshakeFailedAuth {
        /// The ZAP status code, e.g. 400 (denied) or 500 (internal error).
        status_code: u32,
    },
    /// The monitored socket closed or monitoring was stopped; no further
    /// events will come.
    MonitorStopped,
    /// An event code this crate does not know (a newer libzmq, or a draft
    /// event). Reported as is, never dropped.
    Unknown {
        /// The raw 16-bit event code.
        code: u16,
        /// The raw 32-bit value.
        value: u32,
    },
    /// A monitor message without the documented shape (two frames, the first
    /// six bytes long). The [`MonitorEvent::endpoint`] holds a description of
    /// what arrived.
    Malformed,
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventKind::Listening => f.write_str("listening"),
            EventKind::BindFailed => f.write_str("bind failed"),
            EventKind::Accepted => f.write_str("accepted"),
            EventKind::AcceptFailed => f.write_str("accept failed"),
            EventKind::Connected => f.write_str("connected"),
            EventKind::ConnectDelayed => f.write_str("connect delayed"),
            EventKind::ConnectRetried => f.write_str("connect retried"),
            EventKind::Closed => f.write_str("closed"),
            EventKind::CloseFailed => f.write_str("close failed"),
            EventKind::Disconnected => f.write_str("disconnected"),
            EventKind::HandshakeSucceeded => f.write_str("handshake succeeded"),
            EventKind::HandshakeFailedNoDetail => f.write_str("handshake failed (no detail)"),
            EventKind::HandshakeFailedProtocol(e) => write!(f, "handshake failed: {e}"),
            EventKind::HandshakeFailedAuth { status_code } => {
                write!(
                    f,
                    "handshake failed: authentication refused (ZAP status {status_code})"
                )
            }
            EventKind::MonitorStopped => f.write_str("monitor stopped"),
            EventKind::Unknown { code, value } => {
                write!(f, "unknown monitor event 0x{code:04x} (value {value})")
            }
            EventKind::Malformed => f.write_str("malformed monitor message"),
        }
    }
}

/// The ZMTP or ZAP protocol error behind
/// [`EventKind::HandshakeFailedProtocol`] (libzmq's `ZMQ_PROTOCOL_ERROR_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtocolError {
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED`.
    ZmtpUnspecified,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND`.
    ZmtpUnexpectedCommand,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE`.
    ZmtpInvalidSequence,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE`.
    ZmtpKeyExchange,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED`.
    ZmtpMalformedCommandUnspecified,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE`.
    ZmtpMalformedCommandMessage,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO`.
    ZmtpMalformedCommandHello,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE`.
    ZmtpMalformedCommandInitiate,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR`.
    ZmtpMalformedCommandError,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY`.
    ZmtpMalformedCommandReady,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME`.
    ZmtpMalformedCommandWelcome,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA`.
    ZmtpInvalidMetadata,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC`.
    ZmtpCryptographic,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH` (e.g. PLAIN against NULL).
    ZmtpMechanismMismatch,
    /// `ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED`.
    ZapUnspecified,
    /// `ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY`.
    ZapMalformedReply,
    /// `ZMQ_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID`.
    ZapBadRequestId,
    /// `ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION`.
    ZapBadVersion,
    /// `ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE`.
    ZapInvalidStatusCode,
    /// `ZMQ_PROTOCOL_ERROR_ZAP_INVALID_METADATA`.
    ZapInvalidMetadata,
    /// A code this crate does not know.
    Other(u32),
}

impl ProtocolError {
    /// Decodes libzmq's protocol error code; unknown codes become
    /// [`ProtocolError::Other`].
    pub fn from_code(code: u32) -> ProtocolError {
        use ProtocolError::*;
        match code {
            zmq_sys::ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED => ZmtpUnspecified,
            zmq_sys::ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND => ZmtpUnexpectedCommand,
            zmq_sys::ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE => ZmtpInvalidSequence,
            zmq_sys::ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE => ZmtpKeyExchange,
            zmq_sys::ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED => {
                ZmtpMalformedCommandUnspecified
            }
            zmq_sys::ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE => {
                ZmtpMalformedCommandMessage
            }
            zmq_sys::ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO => ZmtpMalformedCommandHello,
            zmq_sys::ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE => {
                ZmtpMalformedCommandInitiate
            }
            zmq_sys::ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR => ZmtpMalformedCommandError,
            zmq_sys::ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY => ZmtpMalformedCommandReady,
            zmq_sys::ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME => {
                ZmtpMalformedCommandWelcome
            }
            zmq_sys::ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA => ZmtpInvalidMetadata,
            zmq_sys::ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC => ZmtpCryptographic,
            zmq_sys::ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH => ZmtpMechanismMismatch,
            zmq_sys::ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED => ZapUnspecified,
            zmq_sys::ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY => ZapMalformedReply,
            zmq_sys::ZMQ_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID => ZapBadRequestId,
            zmq_sys::ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION => ZapBadVersion,
            zmq_sys::ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE => ZapInvalidStatusCode,
            zmq_sys::ZMQ_PROTOCOL_ERROR_ZAP_INVALID_METADATA => ZapInvalidMetadata,
            other => Other(other),
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ProtocolError::*;
        let text = match self {
            ZmtpUnspecified => "ZMTP protocol error (unspecified)",
            ZmtpUnexpectedCommand => "ZMTP: unexpected command",
            ZmtpInvalidSequence => "ZMTP: invalid sequence",
            ZmtpKeyExchange => "ZMTP: key exchange failed",
            ZmtpMalformedCommandUnspecified => "ZMTP: malformed command",
            ZmtpMalformedCommandMessage => "ZMTP: malformed MESSAGE command",
            ZmtpMalformedCommandHello => "ZMTP: malformed HELLO command",
            ZmtpMalformedCommandInitiate => "ZMTP: malformed INITIATE command",
            ZmtpMalformedCommandError => "ZMTP: malformed ERROR command",
            ZmtpMalformedCommandReady => "ZMTP: malformed READY command",
            ZmtpMalformedCommandWelcome => "ZMTP: malformed WELCOME command",
            ZmtpInvalidMetadata => "ZMTP: invalid metadata",
            ZmtpCryptographic => "ZMTP: cryptographic error",
            ZmtpMechanismMismatch => "ZMTP: security mechanism mismatch",
            ZapUnspecified => "ZAP error (unspecified)",
            ZapMalformedReply => "ZAP: malformed reply",
            ZapBadRequestId => "ZAP: bad request id",
            ZapBadVersion => "ZAP: bad version",
            ZapInvalidStatusCode => "ZAP: invalid status code",
            ZapInvalidMetadata => "ZAP: invalid metadata",
            Other(code) => return write!(f, "protocol error 0x{code:08x}"),
        };
        f.write_str(text)
    }
}

/// One monitor event: what happened, on which endpoint, with libzmq's value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MonitorEvent {
    /// What happened.
    pub kind: EventKind,
    /// The endpoint concerned, as libzmq prints it (e.g.
    /// `tcp://127.0.0.1:41234`); for [`EventKind::Malformed`], a description
    /// of the message that arrived.
    pub endpoint: String,
    /// libzmq's value; see the [monitor module docs](crate::monitor#value) for its meaning.
    pub value: u32,
    /// On a [`Disconnected`](EventKind::Disconnected) of a socket whose
    /// `ZMQ_MAXMSGSIZE` was set when the monitor started: that limit, in
    /// bytes per frame. libzmq drops the connection of a peer that sends a
    /// larger frame and reports only this `Disconnected`, so the limit is
    /// the possible reason; libzmq does not tell it apart from an ordinary
    /// hang-up, and does not say which messages were lost (see
    /// [`may_be_oversize`](Self::may_be_oversize)). `None` otherwise.
    pub receive_limit: Option<u64>,
}

impl MonitorEvent {
    /// Decodes one monitor message. Never fails: an unknown event code gives
    /// [`EventKind::Unknown`], a message of the wrong shape
    /// [`EventKind::Malformed`].
    ///
    /// The first frame holds a 16-bit event code then a 32-bit value, in the
    /// host's byte order (libzmq copies them from memory; on every platform
    /// Rust and libzmq share today that is little-endian), the second the
    /// endpoint.
    pub fn decode(msg: &Multipart) -> MonitorEvent {
        let header = msg.frame(0).unwrap_or_default();
        if msg.len() != 2 || header.len() != 6 {
            let sizes: Vec<usize> = msg.iter().map(<[u8]>::len).collect();
            return MonitorEvent {
                kind: EventKind::Malformed,
                endpoint: format!(
                    "expected 2 frames (6 + endpoint bytes), got {} frame(s) of {sizes:?} bytes",
                    msg.len()
                ),
                value: 0,
                receive_limit: None,
            };
        }
        let code = u16::from_ne_bytes([header[0], header[1]]);
        let value = u32::from_ne_bytes([header[2], header[3], header[4], header[5]]);
        let endpoint = String::from_utf8_lossy(msg.frame(1).unwrap_or_default()).into_owned();
        MonitorEvent {
            kind: EventKind::from_code(code, value),
            endpoint,
            value,
            receive_limit: None,
        }
    }

    /// The receiving limit that may explain this event: for a
    /// [`Disconnected`](EventKind::Disconnected) on a socket with
    /// `ZMQ_MAXMSGSIZE` set, that limit ([`receive_limit`](Self::receive_limit)).
    ///
    /// What can be known (libzmq 4.3.5): a peer's frame above the limit is a
    /// protocol error in the receiver's decoder (`EMSGSIZE`, which never
    /// leaves libzmq). The receiver closes the connection and its monitor
    /// says `Disconnected` and nothing else. The frame, the rest of its
    /// message and everything the peer sent after it on that connection are
    /// lost; what arrived before it is still delivered. A receiver that
    /// connected does not reconnect to that endpoint; one that bound waits
    /// for the peer to reconnect. The same `Disconnected` also follows an
    /// ordinary hang-up, so this says "maybe", never "surely". The sender
    /// can be told the limit so the message comes back there instead
    /// ([`AsyncSocket::set_peer_max_frame`](crate::AsyncSocket::set_peer_max_frame)).
    pub fn may_be_oversize(&self) -> Option<u64> {
        match self.kind {
            EventKind::Disconnected => self.receive_limit,
            _ => None,
        }
    }

    /// For events whose value is an `errno` (bind, accept and close
    /// failures, handshake failures without detail, connect delayed), that
    /// error.
    pub fn error(&self) -> Option<zmq::Error> {
        match self.kind {
            EventKind::BindFailed
            | EventKind::AcceptFailed
            | EventKind::CloseFailed
            | EventKind::HandshakeFailedNoDetail
            | EventKind::ConnectDelayed
                if self.value != 0 =>
            {
                i32::try_from(self.value).ok().map(zmq::Error::from_raw)
            }
            _ => None,
        }
    }
}

impl EventKind {
    /// Decodes a raw event code and value (the value is needed to detail
    /// handshake failures).
    pub fn from_code(code: u16, value: u32) -> EventKind {
        match u32::from(code) {
            zmq_sys::ZMQ_EVENT_CONNECTED => EventKind::Connected,
            zmq_sys::ZMQ_EVENT_CONNECT_DELAYED => EventKind::ConnectDelayed,
            zmq_sys::ZMQ_EVENT_CONNECT_RETRIED => EventKind::ConnectRetried,
            zmq_sys::ZMQ_EVENT_LISTENING => EventKind::Listening,
            zmq_sys::ZMQ_EVENT_BIND_FAILED => EventKind::BindFailed,
            zmq_sys::ZMQ_EVENT_ACCEPTED => EventKind::Accepted,
            zmq_sys::ZMQ_EVENT_ACCEPT_FAILED => EventKind::AcceptFailed,
            zmq_sys::ZMQ_EVENT_CLOSED => EventKind::Closed,
            zmq_sys::ZMQ_EVENT_CLOSE_FAILED => EventKind::CloseFailed,
            zmq_sys::ZMQ_EVENT_DISCONNECTED => EventKind::Disconnected,
            zmq_sys::ZMQ_EVENT_MONITOR_STOPPED => EventKind::MonitorStopped,
            zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL => EventKind::HandshakeFailedNoDetail,
            zmq_sys::ZMQ_EVENT_HANDSHAKE_SUCCEEDED => EventKind::HandshakeSucceeded,
            zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL => {
                EventKind::HandshakeFailedProtocol(ProtocolError::from_code(value))
            }
            zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_AUTH => {
                EventKind::HandshakeFailedAuth { status_code: value }
            }
            _ => EventKind::Unknown { code, value },
        }
    }
}

impl fmt::Display for MonitorEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            EventKind::Malformed => write!(f, "{}: {}", self.kind, self.endpoint),
            _ => match self.error() {
                Some(e) => write!(f, "{} on {}: {e}", self.kind, self.endpoint),
                None => write!(
                    f,
                    "{} on {} (value {})",
                    self.kind, self.endpoint, self.value
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(code: u16, value: u32, endpoint: &str) -> Multipart {
        let mut header = code.to_ne_bytes().to_vec();
        header.extend_from_slice(&value.to_ne_bytes());
        Multipart::from(vec![header, endpoint.as_bytes().to_vec()])
    }

    #[test]
    fn decodes_every_known_code() {
        let cases = [
            (zmq_sys::ZMQ_EVENT_CONNECTED, EventKind::Connected),
            (
                zmq_sys::ZMQ_EVENT_CONNECT_DELAYED,
                EventKind::ConnectDelayed,
            ),
            (
                zmq_sys::ZMQ_EVENT_CONNECT_RETRIED,
                EventKind::ConnectRetried,
            ),
            (zmq_sys::ZMQ_EVENT_LISTENING, EventKind::Listening),
            (zmq_sys::ZMQ_EVENT_BIND_FAILED, EventKind::BindFailed),
            (zmq_sys::ZMQ_EVENT_ACCEPTED, EventKind::Accepted),
            (zmq_sys::ZMQ_EVENT_ACCEPT_FAILED, EventKind::AcceptFailed),
            (zmq_sys::ZMQ_EVENT_CLOSED, EventKind::Closed),
            (zmq_sys::ZMQ_EVENT_CLOSE_FAILED, EventKind::CloseFailed),
            (zmq_sys::ZMQ_EVENT_DISCONNECTED, EventKind::Disconnected),
            (
                zmq_sys::ZMQ_EVENT_MONITOR_STOPPED,
                EventKind::MonitorStopped,
            ),
            (
                zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL,
                EventKind::HandshakeFailedNoDetail,
            ),
            (
                zmq_sys::ZMQ_EVENT_HANDSHAKE_SUCCEEDED,
                EventKind::HandshakeSucceeded,
            ),
        ];
        for (code, kind) in cases {
            let event = MonitorEvent::decode(&raw(code as u16, 7, "tcp://127.0.0.1:1"));
            assert_eq!(event.kind, kind);
            assert_eq!(event.value, 7);
            assert_eq!(event.endpoint, "tcp://127.0.0.1:1");
        }
    }

    #[test]
    fn decodes_handshake_failure_details() {
        let e = MonitorEvent::decode(&raw(
            zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL as u16,
            zmq_sys::ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH,
            "x",
        ));
        assert_eq!(
            e.kind,
            EventKind::HandshakeFailedProtocol(ProtocolError::ZmtpMechanismMismatch)
        );
        let e = MonitorEvent::decode(&raw(
            zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL as u16,
            0x1234,
            "x",
        ));
        assert_eq!(
            e.kind,
            EventKind::HandshakeFailedProtocol(ProtocolError::Other(0x1234))
        );
        let e = MonitorEvent::decode(&raw(
            zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_AUTH as u16,
            400,
            "x",
        ));
        assert_eq!(e.kind, EventKind::HandshakeFailedAuth { status_code: 400 });
        assert!(e.to_string().contains("400"));
    }

    #[test]
    fn unknown_codes_and_malformed_messages_are_reported() {
        let e = MonitorEvent::decode(&raw(0x8000, 42, "tcp://x"));
        assert_eq!(
            e.kind,
            EventKind::Unknown {
                code: 0x8000,
                value: 42
            }
        );
        assert_eq!(e.endpoint, "tcp://x");
        for bad in [
            Multipart::new(),
            Multipart::from("one frame"),
            Multipart::from(vec![vec![1u8, 2, 3], b"ep".to_vec()]),
            Multipart::from(vec![vec![0u8; 6], b"ep".to_vec(), b"extra".to_vec()]),
        ] {
            let e = MonitorEvent::decode(&bad);
            assert_eq!(e.kind, EventKind::Malformed, "{bad:?}");
            assert!(e.endpoint.contains("expected 2 frames"), "{}", e.endpoint);
            assert!(!e.to_string().is_empty());
        }
        // Endpoint bytes that are not UTF-8 are kept, lossily, not rejected.
        let mut header = (zmq_sys::ZMQ_EVENT_CONNECTED as u16).to_ne_bytes().to_vec();
        header.extend_from_slice(&0u32.to_ne_bytes());
        let e = MonitorEvent::decode(&Multipart::from(vec![header, vec![0xff, b'a']]));
        assert_eq!(e.kind, EventKind::Connected);
        assert_eq!(e.endpoint, "\u{fffd}a");
    }

    #[test]
    fn errors_are_decoded_for_failure_events() {
        let e = MonitorEvent::decode(&raw(
            zmq_sys::ZMQ_EVENT_BIND_FAILED as u16,
            zmq::Error::EADDRINUSE.to_raw() as u32,
            "tcp://127.0.0.1:1",
        ));
        assert_eq!(e.error(), Some(zmq::Error::EADDRINUSE));
        let e = MonitorEvent::decode(&raw(zmq_sys::ZMQ_EVENT_CONNECTED as u16, 9, "x"));
        assert_eq!(e.error(), None);
    }

    #[test]
    fn masks_combine() {
        let m = EventMask::CONNECTED | EventMask::DISCONNECTED;
        assert!(m.contains(EventMask::CONNECTED));
        assert!(!m.contains(EventMask::LISTENING));
        assert!(EventMask::ALL.contains(EventMask::HANDSHAKE_FAILED));
    }
}
