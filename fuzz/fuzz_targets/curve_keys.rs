//! CURVE key text and key files (`auth::PublicKey`, `SecretKey`, `KeyPair`),
//! as read from a config file or a zcert file on disk.
//!
//! - Parsing never panics; a key that parses prints back as the same 40
//!   characters (surrounding whitespace aside).
//! - A pair read from a file is saved (`KeyPair::save`'s texts) and read
//!   back unchanged; its public file yields the public key and no pair.
#![no_main]

use calloop_zmq::auth::fuzzing::{key_file_texts, parse_key_file};
use calloop_zmq::auth::{PublicKey, SecretKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    if let Ok(key) = PublicKey::from_z85(&text) {
        assert_eq!(key.to_z85(), text.trim());
        assert_eq!(key.to_string(), text.trim());
        assert_eq!(PublicKey::from_bytes(key.as_bytes()).ok(), Some(key));
    }
    if let Ok(key) = SecretKey::from_z85(&text) {
        assert_eq!(key.to_z85(), text.trim());
        assert!(!format!("{key:?}").contains(text.trim()), "secret in Debug");
    }

    let (public, pair) = parse_key_file(&text);
    if let Err(e) = &public {
        assert!(!e.to_string().is_empty());
    }
    if let Ok(pair) = pair {
        assert_eq!(public.as_ref().ok(), Some(pair.public()), "two public keys");
        let (secret_text, public_text) = key_file_texts(&pair);
        let (again_public, again_pair) = parse_key_file(&secret_text);
        let again_pair = again_pair.expect("a saved secret file loads");
        assert_eq!(again_pair.public(), pair.public());
        assert_eq!(again_pair.secret().as_bytes(), pair.secret().as_bytes());
        assert_eq!(again_public.ok().as_ref(), Some(pair.public()));
        let (only_public, no_pair) = parse_key_file(&public_text);
        assert_eq!(only_public.ok().as_ref(), Some(pair.public()));
        assert!(no_pair.is_err(), "a public file gave a secret key");
    }
});
