//! CURVE keys: generate, parse, print, save and load them.
//!
//! A CURVE key is 32 bytes; people and config files carry it as 40 characters
//! of Z85 text. [`PublicKey`] and [`SecretKey`] hold the bytes and convert
//! both ways; [`KeyPair`] generates pairs, applies them to sockets and stores
//! them in the same text format as CZMQ's `zcert` (so `zcert` files load
//! here and ours load there).
//!
//! Generating keys and setting CURVE options need a libzmq built with CURVE,
//! which the default build is (the `curve` feature bundles libsodium).
//! Without it those calls fail with [`AuthError::CurveUnavailable`]; check
//! [`curve_available`] to explain. Parsing, printing and files work in
//! either build.
//!
//! ```no_run
//! use calloop_zmq::auth::KeyPair;
//! use calloop_zmq::zmq;
//!
//! # fn main() -> Result<(), calloop_zmq::auth::AuthError> {
//! let ctx = zmq::Context::new();
//! let server_keys = KeyPair::generate()?;
//! let client_keys = KeyPair::generate()?;
//!
//! let server = ctx.socket(zmq::SocketType::Rep).unwrap();
//! server_keys.configure_server(&server)?;
//! let client = ctx.socket(zmq::SocketType::Req).unwrap();
//! client_keys.configure_client(&client, server_keys.public())?;
//!
//! // Give the client's public key to the authenticator as Z85 text:
//! println!("{}", client_keys.public());
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use super::AuthError;
use crate::zmq;

/// True when the linked libzmq supports CURVE (`zmq::has("curve")`).
pub fn curve_available() -> bool {
    zmq::has("curve")
}

/// `Ok` when CURVE is available, else [`AuthError::CurveUnavailable`], whose
/// message explains how to get it.
pub fn require_curve() -> Result<(), AuthError> {
    if curve_available() {
        Ok(())
    } else {
        Err(AuthError::CurveUnavailable)
    }
}

const Z85_ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Decodes 40 characters of Z85 into 32 bytes, rejecting anything libzmq's
/// own decoder would silently garble (characters outside the alphabet,
/// groups that overflow 32 bits, wrong length).
fn z85_key(text: &str, what: &'static str) -> Result<[u8; 32], AuthError> {
    let text = text.trim();
    if text.len() != 40 {
        return Err(AuthError::invalid(
            what,
            format!("expected 40 Z85 characters, got {}", text.len()),
        ));
    }
    let mut key = [0u8; 32];
    for (group, chunk) in text.as_bytes().chunks(5).enumerate() {
        let mut value: u64 = 0;
        for &c in chunk {
            let digit = Z85_ALPHABET.iter().position(|&a| a == c).ok_or_else(|| {
                AuthError::invalid(what, format!("{:?} is not a Z85 character", c as char))
            })?;
            value = value * 85 + digit as u64;
        }
        let value = u32::try_from(value).map_err(|_| {
            AuthError::invalid(what, format!("Z85 group {} overflows 32 bits", group + 1))
        })?;
        key[group * 4..group * 4 + 4].copy_from_slice(&value.to_be_bytes());
    }
    Ok(key)
}

fn z85_text(key: &[u8; 32]) -> String {
    // 32 bytes is a multiple of 4, the only way z85_encode can fail.
    zmq::z85_encode(key).unwrap_or_default()
}

/// A CURVE public key. Prints (`Display`) as Z85; parses (`FromStr`,
/// [`from_z85`](Self::from_z85)) from Z85.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub(super) [u8; 32]);

impl PublicKey {
    /// Parses 40 characters of Z85 text (surrounding whitespace ignored).
    pub fn from_z85(text: &str) -> Result<Self, AuthError> {
        z85_key(text, "CURVE public key").map(Self)
    }

    /// Wraps 32 raw bytes (what a ZAP request carries).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AuthError> {
        <[u8; 32]>::try_from(bytes).map(Self).map_err(|_| {
            AuthError::invalid(
                "CURVE public key",
                format!("expected 32 bytes, got {}", bytes.len()),
            )
        })
    }

    /// The key as 40 characters of Z85.
    pub fn to_z85(&self) -> String {
        z85_text(&self.0)
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Reads the `public-key` line of a key file written by
    /// [`KeyPair::save`] or CZMQ's `zcert_save` (either the public or the
    /// secret file).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, AuthError> {
        let path = path.as_ref();
        public_from_key_text(&read_key_file(path)?, path)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_z85())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_z85())
    }
}

impl FromStr for PublicKey {
    type Err = AuthError;
    fn from_str(s: &str) -> Result<Self, AuthError> {
        Self::from_z85(s)
    }
}

/// A CURVE secret key. Never printed by `Debug`; overwritten with zeros when
/// dropped (best effort: copies made elsewhere, e.g. by libzmq, are not).
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    /// Parses 40 characters of Z85 text (surrounding whitespace ignored).
    pub fn from_z85(text: &str) -> Result<Self, AuthError> {
        z85_key(text, "CURVE secret key").map(Self)
    }

    /// The key as Z85 text; handle with care.
    pub fn to_z85(&self) -> String {
        z85_text(&self.0)
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        for byte in &mut self.0 {
            // Volatile so the compiler cannot drop the "dead" store.
            // SAFETY: `byte` is a valid, aligned, exclusive reference.
            unsafe { std::ptr::write_volatile(byte, 0) };
        }
    }
}

/// A CURVE key pair: a public key to share and a secret key to keep.
#[derive(Clone, Debug)]
pub struct KeyPair {
    public: PublicKey,
    secret: SecretKey,
}

impl KeyPair {
    /// Generates a fresh pair with libzmq (`zmq_curve_keypair`, backed by
    /// libsodium's random source). Fails with
    /// [`AuthError::CurveUnavailable`] when libzmq has no CURVE.
    pub fn generate() -> Result<Self, AuthError> {
        require_curve()?;
        let pair = zmq::CurveKeyPair::new().map_err(AuthError::zmq("zmq_curve_keypair"))?;
        Ok(Self {
            public: PublicKey(pair.public_key),
            secret: SecretKey(pair.secret_key),
        })
    }

    /// Builds a pair from Z85 texts. Where CURVE is available, the public
    /// key must be the one that belongs to the secret key
    /// (`zmq_curve_public`), so a mismatched pair fails here, not at the
    /// handshake.
    pub fn from_z85(public: &str, secret: &str) -> Result<Self, AuthError> {
        let pair = Self {
            public: PublicKey::from_z85(public)?,
            secret: SecretKey::from_z85(secret)?,
        };
        if curve_available() {
            let derived =
                zmq::curve_public(&pair.secret.0).map_err(AuthError::zmq("zmq_curve_public"))?;
            if derived != pair.public.0 {
                return Err(AuthError::invalid(
                    "CURVE key pair",
                    "the public key does not belong to the secret key",
                ));
            }
        }
        Ok(pair)
    }

    /// The public key.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The secret key.
    pub fn secret(&self) -> &SecretKey {
        &self.secret
    }

    /// Makes `socket` a CURVE server with this pair (`ZMQ_CURVE_SERVER`,
    /// `ZMQ_CURVE_SECRETKEY`). Call before `bind`. Clients then need
    /// [`public`](Self::public) as their server key.
    ///
    /// Without a running [`Authenticator`](super::Authenticator) libzmq lets
    /// *any* client key in (encrypted, but unauthenticated).
    pub fn configure_server(&self, socket: &zmq::Socket) -> Result<(), AuthError> {
        require_curve()?;
        socket
            .set_curve_server(true)
            .map_err(AuthError::zmq("set option ZMQ_CURVE_SERVER"))?;
        socket
            .set_curve_secretkey(&self.secret.0)
            .map_err(AuthError::zmq("set option ZMQ_CURVE_SECRETKEY"))
    }

    /// Makes `socket` a CURVE client with this pair, talking to the server
    /// whose public key is `server`. Call before `connect`.
    pub fn configure_client(
        &self,
        socket: &zmq::Socket,
        server: &PublicKey,
    ) -> Result<(), AuthError> {
        require_curve()?;
        socket
            .set_curve_serverkey(&server.0)
            .map_err(AuthError::zmq("set option ZMQ_CURVE_SERVERKEY"))?;
        socket
            .set_curve_publickey(&self.public.0)
            .map_err(AuthError::zmq("set option ZMQ_CURVE_PUBLICKEY"))?;
        socket
            .set_curve_secretkey(&self.secret.0)
            .map_err(AuthError::zmq("set option ZMQ_CURVE_SECRETKEY"))
    }

    /// Writes the pair to `path` (mode 0600: it holds the secret key) and the
    /// public key alone to `path` + `.pub`, both in CZMQ's `zcert` text
    /// format. Share the `.pub` file, never the other.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), AuthError> {
        let path = path.as_ref();
        let (secret_text, public_text) = key_file_texts(self);
        write_key_file(path, &secret_text, 0o600)?;
        let mut public_path = path.as_os_str().to_owned();
        public_path.push(".pub");
        write_key_file(Path::new(&public_path), &public_text, 0o644)
    }

    /// Reads a pair written by [`save`](Self::save) or CZMQ's `zcert_save`
    /// (the secret file).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, AuthError> {
        let path = path.as_ref();
        pair_from_key_text(&read_key_file(path)?, path)
    }
}

/// The two files [`KeyPair::save`] writes: the secret one (both keys) and
/// the public one.
fn key_file_texts(pair: &KeyPair) -> (String, String) {
    let secret_text = format!(
        "#   ZeroMQ CURVE **secret** certificate (calloop-zmq). DO NOT share this file.\n\
         metadata\ncurve\n    public-key = \"{}\"\n    secret-key = \"{}\"\n",
        pair.public,
        pair.secret.to_z85()
    );
    let public_text = format!(
        "#   ZeroMQ CURVE public certificate (calloop-zmq)\n\
         metadata\ncurve\n    public-key = \"{}\"\n",
        pair.public
    );
    (secret_text, public_text)
}

/// [`PublicKey::load`] once the file is read; `path` only names it in errors.
fn public_from_key_text(text: &str, path: &Path) -> Result<PublicKey, AuthError> {
    let z85 = key_file_field(text, "public-key").ok_or_else(|| AuthError::KeyFile {
        path: path.into(),
        reason: "no public-key line".into(),
    })?;
    PublicKey::from_z85(z85)
}

/// [`KeyPair::load`] once the file is read; `path` only names it in errors.
fn pair_from_key_text(text: &str, path: &Path) -> Result<KeyPair, AuthError> {
    let field = |name: &str| {
        key_file_field(text, name).ok_or_else(|| AuthError::KeyFile {
            path: path.into(),
            reason: format!("no {name} line (is this the public file?)"),
        })
    };
    KeyPair::from_z85(field("public-key")?, field("secret-key")?)
}

/// Entry points for the fuzz targets (`fuzz/`): the key-file parsers
/// without the file system. Not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    use std::path::Path;

    use super::{AuthError, KeyPair, PublicKey};

    /// What [`PublicKey::load`] and [`KeyPair::load`] make of a file that
    /// holds `text`.
    pub fn parse_key_file(
        text: &str,
    ) -> (Result<PublicKey, AuthError>, Result<KeyPair, AuthError>) {
        let path = Path::new("<fuzz input>");
        (
            super::public_from_key_text(text, path),
            super::pair_from_key_text(text, path),
        )
    }

    /// The secret and public file texts [`KeyPair::save`] writes.
    pub fn key_file_texts(pair: &KeyPair) -> (String, String) {
        super::key_file_texts(pair)
    }
}

fn read_key_file(path: &Path) -> Result<String, AuthError> {
    std::fs::read_to_string(path).map_err(|source| AuthError::Io {
        op: "read key file",
        path: path.into(),
        source,
    })
}

fn write_key_file(path: &Path, text: &str, mode: u32) -> Result<(), AuthError> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let io = |source| AuthError::Io {
        op: "write key file",
        path: path.into(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(io)?;
    // `mode` only applies to a new file; an existing one keeps its
    // permissions unless we set them.
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Finds `name = "value"` (quotes optional) on a line of a zcert-style file.
fn key_file_field<'t>(text: &'t str, name: &str) -> Option<&'t str> {
    text.lines().find_map(|line| {
        let (key, value) = line.trim().split_once('=')?;
        (key.trim() == name).then(|| value.trim().trim_matches('"'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // A key pair from the ZeroMQ RFC 26 / zmq_curve test vectors.
    const PUBLIC: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
    const SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";

    #[test]
    fn z85_round_trip_matches_libzmq() {
        let key = PublicKey::from_z85(PUBLIC).unwrap();
        assert_eq!(key.to_z85(), PUBLIC);
        assert_eq!(zmq::z85_decode(PUBLIC).unwrap(), key.as_bytes().to_vec());
    }

    #[test]
    fn rejects_bad_z85() {
        assert!(PublicKey::from_z85("short").is_err());
        let bad_char = PUBLIC.replace('Y', "~");
        assert!(PublicKey::from_z85(&bad_char).is_err());
        // "#####" is 85^5 - 1 > u32::MAX.
        let overflow = format!("#####{}", &PUBLIC[5..]);
        assert!(PublicKey::from_z85(&overflow).is_err());
    }

    #[test]
    fn secret_key_debug_is_redacted() {
        let pair = KeyPair::from_z85(PUBLIC, SECRET).unwrap();
        let debug = format!("{pair:?}");
        assert!(!debug.contains(SECRET), "{debug}");
        assert!(debug.contains(PUBLIC), "{debug}");
    }

    #[test]
    #[cfg(any(feature = "curve", feature = "system-libzmq"))]
    fn a_public_key_from_another_pair_is_refused() {
        assert!(curve_available(), "the default build has CURVE");
        let other = KeyPair::generate().unwrap();
        let err = KeyPair::from_z85(&other.public().to_z85(), SECRET).unwrap_err();
        assert!(err.to_string().contains("does not belong"), "{err}");
    }

    #[test]
    fn saved_texts_parse_back_without_files() {
        let pair = KeyPair::from_z85(PUBLIC, SECRET).unwrap();
        let (secret_text, public_text) = fuzzing::key_file_texts(&pair);
        let (public, again) = fuzzing::parse_key_file(&secret_text);
        assert_eq!(public.unwrap().to_z85(), PUBLIC);
        assert_eq!(again.unwrap().secret().to_z85(), SECRET);
        let (public, no_pair) = fuzzing::parse_key_file(&public_text);
        assert_eq!(public.unwrap().to_z85(), PUBLIC);
        assert!(no_pair.unwrap_err().to_string().contains("secret-key"));
    }

    #[test]
    fn parses_czmq_zcert_lines() {
        let text = "metadata\ncurve\n    public-key = \"abc\"\n    secret-key = \"def\"\n";
        assert_eq!(key_file_field(text, "public-key"), Some("abc"));
        assert_eq!(key_file_field(text, "secret-key"), Some("def"));
        assert_eq!(key_file_field(text, "other"), None);
    }
}
