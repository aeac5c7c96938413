//! CURVE: unknown client keys get nothing through, listed ones do; a
//! man-in-the-middle relay never sees the plaintext (while under NULL, the
//! control, it does); key helpers round-trip through files.
//!
//! CURVE is part of the default build (it bundles libzmq 4.3.5 with
//! libsodium), so these never skip: without CURVE they fail.

mod auth_common;
mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use auth_common::{World, require_curve};
use calloop_zmq::auth::{Identity, KeyPair, PublicKey, curve_available};
use calloop_zmq::zmq;

fn curve_server(keys: &KeyPair) -> impl FnOnce(&zmq::Socket) + '_ {
    move |s| {
        keys.configure_server(s).unwrap();
        s.set_zap_domain("curve").unwrap();
    }
}

fn curve_client<'a>(keys: &'a KeyPair, server: &'a PublicKey) -> impl FnOnce(&zmq::Socket) + 'a {
    move |s| keys.configure_client(s, server).unwrap()
}

#[test]
fn unknown_key_gets_nothing_through_listed_key_does() {
    require_curve("unknown_key_gets_nothing_through_listed_key_does");
    let server_keys = KeyPair::generate().unwrap();
    let known = KeyPair::generate().unwrap();
    let stranger = KeyPair::generate().unwrap();
    let mut w = World::new();
    w.config
        .add_curve_key_as(
            "curve",
            &known.public().to_z85(),
            Identity::new("sensor-7").with_property("Role", "reader"),
        )
        .unwrap();
    let endpoint = w.server("srv", "tcp://127.0.0.1:*", curve_server(&server_keys));

    let _stranger = w.client(
        &endpoint,
        "from stranger",
        curve_client(&stranger, server_keys.public()),
    );
    w.wait_denials(1);
    let denial = &w.seen.decisions[0];
    assert_eq!(denial.mechanism, "CURVE");
    assert_eq!(denial.reason, "CURVE: key not on the list");
    assert_eq!(denial.claimed, Some(stranger.public().to_z85()));

    let _known = w.client(
        &endpoint,
        "from sensor-7",
        curve_client(&known, server_keys.public()),
    );
    w.wait_message("from sensor-7");
    assert_eq!(w.seen.texts(), ["from sensor-7"]);
    assert_eq!(w.seen.received[0].user_id.as_deref(), Some("sensor-7"));
    assert_eq!(w.seen.received[0].role.as_deref(), Some("reader"));
}

#[test]
fn allow_any_and_key_removal_at_runtime() {
    require_curve("allow_any_and_key_removal_at_runtime");
    let server_keys = KeyPair::generate().unwrap();
    let client = KeyPair::generate().unwrap();
    let mut w = World::new();
    w.config.allow_any_curve_key("curve", true);
    let endpoint = w.server("srv", "tcp://127.0.0.1:*", curve_server(&server_keys));

    let _any = w.client(
        &endpoint,
        "any key",
        curve_client(&client, server_keys.public()),
    );
    w.wait_message("any key");
    // Without a listed identity, the User-Id is the key itself.
    assert_eq!(w.seen.received[0].user_id, Some(client.public().to_z85()));

    w.config.allow_any_curve_key("curve", false);
    w.config
        .add_curve_key("curve", &client.public().to_z85())
        .unwrap();
    let _listed = w.client(
        &endpoint,
        "listed",
        curve_client(&client, server_keys.public()),
    );
    w.wait_message("listed");

    assert!(
        w.config
            .remove_curve_key("curve", &client.public().to_z85())
            .unwrap()
    );
    let _removed = w.client(
        &endpoint,
        "removed",
        curve_client(&client, server_keys.public()),
    );
    w.wait_denials(1);
    // The marker: a fresh listed key still gets in after the denial.
    let other = KeyPair::generate().unwrap();
    w.config
        .add_curve_key("curve", &other.public().to_z85())
        .unwrap();
    let _marker = w.client(
        &endpoint,
        "marker",
        curve_client(&other, server_keys.public()),
    );
    w.wait_message("marker");
    assert_eq!(w.seen.texts(), ["any key", "listed", "marker"]);
}

#[test]
fn client_with_the_wrong_server_key_gets_nothing_through() {
    require_curve("client_with_the_wrong_server_key_gets_nothing_through");
    // The client authenticates the server too: an impostor server (or a
    // client pinned to another server's key) fails the handshake before
    // ZAP is even asked.
    let server_keys = KeyPair::generate().unwrap();
    let impostor = KeyPair::generate().unwrap();
    let client = KeyPair::generate().unwrap();
    let mut w = World::new();
    w.config.allow_any_curve_key("curve", true);
    let endpoint = w.server("srv", "tcp://127.0.0.1:*", curve_server(&server_keys));
    let _pinned_elsewhere = w.client(
        &endpoint,
        "wrong server key",
        curve_client(&client, impostor.public()),
    );
    let _right = w.client(
        &endpoint,
        "right server key",
        curve_client(&client, server_keys.public()),
    );
    w.wait_message("right server key");
    assert_eq!(w.seen.texts(), ["right server key"]);
    // Only the good handshake reached the authenticator.
    assert_eq!(w.counts().total(), 1);
}

/// A TCP relay between a client and the real server that records every
/// byte it forwards, both ways.
struct Relay {
    address: SocketAddr,
    captured: Arc<Mutex<Vec<u8>>>,
    acceptor: Option<JoinHandle<()>>,
}

impl Relay {
    /// Relays exactly one connection to `upstream`.
    fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let captured = Arc::new(Mutex::new(Vec::new()));
        let log = captured.clone();
        let acceptor = std::thread::spawn(move || {
            let (client, _) = listener.accept().expect("relay accept");
            let server = TcpStream::connect(upstream).expect("relay connect upstream");
            let pumps = [
                pump(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    log.clone(),
                ),
                pump(server, client, log),
            ];
            for p in pumps {
                let _ = p.join();
            }
        });
        Self {
            address,
            captured,
            acceptor: Some(acceptor),
        }
    }

    fn bytes(&self) -> Vec<u8> {
        self.captured.lock().unwrap().clone()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        // The pumps end when the zmq sockets close (end of stream); the test
        // drops those first. Don't join from a failing test's unwind.
        if !std::thread::panicking()
            && let Some(acceptor) = self.acceptor.take()
        {
            let _ = acceptor.join();
        }
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, log: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    log.lock().unwrap().extend_from_slice(&buf[..n]);
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

const PAYLOAD: &str = "TOP-SECRET-PAYLOAD-7f3a9c";

/// Sends PAYLOAD through a relay and returns what the relay saw.
fn relayed(
    server_setup: impl FnOnce(&zmq::Socket),
    client_setup: impl FnOnce(&zmq::Socket),
) -> Vec<u8> {
    let mut w = World::new();
    w.config.allow_any_curve_key("relay", true);
    w.config.add_domain("relay");
    let endpoint = w.server("srv", "tcp://127.0.0.1:*", |s| {
        server_setup(s);
        s.set_zap_domain("relay").unwrap();
    });
    let upstream: SocketAddr = endpoint.trim_start_matches("tcp://").parse().unwrap();
    let relay = Relay::start(upstream);
    let client = w.client(&format!("tcp://{}", relay.address), PAYLOAD, client_setup);
    w.wait_message(PAYLOAD);
    assert_eq!(w.seen.received[0].text(), PAYLOAD);
    drop(client);
    drop(w);
    let bytes = relay.bytes();
    drop(relay);
    bytes
}

#[test]
fn null_control_relay_sees_the_plaintext() {
    // The control: without CURVE, the relay reads the payload. If this ever
    // fails, the CURVE test below proves nothing.
    let seen = relayed(|_| {}, |_| {});
    assert!(contains(&seen, b"NULL"), "ZMTP greeting not captured");
    assert!(
        contains(&seen, PAYLOAD.as_bytes()),
        "NULL payload not visible to the relay"
    );
}

#[test]
fn curve_relay_never_sees_the_plaintext() {
    require_curve("curve_relay_never_sees_the_plaintext");
    let server_keys = KeyPair::generate().unwrap();
    let client_keys = KeyPair::generate().unwrap();
    let server_public = *server_keys.public();
    let seen = relayed(
        |s| server_keys.configure_server(s).unwrap(),
        |s| client_keys.configure_client(s, &server_public).unwrap(),
    );
    assert!(contains(&seen, b"CURVE"), "ZMTP greeting not captured");
    assert!(
        seen.len() > 200,
        "too little traffic captured: {} bytes",
        seen.len()
    );
    assert!(
        !contains(&seen, PAYLOAD.as_bytes()),
        "the relay saw the plaintext payload under CURVE"
    );
    // Nor does any key's secret half cross the wire.
    assert!(!contains(&seen, server_keys.secret().as_bytes()));
    assert!(!contains(&seen, client_keys.secret().as_bytes()));
}

#[test]
fn key_pairs_round_trip_through_files() {
    require_curve("key_pairs_round_trip_through_files");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("client.key");
    let pair = KeyPair::generate().unwrap();
    pair.save(&path).unwrap();
    let loaded = KeyPair::load(&path).unwrap();
    assert_eq!(loaded.public(), pair.public());
    assert_eq!(loaded.secret().as_bytes(), pair.secret().as_bytes());
    let public_only = PublicKey::load(dir.path().join("client.key.pub")).unwrap();
    assert_eq!(&public_only, pair.public());
    // The public file holds no secret.
    let err = KeyPair::load(dir.path().join("client.key.pub")).unwrap_err();
    assert!(err.to_string().contains("secret-key"), "{err}");

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "secret key file must be private");

    // Keys made elsewhere (given as Z85 text) go through files too.
    let elsewhere = KeyPair::from_z85(
        "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID",
        "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs",
    )
    .unwrap();
    let other = dir.path().join("elsewhere.key");
    elsewhere.save(&other).unwrap();
    let loaded = KeyPair::load(&other).unwrap();
    assert_eq!(loaded.public(), elsewhere.public());
    assert_eq!(loaded.secret().as_bytes(), elsewhere.secret().as_bytes());
}

#[test]
fn reports_which_libzmq_is_linked() {
    let available = curve_available();
    let version = zmq::version();
    println!("libzmq {version:?}, zmq::has(\"curve\") = {available}");
    assert!(
        available,
        "libzmq {version:?} has no CURVE (zmq::has(\"curve\") is false); the default build \
         bundles libzmq 4.3.5 with libsodium (the `curve` feature), so this build is missing it"
    );
    #[cfg(not(feature = "system-libzmq"))]
    assert_eq!(version, (4, 3, 5), "the bundled libzmq is 4.3.5");
}
