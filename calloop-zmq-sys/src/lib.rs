//! Raw FFI declarations for exactly the part of libzmq that
//! [calloop-zmq](https://docs.rs/calloop-zmq) uses (the stable API of
//! libzmq 4.3.5's `zmq.h`, and with the `draft` feature the draft calls it
//! makes), and the build that provides the library.
//!
//! By default the build script compiles libzmq 4.3.5 from the sources that
//! the `zeromq-src` crate ships, statically, with CURVE through the
//! libsodium 1.0 that `libsodium-sys-stable` builds from the tarball it
//! ships. Nothing is downloaded; a C/C++ compiler, `make` and `sh` are all it
//! needs besides the Rust toolchain.
//!
//! # Features
//! - `curve` (default): CURVE security through the bundled libsodium.
//!   Without it libzmq is built without any CURVE implementation.
//! - `system-libzmq`: link the system's libzmq (>= 4.3) found by pkg-config
//!   instead of building one, for distribution packagers. CURVE is then
//!   whatever that library was built with; `zmq_has("curve")` tells.
//! - `draft`: libzmq's draft API (unstable in libzmq: it may change in any
//!   libzmq release): the bundled libzmq is built with it, and the draft
//!   constants and `draft_api()` appear. With `system-libzmq` the system's
//!   library decides at run time (Debian's libzmq5 4.3.4 has no drafts).
//!
//! The crate declares `links = "zmq"`, so Cargo's `[target.<triple>.zmq]`
//! override works too, and no other crate that links libzmq (rust-zmq's
//! `zmq-sys`) can share a binary with it.
//!
//! Everything here is `unsafe` to call and documented by libzmq's manual
//! pages; use calloop-zmq's safe types instead.

// The draft functions of a system libzmq are looked up once, which needs
// `std`'s `OnceLock`.
#![cfg_attr(not(all(feature = "draft", feature = "system-libzmq")), no_std)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![allow(non_camel_case_types)]

use core::ffi::{c_char, c_int, c_long, c_short, c_uint, c_void};

// The static libsodium must be part of the link when CURVE is on: naming the
// crate makes rustc link it after libzmq.
#[cfg(all(feature = "curve", not(feature = "system-libzmq")))]
use libsodium_sys as _;

#[cfg(feature = "draft")]
mod draft;
#[cfg(feature = "draft")]
pub use draft::*;

/// A libzmq message: 64 opaque bytes, pointer-aligned as `zmq.h` asks.
#[repr(C)]
#[cfg_attr(target_pointer_width = "64", repr(align(8)))]
#[cfg_attr(target_pointer_width = "32", repr(align(4)))]
pub struct zmq_msg_t {
    _opaque: [u8; 64],
}

impl zmq_msg_t {
    /// All zero bytes: not a valid message until `zmq_msg_init*` runs on it,
    /// but one `zmq_msg_close` rejects with `EFAULT` without touching.
    pub const fn zeroed() -> zmq_msg_t {
        zmq_msg_t { _opaque: [0; 64] }
    }
}

/// The callback `zmq_msg_init_data` calls when libzmq is done with a buffer.
pub type zmq_free_fn = unsafe extern "C" fn(data: *mut c_void, hint: *mut c_void);

/// A native socket handle in `zmq_pollitem_t` and `ZMQ_FD`.
#[cfg(windows)]
pub type zmq_fd_t = usize;
/// A native socket handle in `zmq_pollitem_t` and `ZMQ_FD`.
#[cfg(not(windows))]
pub type zmq_fd_t = c_int;

/// One entry of `zmq_poll`.
#[repr(C)]
pub struct zmq_pollitem_t {
    /// A libzmq socket, or null to poll `fd`.
    pub socket: *mut c_void,
    /// A native file descriptor, used when `socket` is null.
    pub fd: zmq_fd_t,
    /// `ZMQ_POLLIN` / `ZMQ_POLLOUT` / `ZMQ_POLLERR` wanted.
    pub events: c_short,
    /// What happened.
    pub revents: c_short,
}

unsafe extern "C" {
    pub fn zmq_errno() -> c_int;
    pub fn zmq_strerror(errnum: c_int) -> *const c_char;
    pub fn zmq_version(major: *mut c_int, minor: *mut c_int, patch: *mut c_int);
    pub fn zmq_has(capability: *const c_char) -> c_int;

    pub fn zmq_ctx_new() -> *mut c_void;
    pub fn zmq_ctx_term(context: *mut c_void) -> c_int;
    pub fn zmq_ctx_shutdown(context: *mut c_void) -> c_int;
    pub fn zmq_ctx_set(context: *mut c_void, option: c_int, optval: c_int) -> c_int;
    pub fn zmq_ctx_get(context: *mut c_void, option: c_int) -> c_int;

    pub fn zmq_msg_init(msg: *mut zmq_msg_t) -> c_int;
    pub fn zmq_msg_init_size(msg: *mut zmq_msg_t, size: usize) -> c_int;
    pub fn zmq_msg_init_data(
        msg: *mut zmq_msg_t,
        data: *mut c_void,
        size: usize,
        ffn: Option<zmq_free_fn>,
        hint: *mut c_void,
    ) -> c_int;
    pub fn zmq_msg_send(msg: *mut zmq_msg_t, socket: *mut c_void, flags: c_int) -> c_int;
    pub fn zmq_msg_recv(msg: *mut zmq_msg_t, socket: *mut c_void, flags: c_int) -> c_int;
    pub fn zmq_msg_close(msg: *mut zmq_msg_t) -> c_int;
    pub fn zmq_msg_data(msg: *mut zmq_msg_t) -> *mut c_void;
    pub fn zmq_msg_size(msg: *const zmq_msg_t) -> usize;
    pub fn zmq_msg_more(msg: *const zmq_msg_t) -> c_int;
    pub fn zmq_msg_gets(msg: *const zmq_msg_t, property: *const c_char) -> *const c_char;

    pub fn zmq_socket(context: *mut c_void, kind: c_int) -> *mut c_void;
    pub fn zmq_close(socket: *mut c_void) -> c_int;
    pub fn zmq_setsockopt(
        socket: *mut c_void,
        option: c_int,
        optval: *const c_void,
        optvallen: usize,
    ) -> c_int;
    pub fn zmq_getsockopt(
        socket: *mut c_void,
        option: c_int,
        optval: *mut c_void,
        optvallen: *mut usize,
    ) -> c_int;
    pub fn zmq_bind(socket: *mut c_void, addr: *const c_char) -> c_int;
    pub fn zmq_connect(socket: *mut c_void, addr: *const c_char) -> c_int;
    pub fn zmq_unbind(socket: *mut c_void, addr: *const c_char) -> c_int;
    pub fn zmq_disconnect(socket: *mut c_void, addr: *const c_char) -> c_int;
    pub fn zmq_socket_monitor(socket: *mut c_void, addr: *const c_char, events: c_int) -> c_int;
    pub fn zmq_poll(items: *mut zmq_pollitem_t, nitems: c_int, timeout: c_long) -> c_int;

    pub fn zmq_z85_encode(dest: *mut c_char, data: *const u8, size: usize) -> *mut c_char;
    pub fn zmq_z85_decode(dest: *mut u8, string: *const c_char) -> *mut u8;
    pub fn zmq_curve_keypair(z85_public_key: *mut c_char, z85_secret_key: *mut c_char) -> c_int;
    pub fn zmq_curve_public(z85_public_key: *mut c_char, z85_secret_key: *const c_char) -> c_int;
}

// --- error numbers libzmq defines itself (zmq.h) ---
/// Base of libzmq's own error numbers.
pub const ZMQ_HAUSNUMERO: c_int = 156_384_712;
/// Operation cannot be accomplished in the socket's current state.
pub const EFSM: c_int = ZMQ_HAUSNUMERO + 51;
/// The protocol is not compatible with the socket type.
pub const ENOCOMPATPROTO: c_int = ZMQ_HAUSNUMERO + 52;
/// The context was terminated.
pub const ETERM: c_int = ZMQ_HAUSNUMERO + 53;
/// No I/O thread is available.
pub const EMTHREAD: c_int = ZMQ_HAUSNUMERO + 54;

// --- context options ---
pub const ZMQ_IO_THREADS: c_int = 1;
pub const ZMQ_MAX_SOCKETS: c_int = 2;
pub const ZMQ_BLOCKY: c_int = 70;
pub const ZMQ_IPV6: c_int = 42;

// --- socket types ---
pub const ZMQ_PAIR: c_int = 0;
pub const ZMQ_PUB: c_int = 1;
pub const ZMQ_SUB: c_int = 2;
pub const ZMQ_REQ: c_int = 3;
pub const ZMQ_REP: c_int = 4;
pub const ZMQ_DEALER: c_int = 5;
pub const ZMQ_ROUTER: c_int = 6;
pub const ZMQ_PULL: c_int = 7;
pub const ZMQ_PUSH: c_int = 8;
pub const ZMQ_XPUB: c_int = 9;
pub const ZMQ_XSUB: c_int = 10;
pub const ZMQ_STREAM: c_int = 11;

// --- socket options (zmq_setsockopt(3) / zmq_getsockopt(3), 4.3.5) ---
pub const ZMQ_AFFINITY: c_int = 4;
pub const ZMQ_ROUTING_ID: c_int = 5;
pub const ZMQ_SUBSCRIBE: c_int = 6;
pub const ZMQ_UNSUBSCRIBE: c_int = 7;
pub const ZMQ_RATE: c_int = 8;
pub const ZMQ_RECOVERY_IVL: c_int = 9;
pub const ZMQ_SNDBUF: c_int = 11;
pub const ZMQ_RCVBUF: c_int = 12;
pub const ZMQ_RCVMORE: c_int = 13;
pub const ZMQ_FD: c_int = 14;
pub const ZMQ_EVENTS: c_int = 15;
pub const ZMQ_LINGER: c_int = 17;
pub const ZMQ_RECONNECT_IVL: c_int = 18;
pub const ZMQ_BACKLOG: c_int = 19;
pub const ZMQ_RECONNECT_IVL_MAX: c_int = 21;
pub const ZMQ_MAXMSGSIZE: c_int = 22;
pub const ZMQ_SNDHWM: c_int = 23;
pub const ZMQ_RCVHWM: c_int = 24;
pub const ZMQ_MULTICAST_HOPS: c_int = 25;
pub const ZMQ_RCVTIMEO: c_int = 27;
pub const ZMQ_SNDTIMEO: c_int = 28;
pub const ZMQ_LAST_ENDPOINT: c_int = 32;
pub const ZMQ_ROUTER_MANDATORY: c_int = 33;
pub const ZMQ_TCP_KEEPALIVE: c_int = 34;
pub const ZMQ_TCP_KEEPALIVE_CNT: c_int = 35;
pub const ZMQ_TCP_KEEPALIVE_IDLE: c_int = 36;
pub const ZMQ_TCP_KEEPALIVE_INTVL: c_int = 37;
pub const ZMQ_IMMEDIATE: c_int = 39;
pub const ZMQ_XPUB_VERBOSE: c_int = 40;
pub const ZMQ_MECHANISM: c_int = 43;
pub const ZMQ_PLAIN_SERVER: c_int = 44;
pub const ZMQ_PLAIN_USERNAME: c_int = 45;
pub const ZMQ_PLAIN_PASSWORD: c_int = 46;
pub const ZMQ_CURVE_SERVER: c_int = 47;
pub const ZMQ_CURVE_PUBLICKEY: c_int = 48;
pub const ZMQ_CURVE_SECRETKEY: c_int = 49;
pub const ZMQ_CURVE_SERVERKEY: c_int = 50;
pub const ZMQ_PROBE_ROUTER: c_int = 51;
pub const ZMQ_REQ_CORRELATE: c_int = 52;
pub const ZMQ_REQ_RELAXED: c_int = 53;
pub const ZMQ_CONFLATE: c_int = 54;
pub const ZMQ_ZAP_DOMAIN: c_int = 55;
pub const ZMQ_ROUTER_HANDOVER: c_int = 56;
pub const ZMQ_TOS: c_int = 57;
pub const ZMQ_CONNECT_ROUTING_ID: c_int = 61;
pub const ZMQ_GSSAPI_SERVER: c_int = 62;
pub const ZMQ_GSSAPI_PRINCIPAL: c_int = 63;
pub const ZMQ_GSSAPI_SERVICE_PRINCIPAL: c_int = 64;
pub const ZMQ_GSSAPI_PLAINTEXT: c_int = 65;
pub const ZMQ_HANDSHAKE_IVL: c_int = 66;
pub const ZMQ_SOCKS_PROXY: c_int = 68;
pub const ZMQ_XPUB_NODROP: c_int = 69;
pub const ZMQ_XPUB_MANUAL: c_int = 71;
pub const ZMQ_XPUB_WELCOME_MSG: c_int = 72;
pub const ZMQ_STREAM_NOTIFY: c_int = 73;
pub const ZMQ_INVERT_MATCHING: c_int = 74;
pub const ZMQ_HEARTBEAT_IVL: c_int = 75;
pub const ZMQ_HEARTBEAT_TTL: c_int = 76;
pub const ZMQ_HEARTBEAT_TIMEOUT: c_int = 77;
pub const ZMQ_XPUB_VERBOSER: c_int = 78;
pub const ZMQ_CONNECT_TIMEOUT: c_int = 79;
pub const ZMQ_TCP_MAXRT: c_int = 80;
pub const ZMQ_THREAD_SAFE: c_int = 81;
pub const ZMQ_MULTICAST_MAXTPDU: c_int = 84;
pub const ZMQ_VMCI_BUFFER_SIZE: c_int = 85;
pub const ZMQ_VMCI_BUFFER_MIN_SIZE: c_int = 86;
pub const ZMQ_VMCI_BUFFER_MAX_SIZE: c_int = 87;
pub const ZMQ_VMCI_CONNECT_TIMEOUT: c_int = 88;
pub const ZMQ_USE_FD: c_int = 89;
pub const ZMQ_GSSAPI_PRINCIPAL_NAMETYPE: c_int = 90;
pub const ZMQ_GSSAPI_SERVICE_PRINCIPAL_NAMETYPE: c_int = 91;
pub const ZMQ_BINDTODEVICE: c_int = 92;

// --- send and receive flags ---
pub const ZMQ_DONTWAIT: c_int = 1;
pub const ZMQ_SNDMORE: c_int = 2;

// --- security mechanisms (ZMQ_MECHANISM) ---
pub const ZMQ_NULL: c_int = 0;
pub const ZMQ_PLAIN: c_int = 1;
pub const ZMQ_CURVE: c_int = 2;
pub const ZMQ_GSSAPI: c_int = 3;

// --- socket monitor events ---
pub const ZMQ_EVENT_CONNECTED: c_uint = 0x0001;
pub const ZMQ_EVENT_CONNECT_DELAYED: c_uint = 0x0002;
pub const ZMQ_EVENT_CONNECT_RETRIED: c_uint = 0x0004;
pub const ZMQ_EVENT_LISTENING: c_uint = 0x0008;
pub const ZMQ_EVENT_BIND_FAILED: c_uint = 0x0010;
pub const ZMQ_EVENT_ACCEPTED: c_uint = 0x0020;
pub const ZMQ_EVENT_ACCEPT_FAILED: c_uint = 0x0040;
pub const ZMQ_EVENT_CLOSED: c_uint = 0x0080;
pub const ZMQ_EVENT_CLOSE_FAILED: c_uint = 0x0100;
pub const ZMQ_EVENT_DISCONNECTED: c_uint = 0x0200;
pub const ZMQ_EVENT_MONITOR_STOPPED: c_uint = 0x0400;
pub const ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: c_uint = 0x0800;
pub const ZMQ_EVENT_HANDSHAKE_SUCCEEDED: c_uint = 0x1000;
pub const ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: c_uint = 0x2000;
pub const ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: c_uint = 0x4000;
pub const ZMQ_EVENT_ALL: c_uint = 0xFFFF;

// --- protocol errors in ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL events ---
pub const ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED: c_uint = 0x1000_0000;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND: c_uint = 0x1000_0001;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE: c_uint = 0x1000_0002;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE: c_uint = 0x1000_0003;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED: c_uint = 0x1000_0011;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE: c_uint = 0x1000_0012;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO: c_uint = 0x1000_0013;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE: c_uint = 0x1000_0014;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR: c_uint = 0x1000_0015;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY: c_uint = 0x1000_0016;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME: c_uint = 0x1000_0017;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA: c_uint = 0x1000_0018;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC: c_uint = 0x1100_0001;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH: c_uint = 0x1100_0002;
pub const ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED: c_uint = 0x2000_0000;
pub const ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY: c_uint = 0x2000_0001;
pub const ZMQ_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID: c_uint = 0x2000_0002;
pub const ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION: c_uint = 0x2000_0003;
pub const ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE: c_uint = 0x2000_0004;
pub const ZMQ_PROTOCOL_ERROR_ZAP_INVALID_METADATA: c_uint = 0x2000_0005;

// --- zmq_poll ---
pub const ZMQ_POLLIN: c_short = 1;
pub const ZMQ_POLLOUT: c_short = 2;
pub const ZMQ_POLLERR: c_short = 4;

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    #[test]
    fn links_libzmq_4_3() {
        let (mut major, mut minor, mut patch) = (0, 0, 0);
        // SAFETY: zmq_version only writes the three ints it is given.
        unsafe { zmq_version(&mut major, &mut minor, &mut patch) };
        assert_eq!((major, minor), (4, 3), "patch {patch}");
    }

    #[test]
    fn message_layout_matches_zmq_h() {
        assert_eq!(core::mem::size_of::<zmq_msg_t>(), 64);
        assert_eq!(
            core::mem::align_of::<zmq_msg_t>(),
            core::mem::size_of::<*const u8>()
        );
    }

    /// The bundled libzmq is built with the draft API under `draft`.
    #[test]
    #[cfg(all(feature = "draft", not(feature = "system-libzmq")))]
    fn bundled_draft_build_has_the_draft_api() {
        // SAFETY: zmq_has only reads the NUL-terminated name.
        assert_eq!(unsafe { zmq_has(c"draft".as_ptr()) }, 1);
        assert!(draft_api().is_some());
    }

    /// With a system libzmq the table exists exactly when the library says
    /// it has drafts.
    #[test]
    #[cfg(all(feature = "draft", feature = "system-libzmq"))]
    fn system_draft_api_follows_zmq_has() {
        // SAFETY: zmq_has only reads the NUL-terminated name.
        let has = unsafe { zmq_has(c"draft".as_ptr()) } == 1;
        assert_eq!(draft_api().is_some(), has);
    }
}
