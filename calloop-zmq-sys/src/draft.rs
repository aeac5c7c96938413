//! libzmq 4.3.5's draft API (`zmq.h` under `ZMQ_BUILD_DRAFT_API`): the
//! constants, and exactly the draft functions calloop-zmq calls, reached
//! through [`draft_api`].
//!
//! libzmq calls this API unstable. A libzmq built without it does not export
//! these functions with C linkage (Debian's 4.3.4 does not export them at
//! all), so they cannot be declared as plain `extern "C"` items when linking
//! the system's library: that would fail to link. Hence one table of
//! function pointers:
//! - bundled libzmq (built with `enable_draft(true)` under this feature):
//!   the table holds the linked functions; [`draft_api`] is always `Some`.
//! - `system-libzmq`: the functions are looked up once in the running
//!   process (`dlsym`); [`draft_api`] is `None` unless `zmq_has("draft")`
//!   says yes and every one of them is there. (A libzmq linked statically
//!   into the executable is found only if its symbols are exported.)

use core::ffi::{c_char, c_int, c_long, c_short, c_void};

use super::{zmq_fd_t, zmq_msg_t};

// --- draft socket types ---
pub const ZMQ_SERVER: c_int = 12;
pub const ZMQ_CLIENT: c_int = 13;
pub const ZMQ_RADIO: c_int = 14;
pub const ZMQ_DISH: c_int = 15;
pub const ZMQ_GATHER: c_int = 16;
pub const ZMQ_SCATTER: c_int = 17;
pub const ZMQ_DGRAM: c_int = 18;
pub const ZMQ_PEER: c_int = 19;
pub const ZMQ_CHANNEL: c_int = 20;

// --- draft socket options ---
pub const ZMQ_ZAP_ENFORCE_DOMAIN: c_int = 93;
pub const ZMQ_LOOPBACK_FASTPATH: c_int = 94;
pub const ZMQ_METADATA: c_int = 95;
pub const ZMQ_MULTICAST_LOOP: c_int = 96;
pub const ZMQ_ROUTER_NOTIFY: c_int = 97;
pub const ZMQ_XPUB_MANUAL_LAST_VALUE: c_int = 98;
pub const ZMQ_SOCKS_USERNAME: c_int = 99;
pub const ZMQ_SOCKS_PASSWORD: c_int = 100;
pub const ZMQ_IN_BATCH_SIZE: c_int = 101;
pub const ZMQ_OUT_BATCH_SIZE: c_int = 102;
pub const ZMQ_WSS_KEY_PEM: c_int = 103;
pub const ZMQ_WSS_CERT_PEM: c_int = 104;
pub const ZMQ_WSS_TRUST_PEM: c_int = 105;
pub const ZMQ_WSS_HOSTNAME: c_int = 106;
pub const ZMQ_WSS_TRUST_SYSTEM: c_int = 107;
pub const ZMQ_ONLY_FIRST_SUBSCRIBE: c_int = 108;
pub const ZMQ_RECONNECT_STOP: c_int = 109;
pub const ZMQ_HELLO_MSG: c_int = 110;
pub const ZMQ_DISCONNECT_MSG: c_int = 111;
pub const ZMQ_PRIORITY: c_int = 112;
pub const ZMQ_BUSY_POLL: c_int = 113;
pub const ZMQ_HICCUP_MSG: c_int = 114;
pub const ZMQ_XSUB_VERBOSE_UNSUBSCRIBE: c_int = 115;
pub const ZMQ_TOPICS_COUNT: c_int = 116;
pub const ZMQ_NORM_MODE: c_int = 117;
pub const ZMQ_NORM_UNICAST_NACK: c_int = 118;
pub const ZMQ_NORM_BUFFER_SIZE: c_int = 119;
pub const ZMQ_NORM_SEGMENT_SIZE: c_int = 120;
pub const ZMQ_NORM_BLOCK_SIZE: c_int = 121;
pub const ZMQ_NORM_NUM_PARITY: c_int = 122;
pub const ZMQ_NORM_NUM_AUTOPARITY: c_int = 123;
pub const ZMQ_NORM_PUSH: c_int = 124;

// --- values of ZMQ_NORM_MODE ---
pub const ZMQ_NORM_FIXED: c_int = 0;
pub const ZMQ_NORM_CC: c_int = 1;
pub const ZMQ_NORM_CCL: c_int = 2;
pub const ZMQ_NORM_CCE: c_int = 3;
pub const ZMQ_NORM_CCE_ECNONLY: c_int = 4;

// --- bits of ZMQ_RECONNECT_STOP ---
pub const ZMQ_RECONNECT_STOP_CONN_REFUSED: c_int = 0x1;
pub const ZMQ_RECONNECT_STOP_HANDSHAKE_FAILED: c_int = 0x2;
pub const ZMQ_RECONNECT_STOP_AFTER_DISCONNECT: c_int = 0x4;

// --- bits of ZMQ_ROUTER_NOTIFY ---
pub const ZMQ_NOTIFY_CONNECT: c_int = 1;
pub const ZMQ_NOTIFY_DISCONNECT: c_int = 2;

/// Longest RADIO/DISH group name in bytes (`zmq.h`; stable, but only the
/// draft sockets use it).
pub const ZMQ_GROUP_MAX_LENGTH: usize = 255;

/// One ready item from `zmq_poller_wait_all`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct zmq_poller_event_t {
    /// The libzmq socket, or null for a plain fd.
    pub socket: *mut c_void,
    /// The plain fd, for fd items.
    pub fd: zmq_fd_t,
    /// What was given to `zmq_poller_add`.
    pub user_data: *mut c_void,
    /// `ZMQ_POLLIN` / `ZMQ_POLLOUT` / `ZMQ_POLLERR` that are ready.
    pub events: c_short,
}

impl zmq_poller_event_t {
    /// An empty entry for `zmq_poller_wait_all` to fill.
    pub const fn empty() -> zmq_poller_event_t {
        zmq_poller_event_t {
            socket: core::ptr::null_mut(),
            fd: 0,
            user_data: core::ptr::null_mut(),
            events: 0,
        }
    }
}

/// Declares every draft function once: the fields of [`DraftApi`], the
/// `extern "C"` items of the bundled build, and the typed look-ups of the
/// system build.
macro_rules! draft_functions {
    ($( $name:ident ( $($arg:ident: $ty:ty),* ) -> $ret:ty; )*) => {
        /// The draft functions calloop-zmq uses, with `zmq.h`'s signatures.
        /// Each is `unsafe` to call and documented by its libzmq manual page.
        #[derive(Clone, Copy)]
        pub struct DraftApi {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                pub $name: unsafe extern "C" fn($($arg: $ty),*) -> $ret,
            )*
        }

        #[cfg(not(feature = "system-libzmq"))]
        mod linked {
            use super::*;

            unsafe extern "C" {
                $( pub fn $name($($arg: $ty),*) -> $ret; )*
            }

            pub static API: DraftApi = DraftApi { $($name),* };
        }

        #[cfg(feature = "system-libzmq")]
        fn look_up_all() -> Option<DraftApi> {
            Some(DraftApi {
                $(
                    // SAFETY: the symbol is libzmq's C function of that name,
                    // whose signature zmq.h declares as this field's type, in
                    // a library that says it has the draft API.
                    $name: unsafe {
                        core::mem::transmute::<*mut c_void, unsafe extern "C" fn($($ty),*) -> $ret>(
                            resolved::lookup(concat!(stringify!($name), "\0"))?,
                        )
                    },
                )*
            })
        }
    };
}

draft_functions! {
    zmq_join(socket: *mut c_void, group: *const c_char) -> c_int;
    zmq_leave(socket: *mut c_void, group: *const c_char) -> c_int;
    zmq_connect_peer(socket: *mut c_void, addr: *const c_char) -> u32;
    zmq_msg_set_routing_id(msg: *mut zmq_msg_t, id: u32) -> c_int;
    zmq_msg_routing_id(msg: *mut zmq_msg_t) -> u32;
    zmq_msg_set_group(msg: *mut zmq_msg_t, group: *const c_char) -> c_int;
    zmq_msg_group(msg: *mut zmq_msg_t) -> *const c_char;
    zmq_poller_new() -> *mut c_void;
    zmq_poller_destroy(poller: *mut *mut c_void) -> c_int;
    zmq_poller_add(poller: *mut c_void, socket: *mut c_void, user_data: *mut c_void, events: c_short) -> c_int;
    zmq_poller_modify(poller: *mut c_void, socket: *mut c_void, events: c_short) -> c_int;
    zmq_poller_remove(poller: *mut c_void, socket: *mut c_void) -> c_int;
    zmq_poller_fd(poller: *mut c_void, fd: *mut zmq_fd_t) -> c_int;
    zmq_poller_wait_all(poller: *mut c_void, events: *mut zmq_poller_event_t, n_events: c_int, timeout: c_long) -> c_int;
}

/// The draft functions of the bundled libzmq, which this feature builds
/// with the draft API: always there.
#[cfg(not(feature = "system-libzmq"))]
pub fn draft_api() -> Option<&'static DraftApi> {
    Some(&linked::API)
}

#[cfg(feature = "system-libzmq")]
mod resolved {
    extern crate std;

    use std::sync::OnceLock;

    use super::*;

    static API: OnceLock<Option<DraftApi>> = OnceLock::new();

    /// The address of the function `name` (NUL-terminated) in the running
    /// process, or `None`.
    pub(super) fn lookup(name: &str) -> Option<*mut c_void> {
        let name = core::ffi::CStr::from_bytes_with_nul(name.as_bytes()).ok()?;
        // SAFETY: RTLD_DEFAULT searches the global symbol scope; `name` is
        // NUL-terminated; dlsym only reads it.
        let address = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
        (!address.is_null()).then_some(address)
    }

    fn resolve() -> Option<DraftApi> {
        // SAFETY: zmq_has only reads the NUL-terminated name.
        if unsafe { crate::zmq_has(c"draft".as_ptr()) } != 1 {
            return None;
        }
        look_up_all()
    }

    pub(super) fn get() -> Option<&'static DraftApi> {
        API.get_or_init(resolve).as_ref()
    }
}

/// The draft functions of the system's libzmq, looked up once; `None` when
/// that library was built without the draft API.
#[cfg(feature = "system-libzmq")]
pub fn draft_api() -> Option<&'static DraftApi> {
    resolved::get()
}
