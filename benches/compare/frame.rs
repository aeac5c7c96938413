//! `--frame-threshold`: where copying an owned buffer into a frame stops
//! being cheaper than handing the buffer to libzmq.
//!
//! `Frame::from(Vec<u8>)` copies buffers of up to `COPY_THRESHOLD` bytes
//! into a frame libzmq allocates (and frees the `Vec` at once) and hands
//! larger ones over with `zmq_msg_init_data` and a free callback. What
//! matters is the whole path, not the construction alone: a handed-over
//! buffer is freed by whoever closes the last copy of the message, here the
//! receiving thread, and libzmq allocates a separate reference count for it;
//! a copied one costs a `memcpy` on the sending thread (and up to 33 bytes
//! live inside the `zmq_msg_t`, no allocation at all).
//!
//! So for each size a producer makes an owned `Vec<u8>` per message (one
//! allocation and copy from a static payload, the same for every method),
//! turns it into a frame by one of three methods and sends it with a
//! blocking `zmq_msg_send` on a PUSH; a PULL on another thread receives
//! every message into one reused frame, which closes (and so frees) the
//! previous one there:
//!
//! - `copy`: `zmq::Frame::from(&v[..])`, then `drop(v)`;
//! - `hand-over`: `zmq_msg_init_data(v's buffer, free callback)` through
//!   calloop-zmq-sys (the callback rebuilds and drops the `Vec` on the
//!   receiving thread);
//! - `Frame::from(Vec)`: what the library does today, at its current
//!   `COPY_THRESHOLD`.
//!
//! Rate = messages / time from the first measured send to the PULL having
//! the last one, after a warm-up of 1000 messages; rounds interleave the
//! three methods and ratios are taken within a round, as in the rest of the
//! runner. inproc by default (one context, messages move as pointers, so
//! the cost of building and freeing frames is all there is); name `ipc` or
//! `tcp` to measure those too.

use std::ffi::c_void;
use std::mem::ManuallyDrop;
use std::sync::mpsc;

use calloop_zmq::zmq;
use calloop_zmq_sys as sys;

use crate::common::{
    Mark, Sample, Site, Transport, bind, join, payload, send_frame, socket, spawn, wait_for,
};
use crate::{Config, fmt_rate, fmt_us, median, min_max};

/// Frame sizes measured, in bytes.
/// 32 and 48 sit on either side of libzmq's 33-byte limit for frames that
/// live inside the `zmq_msg_t` (no allocation when copied).
pub const SIZES: [usize; 12] = [
    16, 32, 48, 64, 256, 512, 1024, 2048, 4096, 8192, 16384, 65536,
];

const WARMUP: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Copy,
    HandOver,
    Library,
}

impl Method {
    const ALL: [Method; 3] = [Method::Copy, Method::HandOver, Method::Library];

    fn name(self) -> &'static str {
        match self {
            Method::Copy => "copy",
            Method::HandOver => "hand-over",
            Method::Library => "Frame::from(Vec)",
        }
    }
}

/// Frees a `Vec<u8>` handed to libzmq in [`hand_over`]; `hint` is its
/// capacity.
unsafe extern "C" fn free_vec(data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `data` is the buffer of a `Vec<u8>` of capacity `hint.addr()`
    // that `hand_over` forgot; libzmq calls this exactly once.
    drop(unsafe { Vec::from_raw_parts(data.cast::<u8>(), 0, hint.addr()) });
}

/// A frame that owns `v`'s buffer without copying it: `zmq_msg_init_data`
/// with a callback that frees it.
fn hand_over(v: Vec<u8>) -> zmq::Frame {
    let mut v = ManuallyDrop::new(v);
    let (data, len, capacity) = (v.as_mut_ptr(), v.len(), v.capacity());
    let mut msg = sys::zmq_msg_t::zeroed();
    // SAFETY: the buffer stays valid and unchanged until libzmq calls
    // `free_vec` with its capacity, which frees it once.
    let rc = unsafe {
        sys::zmq_msg_init_data(
            &mut msg,
            data.cast(),
            len,
            Some(free_vec),
            std::ptr::without_provenance_mut(capacity),
        )
    };
    if rc != 0 {
        drop(ManuallyDrop::into_inner(v));
        panic!("zmq_msg_init_data failed");
    }
    // SAFETY: `msg` is an initialised message that only this frame owns.
    unsafe { zmq::Frame::from_raw(msg) }
}

/// One message of `size` bytes: an owned `Vec` made into a frame by `method`.
#[inline]
fn build(method: Method, size: usize) -> zmq::Frame {
    let v = payload(size).to_vec();
    match method {
        Method::Copy => {
            let frame = zmq::Frame::from(&v[..]);
            drop(v);
            frame
        }
        Method::HandOver => hand_over(v),
        Method::Library => zmq::Frame::from(v),
    }
}

/// Sends `warmup` then `count` frames built by `method` from a PUSH on this
/// thread to a PULL on another; returns the rate of the measured part.
fn run(
    method: Method,
    transport: Transport,
    size: usize,
    count: usize,
    ipc_dir: &std::path::Path,
) -> Sample {
    let site = Site::new(transport, ipc_dir);
    let (ep_tx, ep_rx) = mpsc::channel();
    let (warm_tx, warm_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let (peer_ctx, bind_ep) = (site.peer.clone(), site.bind.clone());
    let pull = spawn("frame-sink", move || {
        let s = socket(&peer_ctx, zmq::SocketType::Pull);
        let _ = ep_tx.send(bind(&s, &bind_ep));
        let mut msg = zmq::Frame::new();
        for _ in 0..WARMUP {
            s.recv_into(&mut msg, 0).expect("frame sink: warm-up recv");
        }
        let _ = warm_tx.send(());
        for _ in 0..count {
            s.recv_into(&mut msg, 0).expect("frame sink: recv");
        }
        let _ = done_tx.send(Mark::now());
    });
    let ep = wait_for(&ep_rx, "the frame sink's endpoint");
    let s = socket(&site.variant, zmq::SocketType::Push);
    s.connect(&ep).expect("frame: connect");
    for _ in 0..WARMUP {
        send_frame(&s, build(method, size), "frame warm-up");
    }
    wait_for(&warm_rx, "the warm-up to arrive");
    let start = Mark::now();
    for _ in 0..count {
        send_frame(&s, build(method, size), "frame");
    }
    let end = wait_for(&done_rx, "the frame sink to get everything");
    join(pull, "frame sink");
    Sample::rate(count, start, end)
}

/// The `--frame-threshold` mode: a table per transport and the measured
/// threshold.
pub fn main(cfg: &Config, ipc_dir: &std::path::Path) {
    let transports: Vec<Transport> = Transport::ALL
        .into_iter()
        .filter(|t| {
            if cfg.filters.is_empty() {
                *t == Transport::Inproc
            } else {
                cfg.filters.iter().any(|f| t.name().contains(f.as_str()))
            }
        })
        .collect();
    println!(
        "# Frame copy threshold: an owned Vec<u8> per message, made into a frame by copying \
         (copy: Frame::from(&v[..]), then drop v) or by handing it over (hand-over: \
         zmq_msg_init_data with a free callback; the receiving thread frees it), sent by a \
         blocking PUSH to a PULL on another thread; Frame::from(Vec) is the library today \
         (COPY_THRESHOLD = {}). {} rounds per size; ratios: to copy in the same round",
        zmq::COPY_THRESHOLD,
        cfg.rounds
    );
    println!(
        "{:<6} {:>6}  {:>10} {:>10} {:>16}  {:>22}  {:>9}  {:>9} {:>9}",
        "trans",
        "size",
        Method::Copy.name(),
        Method::HandOver.name(),
        Method::Library.name(),
        "hand-over/copy (range)",
        "lib/copy",
        "cpu copy",
        "cpu hand"
    );
    for transport in transports {
        let mut ratios = Vec::new();
        for size in SIZES {
            let probe = if size <= 4096 { 20_000 } else { 5_000 };
            let secs = if cfg.quick { 0.02 } else { 0.2 } * cfg.scale;
            // Sized from the faster of two probes of `copy`, as the cells are.
            let probe_rate = || run(Method::Copy, transport, size, probe, ipc_dir).headline();
            let rate = probe_rate().max(probe_rate());
            let count = (rate * secs).clamp(1_000.0, 5_000_000.0) as usize;
            let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); Method::ALL.len()];
            for _round in 0..cfg.rounds {
                for (i, method) in Method::ALL.into_iter().enumerate() {
                    samples[i].push(run(method, transport, size, count, ipc_dir));
                }
            }
            let rates: Vec<Vec<f64>> = samples
                .iter()
                .map(|s| s.iter().map(Sample::headline).collect())
                .collect();
            let per_round = |i: usize| -> Vec<f64> {
                rates[i].iter().zip(&rates[0]).map(|(a, b)| a / b).collect()
            };
            let (hand, lib) = (per_round(1), per_round(2));
            let (lo, hi) = min_max(&hand);
            let cpu = |i: usize| {
                median(
                    &samples[i]
                        .iter()
                        .map(Sample::cpu_per_msg)
                        .collect::<Vec<_>>(),
                )
            };
            println!(
                "{:<6} {:>6}  {:>10} {:>10} {:>16}  {:>6.3} ({:.2} .. {:.2})  {:>9.3}  {:>9} {:>9}",
                transport.name(),
                size,
                fmt_rate(median(&rates[0])),
                fmt_rate(median(&rates[1])),
                fmt_rate(median(&rates[2])),
                median(&hand),
                lo,
                hi,
                median(&lib),
                fmt_us(cpu(0)),
                fmt_us(cpu(1))
            );
            ratios.push((size, median(&hand)));
        }
        report(transport, &ratios);
    }
}

/// Prints where handing over starts to win: the smallest measured size from
/// which on every larger size hand-over beat copying, and so the threshold
/// (the largest size still copied) the measurement suggests.
fn report(transport: Transport, ratios: &[(usize, f64)]) {
    let from = ratios
        .iter()
        .rposition(|&(_, r)| r <= 1.0)
        .map_or(0, |i| i + 1);
    match (from.checked_sub(1).map(|i| ratios[i].0), ratios.get(from)) {
        (Some(copied), Some(&(first, _))) => println!(
            "# {}: copying is as fast or faster up to {copied} B; handing over wins from {first} B \
             on (every larger size too)",
            transport.name()
        ),
        (None, _) => println!(
            "# {}: handing over won at every size measured (from {} B)",
            transport.name(),
            ratios[0].0
        ),
        (Some(_), None) => println!(
            "# {}: copying was as fast or faster at every size measured (up to {} B)",
            transport.name(),
            ratios[ratios.len() - 1].0
        ),
    }
    let measured = from.checked_sub(1).map_or(0, |i| ratios[i].0);
    println!(
        "FRAME_THRESHOLD {} {measured} current {}",
        transport.name(),
        zmq::COPY_THRESHOLD
    );
}
