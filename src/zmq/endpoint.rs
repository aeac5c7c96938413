//! Checks on an endpoint before libzmq sees it, for the mistakes libzmq
//! lets through:
//!
//! - A `tcp://` or `udp://` port must be `*` or a number from 0 to 65535,
//!   digits only. libzmq's parser takes `:99999` as 34463, `:-1` as 65535,
//!   `:4294967297` as 1 and `:12abc` as 12, and binds there.
//! - Binding an `ipc://` path where a live socket listens is refused with
//!   `EADDRINUSE`, as TCP and inproc do. libzmq removes the path and binds
//!   again, silently stealing it from the first socket. The check connects
//!   to the path (non-blocking) and closes at once: the listener sees a
//!   connection that ends before its handshake (a monitor reports it). A
//!   path left by a socket that is gone (nothing answers) is bound as
//!   before. Two binds racing on the same path can still both pass the
//!   check. A socket dropped a moment ago may still listen (libzmq closes
//!   it on its reaper thread): its path is free once its context terminated
//!   or its monitor reported `CLOSED`.

use super::error::Error;

/// Why an endpoint is refused: the errno, and what is wrong with it.
pub(super) type Refusal = (Error, &'static str);

/// Checks `endpoint` for `op` (`"bind"`, `"connect"` ...).
pub(super) fn check(op: &str, endpoint: &str) -> Result<(), Refusal> {
    if let Some(address) = endpoint
        .strip_prefix("tcp://")
        .or_else(|| endpoint.strip_prefix("udp://"))
    {
        // A connect may name a source address first, `source;destination`,
        // where the source may be an interface with no port.
        let (sources, destination) = match address.rsplit_once(';') {
            Some((sources, destination)) => (Some(sources), destination),
            None => (None, address),
        };
        check_port(port_of(destination))?;
        if let Some(port) = sources.and_then(port_of) {
            check_port(Some(port))?;
        }
    }
    let ipc_path = endpoint.strip_prefix("ipc://").filter(|_| op == "bind");
    if ipc_path.is_some_and(ipc_listener_answers) {
        return Err((
            Error::EADDRINUSE,
            "a live socket already listens on this ipc path",
        ));
    }
    Ok(())
}

/// The port of `host:port` or `[v6]:port`; `None` when there is none.
fn port_of(part: &str) -> Option<&str> {
    let after_host = match part.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map(|(_, rest)| rest)?,
        None => part,
    };
    after_host.rsplit_once(':').map(|(_, port)| port)
}

fn check_port(port: Option<&str>) -> Result<(), Refusal> {
    const BAD_PORT: Refusal = (
        Error::EINVAL,
        "the port must be `*` or a number from 0 to 65535",
    );
    match port {
        None => Err((Error::EINVAL, "the endpoint has no port")),
        Some("*") => Ok(()),
        Some(port) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            port.parse::<u16>().map(drop).map_err(|_| BAD_PORT)
        }
        Some(_) => Err(BAD_PORT),
    }
}

/// Whether a socket listens on the file-system unix socket `path` now.
/// Abstract names (`@name`) need no check (the kernel refuses a second bind),
/// nor does the wildcard (`*`, a fresh path).
fn ipc_listener_answers(path: &str) -> bool {
    if path.starts_with('@') || path == "*" || path.is_empty() {
        return false;
    }
    // SAFETY: an all-zero sockaddr_un is a valid (unnamed) address.
    let mut address: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    address.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_bytes();
    if bytes.len() >= address.sun_path.len() || bytes.contains(&0) {
        return false; // libzmq refuses the path itself.
    }
    for (slot, &byte) in address.sun_path.iter_mut().zip(bytes) {
        *slot = byte as libc::c_char;
    }
    // SAFETY: socket(2) takes plain integers; a failure is -1.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) };
    if fd < 0 {
        return false;
    }
    // Non-blocking (fcntl rather than SOCK_NONBLOCK, which not every unix
    // has), so the connect below never waits.
    // SAFETY: `fd` is the socket just opened; F_SETFL takes an int.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK) } != 0 {
        // SAFETY: `fd` is ours and closed once.
        unsafe { libc::close(fd) };
        return false;
    }
    let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    // SAFETY: `fd` is the socket just opened; `address` is a sockaddr_un of
    // `len` bytes that outlives the call. Non-blocking, so it never waits.
    let rc = unsafe { libc::connect(fd, (&raw const address).cast(), len) };
    let answered = rc == 0 || {
        let errno = std::io::Error::last_os_error().raw_os_error();
        // A listener with a full backlog refuses a non-blocking connect with
        // EAGAIN: it is alive all the same.
        matches!(errno, Some(e) if e == libc::EAGAIN || e == libc::EINPROGRESS)
    };
    // SAFETY: `fd` is ours and closed once.
    unsafe { libc::close(fd) };
    answered
}

#[cfg(test)]
mod tests {
    use super::super::{Context, SocketType};
    use super::*;

    /// Issue 25: libzmq bound these (`:99999` as port 34463 ...).
    #[test]
    fn bad_ports_are_refused_before_libzmq() {
        let ctx = Context::new();
        let s = ctx.socket(SocketType::Pull).unwrap();
        for bad in [
            "tcp://127.0.0.1:99999",
            "tcp://127.0.0.1:-1",
            "tcp://127.0.0.1:4294967297",
            "tcp://127.0.0.1:12abc",
            "tcp://127.0.0.1:",
            "tcp://127.0.0.1",
            "tcp://[::1]:70000",
            "tcp://127.0.0.1:5555;127.0.0.1:+5",
            "udp://127.0.0.1:65536",
        ] {
            let err = s.bind(bad).expect_err(bad);
            assert_eq!(err.zmq_error(), Some(Error::EINVAL), "{bad}");
            assert!(err.to_string().contains("port"), "{bad}: {err}");
            assert!(s.connect(bad).is_err(), "{bad}");
        }
        assert_eq!(s.last_endpoint().unwrap(), "", "nothing was bound");
        for good in ["tcp://127.0.0.1:*", "tcp://127.0.0.1:0", "tcp://[::1]:0"] {
            let ipv6 = ctx.socket(SocketType::Pull).unwrap();
            ipv6.set_ipv6(true).unwrap();
            // [::1] may be missing on the machine: only a port error counts.
            if let Err(e) = ipv6.bind(good) {
                assert!(!e.to_string().contains("port"), "{good}: {e}");
            }
        }
        assert_eq!(check("connect", "tcp://10.0.0.1:*;127.0.0.1:65535"), Ok(()));
        assert_eq!(check("connect", "udp://eth0;239.0.0.1:5555"), Ok(()));
    }

    /// Issue 25: a second bind on an ipc path took it from the first socket.
    #[test]
    fn a_second_ipc_bind_on_a_live_path_is_eaddrinuse() {
        let dir = tempfile::tempdir().unwrap();
        let endpoint = format!("ipc://{}/taken.sock", dir.path().display());
        // The first socket in a context of its own: terminating it waits
        // until libzmq closed the listener.
        let first_ctx = Context::new();
        let first = first_ctx.socket(SocketType::Pull).unwrap();
        first.set_rcvtimeo(5000).unwrap();
        first.bind(&endpoint).unwrap();
        let ctx = Context::new();
        let second = ctx.socket(SocketType::Pull).unwrap();
        let err = second.bind(&endpoint).unwrap_err();
        assert_eq!(err.zmq_error(), Some(Error::EADDRINUSE), "{err}");
        assert!(err.to_string().contains("already listens"), "{err}");

        // The first socket still owns the path.
        let push = ctx.socket(SocketType::Push).unwrap();
        push.set_linger(0).unwrap();
        push.connect(&endpoint).unwrap();
        push.send("still mine", 0).unwrap();
        assert_eq!(first.recv_bytes(0).unwrap(), b"still mine");

        // Once the first is closed, the path is free again.
        drop(first);
        drop(first_ctx);
        second.bind(&endpoint).unwrap();
    }

    #[test]
    fn a_stale_ipc_path_is_bound_as_before() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stale.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists(), "the socket file outlives its listener");
        let ctx = Context::new();
        let s = ctx.socket(SocketType::Pull).unwrap();
        s.bind(&format!("ipc://{}", path.display())).unwrap();
    }
}
