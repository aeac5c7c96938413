//! Raw ZMTP on a plain TCP connection, for the hostile-peer tests
//! (`reliability_hostile*.rs`): noise, greetings, commands, oversized
//! frame headers, and a check that the server hung up.
#![allow(dead_code)]

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::WAIT;

/// A deterministic byte stream (xorshift64).
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A ZMTP 3.0 greeting for the NULL mechanism.
pub fn greeting() -> Vec<u8> {
    let mut g = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0];
    let mut mech = b"NULL".to_vec();
    mech.resize(20, 0);
    g.extend_from_slice(&mech);
    g.push(0);
    g.extend_from_slice(&[0; 31]);
    g
}

/// A READY command announcing `socket_type`.
pub fn ready(socket_type: &str) -> Vec<u8> {
    let mut body = vec![5];
    body.extend_from_slice(b"READY");
    body.push(11);
    body.extend_from_slice(b"Socket-Type");
    body.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    body.extend_from_slice(socket_type.as_bytes());
    let mut frame = vec![0x04, body.len() as u8];
    frame.extend_from_slice(&body);
    frame
}

/// A long frame header claiming `size` bytes (flags 0x02 message, 0x06
/// command), followed by a little of the claimed body.
pub fn oversized(flags: u8, size: u64) -> Vec<u8> {
    let mut f = vec![flags];
    f.extend_from_slice(&size.to_be_bytes());
    f.extend_from_slice(&noise(7, 512));
    f
}

/// Opens a raw connection; errors are part of the attack's outcome, not
/// failures of the test, except for the connect itself.
pub fn raw(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).expect("raw connect");
    s.set_read_timeout(Some(Duration::from_millis(200))).ok();
    s
}

/// True once the server has closed `stream` (EOF or reset) within `WAIT`.
pub fn closed_by_server(stream: &mut TcpStream) -> bool {
    let deadline = Instant::now() + WAIT;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(_) => return true,
        }
    }
    false
}
