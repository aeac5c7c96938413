//! Command-line arguments: what zmqcat is told to do, checked before any
//! socket exists.

use std::time::Duration;

use clap::{Parser, ValueEnum};

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

Endpoints are libzmq's: tcp://HOST:PORT (PORT may be * with --bind: the chosen
endpoint is printed on stderr), ipc://PATH, inproc is useless across processes.

EXIT STATUS: 0 on a normal end (stdin finished, --count reached, --timeout
without --count, Ctrl-C or SIGTERM), 1 when something failed (e.g. --timeout
passed before --count was reached), 2 for bad arguments.";

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
/// they send and print it as the first frame of what they receive. Binary
/// routing ids print as 0x... hex and are accepted back in that form.
///
/// PUB, PUSH and REQ stop when stdin ends (once everything was sent and, for
/// REQ, answered). Every type stops after --count messages, after --timeout,
/// or on Ctrl-C / SIGTERM; the others keep receiving after stdin ends, as
/// netcat does. At exit zmqcat still sends what is queued (up to --linger),
/// then prints a summary on stderr.
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

    /// The socket's identity (ZMQ_ROUTING_ID), how a ROUTER peer names it.
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

    /// Exit after receiving N messages (on PUB and PUSH: after sending N).
    #[arg(short = 'n', long, value_name = "N")]
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

    /// How long to keep trying to deliver queued messages at exit
    /// (ZMQ_LINGER); "-1" waits for ever.
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

    /// No progress line and no summary on stderr.
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
        }
    }

    /// True when the socket type can send at all (not SUB or PULL).
    pub fn can_send(self) -> bool {
        self.zmq_type().can_send()
    }

    /// True when the first frame of every message is a routing id.
    pub fn routes(self) -> bool {
        matches!(self, SocketKind::Router | SocketKind::Stream)
    }
}

/// How received messages are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Printable frames as they are, other frames as 0x-prefixed hex.
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
    /// Checks the combination of arguments and derives the settings.
    pub fn settle(self) -> Result<Settings, String> {
        if self.binds.is_empty() && self.connects.is_empty() {
            return Err("nothing to do: give at least one --bind or --connect endpoint".into());
        }
        for endpoint in self.binds.iter().chain(&self.connects) {
            check_endpoint(endpoint)?;
        }
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
        let input_separator = frame_separator
            .clone()
            .or_else(|| self.socket_type.routes().then(|| b"\t".to_vec()));
        let output_separator = frame_separator.unwrap_or_else(|| b"\t".to_vec());
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

/// Catches the commonest endpoint mistakes before libzmq gives its terse
/// "Invalid argument" or "Protocol not supported".
fn check_endpoint(endpoint: &str) -> Result<(), String> {
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
    if transport == "tcp" && !address.contains(':') {
        return Err(format!(
            "endpoint {endpoint:?} has no port: write tcp://{address}:PORT"
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
        assert!(check_endpoint("tcp://127.0.0.1:5555").is_ok());
        assert!(check_endpoint("tcp://127.0.0.1:*").is_ok());
        assert!(check_endpoint("ipc:///tmp/x").is_ok());
        let e = check_endpoint("5555").unwrap_err();
        assert!(e.contains("tcp://127.0.0.1:5555"), "{e}");
        assert!(
            check_endpoint("tcp://localhost")
                .unwrap_err()
                .contains("no port")
        );
        assert!(
            check_endpoint("htp://x:1")
                .unwrap_err()
                .contains("unknown transport")
        );
    }
}
