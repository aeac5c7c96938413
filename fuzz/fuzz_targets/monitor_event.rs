//! Monitor event decoding (`monitor::MonitorEvent::decode`), as the monitor
//! receives libzmq's messages: any number of frames of any size.
//!
//! - Decoding never panics and never drops a message: the right shape (two
//!   frames, a six-byte header) gives its code, value and endpoint; any
//!   other shape gives `EventKind::Malformed` with a description.
//! - `Display` and `error()` never panic; `error()` only for errno events.
#![no_main]

use calloop_zmq::monitor::{EventKind, MonitorEvent};
use calloop_zmq_fuzz::frames;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let frames = frames(data);
    let msg = calloop_zmq::Multipart::from(frames.clone());
    let event = MonitorEvent::decode(&msg);
    assert!(!event.to_string().is_empty());
    assert!(!event.kind.to_string().is_empty());
    if frames.len() == 2 && frames[0].len() == 6 {
        let header = &frames[0];
        let code = u16::from_ne_bytes([header[0], header[1]]);
        let value = u32::from_ne_bytes([header[2], header[3], header[4], header[5]]);
        assert_eq!(event.kind, EventKind::from_code(code, value));
        assert_ne!(event.kind, EventKind::Malformed);
        assert_eq!(event.value, value);
        assert_eq!(event.endpoint, String::from_utf8_lossy(&frames[1]));
    } else {
        assert_eq!(event.kind, EventKind::Malformed, "{frames:?}");
        assert!(event.endpoint.contains("expected 2 frames"));
        assert_eq!(event.value, 0);
    }
    if let Some(e) = event.error() {
        assert!(matches!(
            event.kind,
            EventKind::BindFailed
                | EventKind::AcceptFailed
                | EventKind::CloseFailed
                | EventKind::HandshakeFailedNoDetail
                | EventKind::ConnectDelayed
        ));
        assert_ne!(event.value, 0);
        assert!(!e.to_string().is_empty());
    }
});
