//! [`Frame`]: one part of a ZeroMQ message, owning a libzmq `zmq_msg_t`.
//!
//! This module is the only place that touches libzmq's message functions.
//! A frame is exactly a `zmq_msg_t` (`#[repr(transparent)]`), so libzmq
//! receives into it and sends from it where it lies: a received frame
//! reaches your code without a copy, and a frame built from an owned buffer
//! above [`COPY_THRESHOLD`] goes to libzmq without one either.
//!
//! ```
//! use calloop_zmq::zmq::Frame;
//!
//! let small = Frame::from(b"ping".to_vec()); // copied: small frames live inline
//! let big = Frame::from(vec![7u8; 64 * 1024]); // handed over, not copied
//! assert_eq!(&small[..], b"ping");
//! assert_eq!(big.len(), 64 * 1024);
//! assert_eq!(Frame::from("text").as_str(), Some("text"));
//! ```
//!
//! A frame knows no socket: [`Socket::send_frame`](super::Socket::send_frame)
//! and [`Socket::recv_into`](super::Socket::recv_into) move frames in and
//! out. Sending never gives a refused frame away: libzmq leaves it untouched
//! on failure, so the caller still has it to retry or report. On success
//! libzmq empties it.

use std::ffi::{CStr, CString, c_void};
use std::fmt;
use std::ops::Deref;

use calloop_zmq_sys as sys;

use super::error::{Error, Result};

/// Owned buffers up to this many bytes are copied into a frame libzmq
/// allocates; larger ones are handed to libzmq without a copy (with a
/// callback that frees them). Copying a small buffer costs less than the
/// bookkeeping libzmq needs for a foreign one, and frames of up to 33 bytes
/// then live inside the `zmq_msg_t` itself. The measurement behind the
/// value is in BENCHMARKS.md ("Frame copy threshold").
pub const COPY_THRESHOLD: usize = 8192;

/// One frame of a ZeroMQ message: bytes owned by libzmq (or handed to it),
/// read through `Deref<Target = [u8]>`.
///
/// Build one from `&[u8]`, `&str`, `Vec<u8>`, `String`, `Box<[u8]>` or any
/// owner of bytes ([`Frame::from_owner`], e.g. a `bytes::Bytes`). Frames are
/// read-only once built; equality compares bytes.
#[repr(transparent)]
pub struct Frame {
    msg: sys::zmq_msg_t,
}

// SAFETY: a zmq_msg_t may be moved to and used from another thread (libzmq
// itself hands them between threads); the buffers a frame can own (libzmq's,
// or a `Send` owner handed over in `from_owner`) may be freed on any thread.
unsafe impl Send for Frame {}
// SAFETY: every `&self` method only reads the message (size, data, more,
// metadata, and with `draft` routing id and group); none of them writes to
// it.
unsafe impl Sync for Frame {}

impl Frame {
    /// An empty frame (`zmq_msg_init`).
    pub fn new() -> Frame {
        let mut frame = Frame::unready();
        frame.init_in_place();
        frame
    }

    /// A frame that is not yet a libzmq message: all zero bytes, which
    /// `zmq_msg_close` rejects with `EFAULT` instead of touching (its type
    /// byte 0 is no message type: `msg_t::check` in libzmq's src/msg.cpp),
    /// so dropping it is safe. It must go through
    /// [`init_in_place`](Self::init_in_place) before any other use.
    ///
    /// It exists for the receive path: the frame is moved to where it will
    /// stay (inside the message the callback gets) and initialised there,
    /// because copying a `zmq_msg_t` libzmq has just written stalls the CPU
    /// (the copy's wide loads wait for libzmq's narrow stores).
    #[inline]
    pub(crate) fn unready() -> Frame {
        Frame {
            msg: sys::zmq_msg_t::zeroed(),
        }
    }

    /// Makes a frame an empty libzmq message where it lies (`zmq_msg_init`,
    /// which cannot fail). Only for frames from [`unready`](Self::unready):
    /// on an initialised frame it would leak its buffer.
    #[inline]
    pub(crate) fn init_in_place(&mut self) {
        // SAFETY: zmq_msg_init writes the struct and nothing else.
        unsafe { sys::zmq_msg_init(self.as_mut_ptr()) };
    }

    /// A frame of `len` zero bytes, or `ENOMEM`.
    pub fn zeroed(len: usize) -> Result<Frame> {
        let mut frame = Frame::unready();
        // SAFETY: zmq_msg_init_size only writes the struct: a message with a
        // buffer of `len` bytes, or on failure (ENOMEM) a half-made one.
        if unsafe { sys::zmq_msg_init_size(frame.as_mut_ptr(), len) } != 0 {
            let error = Error::last();
            // The half-made message says "long message" with no content
            // (src/msg.cpp, `init_size`), which zmq_msg_close would follow
            // through a null pointer. It owns nothing, so it is not closed.
            std::mem::forget(frame);
            return Err(error);
        }
        if len > 0 {
            // SAFETY: the message owns `len` writable, uninitialised bytes at
            // its data pointer; they are written, never read, here.
            unsafe {
                let data = sys::zmq_msg_data(frame.as_mut_ptr()).cast::<u8>();
                data.write_bytes(0, len);
            }
        }
        Ok(frame)
    }

    /// A frame holding a copy of `bytes`. Out of memory ends the process
    /// (`handle_alloc_error`), as it does for `Vec`.
    fn copy_of(bytes: &[u8]) -> Frame {
        let mut frame = Frame::unready();
        // SAFETY: as in `zeroed` (a half-made message is forgotten, never
        // closed).
        if unsafe { sys::zmq_msg_init_size(frame.as_mut_ptr(), bytes.len()) } != 0 {
            std::mem::forget(frame);
            std::alloc::handle_alloc_error(
                std::alloc::Layout::array::<u8>(bytes.len())
                    .unwrap_or(std::alloc::Layout::new::<u8>()),
            );
        }
        if !bytes.is_empty() {
            // SAFETY: the message owns `bytes.len()` writable bytes at its
            // data pointer, which cannot overlap `bytes` (libzmq just
            // allocated them or they are inside the struct).
            unsafe {
                let data = sys::zmq_msg_data(frame.as_mut_ptr()).cast::<u8>();
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
            }
        }
        frame
    }

    /// A frame that reads the bytes of `owner` without copying them; libzmq
    /// drops `owner` (on whichever thread it is done with the frame, hence
    /// `Send`) when no copy of the frame needs the bytes any more. Buffers of
    /// up to [`COPY_THRESHOLD`] bytes are copied instead and `owner` is
    /// dropped at once, which is faster for them.
    ///
    /// Works for any owner of bytes: `Vec<u8>`, `String`, `Box<[u8]>`,
    /// `bytes::Bytes`, `Arc<[u8]>` ...
    pub fn from_owner<T>(owner: T) -> Frame
    where
        T: AsRef<[u8]> + Send + 'static,
    {
        if owner.as_ref().len() <= COPY_THRESHOLD {
            return Frame::copy_of(owner.as_ref());
        }
        // Box the owner first: the bytes' address is taken from where the
        // owner will stay until libzmq frees it.
        let owner = Box::new(owner);
        let bytes: &[u8] = (*owner).as_ref();
        let (data, len) = (bytes.as_ptr().cast_mut(), bytes.len());
        let hint = Box::into_raw(owner).cast::<c_void>();
        Frame::hand_over(data, len, free_owner::<T>, hint)
    }

    /// A frame that reads `bytes` in place, without copying them and without
    /// ever freeing them (`zmq_msg_init_data` with no free function): for
    /// constant payloads.
    pub fn from_static(bytes: &'static [u8]) -> Frame {
        let mut frame = Frame::unready();
        // SAFETY: the bytes live for the whole program and libzmq only reads
        // them; with no free function it never frees them. Without a free
        // function libzmq allocates nothing (a "constant message",
        // src/msg.cpp `init_data`), so the call cannot fail.
        unsafe {
            sys::zmq_msg_init_data(
                frame.as_mut_ptr(),
                bytes.as_ptr().cast_mut().cast(),
                bytes.len(),
                None,
                std::ptr::null_mut(),
            )
        };
        frame
    }

    /// Takes ownership of a libzmq message initialised elsewhere (for code
    /// that calls `calloop-zmq-sys` directly); the frame closes it when
    /// dropped.
    ///
    /// # Safety
    /// `msg` must be a message initialised by one of libzmq's
    /// `zmq_msg_init*` functions or filled by `zmq_msg_recv`, that nothing
    /// else closes, whose bytes stay valid until libzmq releases them, and
    /// that no other frame shares (`zmq_msg_copy`): frames are read from
    /// several threads only under that condition.
    pub unsafe fn from_raw(msg: sys::zmq_msg_t) -> Frame {
        Frame { msg }
    }

    /// Gives libzmq `len` bytes at `data` with `free(data, hint)` to call
    /// when done. If libzmq fails (it only allocates), `free` runs here.
    fn hand_over(
        data: *mut u8,
        len: usize,
        free: unsafe extern "C" fn(*mut c_void, *mut c_void),
        hint: *mut c_void,
    ) -> Frame {
        let mut frame = Frame::unready();
        // SAFETY: `data` points to `len` bytes that stay valid and unchanged
        // until libzmq calls `free` with `hint`, which releases them exactly
        // once (the callers build `hint` for that).
        let rc = unsafe {
            sys::zmq_msg_init_data(frame.as_mut_ptr(), data.cast(), len, Some(free), hint)
        };
        if rc != 0 {
            // SAFETY: libzmq did not take the buffer, so it is still ours to
            // free, once.
            unsafe { free(data.cast(), hint) };
            // Half-made (see `zeroed`): never closed.
            std::mem::forget(frame);
            std::alloc::handle_alloc_error(std::alloc::Layout::new::<sys::zmq_msg_t>());
        }
        frame
    }

    /// Number of bytes.
    #[inline]
    pub fn len(&self) -> usize {
        // SAFETY: the frame is an initialised message (every public
        // constructor makes one); zmq_msg_size only reads it.
        unsafe { sys::zmq_msg_size(self.as_ptr()) }
    }

    /// True when the frame has no bytes.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes as UTF-8 text, or `None` when they are not UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self).ok()
    }

    /// True when this frame came from a receive and more frames of the same
    /// message follow it (`ZMQ_MORE`).
    #[inline]
    pub fn more(&self) -> bool {
        // SAFETY: initialised message; zmq_msg_more only reads it.
        unsafe { sys::zmq_msg_more(self.as_ptr()) != 0 }
    }

    /// A metadata property of a received frame (`zmq_msg_gets`): the
    /// connection's `Socket-Type`, `Routing-Id`, `Peer-Address`, the
    /// `User-Id` a ZAP handler assigned, or any property it added. `None`
    /// when the frame has no such property or the name contains a NUL byte.
    pub fn gets(&self, property: &str) -> Option<&str> {
        let property = CString::new(property).ok()?;
        // SAFETY: initialised message, NUL-terminated name. The returned
        // string belongs to the message's metadata, which lives as long as
        // the message and is not changed while we hold `&self`.
        let value = unsafe { sys::zmq_msg_gets(self.as_ptr(), property.as_ptr()) };
        if value.is_null() {
            return None;
        }
        // SAFETY: libzmq returns a NUL-terminated string, valid as above.
        unsafe { CStr::from_ptr(value) }.to_str().ok()
    }

    /// Drops a frame that a successful
    /// [`Socket::send_frame`](super::Socket::send_frame) emptied without
    /// calling `zmq_msg_close`: zmq_msg_send(3) leaves such a message holding
    /// nothing, so there is nothing to close. Saves a libzmq call per frame
    /// on the send path. A frame that was not sent would leak its buffer.
    #[inline]
    pub(crate) fn forget_sent(self) {
        std::mem::forget(self);
    }

    #[cfg(test)]
    fn as_ptr_to_bytes(&self) -> *const u8 {
        <[u8]>::as_ptr(self)
    }

    /// The message, for libzmq calls that only read it.
    #[inline]
    pub(super) fn as_ptr(&self) -> *const sys::zmq_msg_t {
        &self.msg
    }

    /// The message, for libzmq calls that write it (sending, receiving).
    #[inline]
    pub(super) fn as_mut_ptr(&mut self) -> *mut sys::zmq_msg_t {
        &mut self.msg
    }
}

/// Frees a `Vec<u8>`'s buffer handed over in `From<Vec<u8>>`: `hint` is its
/// capacity.
unsafe extern "C" fn free_vec(data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `data` is the pointer of a `Vec<u8>` whose capacity is `hint`'s
    // address, forgotten in `From<Vec<u8>>`; libzmq calls this once.
    drop(unsafe { Vec::from_raw_parts(data.cast::<u8>(), 0, hint.addr()) });
}

/// Drops the boxed owner handed over in [`Frame::from_owner`].
unsafe extern "C" fn free_owner<T>(_data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the `Box<T>` leaked in `from_owner`; libzmq calls
    // this once.
    drop(unsafe { Box::from_raw(hint.cast::<T>()) });
}

impl Drop for Frame {
    fn drop(&mut self) {
        // SAFETY: the message is initialised, or all zero (`unready`), which
        // zmq_msg_close rejects with EFAULT without touching it
        // (`msg_t::check`, src/msg.cpp). No half-made message from a failed
        // `zmq_msg_init*` is ever dropped (see `zeroed`).
        unsafe { sys::zmq_msg_close(self.as_mut_ptr()) };
    }
}

impl Default for Frame {
    fn default() -> Self {
        Frame::new()
    }
}

impl Deref for Frame {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        let len = self.len();
        if len == 0 {
            return &[];
        }
        // SAFETY: initialised message with `len` bytes at its data pointer,
        // which stay valid and unchanged while we borrow the frame (frames
        // are never written through `&self`). zmq_msg_data only reads the
        // struct, although its signature takes a mutable pointer.
        unsafe {
            let data = sys::zmq_msg_data(self.as_ptr().cast_mut()).cast::<u8>();
            std::slice::from_raw_parts(data, len)
        }
    }
}

impl AsRef<[u8]> for Frame {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl Clone for Frame {
    /// A new frame with a copy of the bytes (metadata is not copied).
    fn clone(&self) -> Self {
        Frame::copy_of(self)
    }
}

impl PartialEq for Frame {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Frame {}

impl std::hash::Hash for Frame {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl PartialEq<[u8]> for Frame {
    fn eq(&self, other: &[u8]) -> bool {
        **self == *other
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(text) => write!(f, "Frame({text:?})"),
            None => write!(f, "Frame({:?})", &**self),
        }
    }
}

impl From<&[u8]> for Frame {
    fn from(bytes: &[u8]) -> Self {
        Frame::copy_of(bytes)
    }
}

impl<const N: usize> From<&[u8; N]> for Frame {
    fn from(bytes: &[u8; N]) -> Self {
        Frame::copy_of(bytes)
    }
}

impl From<&Vec<u8>> for Frame {
    fn from(bytes: &Vec<u8>) -> Self {
        Frame::copy_of(bytes)
    }
}

impl From<&str> for Frame {
    fn from(text: &str) -> Self {
        Frame::copy_of(text.as_bytes())
    }
}

impl From<&String> for Frame {
    fn from(text: &String) -> Self {
        Frame::copy_of(text.as_bytes())
    }
}

impl From<Vec<u8>> for Frame {
    /// Copies up to [`COPY_THRESHOLD`] bytes; hands larger buffers to libzmq.
    fn from(bytes: Vec<u8>) -> Self {
        if bytes.len() <= COPY_THRESHOLD {
            return Frame::copy_of(&bytes);
        }
        let mut bytes = std::mem::ManuallyDrop::new(bytes);
        let (data, len, capacity) = (bytes.as_mut_ptr(), bytes.len(), bytes.capacity());
        Frame::hand_over(
            data,
            len,
            free_vec,
            std::ptr::without_provenance_mut(capacity),
        )
    }
}

impl From<String> for Frame {
    /// As `From<Vec<u8>>`.
    fn from(text: String) -> Self {
        Frame::from(text.into_bytes())
    }
}

impl From<Box<[u8]>> for Frame {
    /// As `From<Vec<u8>>`.
    fn from(bytes: Box<[u8]>) -> Self {
        Frame::from(bytes.into_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_hold_the_bytes() {
        for len in [
            0,
            1,
            33,
            34,
            1024,
            COPY_THRESHOLD,
            COPY_THRESHOLD + 1,
            100_000,
        ] {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
            assert_eq!(&Frame::from(bytes.clone())[..], &bytes[..], "Vec {len}");
            assert_eq!(&Frame::from(&bytes[..])[..], &bytes[..], "slice {len}");
            assert_eq!(
                &Frame::from(bytes.clone().into_boxed_slice())[..],
                &bytes[..]
            );
            let shared: std::sync::Arc<[u8]> = bytes.clone().into();
            assert_eq!(&Frame::from_owner(shared)[..], &bytes[..], "owner {len}");
        }
        assert_eq!(Frame::from(String::from("héllo")).as_str(), Some("héllo"));
        assert_eq!(Frame::zeroed(5).unwrap(), Frame::from(&[0u8; 5]));
        assert!(Frame::new().is_empty());
        assert_eq!(Frame::from(vec![1, 2]).clone(), Frame::from(&[1u8, 2]));
    }

    /// A failed `zmq_msg_init_size` leaves a "long message" with a null
    /// content pointer: closing it would dereference null.
    #[test]
    fn an_impossible_size_is_enomem_not_a_crash() {
        assert_eq!(Frame::zeroed(usize::MAX).unwrap_err(), Error::ENOMEM);
        assert_eq!(Frame::zeroed(usize::MAX - 8).unwrap_err(), Error::ENOMEM);
    }

    #[test]
    fn owners_are_dropped_once_libzmq_is_done() {
        /// Bytes, and a count of live owners in the `Arc`.
        struct Owner(Vec<u8>, #[allow(dead_code)] std::sync::Arc<()>);
        impl AsRef<[u8]> for Owner {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }
        let alive = std::sync::Arc::new(());
        for len in [10, 10_000] {
            let frame = Frame::from_owner(Owner(vec![1; len], alive.clone()));
            assert_eq!(frame.len(), len);
            drop(frame);
            assert_eq!(std::sync::Arc::strong_count(&alive), 1, "len {len}");
        }
    }

    #[test]
    fn static_and_raw_frames() {
        static DATA: [u8; 100] = [5; 100];
        let frame = Frame::from_static(&DATA);
        assert_eq!(frame.as_ptr_to_bytes(), DATA.as_ptr());
        let mut raw = sys::zmq_msg_t::zeroed();
        // SAFETY: zmq_msg_init_size initialises `raw`, which the frame owns.
        assert_eq!(unsafe { sys::zmq_msg_init_size(&mut raw, 3) }, 0);
        // SAFETY: initialised above, owned by nothing else.
        let frame = unsafe { Frame::from_raw(raw) };
        assert_eq!(frame.len(), 3);
    }

    #[test]
    fn an_unready_frame_is_safe_to_drop() {
        drop(Frame::unready());
        let mut frame = Frame::unready();
        frame.init_in_place();
        assert!(frame.is_empty());
    }
}
