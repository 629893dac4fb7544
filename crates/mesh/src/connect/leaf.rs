//! The HTTP/1.1 leaf: upstream connections driven inside the request's own task.
//!
//! hyper-util's pooled client runs each connection in a task of its own: a request checks a
//! connection out of the pool, hands its message to that task over a channel, and the answer
//! comes back the same way — two task wake-ups and a pool lock a request. Here a connection is
//! a pair of hyper's low-level [`http1::SendRequest`] and [`http1::Connection`], owned by whoever
//! uses it:
//!
//! - **idle**, it sits in a small stack per endpoint in its thread's [`Idle`] (one per thread
//!   and service client, see [`super::Pools`]), polled by nobody;
//! - **checked out**, the request's future polls the `Connection` while it waits for the
//!   answer (a select of the send and the connection), so that the request is written and the
//!   answer read by the request's own task, on its own thread;
//! - **while the answer's body streams**, the [`ResponseBody`] polls it, and hands the connection
//!   back to its thread's stack when it has seen the body's last frame. A body dropped before
//!   its end, or that fails, drops the connection with it (the socket closes): a connection in
//!   the stack never has half an answer left in it.
//!
//! A connection taken from the stack is polled once before it is used: one the upstream closed
//! while it was idle (or that answered `Connection: close`) has ended, and is dropped; one idle
//! for longer than `pool_idle_timeout` is dropped unpolled. If the upstream closes it between that
//! check and the write, hyper gives the request back unsent and it goes out on the next
//! connection — a fresh one if need be — as hyper-util's client does. A reaper closes idle
//! connections that no request comes to take (see [`super::Pools`]).

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::body::MeshBody;
use crate::error::{BoxError, Connect, Upstream};
use crate::outbound::MeshRequest;

/// One HTTP/1.1 connection to an endpoint: the sender and the connection's state machine.
pub(crate) struct Conn {
    tx: http1::SendRequest<MeshBody>,
    conn: http1::Connection<TokioIo<TcpStream>, MeshBody>,
    /// When it went back to the stack.
    idle_since: Instant,
}

impl Conn {
    /// Drives the connection as far as it goes without waiting. `false` when it has ended
    /// (closed by either side, or failed): it must not be used again.
    fn drive(&mut self, cx: &mut Context<'_>) -> bool {
        Pin::new(&mut self.conn).poll(cx).is_pending()
    }
}

/// The idle connections of one service client on one thread, per endpoint.
pub(crate) struct Idle {
    pub(crate) service: Arc<str>,
    connect_timeout: Duration,
    max_per_endpoint: usize,
    timeout: Duration,
    /// Per endpoint, most recently used last. Locked only by this thread's requests and,
    /// once per reaping interval, by the reaper: never contended on the hot path.
    stacks: Mutex<Vec<(SocketAddr, Vec<Conn>)>>,
}

impl Idle {
    pub(crate) fn new(
        service: Arc<str>,
        connect_timeout: Duration,
        max_per_endpoint: usize,
        timeout: Duration,
    ) -> Self {
        Idle {
            service,
            connect_timeout,
            max_per_endpoint,
            timeout,
            stacks: Mutex::new(Vec::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(SocketAddr, Vec<Conn>)>> {
        // A panic while holding the lock leaves a valid Vec: keep going with it.
        self.stacks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The most recently used idle connection to `endpoint` that has not expired.
    fn pop(&self, endpoint: SocketAddr) -> Option<Conn> {
        let mut stacks = self.lock();
        let (_, stack) = stacks.iter_mut().find(|(a, _)| *a == endpoint)?;
        let conn = stack.pop()?;
        if conn.idle_since.elapsed() >= self.timeout {
            // The rest are older still.
            stack.clear();
            return None;
        }
        Some(conn)
    }

    /// Puts a connection whose answer has ended back on its endpoint's stack (or closes it
    /// when the stack is full).
    fn push(&self, endpoint: SocketAddr, mut conn: Conn) {
        if self.max_per_endpoint == 0 || conn.tx.is_closed() {
            return;
        }
        conn.idle_since = Instant::now();
        let mut stacks = self.lock();
        let stack = match stacks.iter().position(|(a, _)| *a == endpoint) {
            Some(i) => &mut stacks[i].1,
            None => {
                stacks.push((endpoint, Vec::new()));
                &mut stacks.last_mut().expect("just pushed").1
            }
        };
        if stack.len() < self.max_per_endpoint {
            stack.push(conn);
        }
    }

    /// Closes the connections idle for `pool_idle_timeout` or longer; forgets empty endpoints.
    pub(crate) fn reap(&self) {
        let mut stacks = self.lock();
        for (_, stack) in stacks.iter_mut() {
            stack.retain(|c| c.idle_since.elapsed() < self.timeout);
        }
        stacks.retain(|(_, s)| !s.is_empty());
    }

    async fn connect(&self, endpoint: SocketAddr) -> Result<Conn, BoxError> {
        let stream = tokio::time::timeout(self.connect_timeout, TcpStream::connect(endpoint))
            .await
            .map_err(|_| -> BoxError {
                format!("connect timed out after {:?}", self.connect_timeout).into()
            })??;
        stream.set_nodelay(true)?;
        let (tx, conn) = http1::handshake(TokioIo::new(stream)).await?;
        Ok(Conn {
            tx,
            conn,
            idle_since: Instant::now(),
        })
    }

    fn connect_error(&self, endpoint: SocketAddr, source: BoxError) -> BoxError {
        Box::new(Connect {
            service: self.service.clone(),
            endpoint,
            source,
        })
    }
}

/// Sends `req` (origin-form URI, `Host` set) to `endpoint` on one of `idle`'s connections or a
/// new one, driving the connection in this future until the answer's head is in.
pub(crate) async fn send(
    idle: Arc<Idle>,
    endpoint: SocketAddr,
    mut req: MeshRequest,
) -> Result<Response<ResponseBody>, BoxError> {
    loop {
        let (mut conn, reused) = match checkout(&idle, endpoint).await {
            Some(conn) => (conn, true),
            None => {
                let conn = idle
                    .connect(endpoint)
                    .await
                    .map_err(|e| idle.connect_error(endpoint, e))?;
                (conn, false)
            }
        };
        let mut sending = pin!(conn.tx.try_send_request(req));
        let mut open = true;
        let answer = poll_fn(|cx| {
            if let Poll::Ready(answer) = sending.as_mut().poll(cx) {
                return Poll::Ready(answer);
            }
            if open && !conn.drive(cx) {
                // The connection ended: the send resolves now (an error, with the request
                // given back if it was not written).
                open = false;
                return sending.as_mut().poll(cx);
            }
            Poll::Pending
        })
        .await;
        match answer {
            Ok(res) => {
                let lease = open.then_some(Lease {
                    conn,
                    idle,
                    endpoint,
                });
                return Ok(res.map(|body| ResponseBody::leaf(body, lease)));
            }
            Err(mut e) => match e.take_message() {
                // Nothing was written on a connection the upstream had closed: send it again
                // on the next one.
                Some(unsent) if reused => req = unsent,
                Some(_) => {
                    return Err(idle.connect_error(endpoint, Box::new(e.into_error())));
                }
                None => {
                    return Err(Box::new(Upstream {
                        service: idle.service.clone(),
                        endpoint,
                        source: Box::new(e.into_error()),
                    }));
                }
            },
        }
    }
}

/// An idle connection to `endpoint` that is still open and ready for a request, if any.
async fn checkout(idle: &Idle, endpoint: SocketAddr) -> Option<Conn> {
    let mut conn = idle.pop(endpoint)?;
    poll_fn(|cx| {
        loop {
            // Polled once: an idle connection the upstream closed has ended; a live one
            // becomes ready for the next request.
            if conn.drive(cx) && conn.tx.is_ready() {
                return Poll::Ready(());
            }
            match idle.pop(endpoint) {
                Some(next) => conn = next,
                None => return Poll::Ready(()),
            }
        }
    })
    .await;
    conn.tx.is_ready().then_some(conn)
}

/// A connection lent to a response body, to go back to its thread's stack at the body's end.
struct Lease {
    conn: Conn,
    idle: Arc<Idle>,
    endpoint: SocketAddr,
}

impl Lease {
    fn hand_back(self) {
        self.idle.push(self.endpoint, self.conn);
    }
}

/// The body of every answer from a service. For HTTP/1.1 it drives its connection while it is
/// read, and gives the connection back for the next request when it has been read to the end;
/// dropped early, it closes the connection.
pub struct ResponseBody {
    body: Incoming,
    lease: Option<Lease>,
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("body", &self.body)
            .field("connection", &self.lease.is_some())
            .finish()
    }
}

impl ResponseBody {
    /// The body of a connection driven elsewhere (hyper-util's pooled client, h2c).
    pub(crate) fn pooled(body: Incoming) -> Self {
        ResponseBody { body, lease: None }
    }

    fn leaf(body: Incoming, lease: Option<Lease>) -> Self {
        let mut this = ResponseBody { body, lease };
        if this.body.is_end_stream() {
            // No body (204, 304, HEAD, `Content-Length: 0`): the connection is free now.
            this.release();
        }
        this
    }

    fn release(&mut self) {
        if let Some(lease) = self.lease.take() {
            lease.hand_back();
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let mut frame = Pin::new(&mut this.body).poll_frame(cx);
        if frame.is_pending()
            && let Some(lease) = &mut this.lease
        {
            // The connection reads the body into the channel `Incoming` takes it from.
            if !lease.conn.drive(cx) {
                // Ended (closed by the upstream, or failed): what it read is in the channel.
                this.lease = None;
            }
            frame = Pin::new(&mut this.body).poll_frame(cx);
        }
        match &frame {
            Poll::Ready(Some(Ok(_))) if this.body.is_end_stream() => this.release(),
            Poll::Ready(None) => this.release(),
            // A failed body: the connection is in an unknown state.
            Poll::Ready(Some(Err(_))) => this.lease = None,
            _ => {}
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
