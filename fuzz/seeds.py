#!/usr/bin/env python3
"""Writes the seed corpus (fuzz/corpus/<target>/): a handful of valid and
nearly valid inputs per target. Run from anywhere; rewrites the files."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

def frames(*parts):
    """The fuzz crate's framing: one length byte, then the frame."""
    out = b""
    for p in parts:
        assert len(p) < 256
        out += bytes([len(p)]) + p
    return out

PUBLIC = b"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
SECRET = b"D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"
ZCERT = (b"#   ZeroMQ CURVE **secret** certificate\nmetadata\ncurve\n"
         b"    public-key = \"" + PUBLIC + b"\"\n    secret-key = \"" + SECRET + b"\"\n")

def ne_header(code, value):
    return struct.pack("<HI", code, value)  # libzmq: host order; x86_64 and aarch64 are little-endian

seeds = {
    "z85": {
        "hello_world_bytes": bytes([0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]),
        "hello_world_text": b"HelloWorld",
        "public_key": PUBLIC,
        "overflow": b"#####" + PUBLIC[5:],
        "odd_length": b"abc",
    },
    "curve_keys": {
        "zcert_secret": ZCERT,
        "zcert_public": b"metadata\ncurve\n    public-key = \"" + PUBLIC + b"\"\n",
        "bare_key": b"  " + PUBLIC + b"\n",
        "unquoted": b"public-key=" + PUBLIC + b"\nsecret-key=" + SECRET,
        "mismatched_pair": b"public-key = \"" + SECRET + b"\"\nsecret-key = \"" + SECRET + b"\"\n",
    },
    "zap_request": {
        "null": frames(b"rid", b"", b"1.0", b"1", b"fuzz", b"127.0.0.1", b"", b"NULL"),
        "plain_alice": frames(b"rid", b"", b"1.0", b"2", b"fuzz", b"127.0.0.1", b"", b"PLAIN", b"alice", b"secret"),
        "plain_wrong": frames(b"rid", b"", b"1.0", b"3", b"open", b"127.0.0.1", b"", b"PLAIN", b"bob", b"nope"),
        "curve_listed": frames(b"rid", b"", b"1.0", b"4", b"fuzz", b"::ffff:127.0.0.1", b"", b"CURVE", bytes([7] * 32)),
        "curve_any": frames(b"rid", b"", b"1.0", b"5", b"open", b"127.0.0.1", b"", b"CURVE", bytes(range(32))),
        "denied_address": frames(b"rid", b"", b"1.0", b"6", b"fuzz", b"10.0.0.1", b"", b"NULL"),
        "no_delimiter": frames(b"rid", b"1.0", b"7"),
    },
    "monitor_event": {
        "connected": frames(ne_header(0x0001, 9), b"tcp://127.0.0.1:5555"),
        "handshake_failed_protocol": frames(ne_header(0x2000, 0x11000001), b"tcp://127.0.0.1:5555"),
        "handshake_failed_auth": frames(ne_header(0x4000, 400), b"tcp://127.0.0.1:5555"),
        "bind_failed": frames(ne_header(0x0010, 98), b"tcp://127.0.0.1:1"),
        "short_header": frames(b"\x01\x00\x00", b"ep"),
        "three_frames": frames(ne_header(0x0001, 0), b"ep", b"extra"),
    },
}

for target, files in seeds.items():
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
