//! What the fuzz targets share: turning the fuzzer's bytes into frames.

use calloop_zmq::Multipart;

/// Splits `data` into frames: each frame is one length byte then that many
/// bytes (the last one cut short if the input ends). Simple enough that a
/// seed file can be written by hand (`fuzz/README.md`), and the fuzzer
/// reaches every frame count and size a parser cares about.
pub fn frames(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        out.push(tail[..len].to_vec());
        rest = &tail[len..];
    }
    out
}

/// [`frames`] as the multipart message a socket would deliver.
pub fn multipart(data: &[u8]) -> Multipart {
    Multipart::from(frames(data))
}
