//! Turning messages into bytes for stdout, and stdin chunks into messages.

use calloop_zmq::Multipart;

use crate::args::Format;

/// How received messages are written.
#[derive(Debug, Clone)]
pub struct Output {
    /// The output format.
    pub format: Format,
    /// Joins frames (all formats but JSON).
    pub separator: Vec<u8>,
    /// Ends a message (all formats but JSON, which writes JSON lines).
    pub delimiter: Vec<u8>,
}

impl Output {
    /// Appends `msg`, encoded, to `out`.
    pub fn write(&self, msg: &Multipart, out: &mut Vec<u8>) {
        match self.format {
            Format::Json => {
                write_json(msg, out);
                out.push(b'\n');
                return;
            }
            Format::Text | Format::Raw | Format::Hex => {}
        }
        for (i, frame) in msg.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(&self.separator);
            }
            match self.format {
                Format::Raw => out.extend_from_slice(frame),
                Format::Hex => push_hex(frame, out),
                _ if self.is_printable(frame) => out.extend_from_slice(frame),
                _ => {
                    out.extend_from_slice(b"0x");
                    push_hex(frame, out);
                }
            }
        }
        out.extend_from_slice(&self.delimiter);
    }

    /// In the text format a frame prints as itself when it is UTF-8 without
    /// control characters, holds no byte of the separator or the delimiter
    /// (so it cannot be mistaken for either, nor run into one), and does not
    /// begin with `0x`. Every other frame prints as `0x` and its hex, so
    /// what begins with `0x` is always hex and [`parse_id`] reads every
    /// printed routing id back to the same bytes.
    fn is_printable(&self, frame: &[u8]) -> bool {
        let Ok(text) = std::str::from_utf8(frame) else {
            return false;
        };
        !text.starts_with(HEX_PREFIX)
            && !text.chars().any(char::is_control)
            && !frame
                .iter()
                .any(|b| self.separator.contains(b) || self.delimiter.contains(b))
    }
}

/// What marks a hex frame in the text format and a hex routing id on input.
pub const HEX_PREFIX: &str = "0x";

/// The bytes the text format uses for a hex frame: a separator or
/// delimiter made of none of them never occurs inside one.
pub const HEX_OUTPUT_BYTES: &[u8] = b"0123456789abcdefx";

/// A routing id as typed (or as printed in the text format): `0x` followed
/// by an even number of hex digits (either case) is those bytes; anything
/// else is the text itself. The inverse of the text format's printing of a
/// frame, for every byte string.
pub fn parse_id(text: &[u8]) -> Vec<u8> {
    text.strip_prefix(HEX_PREFIX.as_bytes())
        .and_then(parse_hex)
        .unwrap_or_else(|| text.to_vec())
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends lower-case hex digits of `bytes`.
pub fn push_hex(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 15)]);
    }
}

/// Decodes hex digits (either case); `None` if `text` is not an even number of them.
pub fn parse_hex(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks(2)
        .map(|pair| {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect()
}

/// A message as a JSON array: text frames as strings, other frames as
/// `{"hex": "..."}`. A small writer of our own: this is all the JSON zmqcat needs.
pub fn write_json(msg: &Multipart, out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, frame) in msg.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match std::str::from_utf8(frame) {
            Ok(text) => push_json_string(text, out),
            Err(_) => {
                out.extend_from_slice(b"{\"hex\":\"");
                push_hex(frame, out);
                out.extend_from_slice(b"\"}");
            }
        }
    }
    out.push(b']');
}

fn push_json_string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in text.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// How stdin chunks become messages.
#[derive(Debug, Clone)]
pub struct Input {
    /// Splits a chunk into frames; `None` sends each chunk as one frame.
    pub separator: Option<Vec<u8>>,
    /// The first frame is a routing id (ROUTER, STREAM): accept `0x...` hex
    /// there, the way binary ids are printed.
    pub routing_id_first: bool,
}

impl Input {
    /// The message for one chunk of stdin (without its delimiter).
    pub fn parse(&self, chunk: &[u8]) -> Multipart {
        let mut msg = Multipart::new();
        let frames: Vec<&[u8]> = match &self.separator {
            Some(sep) => split(chunk, sep),
            None => vec![chunk],
        };
        for (i, frame) in frames.into_iter().enumerate() {
            if i == 0 && self.routing_id_first {
                msg.push(parse_id(frame));
            } else {
                msg.push(frame);
            }
        }
        msg
    }
}

fn split<'a>(chunk: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut frames = Vec::new();
    let mut rest = chunk;
    while let Some(at) = rest.windows(sep.len()).position(|w| w == sep) {
        frames.push(&rest[..at]);
        rest = &rest[at + sep.len()..];
    }
    frames.push(rest);
    frames
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn out(format: Format) -> Output {
        Output {
            format,
            separator: b"\t".to_vec(),
            delimiter: b"\n".to_vec(),
        }
    }

    fn render(o: &Output, msg: &Multipart) -> String {
        let mut buf = Vec::new();
        o.write(msg, &mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }

    #[test]
    fn text_prints_binary_frames_as_hex() {
        let msg = Multipart::from(vec![vec![0u8, 0x80, 0, 0, 0x29], b"hello".to_vec()]);
        assert_eq!(render(&out(Format::Text), &msg), "0x0080000029\thello\n");
        let tabbed = Multipart::from(b"a\tb".to_vec());
        assert_eq!(render(&out(Format::Text), &tabbed), "0x610962\n");
    }

    #[test]
    fn text_that_looks_like_hex_prints_as_hex() {
        // A routing id of four ASCII bytes "0xab" is not the byte 0xAB.
        let msg = Multipart::from(vec![b"0xab".to_vec(), b"ping".to_vec()]);
        assert_eq!(render(&out(Format::Text), &msg), "0x30786162\tping\n");
        assert_eq!(parse_id(b"0x30786162"), b"0xab");
        assert_eq!(parse_id(b"0xAB"), vec![0xab]);
        assert_eq!(parse_id(b"0xa"), b"0xa", "odd digits: text");
        assert_eq!(parse_id(b"0X41"), b"0X41", "only 0x marks hex");
        assert_eq!(parse_id(b""), b"");
        assert_eq!(
            render(&out(Format::Text), &Multipart::from(b"0X41".to_vec())),
            "0X41\n"
        );
    }

    #[test]
    fn hex_and_raw() {
        let msg = Multipart::from(vec![b"ab".to_vec(), vec![]]);
        assert_eq!(render(&out(Format::Hex), &msg), "6162\t\n");
        assert_eq!(render(&out(Format::Raw), &msg), "ab\t\n");
    }

    #[test]
    fn json_escapes_and_hex() {
        let msg = Multipart::from(vec![b"q\"\\\n\x01".to_vec(), vec![0xff, 0x00]]);
        assert_eq!(
            render(&out(Format::Json), &msg),
            "[\"q\\\"\\\\\\n\\u0001\",{\"hex\":\"ff00\"}]\n"
        );
    }

    #[test]
    fn input_splits_frames_and_decodes_routing_ids() {
        let input = Input {
            separator: Some(b"|".to_vec()),
            routing_id_first: true,
        };
        let msg = input.parse(b"0x00800000ff||body|0x41");
        assert_eq!(
            msg.to_vecs(),
            vec![
                vec![0, 0x80, 0, 0, 0xff],
                vec![],
                b"body".to_vec(),
                b"0x41".to_vec()
            ]
        );
        let plain = Input {
            separator: None,
            routing_id_first: false,
        };
        assert_eq!(plain.parse(b"0x41|x").to_vecs(), vec![b"0x41|x".to_vec()]);
    }

    /// Separators and delimiters for which printed ids read back: no byte
    /// of the hex output, and none in common.
    fn separators() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
        let byte =
            any::<u8>().prop_filter("not a hex output byte", |b| !HEX_OUTPUT_BYTES.contains(b));
        (
            prop::collection::vec(byte.clone(), 1..4),
            prop::collection::vec(byte, 1..4),
        )
            .prop_filter("separator and delimiter share no byte", |(s, d)| {
                !s.iter().any(|b| d.contains(b))
            })
    }

    /// Ids that are most likely to be misread: text beginning with 0x.
    fn ids() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..40),
            "0x[0-9a-fA-F]{0,12}".prop_map(String::into_bytes),
            "[ -~]{0,16}".prop_map(String::into_bytes),
        ]
    }

    proptest! {
        /// What the text format prints as a routing id, typed back on a
        /// ROUTER's stdin, is the same id: print -> parse is the identity.
        #[test]
        fn printed_ids_parse_back(
            id in ids(),
            body in prop::collection::vec(any::<u8>(), 0..16),
            (separator, delimiter) in separators(),
        ) {
            let output = Output {
                format: Format::Text,
                separator: separator.clone(),
                delimiter: delimiter.clone(),
            };
            let mut printed = Vec::new();
            output.write(&Multipart::from(vec![id.clone(), body]), &mut printed);
            // Read it back the way the stdin thread does.
            let mut reader = std::io::Cursor::new(printed);
            let mut chunk = Vec::new();
            prop_assert!(crate::input::read_chunk(&mut reader, &delimiter, &mut chunk).unwrap());
            let input = Input { separator: Some(separator), routing_id_first: true };
            let msg = input.parse(&chunk);
            prop_assert_eq!(msg.frame(0), Some(&id[..]));
            prop_assert_eq!(msg.len(), 2);
        }

        /// The default separator and delimiter (tab, newline), any id.
        #[test]
        fn printed_ids_parse_back_with_defaults(id in ids()) {
            let mut printed = Vec::new();
            out(Format::Text).write(&Multipart::from(vec![id.clone()]), &mut printed);
            prop_assert_eq!(printed.pop(), Some(b'\n'));
            prop_assert_eq!(parse_id(&printed), id);
        }
    }
}
