//! Who may connect: the configuration and the decision rules.
//!
//! [`AuthConfig`] is a cheap, cloneable, thread-safe handle: change it from
//! any thread while the loop runs, and the next handshake sees the change
//! (connections already admitted stay up; ZAP only runs at handshake time).
//!
//! Rules, per ZAP domain (the server socket's `ZMQ_ZAP_DOMAIN`), in order:
//! 1. The domain's own entry applies, else the [`ANY_DOMAIN`] (`"*"`) entry,
//!    else the request is **denied** (fail closed).
//! 2. Addresses, for every mechanism: if the allow list is non-empty, only
//!    listed addresses pass (the deny list is then ignored: allow wins, as in
//!    CZMQ's zauth); otherwise an address on the deny list is denied.
//! 3. Mechanism: NULL passes; PLAIN needs a known user and its password;
//!    CURVE needs a listed client key, or "allow any key" for the domain;
//!    anything else (GSSAPI) is denied.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::keys::PublicKey;
use super::zap::{Credentials, Request};
use super::{AuthError, Status};

/// The domain entry that applies to every ZAP domain without its own entry.
pub const ANY_DOMAIN: &str = "*";

/// Who an admitted peer is, as the receiving side will see it: the
/// `User-Id` and extra properties of every message from that connection
/// (`zmq::Frame::gets("User-Id")`, `gets("Role")`...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    user_id: String,
    properties: Vec<(String, String)>,
}

impl Identity {
    /// An identity with this user id and no extra properties.
    pub fn new(user_id: impl Into<String>) -> Self {
        Self {
            user_id: user_id.into(),
            properties: Vec::new(),
        }
    }

    /// Adds a property, readable on received messages with
    /// `zmq::Frame::gets(name)`. Checked when the identity is configured:
    /// names are 1 to 255 characters of `A-Z a-z 0-9 - _ . +` and must not
    /// be one libzmq fills in itself (`User-Id`, `Socket-Type`, `Identity`,
    /// `Routing-Id`, `Peer-Address`); values must not contain NUL.
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.push((name.into(), value.into()));
        self
    }

    /// The user id.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The extra properties, in order.
    pub fn properties(&self) -> &[(String, String)] {
        &self.properties
    }

    fn validate(&self) -> Result<(), AuthError> {
        if self.user_id.contains('\0') {
            return Err(AuthError::invalid("user id", "contains a NUL byte"));
        }
        const RESERVED: [&str; 5] = [
            "User-Id",
            "Socket-Type",
            "Identity",
            "Routing-Id",
            "Peer-Address",
        ];
        for (name, value) in &self.properties {
            let ok_chars = name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(&b));
            if name.is_empty() || name.len() > 255 || !ok_chars {
                return Err(AuthError::invalid(
                    "property name",
                    format!("{name:?}: use 1 to 255 characters of A-Z a-z 0-9 - _ . +"),
                ));
            }
            if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                return Err(AuthError::invalid(
                    "property name",
                    format!("{name:?} is set by libzmq itself"),
                ));
            }
            if value.contains('\0') || u32::try_from(value.len()).is_err() {
                return Err(AuthError::invalid(
                    "property value",
                    format!("{name:?}: contains a NUL byte or exceeds 4 GiB"),
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
struct User {
    password: Vec<u8>,
    identity: Identity,
}

#[derive(Debug, Default)]
struct DomainPolicy {
    allow: HashSet<IpAddr>,
    deny: HashSet<IpAddr>,
    users: HashMap<String, User>,
    curve_any: bool,
    curve_keys: HashMap<[u8; 32], Identity>,
}

#[derive(Debug, Default)]
struct Policy {
    domains: HashMap<String, DomainPolicy>,
}

/// The authenticator's configuration: a cloneable, thread-safe handle.
///
/// Change it from any thread while the loop runs; the next handshake sees
/// the change (connections already admitted stay up: ZAP only runs at
/// handshake time).
///
/// The rules, per ZAP domain (the server socket's `ZMQ_ZAP_DOMAIN`), in order:
/// 1. The domain's own entry applies, else the [`ANY_DOMAIN`] (`"*"`) entry,
///    else the request is **denied** (fail closed).
/// 2. Addresses, for every mechanism: if the allow list is non-empty, only
///    listed addresses pass (the deny list is then ignored: allow wins, as in
///    CZMQ's zauth); otherwise an address on the deny list is denied.
/// 3. Mechanism: NULL passes; PLAIN needs a known user and its password;
///    CURVE needs a listed client key, or "allow any key" for the domain;
///    anything else (GSSAPI) is denied.
///
/// Every method names the ZAP domain it changes; pass [`ANY_DOMAIN`] for the
/// entry that covers every domain without its own.
///
/// ```
/// use calloop_zmq::auth::{AuthConfig, Identity, ANY_DOMAIN};
///
/// let config = AuthConfig::new();
/// config.allow_address(ANY_DOMAIN, "127.0.0.1".parse().unwrap());
/// config.add_user("admin", "alice", "correct horse").unwrap();
/// config
///     .add_curve_key_as(
///         "sensors",
///         "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID",
///         Identity::new("sensor-7").with_property("Site", "north"),
///     )
///     .unwrap();
/// // Later, from any thread:
/// assert!(config.remove_user("admin", "alice"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct AuthConfig {
    inner: Arc<RwLock<Policy>>,
}

/// What the rules decided about one well-formed request.
#[derive(Debug)]
pub(crate) struct Verdict {
    pub status: Status,
    pub reason: String,
    /// What the peer claimed to be (PLAIN user name, CURVE key); never a password.
    pub claimed: Option<String>,
    /// Set when allowed.
    pub identity: Option<Identity>,
}

impl AuthConfig {
    /// An empty configuration: every request is denied until a domain entry
    /// exists (fail closed).
    pub fn new() -> Self {
        Self::default()
    }

    // A panic while holding the lock cannot leave a half-made change (every
    // change is one map operation), so writers carry on after poisoning;
    // `decide` still refuses with status 500 on a poisoned lock, as it
    // cannot know which change the panicking thread was making.
    fn write(&self) -> RwLockWriteGuard<'_, Policy> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    fn edit<R>(&self, domain: &str, f: impl FnOnce(&mut DomainPolicy) -> R) -> R {
        let mut policy = self.write();
        f(policy.domains.entry(domain.to_owned()).or_default())
    }

    fn edit_existing<R: Default>(&self, domain: &str, f: impl FnOnce(&mut DomainPolicy) -> R) -> R {
        self.write()
            .domains
            .get_mut(domain)
            .map(f)
            .unwrap_or_default()
    }

    /// Creates the domain's entry if missing, with nothing listed: NULL
    /// peers from any address pass, PLAIN and CURVE peers do not.
    pub fn add_domain(&self, domain: &str) {
        self.edit(domain, |_| ());
    }

    /// Removes the domain's entry and everything in it; its requests then
    /// fall to [`ANY_DOMAIN`] or are denied. Returns whether it existed.
    pub fn remove_domain(&self, domain: &str) -> bool {
        self.write().domains.remove(domain).is_some()
    }

    /// Adds `address` to the domain's allow list. Once the list is not
    /// empty, only listed addresses get in, whatever the deny list says.
    /// IPv4-mapped IPv6 addresses count as their IPv4 form.
    pub fn allow_address(&self, domain: &str, address: IpAddr) {
        self.edit(domain, |d| d.allow.insert(canonical(address)));
    }

    /// Removes `address` from the allow list; returns whether it was there.
    /// An allow list emptied this way stops restricting.
    pub fn remove_allowed_address(&self, domain: &str, address: IpAddr) -> bool {
        self.edit_existing(domain, |d| d.allow.remove(&canonical(address)))
    }

    /// Adds `address` to the domain's deny list (ignored while the allow
    /// list is non-empty).
    pub fn deny_address(&self, domain: &str, address: IpAddr) {
        self.edit(domain, |d| d.deny.insert(canonical(address)));
    }

    /// Removes `address` from the deny list; returns whether it was there.
    pub fn remove_denied_address(&self, domain: &str, address: IpAddr) -> bool {
        self.edit_existing(domain, |d| d.deny.remove(&canonical(address)))
    }

    /// Adds or replaces a PLAIN user; the connection's `User-Id` is the user
    /// name.
    ///
    /// **PLAIN sends the password in cleartext.** Anyone on the path reads
    /// it, and the traffic after it. Use it only on a trusted network or
    /// under CURVE-protected transport you control; prefer CURVE.
    pub fn add_user(&self, domain: &str, username: &str, password: &str) -> Result<(), AuthError> {
        self.add_user_as(domain, username, password, Identity::new(username))
    }

    /// Like [`add_user`](Self::add_user), with the identity (user id and
    /// properties) the receiving side will see.
    pub fn add_user_as(
        &self,
        domain: &str,
        username: &str,
        password: &str,
        identity: Identity,
    ) -> Result<(), AuthError> {
        // ZMTP PLAIN carries each in a 1-byte length field.
        if username.len() > 255 || password.len() > 255 {
            return Err(AuthError::invalid(
                "PLAIN credentials",
                "user name and password are at most 255 bytes each",
            ));
        }
        identity.validate()?;
        self.edit(domain, |d| {
            d.users.insert(
                username.to_owned(),
                User {
                    password: password.as_bytes().to_vec(),
                    identity,
                },
            )
        });
        Ok(())
    }

    /// Removes a PLAIN user; returns whether it existed. New handshakes with
    /// its credentials fail from now on.
    pub fn remove_user(&self, domain: &str, username: &str) -> bool {
        self.edit_existing(domain, |d| d.users.remove(username).is_some())
    }

    /// When `allow` is true, any CURVE client key is admitted in this domain
    /// (the traffic is still encrypted; the `User-Id` is the key in Z85).
    /// Listed keys keep their own identities.
    pub fn allow_any_curve_key(&self, domain: &str, allow: bool) {
        self.edit(domain, |d| d.curve_any = allow);
    }

    /// Admits the CURVE client whose public key is `public_key_z85` (40
    /// characters of Z85). The connection's `User-Id` is the key's Z85 text.
    pub fn add_curve_key(&self, domain: &str, public_key_z85: &str) -> Result<(), AuthError> {
        let key = PublicKey::from_z85(public_key_z85)?;
        self.add_curve_key_as(domain, public_key_z85, Identity::new(key.to_z85()))
    }

    /// Like [`add_curve_key`](Self::add_curve_key), with the identity (user
    /// id and properties) the receiving side will see.
    pub fn add_curve_key_as(
        &self,
        domain: &str,
        public_key_z85: &str,
        identity: Identity,
    ) -> Result<(), AuthError> {
        let key = PublicKey::from_z85(public_key_z85)?;
        identity.validate()?;
        self.edit(domain, |d| d.curve_keys.insert(*key.as_bytes(), identity));
        Ok(())
    }

    /// Stops admitting a CURVE client key; returns whether it was listed.
    /// Fails only when the text is not a Z85 key.
    pub fn remove_curve_key(&self, domain: &str, public_key_z85: &str) -> Result<bool, AuthError> {
        let key = PublicKey::from_z85(public_key_z85)?;
        Ok(self.edit_existing(domain, |d| d.curve_keys.remove(key.as_bytes()).is_some()))
    }

    fn read(&self) -> Option<RwLockReadGuard<'_, Policy>> {
        self.inner.read().ok()
    }

    /// Applies the rules to a well-formed request.
    pub(crate) fn decide(&self, request: &Request) -> Verdict {
        let claimed = match &request.credentials {
            Credentials::Plain { username, .. } => {
                Some(String::from_utf8_lossy(username).into_owned())
            }
            Credentials::Curve { public_key } => Some(PublicKey(*public_key).to_z85()),
            Credentials::Null | Credentials::Other => None,
        };
        let verdict = |status, reason: &str, identity| Verdict {
            status,
            reason: reason.to_owned(),
            claimed: claimed.clone(),
            identity,
        };
        let deny = |reason: &str| verdict(Status::Denied, reason, None);
        let Some(policy) = self.read() else {
            return verdict(
                Status::Failed,
                "configuration lock poisoned (a thread panicked while changing it); refusing",
                None,
            );
        };
        let Some(domain) = policy
            .domains
            .get(&request.domain)
            .or_else(|| policy.domains.get(ANY_DOMAIN))
        else {
            return deny("no policy for this ZAP domain and no \"*\" policy");
        };
        let address = parse_address(&request.address);
        let mut listed = false;
        if !domain.allow.is_empty() {
            if address.is_some_and(|a| domain.allow.contains(&a)) {
                listed = true;
            } else {
                return deny("address not on the allow list");
            }
        } else if address.is_some_and(|a| domain.deny.contains(&a)) {
            return deny("address on the deny list");
        }
        match &request.credentials {
            Credentials::Null => {
                let reason = if listed {
                    "NULL: address on the allow list"
                } else {
                    "NULL: address not denied"
                };
                verdict(Status::Allowed, reason, Some(Identity::default()))
            }
            Credentials::Plain { username, password } => {
                let user = std::str::from_utf8(username)
                    .ok()
                    .and_then(|name| domain.users.get(name));
                match user {
                    Some(user) if constant_time_eq(&user.password, password) => verdict(
                        Status::Allowed,
                        "PLAIN: password matches",
                        Some(user.identity.clone()),
                    ),
                    Some(_) => deny("PLAIN: wrong password"),
                    None => deny("PLAIN: unknown user"),
                }
            }
            Credentials::Curve { public_key } => {
                if let Some(identity) = domain.curve_keys.get(public_key) {
                    verdict(
                        Status::Allowed,
                        "CURVE: key on the list",
                        Some(identity.clone()),
                    )
                } else if domain.curve_any {
                    let id = Identity::new(PublicKey(*public_key).to_z85());
                    verdict(Status::Allowed, "CURVE: any key allowed", Some(id))
                } else {
                    deny("CURVE: key not on the list")
                }
            }
            Credentials::Other => deny("unsupported mechanism"),
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, what a dual-stack socket
/// reports for an IPv4 peer) compare as IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// The request's address as an IP: libzmq sends the numeric host
/// (`127.0.0.1`, `::1`, maybe with a `%zone`); ipc peers send no IP, which
/// matches no list entry.
fn parse_address(text: &str) -> Option<IpAddr> {
    let host = text.trim_start_matches('[').trim_end_matches(']');
    let host = host.split('%').next().unwrap_or(host);
    host.parse::<IpAddr>()
        .or_else(|_| host.parse::<Ipv6Addr>().map(IpAddr::V6))
        .ok()
        .map(canonical)
}

/// Compares without an early exit, so timing does not reveal how much of a
/// guessed password was right (its length still shows).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(domain: &str, address: &str, credentials: Credentials) -> Request {
        let mechanism = match credentials {
            Credentials::Null => "NULL",
            Credentials::Plain { .. } => "PLAIN",
            Credentials::Curve { .. } => "CURVE",
            Credentials::Other => "GSSAPI",
        };
        Request {
            request_id: b"1".to_vec(),
            domain: domain.into(),
            address: address.into(),
            mechanism: mechanism.into(),
            credentials,
        }
    }

    fn config_decide(config: &AuthConfig, domain: &str, address: &str) -> Status {
        config
            .decide(&request(domain, address, Credentials::Null))
            .status
    }

    #[test]
    fn empty_config_denies() {
        assert_eq!(
            config_decide(&AuthConfig::new(), "x", "127.0.0.1"),
            Status::Denied
        );
    }

    #[test]
    fn allow_wins_over_deny_and_lists_are_per_domain() {
        let c = AuthConfig::new();
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        c.deny_address("a", lo);
        assert_eq!(config_decide(&c, "a", "127.0.0.1"), Status::Denied);
        assert_eq!(config_decide(&c, "a", "127.0.0.2"), Status::Allowed);
        c.allow_address("a", lo);
        assert_eq!(config_decide(&c, "a", "127.0.0.1"), Status::Allowed);
        assert_eq!(config_decide(&c, "a", "127.0.0.2"), Status::Denied);
        // Mapped IPv6 form of an allowed IPv4 address.
        assert_eq!(config_decide(&c, "a", "::ffff:127.0.0.1"), Status::Allowed);
        // Another domain has no entry and there is no "*".
        assert_eq!(config_decide(&c, "b", "127.0.0.1"), Status::Denied);
        c.add_domain(ANY_DOMAIN);
        assert_eq!(config_decide(&c, "b", "127.0.0.1"), Status::Allowed);
        assert!(c.remove_allowed_address("a", lo));
        assert_eq!(config_decide(&c, "a", "127.0.0.1"), Status::Denied);
        assert!(c.remove_denied_address("a", lo));
        assert_eq!(config_decide(&c, "a", "127.0.0.1"), Status::Allowed);
    }

    #[test]
    fn ipv6_and_non_ip_addresses() {
        let c = AuthConfig::new();
        c.allow_address(ANY_DOMAIN, "::1".parse().unwrap());
        assert_eq!(config_decide(&c, "d", "::1"), Status::Allowed);
        assert_eq!(config_decide(&c, "d", "[::1]"), Status::Allowed);
        assert_eq!(config_decide(&c, "d", ""), Status::Denied);
    }

    #[test]
    fn plain_users() {
        let c = AuthConfig::new();
        c.add_user("d", "alice", "secret").unwrap();
        let plain = |u: &[u8], p: &[u8]| {
            c.decide(&request(
                "d",
                "127.0.0.1",
                Credentials::Plain {
                    username: u.to_vec(),
                    password: p.to_vec(),
                },
            ))
        };
        let ok = plain(b"alice", b"secret");
        assert_eq!(ok.status, Status::Allowed);
        assert_eq!(ok.identity.unwrap().user_id(), "alice");
        assert_eq!(plain(b"alice", b"secreT").status, Status::Denied);
        assert_eq!(plain(b"alice", b"").status, Status::Denied);
        assert_eq!(plain(b"bob", b"secret").status, Status::Denied);
        assert_eq!(plain(b"\xff", b"secret").status, Status::Denied);
        assert!(c.remove_user("d", "alice"));
        assert_eq!(plain(b"alice", b"secret").status, Status::Denied);
    }

    #[test]
    fn curve_keys() {
        let c = AuthConfig::new();
        let known = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
        let key = *PublicKey::from_z85(known).unwrap().as_bytes();
        let curve = |k: [u8; 32]| {
            c.decide(&request(
                "d",
                "127.0.0.1",
                Credentials::Curve { public_key: k },
            ))
        };
        c.add_domain("d");
        assert_eq!(curve(key).status, Status::Denied);
        c.add_curve_key_as(
            "d",
            known,
            Identity::new("sensor").with_property("Site", "n"),
        )
        .unwrap();
        let ok = curve(key);
        assert_eq!(ok.status, Status::Allowed);
        assert_eq!(ok.identity.unwrap().user_id(), "sensor");
        assert_eq!(curve([1; 32]).status, Status::Denied);
        c.allow_any_curve_key("d", true);
        let any = curve([1; 32]);
        assert_eq!(any.status, Status::Allowed);
        assert_eq!(any.identity.unwrap().user_id(), PublicKey([1; 32]).to_z85());
        assert!(c.remove_curve_key("d", known).unwrap());
        assert!(c.add_curve_key("d", "not z85").is_err());
    }

    #[test]
    fn rejects_bad_identities() {
        let c = AuthConfig::new();
        let key = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
        for identity in [
            Identity::new("a\0b"),
            Identity::new("a").with_property("User-Id", "x"),
            Identity::new("a").with_property("bad name", "x"),
            Identity::new("a").with_property("", "x"),
            Identity::new("a").with_property("Ok", "nul\0"),
        ] {
            assert!(c.add_curve_key_as("d", key, identity).is_err());
        }
        assert!(c.add_user("d", &"u".repeat(256), "p").is_err());
    }

    #[test]
    fn unsupported_mechanism_is_denied() {
        let c = AuthConfig::new();
        c.add_domain(ANY_DOMAIN);
        let v = c.decide(&request("d", "127.0.0.1", Credentials::Other));
        assert_eq!(v.status, Status::Denied);
    }

    #[test]
    fn poisoned_lock_fails_closed_with_500() {
        let c = AuthConfig::new();
        c.add_domain(ANY_DOMAIN);
        let c2 = c.clone();
        let _ = std::thread::spawn(move || {
            let _guard = c2.inner.write().unwrap();
            panic!("poison the lock on purpose");
        })
        .join();
        let v = c.decide(&request("d", "127.0.0.1", Credentials::Null));
        assert_eq!(v.status, Status::Failed);
        assert_eq!(v.status.code(), "500");
        // Writers carry on.
        c.add_domain("e");
    }
}
