//! ZAP requests (RFC 27) as the authenticator receives them from its ROUTER
//! socket: routing id, delimiter, then the request frames, any of which a
//! buggy or hostile libzmq session could get wrong.
//!
//! - Every message gets exactly one reply: its envelope as it came, then
//!   the six ZAP reply frames, with the decision's status code.
//! - Only what the configuration admits is admitted: NULL and listed
//!   addresses, PLAIN with the right password, CURVE with a listed key or
//!   in the domain that takes any key, never an unknown domain or
//!   mechanism. A refused request carries no user id and no metadata.
#![no_main]

use std::sync::OnceLock;

use calloop_zmq::auth::fuzzing::answer;
use calloop_zmq::auth::{AuthConfig, Identity, PublicKey, Status};
use calloop_zmq_fuzz::frames;
use libfuzzer_sys::fuzz_target;

/// The key listed in domain "fuzz".
const LISTED_KEY: [u8; 32] = [7; 32];

/// Domain "fuzz": deny 10.0.0.1, user alice (with a Role property), one
/// CURVE key. Domain "open": only 127.0.0.1, user bob, any CURVE key. No
/// "*" entry, so every other domain is refused.
fn config() -> &'static AuthConfig {
    static CONFIG: OnceLock<AuthConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let config = AuthConfig::new();
        config.deny_address("fuzz", "10.0.0.1".parse().unwrap());
        config
            .add_user_as(
                "fuzz",
                "alice",
                "secret",
                Identity::new("alice").with_property("Role", "admin"),
            )
            .unwrap();
        config
            .add_curve_key(
                "fuzz",
                &PublicKey::from_bytes(&LISTED_KEY).unwrap().to_z85(),
            )
            .unwrap();
        config.allow_address("open", "127.0.0.1".parse().unwrap());
        config.add_user("open", "bob", "pw").unwrap();
        config.allow_any_curve_key("open", true);
        config
    })
}

fuzz_target!(|data: &[u8]| {
    let frames = frames(data);
    let (reply, decision) = answer(config(), calloop_zmq::Multipart::from(frames.clone()));
    let reply = reply.to_vecs();

    // The envelope goes back as it came (with a delimiter added when the
    // message had none).
    let (envelope, body) = match frames.iter().position(Vec::is_empty) {
        Some(d) => (frames[..=d].to_vec(), Some(&frames[d + 1..])),
        None => {
            let mut envelope = frames.first().cloned().into_iter().collect::<Vec<_>>();
            envelope.push(Vec::new());
            (envelope, None)
        }
    };
    assert_eq!(reply.len(), envelope.len() + 6, "{frames:?} -> {reply:?}");
    assert_eq!(reply[..envelope.len()], envelope[..]);
    let zap = &reply[envelope.len()..];
    assert_eq!(zap[0], b"1.0");
    assert_eq!(zap[2], decision.status.code().as_bytes());
    if let Some(body) = body {
        assert_eq!(
            zap[1],
            body.get(1).cloned().unwrap_or_default(),
            "request id"
        );
    }

    if decision.status != Status::Allowed {
        assert_eq!(decision.user_id, None);
        assert!(
            zap[4].is_empty() && zap[5].is_empty(),
            "refused with an identity"
        );
        return;
    }
    // Allowed: the request was well formed and the rules admit it.
    let body = body.expect("allowed without a delimiter");
    assert!(body.len() >= 6 && body[0] == b"1.0", "allowed: {body:?}");
    let domain = body[2].as_slice();
    let address = String::from_utf8_lossy(&body[3]);
    let mechanism = body[5].as_slice();
    let creds = &body[6..];
    assert!(domain == b"fuzz" || domain == b"open", "domain {domain:?}");
    if domain == b"fuzz" {
        let denied = std::net::IpAddr::from([10u8, 0, 0, 1]);
        assert_ne!(address.parse().ok(), Some(denied), "denied address");
    } else {
        // "open" has an allow list of one.
        assert!(
            address.contains("127.0.0.1"),
            "not on the allow list: {address}"
        );
    }
    match (mechanism, creds) {
        (b"NULL", []) => assert!(zap[4].is_empty()),
        (b"PLAIN", [user, password]) => {
            let expected: &[u8] = if domain == b"fuzz" { b"alice" } else { b"bob" };
            let secret: &[u8] = if domain == b"fuzz" { b"secret" } else { b"pw" };
            assert_eq!((user.as_slice(), password.as_slice()), (expected, secret));
            assert_eq!(zap[4], expected);
            assert_eq!(
                decision.claimed.as_deref().map(str::as_bytes),
                Some(expected)
            );
            if domain == b"fuzz" {
                assert_eq!(zap[5], b"\x04Role\x00\x00\x00\x05admin");
            }
        }
        (b"CURVE", [key]) => {
            assert!(
                domain == b"open" || key[..] == LISTED_KEY,
                "unlisted key {key:?}"
            );
            let z85 = PublicKey::from_bytes(key).unwrap().to_z85();
            assert_eq!(decision.claimed.as_deref(), Some(z85.as_str()));
        }
        other => panic!("allowed {other:?}"),
    }
});
