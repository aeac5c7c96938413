//! Z85 (RFC 32) through libzmq: `zmq::z85_encode` / `zmq::z85_decode`.
//!
//! - Bytes whose length is a multiple of 4 encode to 5/4 as many characters
//!   that decode back to the same bytes; other lengths are refused.
//! - Any text that decodes re-encodes to itself (Z85 has one spelling per
//!   value), and decoding agrees with `auth::PublicKey::from_z85`, our own
//!   decoder, on every 40-character text.
#![no_main]

use calloop_zmq::auth::PublicKey;
use calloop_zmq::zmq;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Found by this target: `z85_encode(&[])` is `Ok("")` but
    match zmq::z85_encode(data) {
        Ok(text) => {
            assert!(data.len().is_multiple_of(4), "encoded {} bytes", data.len());
            assert_eq!(text.len(), data.len() / 4 * 5);
            let back = zmq::z85_decode(&text)
                .unwrap_or_else(|e| panic!("{text:?} (from {data:?}) does not decode: {e}"));
            assert_eq!(back, data, "round trip through {text:?}");
        }
        Err(_) => assert!(
            !data.len().is_multiple_of(4),
            "{} bytes refused",
            data.len()
        ),
    }

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let decoded = zmq::z85_decode(text);
    if let Ok(bytes) = &decoded {
        assert_eq!(bytes.len(), text.len() / 5 * 4);
        assert_eq!(zmq::z85_encode(bytes).as_deref(), Ok(text), "re-encoding");
    }
    // `from_z85` trims surrounding whitespace; libzmq does not.
    if text.len() == 40 && text.trim() == text {
        let ours = PublicKey::from_z85(text).map(|k| k.as_bytes().to_vec());
        assert_eq!(
            ours.as_ref().ok(),
            decoded.as_ref().ok(),
            "PublicKey::from_z85 and zmq_z85_decode disagree on {text:?} ({ours:?})"
        );
    }
});
