//! CURVE key pairs and Z85 text (RFC 32), and what the linked libzmq can do.

use std::ffi::{CStr, CString, c_char};

use calloop_zmq_sys as sys;

use super::error::{Error, Result};

/// A CURVE key pair as raw 32-byte keys (`zmq_curve_keypair`). For keys
/// with Z85 text, files and checks, see [`auth::KeyPair`](crate::auth::KeyPair).
#[derive(Clone, PartialEq, Eq)]
pub struct CurveKeyPair {
    /// The public key, to give to peers.
    pub public_key: [u8; 32],
    /// The secret key, to keep.
    pub secret_key: [u8; 32],
}

impl std::fmt::Debug for CurveKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurveKeyPair")
            .field(
                "public_key",
                &z85_encode(&self.public_key).unwrap_or_default(),
            )
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

impl CurveKeyPair {
    /// A fresh pair from libsodium's random source. Fails with `ENOTSUP`
    /// when libzmq was built without CURVE (see [`has`]).
    pub fn new() -> Result<CurveKeyPair> {
        let mut public = [0 as c_char; 41];
        let mut secret = [0 as c_char; 41];
        // SAFETY: both buffers have the 41 bytes (40 Z85 characters and a
        // NUL) zmq_curve_keypair(3) writes.
        let rc = unsafe { sys::zmq_curve_keypair(public.as_mut_ptr(), secret.as_mut_ptr()) };
        if rc != 0 {
            return Err(Error::last());
        }
        Ok(CurveKeyPair {
            public_key: decode_key(&public)?,
            secret_key: decode_key(&secret)?,
        })
    }
}

/// The public key that belongs to `secret_key` (`zmq_curve_public`).
/// Fails with `ENOTSUP` when libzmq was built without CURVE.
pub fn curve_public(secret_key: &[u8; 32]) -> Result<[u8; 32]> {
    let secret = CString::new(z85_encode(secret_key)?).map_err(|_| Error::EINVAL)?;
    let mut public = [0 as c_char; 41];
    // SAFETY: `public` has the 41 bytes zmq_curve_public(3) writes; `secret`
    // is 40 Z85 characters and a NUL.
    let rc = unsafe { sys::zmq_curve_public(public.as_mut_ptr(), secret.as_ptr()) };
    if rc != 0 {
        return Err(Error::last());
    }
    decode_key(&public)
}

fn decode_key(z85: &[c_char; 41]) -> Result<[u8; 32]> {
    // SAFETY: libzmq NUL-terminated the buffer (40 characters and a NUL).
    let text = unsafe { CStr::from_ptr(z85.as_ptr()) };
    let bytes = z85_decode(text.to_str().map_err(|_| Error::EINVAL)?)?;
    bytes.try_into().map_err(|_| Error::EINVAL)
}

/// Encodes bytes as Z85 text. The length must be a multiple of 4
/// (`EINVAL` otherwise).
pub fn z85_encode(data: &[u8]) -> Result<String> {
    if !data.len().is_multiple_of(4) {
        return Err(Error::EINVAL);
    }
    let mut text = vec![0u8; data.len() / 4 * 5 + 1];
    // SAFETY: `text` has room for 5 characters per 4 bytes plus the NUL
    // (zmq_z85_encode(3)); `data` is readable for its length.
    let out = unsafe { sys::zmq_z85_encode(text.as_mut_ptr().cast(), data.as_ptr(), data.len()) };
    if out.is_null() {
        return Err(Error::last());
    }
    text.pop();
    // Z85's alphabet is ASCII.
    String::from_utf8(text).map_err(|_| Error::EINVAL)
}

/// Decodes Z85 text. The length must be a multiple of 5, and every
/// character in the alphabet (`EINVAL` otherwise). The empty text is no
/// bytes, as [`z85_encode`] encodes them.
pub fn z85_decode(text: &str) -> Result<Vec<u8>> {
    if !text.len().is_multiple_of(5) {
        return Err(Error::EINVAL);
    }
    // libzmq refuses anything shorter than 5 characters.
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let c_text = CString::new(text).map_err(|_| Error::EINVAL)?;
    let mut data = vec![0u8; text.len() / 5 * 4];
    // SAFETY: `data` has room for 4 bytes per 5 characters
    // (zmq_z85_decode(3)); `c_text` is NUL-terminated.
    let out = unsafe { sys::zmq_z85_decode(data.as_mut_ptr(), c_text.as_ptr()) };
    if out.is_null() {
        return Err(Error::EINVAL);
    }
    Ok(data)
}

/// Whether the linked libzmq has a capability (`zmq_has`): `"curve"`,
/// `"ipc"`, `"pgm"`, `"tipc"`, `"norm"`, `"gssapi"`, `"draft"`. False for
/// unknown names and names with a NUL byte.
pub fn has(capability: &str) -> bool {
    let Ok(capability) = CString::new(capability) else {
        return false;
    };
    // SAFETY: NUL-terminated string; zmq_has only reads it.
    unsafe { sys::zmq_has(capability.as_ptr()) == 1 }
}

/// The linked libzmq's version, `(major, minor, patch)`.
pub fn version() -> (i32, i32, i32) {
    let (mut major, mut minor, mut patch) = (0, 0, 0);
    // SAFETY: zmq_version writes the three ints it is given.
    unsafe { sys::zmq_version(&mut major, &mut minor, &mut patch) };
    (major, minor, patch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z85_matches_the_rfc_and_rejects_bad_input() {
        let bytes = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
        assert_eq!(z85_encode(&bytes).unwrap(), "HelloWorld");
        assert_eq!(z85_decode("HelloWorld").unwrap(), bytes);
        assert_eq!(z85_encode(&[1, 2, 3]), Err(Error::EINVAL));
        assert_eq!(z85_decode("Hello!"), Err(Error::EINVAL));
        assert_eq!(
            z85_decode("Hell\"").map_err(|e| e.name()),
            Err(Some("EINVAL"))
        );
        assert_eq!(z85_decode("He\0lo"), Err(Error::EINVAL));
    }

    /// Issue 25: `z85_encode(&[])` was `""` but `z85_decode("")` failed.
    #[test]
    fn the_empty_text_and_no_bytes_round_trip() {
        assert_eq!(z85_encode(&[]).unwrap(), "");
        assert_eq!(z85_decode("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn linked_libzmq_is_4_3_or_newer() {
        let (major, minor, patch) = version();
        assert!((major, minor) >= (4, 3), "{major}.{minor}.{patch}");
    }

    /// The default build: libzmq 4.3.5 from zeromq-src, CURVE through the
    /// bundled libsodium. Fails, rather than skips, if either is missing.
    #[test]
    #[cfg(all(feature = "curve", not(feature = "system-libzmq")))]
    fn default_build_is_libzmq_4_3_5_with_curve() {
        assert_eq!(version(), (4, 3, 5));
        assert!(
            has("curve"),
            "the `curve` feature must give a CURVE-capable libzmq"
        );
    }

    #[test]
    fn key_pairs_agree_with_curve_public() {
        if !has("curve") {
            assert_eq!(CurveKeyPair::new(), Err(Error::ENOTSUP));
            return;
        }
        let pair = CurveKeyPair::new().unwrap();
        assert_eq!(curve_public(&pair.secret_key).unwrap(), pair.public_key);
        assert_ne!(pair, CurveKeyPair::new().unwrap());
        assert!(!format!("{pair:?}").contains(&z85_encode(&pair.secret_key).unwrap()));
    }
}
