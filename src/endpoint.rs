//! Binding and connecting with errors that name the endpoint.
//!
//! rust-zmq panics on an endpoint containing a NUL byte and its errors do not
//! say which endpoint failed. These functions do neither.
//!
//! ```
//! use calloop_zmq::zmq;
//! let ctx = zmq::Context::new();
//! let socket = ctx.socket(zmq::PULL).unwrap();
//! let err = calloop_zmq::bind(&socket, "tcp://no-such-host:1").unwrap_err();
//! assert!(err.to_string().contains("tcp://no-such-host:1"));
//! ```

use crate::error::{Error, Result};

fn checked<'a>(op: &'static str, endpoint: &'a str) -> Result<&'a str> {
    if endpoint.contains('\0') {
        return Err(Error::InvalidEndpoint {
            op,
            endpoint: endpoint.to_owned(),
        });
    }
    Ok(endpoint)
}

fn wrap(op: &'static str, endpoint: &str, r: zmq::Result<()>) -> Result<()> {
    r.map_err(|source| Error::Endpoint {
        op,
        endpoint: endpoint.to_owned(),
        source,
    })
}

/// Binds `socket` to `endpoint` (`tcp://127.0.0.1:*`, `ipc:///tmp/x`, `inproc://name` ...).
pub fn bind(socket: &zmq::Socket, endpoint: &str) -> Result<()> {
    wrap("bind", endpoint, socket.bind(checked("bind", endpoint)?))
}

/// Connects `socket` to `endpoint`.
pub fn connect(socket: &zmq::Socket, endpoint: &str) -> Result<()> {
    wrap(
        "connect",
        endpoint,
        socket.connect(checked("connect", endpoint)?),
    )
}

/// Undoes a [`bind`].
pub fn unbind(socket: &zmq::Socket, endpoint: &str) -> Result<()> {
    wrap(
        "unbind",
        endpoint,
        socket.unbind(checked("unbind", endpoint)?),
    )
}

/// Undoes a [`connect`].
pub fn disconnect(socket: &zmq::Socket, endpoint: &str) -> Result<()> {
    wrap(
        "disconnect",
        endpoint,
        socket.disconnect(checked("disconnect", endpoint)?),
    )
}

/// The endpoint the socket last bound, with any wildcard port resolved
/// (`tcp://127.0.0.1:*` becomes `tcp://127.0.0.1:41234`).
pub fn last_endpoint(socket: &zmq::Socket) -> Result<String> {
    match socket.get_last_endpoint() {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(bytes)) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(source) => Err(Error::Zmq {
            op: "get option ZMQ_LAST_ENDPOINT",
            source,
        }),
    }
}
