//! Helpers the reliability tests alone share: memory readings and sequence
//! checking. Waits, endpoints and child processes are `crate::support`'s.
#![allow(dead_code)]

/// Resident set size of this process in bytes, from /proc/self/statm.
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc_sysconf_pagesize() };
    pages * page
}

unsafe extern "C" {
    fn sysconf(name: i32) -> i64;
}

unsafe fn libc_sysconf_pagesize() -> u64 {
    // _SC_PAGESIZE is 30 on Linux.
    let v = unsafe { sysconf(30) };
    if v > 0 { v as u64 } else { 4096 }
}

/// Checks a stream of sequence numbers that should be 0, 1, 2, ...
#[derive(Debug, Default, Clone)]
pub struct SeqCheck {
    /// The next number expected.
    pub next: u64,
    /// Messages received.
    pub received: u64,
    /// Numbers skipped over (a gap counts each missing number).
    pub lost: u64,
    /// Numbers received again after they had been seen.
    pub duplicated: u64,
    /// Numbers that arrived after a later one (counted as out of order).
    pub reordered: u64,
}

impl SeqCheck {
    pub fn push(&mut self, seq: u64) {
        self.received += 1;
        if seq == self.next {
            self.next += 1;
        } else if seq > self.next {
            self.lost += seq - self.next;
            self.next = seq + 1;
        } else {
            // Either seen before or arrived late: with a strictly increasing
            // stream we cannot tell which without a set; callers that can
            // duplicate use `seen` bitmaps. Count as both signals of trouble.
            self.duplicated += 1;
            self.reordered += 1;
        }
    }

    pub fn clean(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.reordered == 0
    }
}

/// Encodes a sequence number as 8 bytes.
pub fn seq_bytes(seq: u64) -> Vec<u8> {
    seq.to_le_bytes().to_vec()
}

/// Decodes a sequence number; `None` when the frame is not 8 bytes.
pub fn seq_of(frame: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(frame.try_into().ok()?))
}
