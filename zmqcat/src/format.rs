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

    /// A frame prints as text when it is UTF-8 without control characters
    /// and cannot be mistaken for a separator or delimiter.
    fn is_printable(&self, frame: &[u8]) -> bool {
        let Ok(text) = std::str::from_utf8(frame) else {
            return false;
        };
        !text.chars().any(char::is_control)
            && !contains(frame, &self.separator)
            && !contains(frame, &self.delimiter)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
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
            let decoded = (i == 0 && self.routing_id_first)
                .then(|| frame.strip_prefix(b"0x").and_then(parse_hex))
                .flatten();
            match decoded {
                Some(id) => msg.push(id),
                None => msg.push(frame),
            };
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
}
