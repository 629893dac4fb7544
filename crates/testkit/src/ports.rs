//! Free loopback ports, for servers that must be told their port (PostgreSQL, Node).
//!
//! Our own servers bind port 0 and report the address; only foreign servers need this. The
//! port is free when returned; a server that loses the race fails to start, and callers
//! retry with another port.

use std::net::TcpListener;

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
