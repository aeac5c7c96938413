//! ZAP 1.0 (ZeroMQ RFC 27) on the wire: split and check a request, build a
//! reply.
//!
//! libzmq's sessions send a request as `"" | "1.0" | request id | domain |
//! address | routing id | mechanism | credentials...`; our ROUTER socket adds
//! the session's routing id in front. A reply is `"" | "1.0" | request id |
//! status code | status text | user id | metadata`, exactly seven frames after
//! the routing id, or libzmq rejects it. Everything here is pure so that every
//! malformed shape can be tested without sockets.

use crate::message::Multipart;
use crate::zmq;

/// The endpoint libzmq sends ZAP requests to (fixed by RFC 27).
pub const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

const VERSION: &[u8] = b"1.0";

/// What the peer presented, by mechanism.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Credentials {
    Null,
    Plain {
        username: Vec<u8>,
        password: Vec<u8>,
    },
    Curve {
        public_key: [u8; 32],
    },
    /// A mechanism this authenticator does not handle (e.g. GSSAPI).
    Other,
}

/// A well-formed ZAP request.
#[derive(Debug)]
pub(crate) struct Request {
    pub request_id: Vec<u8>,
    pub domain: String,
    pub address: String,
    pub mechanism: String,
    pub credentials: Credentials,
}

/// A request that cannot be judged; answered with status 400.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Malformed {
    /// Echoed in the reply so the requester can match it (empty if absent).
    pub request_id: Vec<u8>,
    pub reason: String,
}

/// Splits a message from the ROUTER socket into its envelope (routing ids and
/// the empty delimiter, to send back as they came) and the request body.
///
/// A message without the empty delimiter is not from a ZAP client; the first
/// frame is still a routing id (ROUTER always adds one), so it gets an
/// envelope with a delimiter and a body marked malformed.
pub(crate) fn split(msg: Multipart) -> (Vec<zmq::Frame>, Result<Vec<zmq::Frame>, Malformed>) {
    let mut frames = msg.into_frames();
    match frames.iter().position(|f| f.is_empty()) {
        Some(delimiter) => {
            let body = frames.split_off(delimiter + 1);
            (frames, Ok(body))
        }
        None => {
            let rest = if frames.is_empty() {
                Vec::new()
            } else {
                frames.split_off(1)
            };
            frames.push(zmq::Frame::new());
            let request_id = rest.get(1).map(|f| f.to_vec()).unwrap_or_default();
            (
                frames,
                Err(Malformed {
                    request_id,
                    reason: "no empty delimiter frame before the request".into(),
                }),
            )
        }
    }
}

/// Checks a request body frame by frame.
pub(crate) fn parse(body: &[zmq::Frame]) -> Result<Request, Malformed> {
    let request_id = body.get(1).map(|f| f.to_vec()).unwrap_or_default();
    let malformed = |reason: String| Malformed {
        request_id: request_id.clone(),
        reason,
    };
    if body.len() < 6 {
        return Err(malformed(format!(
            "{} frame(s); a ZAP request has at least 6 (version, request id, domain, address, identity, mechanism)",
            body.len()
        )));
    }
    if &body[0][..] != VERSION {
        return Err(malformed(format!(
            "unsupported ZAP version {:?}; only \"1.0\" is known",
            String::from_utf8_lossy(&body[0])
        )));
    }
    let text = |index: usize, name: &str| {
        std::str::from_utf8(&body[index])
            .map(str::to_owned)
            .map_err(|_| malformed(format!("the {name} frame is not UTF-8")))
    };
    let domain = text(2, "domain")?;
    let address = text(3, "address")?;
    let mechanism = text(5, "mechanism")?;
    let creds = &body[6..];
    let credentials = match mechanism.as_str() {
        "NULL" if creds.is_empty() => Credentials::Null,
        "PLAIN" if creds.len() == 2 => Credentials::Plain {
            username: creds[0].to_vec(),
            password: creds[1].to_vec(),
        },
        "CURVE" if creds.len() == 1 => {
            let public_key = <[u8; 32]>::try_from(&creds[0][..]).map_err(|_| {
                malformed(format!(
                    "CURVE key frame has {} bytes, expected 32",
                    creds[0].len()
                ))
            })?;
            Credentials::Curve { public_key }
        }
        "NULL" | "PLAIN" | "CURVE" => {
            return Err(malformed(format!(
                "{mechanism} request with {} credential frame(s) (NULL has 0, PLAIN 2, CURVE 1)",
                creds.len()
            )));
        }
        _ => Credentials::Other,
    };
    Ok(Request {
        request_id,
        domain,
        address,
        mechanism,
        credentials,
    })
}

/// Builds the reply: the envelope as it came, then the seven reply frames.
pub(crate) fn reply(
    envelope: Vec<zmq::Frame>,
    request_id: &[u8],
    code: &str,
    text: &str,
    user_id: &str,
    metadata: &[u8],
) -> Multipart {
    let mut msg: Multipart = envelope.into_iter().collect();
    msg.push(VERSION)
        .push(request_id)
        .push(code)
        .push(text)
        .push(user_id)
        .push(metadata);
    msg
}

/// Encodes properties as ZMTP metadata: per property a 1-byte name length,
/// the name, a 4-byte big-endian value length and the value. Names and
/// values were checked when configured (name 1..=255 bytes).
pub(crate) fn encode_metadata(properties: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in properties {
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(value.len() as u32).to_be_bytes());
        out.extend_from_slice(value.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(parts: &[&[u8]]) -> Vec<zmq::Frame> {
        parts.iter().map(|p| zmq::Frame::from(*p)).collect()
    }

    #[test]
    fn splits_envelope_at_the_delimiter() {
        let msg: Multipart = frames(&[b"rid", b"", b"1.0", b"7"]).into();
        let (envelope, body) = split(msg);
        assert_eq!(envelope.len(), 2);
        assert_eq!(body.unwrap().len(), 2);
    }

    #[test]
    fn missing_delimiter_still_gets_an_envelope() {
        let msg: Multipart = frames(&[b"rid", b"1.0", b"7"]).into();
        let (envelope, body) = split(msg);
        assert_eq!(envelope.len(), 2);
        assert!(envelope[1].is_empty());
        assert_eq!(body.unwrap_err().request_id, b"7");
    }

    #[test]
    fn parses_each_mechanism() {
        let null = parse(&frames(&[b"1.0", b"1", b"d", b"127.0.0.1", b"", b"NULL"])).unwrap();
        assert_eq!(null.credentials, Credentials::Null);
        let plain = parse(&frames(&[
            b"1.0", b"1", b"d", b"a", b"", b"PLAIN", b"u", b"p",
        ]))
        .unwrap();
        assert_eq!(
            plain.credentials,
            Credentials::Plain {
                username: b"u".to_vec(),
                password: b"p".to_vec()
            }
        );
        let key = [7u8; 32];
        let curve = parse(&frames(&[b"1.0", b"1", b"d", b"a", b"", b"CURVE", &key])).unwrap();
        assert_eq!(curve.credentials, Credentials::Curve { public_key: key });
        let other = parse(&frames(&[b"1.0", b"1", b"d", b"a", b"", b"GSSAPI", b"x"])).unwrap();
        assert_eq!(other.credentials, Credentials::Other);
    }

    #[test]
    fn rejects_malformed_requests_with_the_request_id() {
        let cases: Vec<Vec<&[u8]>> = vec![
            vec![b"1.0", b"9"],
            vec![b"2.0", b"9", b"d", b"a", b"", b"NULL"],
            vec![b"1.0", b"9", b"\xff", b"a", b"", b"NULL"],
            vec![b"1.0", b"9", b"d", b"a", b"", b"PLAIN", b"only-user"],
            vec![b"1.0", b"9", b"d", b"a", b"", b"CURVE", b"short"],
            vec![b"1.0", b"9", b"d", b"a", b"", b"NULL", b"extra"],
        ];
        for case in cases {
            let err = parse(&frames(&case)).unwrap_err();
            assert_eq!(err.request_id, b"9", "{case:?}");
            assert!(!err.reason.is_empty());
        }
        assert_eq!(parse(&[]).unwrap_err().request_id, b"");
    }

    #[test]
    fn reply_has_seven_frames_after_the_envelope() {
        let msg = reply(frames(&[b"rid", b""]), b"1", "200", "OK", "alice", b"");
        assert_eq!(msg.len(), 8);
        assert_eq!(msg.frame_str(4), Some("200"));
    }

    #[test]
    fn metadata_encoding() {
        let bytes = encode_metadata(&[("Role".into(), "admin".into())]);
        assert_eq!(bytes, b"\x04Role\x00\x00\x00\x05admin");
    }
}
