//! Command-line arguments: what zmqcat is told to do, checked before any
//! socket exists.

use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::format::HEX_OUTPUT_BYTES;

const EXAMPLES: &str = "\
EXAMPLES:
  Pipe lines from one terminal to another (PUSH -> PULL):
    zmqcat pull --bind tcp://127.0.0.1:5555
    seq 5 | zmqcat push --connect tcp://127.0.0.1:5555

  Ask an echo server (REP) a question, interactively (REQ):
    zmqcat rep --bind tcp://127.0.0.1:5556 --echo
    zmqcat req --connect tcp://127.0.0.1:5556

  Watch a publisher's \"weather.\" topic as JSON, stop after 10 messages:
    zmqcat sub --connect tcp://127.0.0.1:5557 --subscribe weather. --format json --count 10

  Send a two-frame message to a ROUTER peer named \"worker-1\":
    printf 'worker-1\\thello\\n' | zmqcat router --bind ipc:///tmp/r.sock

ENDPOINTS are libzmq's, checked before libzmq sees them:
  tcp://HOST:PORT  HOST is an IPv4 address, an IPv6 address in brackets
                   ([::1], needs --ipv6), a host name, or with --bind an
                   interface name or * (all interfaces); PORT is 0-65535, or
                   * with --bind (the chosen endpoint is printed on stderr).
  ipc://PATH       a Unix socket path (at most 107 bytes).
  inproc://NAME    within one process only, so of little use to zmqcat.
  pgm://, epgm://  passed to libzmq as they are.

ROUTING IDS: in the text format a frame prints as itself when it is plain
text (UTF-8, no control characters, no byte of the frame separator or
delimiter) that does not begin with 0x; any other frame prints as 0x and its
hex digits. ROUTER and STREAM read the first frame of each input line back
the same way: 0x followed by an even number of hex digits is those bytes,
anything else is the text itself. So every id prints in a form that types
back as the same id: a peer named \"0xab\" (four characters) prints as
0x30786162, the single byte 0xAB as 0xab.

WHAT \"SENT\" MEANS: the summary counts messages handed to libzmq. ZeroMQ does
not confirm delivery; zmqcat says what it can know: for REQ, how many
requests were answered; for tcp and ipc, how many peers connected (per the
socket monitor). After stdin ends with messages handed over and no peer
yet, it waits up to --linger for one. \"printed\" counts messages written to
stdout in full: fewer than received when stdout closed early (what a reader
such as head took from the pipe but did not show, zmqcat cannot see).

HOW LONG IT WAITS: once zmqcat is ending (stdin done on PUB, PUSH and REQ,
--count, --timeout, a signal) it takes at most --linger more: waiting for a
peer, sending what is queued and libzmq delivering what it holds share that
one deadline; what is still queued then is reported, not sent. A second
Ctrl-C ends the wait at once. While stdin is read, an outbox that is full
(so reading waits) and that the socket takes nothing from for --linger,
with no peer connected, makes zmqcat give up: the peer never came, or left.
A connected peer that reads slowly holds zmqcat back (backpressure) as long
as it stays; --timeout bounds that. --linger -1 waits for ever.

EXIT STATUS:
  0  a normal end with nothing known lost: stdin finished and all sent,
     --count reached, --timeout without --count, Ctrl-C or SIGTERM.
  1  something failed or was lost: --timeout passed before --count; a REQ
     request was never answered; messages were handed to libzmq but no
     peer ever connected (tcp and ipc); the socket refused a message (e.g.
     ROUTER: no peer has that routing id); messages were still queued when
     --linger ran out; zmqcat gave up waiting for a peer (see above); a
     bind or connect failed; the socket broke.
  2  bad arguments: an endpoint that is not valid, --identity not 1-255
     bytes, a --frame-separator that contains the --delimiter, --no-input
     on pub or push (nothing to do), --count 0, and the like.";

/// netcat for ZeroMQ: connect any socket type to stdin and stdout.
///
/// Every line read from stdin is sent as one message (or every chunk ending in
/// --delimiter); with --frame-separator a line becomes a multipart message.
/// Every message received is printed on stdout, one per line, its frames
/// separated by the frame separator (a tab unless given).
///
/// REQ sends a line and waits for the reply before the next; REP waits for a
/// request before sending a line as its reply (or echoes with --echo).
/// ROUTER and STREAM take the peer's routing id as the first frame of what
/// they send and print it as the first frame of what they receive; every
/// printed id can be typed back as printed (see ROUTING IDS below).
///
/// PUB, PUSH and REQ stop when stdin ends (REQ once the last request is
/// answered). Every type stops after --count messages, after --timeout,
/// or on Ctrl-C / SIGTERM; the others keep receiving after stdin ends, as
/// netcat does. At exit zmqcat still sends what is queued, for at most
/// --linger, then prints a summary on stderr (see HOW LONG IT WAITS).
#[derive(Debug, Parser)]
#[command(name = "zmqcat", version, after_help = EXAMPLES)]
pub struct Args {
    /// The socket type.
    #[arg(value_enum, ignore_case = true)]
    pub socket_type: SocketKind,

    /// Bind to ENDPOINT (repeatable), e.g. tcp://127.0.0.1:5555, tcp://127.0.0.1:*, ipc:///tmp/sock.
    #[arg(short, long = "bind", value_name = "ENDPOINT")]
    pub binds: Vec<String>,

    /// Connect to ENDPOINT (repeatable).
    #[arg(short, long = "connect", value_name = "ENDPOINT")]
    pub connects: Vec<String>,

    /// SUB/XSUB: subscribe to messages starting with PREFIX (repeatable).
    /// Without it a SUB socket subscribes to everything.
    #[arg(short, long = "subscribe", value_name = "PREFIX")]
    pub subscribe: Vec<String>,

    /// (draft) RADIO: the group each line is sent to; DISH: the group to
    /// join (at most 15 bytes, libzmq's ZMQ_GROUP_MAX_LENGTH).
    #[cfg(feature = "draft")]
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,

    /// The socket's identity (ZMQ_ROUTING_ID), how a ROUTER peer names it:
    /// 1 to 255 bytes.
    #[arg(short, long, value_name = "NAME")]
    pub identity: Option<String>,

    /// Output format of received messages.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// What ends a message, on stdin and on stdout. Escapes: \n \t \r \0 \\ \xNN.
    #[arg(short, long, value_name = "SEP", default_value = "\\n")]
    pub delimiter: String,

    /// What separates frames of a multipart message on stdin and stdout
    /// (escapes as for --delimiter). Without it stdin lines are single-frame
    /// messages (but ROUTER and STREAM split at tabs), and output frames are
    /// separated by tabs.
    #[arg(short = 'F', long, value_name = "SEP")]
    pub frame_separator: Option<String>,

    /// Exit after receiving N messages (on PUB and PUSH: after sending N);
    /// N is at least 1.
    #[arg(short = 'n', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Exit after this long (e.g. 500ms, 10s, 2m; a bare number is seconds).
    /// If --count was given and not reached, that is a failure (exit 1).
    #[arg(short, long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,

    /// Reply to every message received with the same message (an echo
    /// server; REP, ROUTER, DEALER, PAIR, STREAM). Stdin is not read.
    #[arg(short, long)]
    pub echo: bool,

    /// Do not read stdin (only receive).
    #[arg(long)]
    pub no_input: bool,

    /// How long zmqcat keeps trying to deliver what is queued once it is
    /// ending (stdin done, --count, --timeout, a signal), and how long it
    /// waits while no peer takes a message and stdin reading is held up
    /// (ZMQ_LINGER); "-1" waits for ever. What is not sent by then is
    /// reported, and the exit status is 1.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_linger, allow_hyphen_values = true)]
    pub linger: Linger,

    /// Send high-water mark (ZMQ_SNDHWM), in messages.
    #[arg(long, value_name = "N")]
    pub sndhwm: Option<i32>,

    /// Receive high-water mark (ZMQ_RCVHWM), in messages.
    #[arg(long, value_name = "N")]
    pub rcvhwm: Option<i32>,

    // Not a doc comment: rustdoc would read [::1] as a link.
    #[arg(
        long,
        help = "Allow IPv6 on tcp endpoints (ZMQ_IPV6), e.g. tcp://[::1]:5555"
    )]
    pub ipv6: bool,

    /// Messages the socket's outbox holds before stdin reading waits.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub outbox: u64,

    /// No progress line, no summary and no "bound to" line on stderr (except
    /// for an endpoint whose port libzmq chooses, * or 0: the line is the
    /// only way to learn it). Errors and warnings are still printed.
    #[arg(short, long)]
    pub quiet: bool,
}

/// The socket types zmqcat can open (all of libzmq's classic ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SocketKind {
    /// Exclusive pair: one peer, both directions.
    Pair,
    /// Publisher: sends to every matching subscriber, receives nothing.
    Pub,
    /// Subscriber: receives what matches --subscribe, sends nothing.
    Sub,
    /// Request: sends a line, prints the reply, sends the next line.
    Req,
    /// Reply: prints a request, replies with the next line (or --echo).
    Rep,
    /// Asynchronous request: sends and receives freely.
    Dealer,
    /// Asynchronous reply: messages carry the peer's routing id first.
    Router,
    /// Pipeline input: receives, sends nothing.
    Pull,
    /// Pipeline output: sends round-robin, receives nothing.
    Push,
    /// Publisher that also sees subscriptions (as 0x01... / 0x00... frames).
    Xpub,
    /// Subscriber that sends subscriptions as messages (0x01 + prefix).
    Xsub,
    /// Raw TCP: messages are [routing id, bytes].
    Stream,
    /// (draft) Thread-safe server: replies carry the client's routing id.
    #[cfg(feature = "draft")]
    Server,
    /// (draft) Thread-safe client of a SERVER.
    #[cfg(feature = "draft")]
    Client,
    /// (draft) Sends each line to the --group (udp:// or tcp).
    #[cfg(feature = "draft")]
    Radio,
    /// (draft) Joins the --group and prints what a RADIO sends to it.
    #[cfg(feature = "draft")]
    Dish,
    /// (draft) Thread-safe pipeline input.
    #[cfg(feature = "draft")]
    Gather,
    /// (draft) Thread-safe pipeline output.
    #[cfg(feature = "draft")]
    Scatter,
    /// (draft) Peer-to-peer, with routing ids.
    #[cfg(feature = "draft")]
    Peer,
    /// (draft) Thread-safe exclusive pair.
    #[cfg(feature = "draft")]
    Channel,
}

impl SocketKind {
    /// The libzmq socket type.
    pub fn zmq_type(self) -> calloop_zmq::zmq::SocketType {
        use calloop_zmq::zmq;
        match self {
            SocketKind::Pair => zmq::SocketType::Pair,
            SocketKind::Pub => zmq::SocketType::Pub,
            SocketKind::Sub => zmq::SocketType::Sub,
            SocketKind::Req => zmq::SocketType::Req,
            SocketKind::Rep => zmq::SocketType::Rep,
            SocketKind::Dealer => zmq::SocketType::Dealer,
            SocketKind::Router => zmq::SocketType::Router,
            SocketKind::Pull => zmq::SocketType::Pull,
            SocketKind::Push => zmq::SocketType::Push,
            SocketKind::Xpub => zmq::SocketType::Xpub,
            SocketKind::Xsub => zmq::SocketType::Xsub,
            SocketKind::Stream => zmq::SocketType::Stream,
            #[cfg(feature = "draft")]
            SocketKind::Server => zmq::SocketType::Server,
            #[cfg(feature = "draft")]
            SocketKind::Client => zmq::SocketType::Client,
            #[cfg(feature = "draft")]
            SocketKind::Radio => zmq::SocketType::Radio,
            #[cfg(feature = "draft")]
            SocketKind::Dish => zmq::SocketType::Dish,
            #[cfg(feature = "draft")]
            SocketKind::Gather => zmq::SocketType::Gather,
            #[cfg(feature = "draft")]
            SocketKind::Scatter => zmq::SocketType::Scatter,
            #[cfg(feature = "draft")]
            SocketKind::Peer => zmq::SocketType::Peer,
            #[cfg(feature = "draft")]
            SocketKind::Channel => zmq::SocketType::Channel,
        }
    }

    /// True when the socket type can send at all (not SUB or PULL).
    pub fn can_send(self) -> bool {
        self.zmq_type().can_send()
    }

    /// True when the socket type receives at all (not PUB or PUSH).
    pub fn can_receive(self) -> bool {
        self.zmq_type().can_recv()
    }

    /// The name as typed on the command line.
    pub fn name(self) -> String {
        self.to_possible_value()
            .map(|v| v.get_name().to_owned())
            .unwrap_or_else(|| format!("{self:?}"))
    }

    /// True when the first frame of every message is a routing id.
    pub fn routes(self) -> bool {
        matches!(self, SocketKind::Router | SocketKind::Stream)
    }
}

/// How received messages are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Plain text frames as they are; other frames, and text beginning
    /// with 0x, as 0x-prefixed hex.
    Text,
    /// Frames' bytes exactly as received (for binary pipes).
    Raw,
    /// Every frame as hex.
    Hex,
    /// One JSON array per line; a frame is a string, or {"hex": "..."}
    /// when it is not UTF-8 (--delimiter does not apply).
    Json,
}

/// ZMQ_LINGER as given: a duration or "for ever".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linger {
    /// Wait at most this long.
    For(Duration),
    /// Wait until everything is delivered (-1).
    Forever,
}

impl Linger {
    /// The value ZMQ_LINGER takes, in milliseconds.
    pub fn millis(self) -> i32 {
        match self {
            Linger::For(d) => d.as_millis().min(i32::MAX as u128) as i32,
            Linger::Forever => -1,
        }
    }
}

/// `zmqcat --version`'s text: the version and the libzmq it runs on.
pub fn long_version() -> String {
    let (major, minor, patch) = calloop_zmq::zmq::version();
    let curve = if calloop_zmq::zmq::has("curve") {
        "with CURVE"
    } else {
        "without CURVE"
    };
    format!(
        "{}\nlibzmq {major}.{minor}.{patch} {curve}",
        env!("CARGO_PKG_VERSION")
    )
}

/// Parses `500ms`, `10s`, `2m`, `1.5` (seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (t, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (try 500ms, 10s or 2m)"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("{text:?} is not a duration (must be positive)"));
    }
    Duration::try_from_secs_f64(value * scale).map_err(|e| format!("{text:?}: {e}"))
}

fn parse_linger(text: &str) -> Result<Linger, String> {
    if text.trim() == "-1" {
        return Ok(Linger::Forever);
    }
    parse_duration(text).map(Linger::For)
}

/// Turns `\n`, `\t`, `\r`, `\0`, `\\` and `\xNN` into the bytes they name.
pub fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'r') => out.push(b'\r'),
            Some(b'0') => out.push(0),
            Some(b'\\') => out.push(b'\\'),
            Some(b'x') => {
                let hex: Vec<u8> = bytes.by_ref().take(2).collect();
                let value = std::str::from_utf8(&hex)
                    .ok()
                    .filter(|h| h.len() == 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("{text:?}: \\x needs two hex digits"))?;
                out.push(value);
            }
            Some(other) => {
                return Err(format!(
                    "{text:?}: unknown escape \\{} (known: \\n \\t \\r \\0 \\\\ \\xNN)",
                    other as char
                ));
            }
            None => return Err(format!("{text:?}: ends with a lone backslash")),
        }
    }
    Ok(out)
}

/// Settings derived from the arguments, checked for consistency.
#[derive(Debug)]
pub struct Settings {
    /// The arguments as parsed.
    pub args: Args,
    /// --delimiter, unescaped.
    pub delimiter: Vec<u8>,
    /// What splits stdin messages into frames, if anything.
    pub input_separator: Option<Vec<u8>>,
    /// What joins frames on stdout.
    pub output_separator: Vec<u8>,
    /// Whether stdin is read.
    pub read_input: bool,
}

impl Args {
    /// The draft socket types: `--group` where it belongs, and then a clear
    /// refusal. They are thread-safe and have no ZMQ_FD, so calloop-zmq
    /// cannot put them on its loop yet (issue 19, item 3); zmqcat says so
    /// instead of hanging.
    #[cfg(feature = "draft")]
    fn check_draft(&self) -> Result<(), String> {
        let kind = self.socket_type;
        let grouped = matches!(kind, SocketKind::Radio | SocketKind::Dish);
        match &self.group {
            Some(_) if !grouped => {
                return Err("--group only applies to radio and dish sockets".into());
            }
            Some(group) if group.len() > 15 => {
                return Err(format!(
                    "--group {group:?} is {} bytes; libzmq allows at most 15 (ZMQ_GROUP_MAX_LENGTH)",
                    group.len()
                ));
            }
            None if grouped => return Err(format!("{} needs --group", kind.name())),
            _ => {}
        }
        if kind.zmq_type().is_thread_safe() {
            return Err(format!(
                "{} sockets are not supported yet: they are thread-safe draft sockets with no \
                 ZMQ_FD, which calloop-zmq cannot put on its event loop yet",
                kind.name()
            ));
        }
        Ok(())
    }

    /// Checks the combination of arguments and derives the settings.
    pub fn settle(self) -> Result<Settings, String> {
        if self.binds.is_empty() && self.connects.is_empty() {
            return Err("nothing to do: give at least one --bind or --connect endpoint".into());
        }
        for endpoint in &self.binds {
            check_endpoint(endpoint, Op::Bind)?;
        }
        for endpoint in &self.connects {
            check_endpoint(endpoint, Op::Connect)?;
        }
        if !self.ipv6
            && let Some(endpoint) = self
                .binds
                .iter()
                .chain(&self.connects)
                .find(|e| e.starts_with("tcp://") && e.contains('['))
        {
            return Err(format!(
                "endpoint {endpoint:?} has an IPv6 address: add --ipv6 (libzmq refuses it otherwise)"
            ));
        }
        #[cfg(feature = "draft")]
        self.check_draft()?;
        if !self.subscribe.is_empty()
            && !matches!(self.socket_type, SocketKind::Sub | SocketKind::Xsub)
        {
            return Err("--subscribe only applies to sub and xsub sockets".into());
        }
        if self.echo
            && !matches!(
                self.socket_type,
                SocketKind::Rep
                    | SocketKind::Router
                    | SocketKind::Dealer
                    | SocketKind::Pair
                    | SocketKind::Stream
            )
        {
            return Err(
                "--echo needs a socket that can answer: rep, router, dealer, pair or stream".into(),
            );
        }
        if let Some(identity) = &self.identity {
            check_identity(identity)?;
        }
        if self.no_input && !self.socket_type.can_receive() {
            return Err(format!(
                "--no-input leaves a {} socket nothing to do: it only sends, and only what stdin gives it",
                self.socket_type.name()
            ));
        }
        let delimiter = unescape(&self.delimiter).map_err(|e| format!("--delimiter {e}"))?;
        if delimiter.is_empty() {
            return Err("--delimiter must not be empty".into());
        }
        let frame_separator = match &self.frame_separator {
            Some(s) => {
                let sep = unescape(s).map_err(|e| format!("--frame-separator {e}"))?;
                if sep.is_empty() {
                    return Err("--frame-separator must not be empty".into());
                }
                Some(sep)
            }
            None => None,
        };
        if let Some(sep) = &frame_separator {
            check_separator_apart(sep, &delimiter)?;
        }
        let input_separator = frame_separator
            .clone()
            .or_else(|| self.socket_type.routes().then(|| b"\t".to_vec()));
        let output_separator = frame_separator.unwrap_or_else(|| b"\t".to_vec());
        if self.socket_type.routes() && self.format == Format::Text {
            check_ids_read_back(&output_separator, &delimiter)?;
        }
        let read_input = self.socket_type.can_send() && !self.echo && !self.no_input;
        Ok(Settings {
            args: self,
            delimiter,
            input_separator,
            output_separator,
            read_input,
        })
    }
}

/// The longest routing id libzmq takes (ZMQ_ROUTING_ID is 1-255 bytes).
const IDENTITY_MAX: usize = 255;

/// ZMQ_ROUTING_ID must be 1-255 bytes: checked here so a wrong one is a bad
/// argument named in words, not libzmq's EINVAL after the socket exists.
fn check_identity(identity: &str) -> Result<(), String> {
    let len = identity.len();
    if (1..=IDENTITY_MAX).contains(&len) {
        return Ok(());
    }
    Err(format!(
        "--identity is {len} bytes long; a ZeroMQ routing id is 1 to {IDENTITY_MAX} bytes"
    ))
}

/// A frame separator that contains the delimiter never splits a message
/// on stdin (the delimiter ends the chunk first), and on stdout the frames
/// of one message would look like separate messages: the pair is refused.
fn check_separator_apart(separator: &[u8], delimiter: &[u8]) -> Result<(), String> {
    if separator.windows(delimiter.len()).any(|w| w == delimiter) {
        return Err(
            "--frame-separator contains the --delimiter (\\n unless given): frames would read \
             as separate messages; choose another, e.g. -F '\\t' or -d '\\0'"
                .into(),
        );
    }
    Ok(())
}

/// ROUTER and STREAM print routing ids that the user types back: that
/// works for every id when neither the frame separator nor the delimiter
/// holds a byte of the hex form (`0x` and `0-9a-f`) and they share no byte
/// (see `format::parse_id`). Otherwise the combination is refused.
fn check_ids_read_back(separator: &[u8], delimiter: &[u8]) -> Result<(), String> {
    for (option, bytes) in [("--frame-separator", separator), ("--delimiter", delimiter)] {
        if let Some(&b) = bytes.iter().find(|b| HEX_OUTPUT_BYTES.contains(b)) {
            return Err(format!(
                "{option} contains {:?}, which routing ids printed as 0x... hex use; \
                 they could not be read back: choose another",
                b as char
            ));
        }
    }
    if separator.iter().any(|b| delimiter.contains(b)) {
        return Err(
            "--frame-separator and --delimiter share a byte: messages could not be read back"
                .into(),
        );
    }
    Ok(())
}

/// Whether an endpoint is to be bound or connected: `*` and port 0 only
/// make sense for a bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `--bind`.
    Bind,
    /// `--connect`.
    Connect,
}

/// The longest `ipc://` path the kernel takes (`sun_path` is 108 bytes on
/// Linux, one of them the terminating NUL).
const IPC_PATH_MAX: usize = 107;

/// Checks an endpoint before libzmq sees it, per transport, so a mistake is
/// a bad argument (exit 2) named in words, not libzmq's terse "Invalid
/// argument" or, worse, a bind to some other port. tcp: `HOST:PORT` (and an
/// optional `SOURCE;` before it on connect); ipc: a non-empty path that fits
/// a Unix socket address; inproc: a non-empty name. pgm, epgm and the
/// others are left to libzmq.
pub fn check_endpoint(endpoint: &str, op: Op) -> Result<(), String> {
    let Some((transport, address)) = endpoint.split_once("://") else {
        let hint = if endpoint.chars().all(|c| c.is_ascii_digit()) && !endpoint.is_empty() {
            format!(" (did you mean tcp://127.0.0.1:{endpoint}?)")
        } else {
            String::new()
        };
        return Err(format!(
            "endpoint {endpoint:?} has no transport: write it as tcp://HOST:PORT, ipc://PATH or inproc://NAME{hint}"
        ));
    };
    if !matches!(
        transport,
        "tcp" | "ipc" | "inproc" | "pgm" | "epgm" | "tipc" | "vmci" | "ws" | "wss" | "udp"
    ) {
        return Err(format!(
            "endpoint {endpoint:?}: unknown transport {transport:?} (tcp, ipc, inproc ...)"
        ));
    }
    if address.is_empty() {
        return Err(format!(
            "endpoint {endpoint:?} has no address after {transport}://"
        ));
    }
    let checked = match transport {
        "tcp" => check_tcp(address, op),
        "ipc" => check_ipc(address),
        // inproc: any non-empty name (checked above); pgm, epgm ...: libzmq's.
        _ => Ok(()),
    };
    checked.map_err(|why| format!("endpoint {endpoint:?}: {why}"))
}

/// `[SOURCE;]HOST:PORT`; a source address only on connect.
fn check_tcp(address: &str, op: Op) -> Result<(), String> {
    match address.split_once(';') {
        Some((source, peer)) => {
            if op == Op::Bind {
                return Err("a source address (SOURCE;HOST:PORT) only works with --connect".into());
            }
            check_host_port(source, Op::Bind)
                .map_err(|why| format!("source address {source:?}: {why}"))?;
            check_host_port(peer, op)
        }
        None => check_host_port(address, op),
    }
}

fn check_host_port(address: &str, op: Op) -> Result<(), String> {
    let Some((host, port)) = address.rsplit_once(':') else {
        return Err(format!("no port: write tcp://{address}:PORT"));
    };
    check_port(port, op)?;
    check_host(host, op)
}

fn check_port(port: &str, op: Op) -> Result<(), String> {
    if port.is_empty() {
        return Err("no port after the colon (a port is 0-65535, or * with --bind)".into());
    }
    if port == "*" {
        return match op {
            Op::Bind => Ok(()),
            Op::Connect => Err("port * (any free port) only works with --bind".into()),
        };
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "port {port:?} is not a number (a port is 0-65535, or * with --bind)"
        ));
    }
    match port.parse::<u32>() {
        Ok(n) if n <= 65535 => {
            if n == 0 && op == Op::Connect {
                return Err(
                    "port 0 cannot be connected to (it means any free port, for --bind)".into(),
                );
            }
            Ok(())
        }
        _ => Err(format!("port {port} is out of range 0-65535")),
    }
}

fn check_host(host: &str, op: Op) -> Result<(), String> {
    if host.is_empty() {
        return Err(
            "no host before the port (e.g. 127.0.0.1, [::1], localhost, or * with --bind)".into(),
        );
    }
    if host == "*" {
        return match op {
            Op::Bind => Ok(()),
            Op::Connect => Err("host * (every interface) only works with --bind".into()),
        };
    }
    if let Some(inside) = host.strip_prefix('[') {
        let Some(inside) = inside.strip_suffix(']') else {
            return Err(format!("{host:?} opens a bracket it does not close"));
        };
        // An optional %zone (link-local addresses: [fe80::1%eth0]).
        let address = inside.split_once('%').map_or(inside, |(a, _)| a);
        return address
            .parse::<std::net::Ipv6Addr>()
            .map(|_| ())
            .map_err(|_| format!("{inside:?} is not an IPv6 address"));
    }
    if host.contains(':') {
        return Err(format!(
            "{host:?} looks like an IPv6 address: write it in brackets, e.g. tcp://[{host}]:PORT"
        ));
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return host.parse::<std::net::Ipv4Addr>().map(|_| ()).map_err(|_| {
            format!("{host:?} is not an IPv4 address (four numbers 0-255, e.g. 127.0.0.1)")
        });
    }
    // A host name (connect) or an interface or host name (bind).
    let valid = host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{host:?} is not a host name, interface name or IP address (letters, digits, '-', '_' and dots)"
        ))
    }
}

fn check_ipc(path: &str) -> Result<(), String> {
    // Empty was refused above; `@name` (Linux's abstract namespace) and `*`
    // (a fresh path libzmq picks) are libzmq's to judge.
    if path.len() > IPC_PATH_MAX {
        return Err(format!(
            "the ipc path is {} bytes long; a Unix socket path has at most {IPC_PATH_MAX}",
            path.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1s").is_err());
        assert_eq!(parse_linger("-1"), Ok(Linger::Forever));
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape(r"a\tb\n"), Ok(b"a\tb\n".to_vec()));
        assert_eq!(unescape(r"\0\x01\\"), Ok(vec![0, 1, b'\\']));
        assert!(unescape(r"\q").is_err());
        assert!(unescape(r"\x1").is_err());
        assert!(unescape("\\").is_err());
    }

    #[test]
    fn endpoints() {
        let ok = |e: &str, op| {
            if let Err(why) = check_endpoint(e, op) {
                panic!("{e}: {why}");
            }
        };
        let bad = |e: &str, op, needle: &str| match check_endpoint(e, op) {
            Ok(()) => panic!("{e} passed"),
            Err(why) => assert!(why.contains(needle), "{e}: {why}"),
        };
        for e in [
            "tcp://127.0.0.1:5555",
            "tcp://127.0.0.1:*",
            "tcp://*:0",
            "tcp://[::1]:65535",
            "tcp://[fe80::1%eth0]:1",
            "tcp://eth0:5555",
            "tcp://my-host.example:1",
            "ipc:///tmp/x",
            "ipc://@abstract",
            "inproc://x",
            "epgm://eth0;239.192.1.1:5555",
        ] {
            ok(e, Op::Bind);
        }
        ok("tcp://localhost:5555", Op::Connect);
        ok("tcp://127.0.0.1:0;127.0.0.1:5555", Op::Connect);
        bad("5555", Op::Bind, "tcp://127.0.0.1:5555");
        bad("tcp://localhost", Op::Connect, "no port");
        bad("htp://x:1", Op::Bind, "unknown transport");
        bad("tcp://nonsense:xx", Op::Bind, "port \"xx\" is not a number");
        bad("tcp://127.0.0.1:", Op::Bind, "no port after the colon");
        bad(
            "tcp://127.0.0.1:abc",
            Op::Bind,
            "port \"abc\" is not a number",
        );
        bad(
            "tcp://127.0.0.1:-5",
            Op::Bind,
            "port \"-5\" is not a number",
        );
        bad(
            "tcp://127.0.0.1:99999",
            Op::Bind,
            "port 99999 is out of range 0-65535",
        );
        bad(
            "tcp://127.0.0.1:4294967296",
            Op::Bind,
            "out of range 0-65535",
        );
        bad(
            "tcp://999.1.1.1:5",
            Op::Bind,
            "\"999.1.1.1\" is not an IPv4 address",
        );
        bad("tcp://::1:5", Op::Bind, "in brackets");
        bad("tcp://[::g]:5", Op::Bind, "not an IPv6 address");
        bad("tcp://[::1:5", Op::Bind, "does not close");
        bad("tcp://:5", Op::Bind, "no host");
        bad("tcp://a b:5", Op::Bind, "not a host name");
        bad("tcp://127.0.0.1:*", Op::Connect, "only works with --bind");
        bad("tcp://*:5", Op::Connect, "only works with --bind");
        bad(
            "tcp://127.0.0.1:0",
            Op::Connect,
            "port 0 cannot be connected",
        );
        bad("tcp://a:1;b:2", Op::Bind, "only works with --connect");
        bad("ipc://", Op::Bind, "no address");
        bad("inproc://", Op::Connect, "no address");
        bad(
            &format!("ipc:///{}", "x".repeat(200)),
            Op::Bind,
            "at most 107",
        );
    }
}
