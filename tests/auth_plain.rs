//! PLAIN: wrong passwords and unknown users get nothing through; known users
//! do, and the server reads who they are from each message.

mod auth_common;
mod support;

use auth_common::World;
use calloop_zmq::auth::{ANY_DOMAIN, Identity, Status};
use calloop_zmq::zmq;

fn plain_server(s: &zmq::Socket) {
    s.set_plain_server(true).unwrap();
    s.set_zap_domain("plain").unwrap();
}

fn credentials(user: &'static str, password: &'static str) -> impl FnOnce(&zmq::Socket) {
    move |s| {
        s.set_plain_username(user).unwrap();
        s.set_plain_password(password).unwrap();
    }
}

#[test]
fn wrong_password_and_unknown_user_get_nothing_through() {
    let mut w = World::new();
    w.config
        .add_user_as(
            "plain",
            "alice",
            "correct horse",
            Identity::new("alice@example").with_property("Role", "admin"),
        )
        .unwrap();
    let endpoint = w.server("srv", "tcp://127.0.0.1:*", plain_server);

    let _wrong = w.client(&endpoint, "wrong password", credentials("alice", "battery"));
    let _unknown = w.client(
        &endpoint,
        "unknown user",
        credentials("mallory", "correct horse"),
    );
    w.wait_denials(2);
    let _right = w.client(
        &endpoint,
        "right password",
        credentials("alice", "correct horse"),
    );
    w.wait_message("right password");

    assert_eq!(w.seen.texts(), ["right password"]);
    let got = &w.seen.received[0];
    assert_eq!(got.user_id.as_deref(), Some("alice@example"));
    assert_eq!(got.role.as_deref(), Some("admin"));

    let mut reasons: Vec<_> = w
        .seen
        .decisions
        .iter()
        .filter(|d| d.status == Status::Denied)
        .map(|d| (d.claimed.clone().unwrap(), d.reason.clone()))
        .collect();
    reasons.sort();
    reasons.dedup();
    assert_eq!(
        reasons,
        [
            ("alice".to_owned(), "PLAIN: wrong password".to_owned()),
            ("mallory".to_owned(), "PLAIN: unknown user".to_owned()),
        ]
    );
    // The decision never carries a password.
    let debug = format!("{:?}", w.seen.decisions);
    assert!(
        !debug.contains("battery") && !debug.contains("correct horse"),
        "{debug}"
    );
}

#[test]
fn users_added_and_removed_while_the_loop_runs() {
    let mut w = World::new();
    w.config.add_domain(ANY_DOMAIN);
    let endpoint = w.server("srv", "tcp://127.0.0.1:*", plain_server);

    let _early = w.client(&endpoint, "before bob exists", credentials("bob", "pw"));
    w.wait_denials(1);

    // From another thread, as an admin tool would.
    let config = w.config.clone();
    std::thread::spawn(move || config.add_user(ANY_DOMAIN, "bob", "pw").unwrap())
        .join()
        .unwrap();
    let _bob = w.client(&endpoint, "bob is in", credentials("bob", "pw"));
    w.wait_message("bob is in");
    assert_eq!(w.seen.received[0].user_id.as_deref(), Some("bob"));

    assert!(w.config.remove_user(ANY_DOMAIN, "bob"));
    let denials = w.seen.count(Status::Denied);
    let _late = w.client(&endpoint, "after removal", credentials("bob", "pw"));
    w.wait_denials(denials + 1);
    // A marker from a still-valid user proves the loop moved on.
    w.config.add_user(ANY_DOMAIN, "carol", "pw2").unwrap();
    let _carol = w.client(&endpoint, "marker", credentials("carol", "pw2"));
    w.wait_message("marker");

    assert_eq!(w.seen.texts(), ["bob is in", "marker"]);
}

#[test]
fn address_lists_apply_to_plain_too() {
    let mut w = World::new();
    w.config.add_user("plain", "alice", "pw").unwrap();
    w.config.deny_address("plain", "127.0.0.1".parse().unwrap());
    let endpoint = w.server("srv", "tcp://127.0.0.1:*", plain_server);

    let _denied = w.client(
        &endpoint,
        "right password, wrong place",
        credentials("alice", "pw"),
    );
    w.wait_denials(1);
    assert_eq!(w.seen.decisions[0].reason, "address on the deny list");
    let elsewhere = format!(
        "tcp://127.0.0.5:0;{}",
        endpoint.trim_start_matches("tcp://")
    );
    let _ok = w.client(&elsewhere, "from .5", credentials("alice", "pw"));
    w.wait_message("from .5");
    assert_eq!(w.seen.texts(), ["from .5"]);
}
