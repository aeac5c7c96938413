//! Socket options, generated from one table.
//!
//! Every option of libzmq 4.3.5's `zmq_setsockopt(3)` and `zmq_getsockopt(3)`
//! pages is a method on
//! [`Socket`]: `name()` reads it, `set_name(value)` writes it, each typed
//! after the manual (`i32` for integers and milliseconds, `bool` for 0/1
//! switches, `&[u8]`/`Vec<u8>` for binary values, `&str`/`String` for text).
//! Options that are write-only or read-only in libzmq have only the one
//! method. Values libzmq rejects (out of range, wrong socket type) come back
//! as [`Error::EINVAL`]; nothing here panics.
//!
//! ```
//! use calloop_zmq::zmq;
//!
//! let ctx = zmq::Context::new();
//! let sub = ctx.socket(zmq::SocketType::Sub)?;
//! sub.set_linger(0)?;
//! sub.set_subscribe(b"weather.")?;
//! assert_eq!(sub.linger()?, 0);
//! assert_eq!(sub.set_sndhwm(-5), Err(zmq::Error::EINVAL));
//! # Ok::<(), zmq::Error>(())
//! ```
//!
//! libzmq's draft options (`ZMQ_BUSY_POLL`, `ZMQ_HELLO_MSG`,
//! `ZMQ_ROUTER_NOTIFY`, every one 4.3.5's `zmq_draft.h` lists) come with the
//! `draft` feature; their docs start with "(draft)", and a libzmq without
//! the draft API refuses them (`EINVAL`). Left out on purpose: the options
//! the 4.3.5 pages mark deprecated (`ZMQ_IPV4ONLY`: use `ipv6`;
//! `ZMQ_ROUTER_RAW`: use a STREAM socket; `ZMQ_TCP_ACCEPT_FILTER` and the
//! `ZMQ_IPC_FILTER_*` options: use ZAP, see [`auth`](crate::auth)).
//! `ZMQ_TYPE` is [`Socket::socket_type`].

use std::ffi::{c_int, c_void};

use calloop_zmq_sys as sys;

use super::error::{Error, Result};
use super::socket::{PollEvents, Socket};

/// A security mechanism (`ZMQ_MECHANISM`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mechanism {
    /// No security.
    Null,
    /// User name and password in clear text.
    Plain,
    /// CurveZMQ: encrypted and authenticated with public keys.
    Curve,
    /// Kerberos (needs a libzmq built with GSSAPI).
    Gssapi,
}

/// The low-level read of one option into a buffer.
fn get_raw(socket: &Socket, option: c_int, buf: *mut c_void, len: &mut usize) -> Result<()> {
    // SAFETY: the socket is live and callable here (`Socket::as_ptr`); `buf` has
    // room for `*len` bytes, and libzmq writes at most that many and stores
    // the size it wrote in `len`.
    let rc = unsafe { sys::zmq_getsockopt(socket.as_ptr(), option, buf, len) };
    if rc == 0 { Ok(()) } else { Err(Error::last()) }
}

/// The low-level write of one option from `len` bytes at `value`.
fn set_raw(socket: &Socket, option: c_int, value: *const c_void, len: usize) -> Result<()> {
    // SAFETY: the socket is live and callable here (`Socket::as_ptr`); `value`
    // points to `len` readable bytes for the duration of the call, and
    // libzmq copies what it keeps.
    let rc = unsafe { sys::zmq_setsockopt(socket.as_ptr(), option, value, len) };
    if rc == 0 { Ok(()) } else { Err(Error::last()) }
}

/// A Rust type an option is read as.
trait GetOption: Sized {
    fn get(socket: &Socket, option: c_int) -> Result<Self>;
}

/// A Rust type an option is written from.
trait SetOption {
    fn set(self, socket: &Socket, option: c_int) -> Result<()>;
}

macro_rules! plain_value {
    ($ty:ty) => {
        impl GetOption for $ty {
            fn get(socket: &Socket, option: c_int) -> Result<Self> {
                let mut value: $ty = 0;
                let mut len = std::mem::size_of::<$ty>();
                get_raw(socket, option, (&raw mut value).cast(), &mut len)?;
                Ok(value)
            }
        }

        impl SetOption for $ty {
            fn set(self, socket: &Socket, option: c_int) -> Result<()> {
                set_raw(
                    socket,
                    option,
                    (&raw const self).cast(),
                    std::mem::size_of::<$ty>(),
                )
            }
        }
    };
}

plain_value!(i32);
plain_value!(i64);
plain_value!(u64);

impl GetOption for bool {
    fn get(socket: &Socket, option: c_int) -> Result<Self> {
        i32::get(socket, option).map(|v| v != 0)
    }
}

impl SetOption for bool {
    fn set(self, socket: &Socket, option: c_int) -> Result<()> {
        c_int::from(self).set(socket, option)
    }
}

/// Room for the longest binary or text option (routing ids are at most 255
/// bytes; endpoints and principals fit too).
const BUFFER: usize = 1024;

impl GetOption for Vec<u8> {
    fn get(socket: &Socket, option: c_int) -> Result<Self> {
        let mut buf = vec![0u8; BUFFER];
        let mut len = buf.len();
        get_raw(socket, option, buf.as_mut_ptr().cast(), &mut len)?;
        buf.truncate(len);
        Ok(buf)
    }
}

impl SetOption for &[u8] {
    fn set(self, socket: &Socket, option: c_int) -> Result<()> {
        if matches!(
            option,
            sys::ZMQ_CURVE_PUBLICKEY | sys::ZMQ_CURVE_SECRETKEY | sys::ZMQ_CURVE_SERVERKEY
        ) {
            return set_curve_key(socket, option, self);
        }
        set_raw(socket, option, self.as_ptr().cast(), self.len())
    }
}

/// Sets a CURVE key whole or not at all. libzmq decodes Z85 text straight
/// into the socket's key (`options_t::set_curve_key`): a bad character
/// half way, or a NUL byte (where its `strlen` stops early, and 20
/// characters decode fine), leaves part of the new key over part of the old
/// one. So Z85 text (40 characters, or 41 ending in a NUL) is decoded here
/// first, and libzmq only ever gets the 32 raw bytes.
fn set_curve_key(socket: &Socket, option: c_int, key: &[u8]) -> Result<()> {
    let raw: [u8; 32] = match key.len() {
        32 => key.try_into().map_err(|_| Error::EINVAL)?,
        40 | 41 => {
            let text = match key.split_last() {
                Some((0, text)) if key.len() == 41 => text,
                _ if key.len() == 40 => key,
                _ => return Err(Error::EINVAL),
            };
            let text = std::str::from_utf8(text).map_err(|_| Error::EINVAL)?;
            let decoded = super::curve::z85_decode(text)?;
            decoded.try_into().map_err(|_| Error::EINVAL)?
        }
        _ => return Err(Error::EINVAL),
    };
    set_raw(socket, option, raw.as_ptr().cast(), raw.len())
}

/// Whether a value set on a read-write option can be read back: text and
/// binary values must fit the read buffer, or the getter would fail on a
/// value the setter accepted.
trait ReadBack {
    fn fits(&self) -> bool {
        true
    }
}

impl ReadBack for i32 {}
impl ReadBack for i64 {}
impl ReadBack for u64 {}
impl ReadBack for bool {}

impl ReadBack for &[u8] {
    fn fits(&self) -> bool {
        self.len() < BUFFER
    }
}

impl ReadBack for &str {
    fn fits(&self) -> bool {
        // Read back with its NUL.
        self.len() < BUFFER
    }
}

impl GetOption for String {
    fn get(socket: &Socket, option: c_int) -> Result<Self> {
        let mut bytes = Vec::<u8>::get(socket, option)?;
        // Text options come back NUL-terminated.
        if bytes.last() == Some(&0) {
            bytes.pop();
        }
        String::from_utf8(bytes).map_err(|_| Error::EINVAL)
    }
}

impl SetOption for &str {
    fn set(self, socket: &Socket, option: c_int) -> Result<()> {
        // libzmq would keep a NUL byte and then cut the text there.
        if self.contains('\0') {
            return Err(Error::EINVAL);
        }
        self.as_bytes().set(socket, option)
    }
}

/// A CURVE key reads as its 32 raw bytes.
impl GetOption for [u8; 32] {
    fn get(socket: &Socket, option: c_int) -> Result<Self> {
        let mut key = [0u8; 32];
        let mut len = key.len();
        get_raw(socket, option, key.as_mut_ptr().cast(), &mut len)?;
        Ok(key)
    }
}

impl GetOption for PollEvents {
    fn get(socket: &Socket, option: c_int) -> Result<Self> {
        let events = i32::get(socket, option)?;
        // ZMQ_EVENTS holds only POLLIN | POLLOUT, which fit in a short.
        Ok(PollEvents::from_bits(events as i16))
    }
}

impl GetOption for Mechanism {
    fn get(socket: &Socket, option: c_int) -> Result<Self> {
        match i32::get(socket, option)? {
            sys::ZMQ_NULL => Ok(Mechanism::Null),
            sys::ZMQ_PLAIN => Ok(Mechanism::Plain),
            sys::ZMQ_CURVE => Ok(Mechanism::Curve),
            sys::ZMQ_GSSAPI => Ok(Mechanism::Gssapi),
            _ => Err(Error::EINVAL),
        }
    }
}

/// Generates the option methods. Each row: optional attributes (`#[cfg]`
/// for the draft options), access (`rw`, `w`, `r`), the libzmq constant,
/// the getter and setter names, the types they use, and the manual's
/// description.
macro_rules! socket_options {
    ($(
        $(#[$attr:meta])*
        $access:ident $option:ident, $get:ident / $set:ident: $set_ty:ty => $get_ty:ty,
            $doc:literal;
    )*) => {
        impl Socket {
            $( socket_options!(@$access [$(#[$attr])*] $option, $get, $set, $set_ty, $get_ty, $doc); )*
        }
    };
    (@rw [$(#[$attr:meta])*] $option:ident, $get:ident, $set:ident, $set_ty:ty, $get_ty:ty, $doc:literal) => {
        socket_options!(@r [$(#[$attr])*] $option, $get, $set, $set_ty, $get_ty, $doc);
        #[doc = concat!("Sets `", stringify!($option), "`: ", $doc)]
        #[doc = ""]
        #[doc = "`EINVAL` for text or bytes of 1024 or more, which could not be read back."]
        $(#[$attr])*
        pub fn $set(&self, value: $set_ty) -> Result<()> {
            if !ReadBack::fits(&value) {
                return Err(Error::EINVAL);
            }
            SetOption::set(value, self, sys::$option)
        }
    };
    (@r [$(#[$attr:meta])*] $option:ident, $get:ident, $set:ident, $set_ty:ty, $get_ty:ty, $doc:literal) => {
        #[doc = concat!("Reads `", stringify!($option), "`: ", $doc)]
        $(#[$attr])*
        pub fn $get(&self) -> Result<$get_ty> {
            <$get_ty as GetOption>::get(self, sys::$option)
        }
    };
    (@w [$(#[$attr:meta])*] $option:ident, $get:ident, $set:ident, $set_ty:ty, $get_ty:ty, $doc:literal) => {
        #[doc = concat!("Sets `", stringify!($option), "`: ", $doc)]
        $(#[$attr])*
        pub fn $set(&self, value: $set_ty) -> Result<()> {
            SetOption::set(value, self, sys::$option)
        }
    };
}

// The table itself, after the macro it expands through.
mod table;

impl Socket {
    /// Reads `ZMQ_FD`: the file descriptor that becomes readable when the
    /// socket *may* have work. Edge-triggered: never read or close it, and
    /// check [`events`](Self::events) after each wake-up and operation.
    #[cfg(unix)]
    pub fn fd(&self) -> Result<std::os::fd::RawFd> {
        i32::get(self, sys::ZMQ_FD)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Context, SocketType};
    use super::*;

    #[test]
    fn every_kind_of_value_round_trips() {
        let ctx = Context::new();
        let s = ctx.socket(SocketType::Dealer).unwrap();
        s.set_linger(250).unwrap();
        assert_eq!(s.linger(), Ok(250));
        s.set_immediate(true).unwrap();
        assert_eq!(s.immediate(), Ok(true));
        s.set_affinity(3).unwrap();
        assert_eq!(s.affinity(), Ok(3));
        s.set_maxmsgsize(1 << 40).unwrap();
        assert_eq!(s.maxmsgsize(), Ok(1 << 40));
        s.set_routing_id(b"peer-7").unwrap();
        assert_eq!(s.routing_id().unwrap(), b"peer-7");
        s.set_zap_domain("global").unwrap();
        assert_eq!(s.zap_domain().unwrap(), "global");
        assert_eq!(s.mechanism(), Ok(Mechanism::Null));
        assert!(s.events().unwrap().is_empty() || s.events().is_ok());
        assert!(s.fd().unwrap() >= 0);
    }

    #[test]
    fn bad_values_are_errors_not_panics() {
        let ctx = Context::new();
        let s = ctx.socket(SocketType::Sub).unwrap();
        assert_eq!(s.set_sndhwm(-1), Err(Error::EINVAL));
        assert_eq!(s.set_linger(-2), Err(Error::EINVAL));
        assert_eq!(s.set_zap_domain("a\0b"), Err(Error::EINVAL));
        assert_eq!(s.set_routing_id(&[]), Err(Error::EINVAL));
        assert_eq!(s.set_routing_id(&[7u8; 256]), Err(Error::EINVAL));
        assert_eq!(s.set_curve_serverkey(b"short"), Err(Error::EINVAL));
        // A ROUTER-only option on a SUB socket.
        assert_eq!(s.set_router_mandatory(true), Err(Error::EINVAL));
    }

    /// Issue 25: `set_socks_proxy` took a value of 1024 bytes or more that
    /// `socks_proxy()` then failed to read.
    #[test]
    fn what_a_read_write_option_accepts_reads_back() {
        let ctx = Context::new();
        let s = ctx.socket(SocketType::Dealer).unwrap();
        let longest = format!("{}:1080", "h".repeat(BUFFER - 6));
        s.set_socks_proxy(&longest).unwrap();
        assert_eq!(s.socks_proxy().unwrap(), longest);
        let too_long = format!("{}:1080", "h".repeat(2000));
        assert_eq!(s.set_socks_proxy(&too_long), Err(Error::EINVAL));
        assert_eq!(s.socks_proxy().unwrap(), longest, "unchanged");
        // Write-only options have no such bound.
        let router = ctx.socket(SocketType::Router).unwrap();
        router.set_connect_routing_id(&[b'r'; 255]).unwrap();
        let sub = ctx.socket(SocketType::Sub).unwrap();
        sub.set_subscribe(&[b'x'; 5000]).unwrap();
    }

    /// Issue 25: a Z85 key with a NUL byte (libzmq's `strlen` stops there,
    /// and 20 characters decode fine) or a bad character half way was half
    /// applied: new bytes over the old key.
    #[test]
    #[cfg(feature = "curve")]
    fn a_curve_key_is_set_whole_or_not_at_all() {
        if !super::super::has("curve") {
            return;
        }
        let ctx = Context::new();
        let s = ctx.socket(SocketType::Dealer).unwrap();
        let old = super::super::CurveKeyPair::new().unwrap().secret_key;
        s.set_curve_secretkey(&old).unwrap();
        let new = super::super::CurveKeyPair::new().unwrap().secret_key;
        let text = super::super::z85_encode(&new).unwrap().into_bytes();
        let mut with_nul = text.clone();
        with_nul[20] = 0;
        assert_eq!(s.set_curve_secretkey(&with_nul), Err(Error::EINVAL));
        assert_eq!(s.curve_secretkey().unwrap(), old, "NUL: unchanged");
        let mut bad_char = text.clone();
        bad_char[30] = b'"';
        assert_eq!(s.set_curve_secretkey(&bad_char), Err(Error::EINVAL));
        assert_eq!(
            s.curve_secretkey().unwrap(),
            old,
            "bad character: unchanged"
        );
        let mut unterminated = text.clone();
        unterminated.push(b'x');
        assert_eq!(s.set_curve_secretkey(&unterminated), Err(Error::EINVAL));
        // The good forms: 40 characters, 41 with the NUL, 32 raw bytes.
        s.set_curve_secretkey(&text).unwrap();
        assert_eq!(s.curve_secretkey().unwrap(), new);
        let mut terminated = text.clone();
        terminated.push(0);
        s.set_curve_secretkey(&old).unwrap();
        s.set_curve_secretkey(&terminated).unwrap();
        assert_eq!(s.curve_secretkey().unwrap(), new);
        assert_eq!(s.set_curve_serverkey(&[1; 31]), Err(Error::EINVAL));
    }
}
