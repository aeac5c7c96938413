//! NULL mechanism with address lists: denied peers get nothing through,
//! allowed ones do, lists are per ZAP domain and change while the loop runs.
//!
//! How "nothing got through" is proven without sleeping: the authenticator
//! reports each denial (a decision on the loop); after it, an allowed client
//! sends on its own connection and we wait for that message. The denied
//! connection's handshake failed, and any new handshake from it is judged
//! by the same rules, so the denied message can never be among those
//! received.

mod auth_common;
mod support;

use std::net::IpAddr;

use auth_common::World;
use calloop_zmq::auth::{ANY_DOMAIN, Status};
use calloop_zmq::zmq;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// A tcp endpoint for connecting to `server` from source address `from`
/// (libzmq's `source;destination` syntax; port 0 = any).
fn from(source: &str, server: &str) -> String {
    let dest = server.trim_start_matches("tcp://");
    format!("tcp://{source}:0;{dest}")
}

fn with_domain(domain: &'static str) -> impl FnOnce(&zmq::Socket) {
    move |s| s.set_zap_domain(domain).unwrap()
}

#[test]
fn peer_off_the_allow_list_gets_nothing_through() {
    let mut w = World::new();
    w.config.allow_address("global", ip("127.0.0.2"));
    let endpoint = w.server("srv", "tcp://127.0.0.1:*", with_domain("global"));

    let _denied = w.client(&from("127.0.0.1", &endpoint), "from 127.0.0.1", |_| {});
    w.wait_denials(1);
    let _allowed = w.client(&from("127.0.0.2", &endpoint), "from 127.0.0.2", |_| {});
    w.wait_message("from 127.0.0.2");

    assert_eq!(w.seen.texts(), ["from 127.0.0.2"]);
    let denial = w
        .seen
        .decisions
        .iter()
        .find(|d| d.status == Status::Denied)
        .unwrap();
    assert_eq!(denial.address, "127.0.0.1");
    assert_eq!(denial.domain, "global");
    assert_eq!(denial.mechanism, "NULL");
    assert_eq!(denial.reason, "address not on the allow list");
    let counts = w.counts();
    assert_eq!(counts.allowed, 1);
    assert!(counts.denied >= 1);
    assert_eq!(counts.malformed + counts.failed, 0);
}

#[test]
fn deny_list_blocks_and_allow_wins_when_both_are_set() {
    let mut w = World::new();
    w.config.deny_address(ANY_DOMAIN, ip("127.0.0.1"));
    let endpoint = w.server("srv", "tcp://127.0.0.1:*", with_domain("global"));

    let _denied = w.client(&endpoint, "denied", |_| {});
    w.wait_denials(1);
    assert_eq!(w.seen.decisions[0].reason, "address on the deny list");

    // Another address is not on the deny list.
    let _other = w.client(&from("127.0.0.3", &endpoint), "from .3", |_| {});
    w.wait_message("from .3");

    // Changed while the loop runs: the allow list now holds 127.0.0.1 too,
    // and allow wins over deny. The next handshake sees it.
    w.config.allow_address(ANY_DOMAIN, ip("127.0.0.1"));
    let _allowed = w.client(&endpoint, "allowed now", |_| {});
    w.wait_message("allowed now");
    // ... while .3, not on the (now non-empty) allow list, is out.
    let denials = w.seen.count(Status::Denied);
    let _out = w.client(&from("127.0.0.3", &endpoint), "from .3 again", |_| {});
    w.wait_denials(denials + 1);

    // Removing the allow entry brings the deny list back into force.
    assert!(w.config.remove_allowed_address(ANY_DOMAIN, ip("127.0.0.1")));
    let denials = w.seen.count(Status::Denied);
    let _denied_again = w.client(&endpoint, "denied again", |_| {});
    w.wait_denials(denials + 1);
    let _marker = w.client(&from("127.0.0.4", &endpoint), "marker", |_| {});
    w.wait_message("marker");

    assert_eq!(w.seen.texts(), ["from .3", "allowed now", "marker"]);
}

#[test]
fn ipv6_loopback_is_listed_like_ipv4() {
    let mut w = World::new();
    w.config.deny_address("v6", ip("::1"));
    let probe = w.ctx.socket(zmq::SocketType::Pull).unwrap();
    probe.set_ipv6(true).unwrap();
    if probe.bind("tcp://[::1]:*").is_err() {
        println!("SKIPPED ipv6_loopback_is_listed_like_ipv4: no IPv6 loopback here");
        return;
    }
    drop(probe);
    let endpoint = w.server("srv", "tcp://[::1]:*", |s| {
        s.set_ipv6(true).unwrap();
        s.set_zap_domain("v6").unwrap();
    });
    let ipv6 = |s: &zmq::Socket| s.set_ipv6(true).unwrap();

    let _denied = w.client(&endpoint, "denied v6", ipv6);
    w.wait_denials(1);
    assert_eq!(w.seen.decisions[0].address, "::1");

    // Allow wins over the deny entry.
    w.config.allow_address("v6", ip("::1"));
    let _allowed = w.client(&endpoint, "allowed v6", ipv6);
    w.wait_message("allowed v6");
    assert_eq!(w.seen.texts(), ["allowed v6"]);
}

#[test]
fn lists_are_per_domain_and_unknown_domains_fail_closed() {
    let mut w = World::new();
    w.config.deny_address("strict", ip("127.0.0.1"));
    w.config.add_domain("open");
    let strict = w.server("strict", "tcp://127.0.0.1:*", with_domain("strict"));
    let open = w.server("open", "tcp://127.0.0.1:*", with_domain("open"));
    let unknown = w.server("unknown", "tcp://127.0.0.1:*", with_domain("unknown"));

    let _a = w.client(&strict, "to strict", |_| {});
    let _b = w.client(&unknown, "to unknown", |_| {});
    w.wait_denials(2);
    let _c = w.client(&open, "to open", |_| {});
    w.wait_message("to open");

    assert_eq!(w.seen.texts(), ["to open"]);
    let reasons: Vec<_> = w
        .seen
        .decisions
        .iter()
        .filter(|d| d.status == Status::Denied)
        .map(|d| (d.domain.as_str(), d.reason.as_str()))
        .collect();
    assert!(
        reasons.contains(&("strict", "address on the deny list")),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&(
            "unknown",
            "no policy for this ZAP domain and no \"*\" policy"
        )),
        "{reasons:?}"
    );
}

/// libzmq only asks the ZAP handler about NULL peers when the server socket
/// has a ZAP domain: without one, an empty (deny-all) config stops nothing.
/// SECURITY.md relies on this fact; the test pins it.
#[test]
fn null_without_zap_domain_is_never_checked() {
    let mut w = World::new();
    let endpoint = w.server("srv", "tcp://127.0.0.1:*", |_| {});
    let _client = w.client(&endpoint, "unchecked", |_| {});
    w.wait_message("unchecked");
    assert_eq!(w.counts().total(), 0);
}
