//! The option table: one row per libzmq 4.3.5 socket option, expanded into
//! [`Socket`] methods by `socket_options!` (see the [module docs](super)).

use calloop_zmq_sys as sys;

use super::super::error::{Error, Result};
use super::super::socket::{PollEvents, Socket};
use super::{GetOption, Mechanism, ReadBack, SetOption};

socket_options! {
    rw ZMQ_AFFINITY, affinity / set_affinity: u64 => u64,
        "bitmap of the I/O threads new connections use.";
    rw ZMQ_BACKLOG, backlog / set_backlog: i32 => i32,
        "maximum length of the queue of pending connections.";
    rw ZMQ_BINDTODEVICE, bindtodevice / set_bindtodevice: &str => String,
        "network interface the socket's connections are bound to (`SO_BINDTODEVICE`).";
    rw ZMQ_CONFLATE, conflate / set_conflate: bool => bool,
        "keep only the last message in the queues (single-frame messages only).";
    rw ZMQ_CONNECT_TIMEOUT, connect_timeout / set_connect_timeout: i32 => i32,
        "milliseconds a TCP connect may take (0: the OS default).";
    rw ZMQ_CURVE_PUBLICKEY, curve_publickey / set_curve_publickey: &[u8] => [u8; 32],
        "the CURVE client's long-term public key (32 bytes, or 40 Z85 characters when setting).";
    rw ZMQ_CURVE_SECRETKEY, curve_secretkey / set_curve_secretkey: &[u8] => [u8; 32],
        "the CURVE long-term secret key (32 bytes, or 40 Z85 characters when setting).";
    rw ZMQ_CURVE_SERVER, curve_server / set_curve_server: bool => bool,
        "act as CURVE server.";
    rw ZMQ_CURVE_SERVERKEY, curve_serverkey / set_curve_serverkey: &[u8] => [u8; 32],
        "the CURVE server's public key a client expects (32 bytes, or 40 Z85 characters when setting).";
    rw ZMQ_GSSAPI_PLAINTEXT, gssapi_plaintext / set_gssapi_plaintext: bool => bool,
        "GSSAPI without encryption (needs a libzmq built with GSSAPI).";
    rw ZMQ_GSSAPI_PRINCIPAL, gssapi_principal / set_gssapi_principal: &str => String,
        "the GSSAPI principal (needs a libzmq built with GSSAPI).";
    rw ZMQ_GSSAPI_PRINCIPAL_NAMETYPE, gssapi_principal_nametype / set_gssapi_principal_nametype: i32 => i32,
        "name type of the GSSAPI principal (0 host based, 1 user name, 2 Kerberos).";
    rw ZMQ_GSSAPI_SERVER, gssapi_server / set_gssapi_server: bool => bool,
        "act as GSSAPI server (needs a libzmq built with GSSAPI).";
    rw ZMQ_GSSAPI_SERVICE_PRINCIPAL, gssapi_service_principal / set_gssapi_service_principal: &str => String,
        "the GSSAPI service principal a client connects to.";
    rw ZMQ_GSSAPI_SERVICE_PRINCIPAL_NAMETYPE, gssapi_service_principal_nametype / set_gssapi_service_principal_nametype: i32 => i32,
        "name type of the GSSAPI service principal.";
    rw ZMQ_HANDSHAKE_IVL, handshake_ivl / set_handshake_ivl: i32 => i32,
        "milliseconds a ZMTP handshake may take (0: no limit).";
    rw ZMQ_HEARTBEAT_IVL, heartbeat_ivl / set_heartbeat_ivl: i32 => i32,
        "milliseconds between ZMTP heartbeats (0: none).";
    rw ZMQ_HEARTBEAT_TIMEOUT, heartbeat_timeout / set_heartbeat_timeout: i32 => i32,
        "milliseconds to wait for a heartbeat reply before closing the connection.";
    rw ZMQ_HEARTBEAT_TTL, heartbeat_ttl / set_heartbeat_ttl: i32 => i32,
        "milliseconds the peer may wait for a heartbeat before closing (rounded to 100 ms).";
    rw ZMQ_IMMEDIATE, immediate / set_immediate: bool => bool,
        "queue messages only to completed connections.";
    rw ZMQ_INVERT_MATCHING, invert_matching / set_invert_matching: bool => bool,
        "PUB/SUB: deliver what does *not* match the subscriptions.";
    rw ZMQ_IPV6, ipv6 / set_ipv6: bool => bool,
        "allow IPv6 (and IPv4-mapped) addresses.";
    rw ZMQ_LINGER, linger / set_linger: i32 => i32,
        "milliseconds unsent messages linger after close (-1: until sent, 0: drop them).";
    rw ZMQ_MAXMSGSIZE, maxmsgsize / set_maxmsgsize: i64 => i64,
        "largest inbound message in bytes; larger ones drop the connection (-1: no limit).";
    rw ZMQ_MULTICAST_HOPS, multicast_hops / set_multicast_hops: i32 => i32,
        "time-to-live of multicast packets.";
    rw ZMQ_MULTICAST_MAXTPDU, multicast_maxtpdu / set_multicast_maxtpdu: i32 => i32,
        "largest multicast transport data unit in bytes.";
    rw ZMQ_PLAIN_PASSWORD, plain_password / set_plain_password: &str => String,
        "the PLAIN client's password.";
    rw ZMQ_PLAIN_SERVER, plain_server / set_plain_server: bool => bool,
        "act as PLAIN server.";
    rw ZMQ_PLAIN_USERNAME, plain_username / set_plain_username: &str => String,
        "the PLAIN client's user name.";
    rw ZMQ_RATE, rate / set_rate: i32 => i32,
        "multicast data rate in kilobits per second.";
    rw ZMQ_RCVBUF, rcvbuf / set_rcvbuf: i32 => i32,
        "kernel receive buffer size in bytes (-1: the OS default).";
    rw ZMQ_RCVHWM, rcvhwm / set_rcvhwm: i32 => i32,
        "most inbound messages queued per connection (0: no limit).";
    rw ZMQ_RCVTIMEO, rcvtimeo / set_rcvtimeo: i32 => i32,
        "milliseconds a blocking receive waits (-1: forever).";
    rw ZMQ_RECONNECT_IVL, reconnect_ivl / set_reconnect_ivl: i32 => i32,
        "milliseconds before reconnecting (-1: never reconnect).";
    rw ZMQ_RECONNECT_IVL_MAX, reconnect_ivl_max / set_reconnect_ivl_max: i32 => i32,
        "upper bound of the exponential reconnect back-off (0: none).";
    rw ZMQ_RECOVERY_IVL, recovery_ivl / set_recovery_ivl: i32 => i32,
        "multicast recovery interval in milliseconds.";
    rw ZMQ_ROUTING_ID, routing_id / set_routing_id: &[u8] => Vec<u8>,
        "the routing id a ROUTER peer sees (1 to 255 bytes, not starting with a zero byte).";
    rw ZMQ_SNDBUF, sndbuf / set_sndbuf: i32 => i32,
        "kernel send buffer size in bytes (-1: the OS default).";
    rw ZMQ_SNDHWM, sndhwm / set_sndhwm: i32 => i32,
        "most outbound messages queued per connection (0: no limit).";
    rw ZMQ_SNDTIMEO, sndtimeo / set_sndtimeo: i32 => i32,
        "milliseconds a blocking send waits (-1: forever).";
    rw ZMQ_SOCKS_PROXY, socks_proxy / set_socks_proxy: &str => String,
        "SOCKS5 proxy (`host:port`) for TCP connects.";
    rw ZMQ_TCP_KEEPALIVE, tcp_keepalive / set_tcp_keepalive: i32 => i32,
        "`SO_KEEPALIVE` (-1: OS default, 0 off, 1 on).";
    rw ZMQ_TCP_KEEPALIVE_CNT, tcp_keepalive_cnt / set_tcp_keepalive_cnt: i32 => i32,
        "`TCP_KEEPCNT` (-1: OS default).";
    rw ZMQ_TCP_KEEPALIVE_IDLE, tcp_keepalive_idle / set_tcp_keepalive_idle: i32 => i32,
        "`TCP_KEEPIDLE` in seconds (-1: OS default).";
    rw ZMQ_TCP_KEEPALIVE_INTVL, tcp_keepalive_intvl / set_tcp_keepalive_intvl: i32 => i32,
        "`TCP_KEEPINTVL` in seconds (-1: OS default).";
    rw ZMQ_TCP_MAXRT, tcp_maxrt / set_tcp_maxrt: i32 => i32,
        "`TCP_MAXRT` in milliseconds (0: OS default).";
    rw ZMQ_TOS, tos / set_tos: i32 => i32,
        "IP type-of-service of outgoing packets.";
    rw ZMQ_USE_FD, use_fd / set_use_fd: i32 => i32,
        "a pre-bound file descriptor for the next bind (-1: none).";
    rw ZMQ_VMCI_BUFFER_SIZE, vmci_buffer_size / set_vmci_buffer_size: u64 => u64,
        "VMCI buffer size in bytes (needs a libzmq built with VMCI).";
    rw ZMQ_VMCI_BUFFER_MIN_SIZE, vmci_buffer_min_size / set_vmci_buffer_min_size: u64 => u64,
        "smallest VMCI buffer size in bytes.";
    rw ZMQ_VMCI_BUFFER_MAX_SIZE, vmci_buffer_max_size / set_vmci_buffer_max_size: u64 => u64,
        "largest VMCI buffer size in bytes.";
    rw ZMQ_VMCI_CONNECT_TIMEOUT, vmci_connect_timeout / set_vmci_connect_timeout: i32 => i32,
        "VMCI connect timeout in milliseconds.";
    rw ZMQ_ZAP_DOMAIN, zap_domain / set_zap_domain: &str => String,
        "the ZAP domain authentication requests carry.";

    w ZMQ_CONNECT_ROUTING_ID, connect_routing_id / set_connect_routing_id: &[u8] => Vec<u8>,
        "ROUTER/STREAM: the routing id the next connect's peer gets.";
    w ZMQ_PROBE_ROUTER, probe_router / set_probe_router: bool => bool,
        "send an empty message to a ROUTER when connecting.";
    w ZMQ_REQ_CORRELATE, req_correlate / set_req_correlate: bool => bool,
        "REQ: match replies to requests by an id frame.";
    w ZMQ_REQ_RELAXED, req_relaxed / set_req_relaxed: bool => bool,
        "REQ: allow a new request before the reply (drops the pending one).";
    w ZMQ_ROUTER_HANDOVER, router_handover / set_router_handover: bool => bool,
        "ROUTER: a new peer with a taken routing id takes it over.";
    w ZMQ_ROUTER_MANDATORY, router_mandatory / set_router_mandatory: bool => bool,
        "ROUTER: fail with `EHOSTUNREACH` instead of dropping unroutable messages.";
    w ZMQ_STREAM_NOTIFY, stream_notify / set_stream_notify: bool => bool,
        "STREAM: deliver empty messages on connect and disconnect.";
    w ZMQ_SUBSCRIBE, subscribe / set_subscribe: &[u8] => Vec<u8>,
        "SUB: add a prefix subscription (empty: everything).";
    w ZMQ_UNSUBSCRIBE, unsubscribe / set_unsubscribe: &[u8] => Vec<u8>,
        "SUB: remove one matching subscription.";
    w ZMQ_XPUB_MANUAL, xpub_manual / set_xpub_manual: bool => bool,
        "XPUB: subscriptions are applied by the application.";
    w ZMQ_XPUB_NODROP, xpub_nodrop / set_xpub_nodrop: bool => bool,
        "XPUB/PUB: fail with `EAGAIN` at the high-water mark instead of dropping.";
    w ZMQ_XPUB_VERBOSE, xpub_verbose / set_xpub_verbose: bool => bool,
        "XPUB: pass on every subscription message, not only new ones.";
    w ZMQ_XPUB_VERBOSER, xpub_verboser / set_xpub_verboser: bool => bool,
        "XPUB: pass on every subscription and unsubscription message.";
    w ZMQ_XPUB_WELCOME_MSG, xpub_welcome_msg / set_xpub_welcome_msg: &[u8] => Vec<u8>,
        "XPUB: a message sent to each new subscriber.";

    // libzmq's draft options (4.3.5 zmq_draft.h), with the `draft` feature.
    #[cfg(feature = "draft")]
    rw ZMQ_BUSY_POLL, busy_poll / set_busy_poll: i32 => i32,
        "(draft) busy-poll the kernel socket (`SO_BUSY_POLL`, 0: off).";
    #[cfg(feature = "draft")]
    rw ZMQ_IN_BATCH_SIZE, in_batch_size / set_in_batch_size: i32 => i32,
        "(draft) bytes libzmq reads from the kernel at once (> 0).";
    #[cfg(feature = "draft")]
    rw ZMQ_LOOPBACK_FASTPATH, loopback_fastpath / set_loopback_fastpath: bool => bool,
        "(draft) Windows loopback fast path for TCP (no effect elsewhere).";
    #[cfg(feature = "draft")]
    rw ZMQ_MULTICAST_LOOP, multicast_loop / set_multicast_loop: bool => bool,
        "(draft) receive one's own multicast (`udp://` RADIO/DISH).";
    #[cfg(feature = "draft")]
    rw ZMQ_NORM_BLOCK_SIZE, norm_block_size / set_norm_block_size: i32 => i32,
        "(draft) NORM block size (needs a libzmq built with NORM).";
    #[cfg(feature = "draft")]
    rw ZMQ_NORM_BUFFER_SIZE, norm_buffer_size / set_norm_buffer_size: i32 => i32,
        "(draft) NORM buffer size in kB (needs a libzmq built with NORM).";
    #[cfg(feature = "draft")]
    rw ZMQ_NORM_MODE, norm_mode / set_norm_mode: i32 => i32,
        "(draft) NORM congestion control mode (`ZMQ_NORM_FIXED` ...; needs NORM).";
    #[cfg(feature = "draft")]
    rw ZMQ_NORM_NUM_AUTOPARITY, norm_num_autoparity / set_norm_num_autoparity: i32 => i32,
        "(draft) NORM proactive parity packets (needs NORM).";
    #[cfg(feature = "draft")]
    rw ZMQ_NORM_NUM_PARITY, norm_num_parity / set_norm_num_parity: i32 => i32,
        "(draft) NORM parity packets per block (needs NORM).";
    #[cfg(feature = "draft")]
    rw ZMQ_NORM_PUSH, norm_push / set_norm_push: bool => bool,
        "(draft) NORM stream push mode (needs NORM).";
    #[cfg(feature = "draft")]
    rw ZMQ_NORM_SEGMENT_SIZE, norm_segment_size / set_norm_segment_size: i32 => i32,
        "(draft) NORM segment size in bytes (needs NORM).";
    #[cfg(feature = "draft")]
    rw ZMQ_NORM_UNICAST_NACK, norm_unicast_nack / set_norm_unicast_nack: bool => bool,
        "(draft) NORM unicast NACKs (needs NORM).";
    #[cfg(feature = "draft")]
    rw ZMQ_OUT_BATCH_SIZE, out_batch_size / set_out_batch_size: i32 => i32,
        "(draft) bytes libzmq writes to the kernel at once (> 0).";
    #[cfg(feature = "draft")]
    rw ZMQ_PRIORITY, priority / set_priority: i32 => i32,
        "(draft) `SO_PRIORITY` of the socket's connections (>= 0).";
    #[cfg(feature = "draft")]
    rw ZMQ_RECONNECT_STOP, reconnect_stop / set_reconnect_stop: i32 => i32,
        "(draft) when to stop reconnecting (`ZMQ_RECONNECT_STOP_*` bits).";
    #[cfg(feature = "draft")]
    rw ZMQ_ROUTER_NOTIFY, router_notify / set_router_notify: i32 => i32,
        "(draft) ROUTER: deliver an empty message from a peer on connect (1) and/or disconnect (2).";
    #[cfg(feature = "draft")]
    rw ZMQ_SOCKS_PASSWORD, socks_password / set_socks_password: &str => String,
        "(draft) password for the SOCKS5 proxy.";
    #[cfg(feature = "draft")]
    rw ZMQ_SOCKS_USERNAME, socks_username / set_socks_username: &str => String,
        "(draft) user name for the SOCKS5 proxy.";
    #[cfg(feature = "draft")]
    rw ZMQ_ZAP_ENFORCE_DOMAIN, zap_enforce_domain / set_zap_enforce_domain: bool => bool,
        "(draft) fail ZAP requests that have no domain (RFC 27 strictly).";
    #[cfg(feature = "draft")]
    w ZMQ_DISCONNECT_MSG, disconnect_msg / set_disconnect_msg: &[u8] => Vec<u8>,
        "(draft) ROUTER/SERVER/PEER: a message the socket receives from a peer that disconnected.";
    #[cfg(feature = "draft")]
    w ZMQ_HELLO_MSG, hello_msg / set_hello_msg: &[u8] => Vec<u8>,
        "(draft) a message sent to each new peer on connect.";
    #[cfg(feature = "draft")]
    w ZMQ_HICCUP_MSG, hiccup_msg / set_hiccup_msg: &[u8] => Vec<u8>,
        "(draft) DEALER/CLIENT/PEER: a message the socket receives when a connection was lost and reconnected.";
    #[cfg(feature = "draft")]
    w ZMQ_METADATA, metadata / set_metadata: &str => String,
        "(draft) a property (`X-name:value`) the socket's handshakes send.";
    #[cfg(feature = "draft")]
    w ZMQ_ONLY_FIRST_SUBSCRIBE, only_first_subscribe / set_only_first_subscribe: bool => bool,
        "(draft) XPUB/XSUB: only the first frame of a multipart message is a subscription.";
    #[cfg(feature = "draft")]
    w ZMQ_WSS_CERT_PEM, wss_cert_pem / set_wss_cert_pem: &str => String,
        "(draft) the WSS server's certificate (needs a libzmq built with WSS).";
    #[cfg(feature = "draft")]
    w ZMQ_WSS_HOSTNAME, wss_hostname / set_wss_hostname: &str => String,
        "(draft) the host name a WSS client checks (needs WSS).";
    #[cfg(feature = "draft")]
    w ZMQ_WSS_KEY_PEM, wss_key_pem / set_wss_key_pem: &str => String,
        "(draft) the WSS server's private key (needs WSS).";
    #[cfg(feature = "draft")]
    w ZMQ_WSS_TRUST_PEM, wss_trust_pem / set_wss_trust_pem: &str => String,
        "(draft) the certificate a WSS client trusts (needs WSS).";
    #[cfg(feature = "draft")]
    w ZMQ_WSS_TRUST_SYSTEM, wss_trust_system / set_wss_trust_system: bool => bool,
        "(draft) a WSS client trusts the system's certificates (needs WSS).";
    #[cfg(feature = "draft")]
    w ZMQ_XPUB_MANUAL_LAST_VALUE, xpub_manual_last_value / set_xpub_manual_last_value: bool => bool,
        "(draft) XPUB: manual subscriptions, and the last value is sent to each new subscriber.";
    #[cfg(feature = "draft")]
    w ZMQ_XSUB_VERBOSE_UNSUBSCRIBE, xsub_verbose_unsubscribe / set_xsub_verbose_unsubscribe: bool => bool,
        "(draft) XSUB: pass on every unsubscription, not only the last for a topic.";
    #[cfg(feature = "draft")]
    r ZMQ_TOPICS_COUNT, topics_count / set_topics_count: i32 => i32,
        "(draft) XPUB/XSUB: number of distinct subscriptions.";

    r ZMQ_EVENTS, events / set_events: i32 => PollEvents,
        "whether a message can be received (`POLLIN`) or sent (`POLLOUT`) now; also processes libzmq's pending commands for the socket.";
    r ZMQ_LAST_ENDPOINT, last_endpoint / set_last_endpoint: &str => String,
        "the endpoint last bound or connected, with a wildcard port resolved.";
    r ZMQ_MECHANISM, mechanism / set_mechanism: i32 => Mechanism,
        "the security mechanism in use.";
    r ZMQ_RCVMORE, rcvmore / set_rcvmore: bool => bool,
        "whether more frames of the last received message follow.";
    r ZMQ_THREAD_SAFE, thread_safe / set_thread_safe: bool => bool,
        "whether the socket is thread-safe (never, for the classic types).";
}
