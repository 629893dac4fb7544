//! The JSON error shape for the answers hyper's HTTP/1 parser sends by itself.
//!
//! A request hyper cannot parse never reaches a service: hyper answers it on its own and
//! closes the connection, with a bare head and no body — `400 Bad Request` (a malformed
//! request line or header), `414 URI Too Long`, `431 Request Header Fields Too Large` (the
//! head beyond the read buffer, or too many headers). [`ParseErrors`] wraps a connection's
//! IO and replaces such an answer, as it is written, with the same status and the JSON error
//! body every other TIS error has (code `malformed_request`, `uri_too_long`,
//! `headers_too_large`), a fresh `X-Request-Id` (in the header and the body), and the usual
//! `nosniff`/`no-store`.
//!
//! It recognises hyper's answer by its shape: one of those statuses with `content-length:
//! 0`. Every error TIS itself writes has a JSON body, so it is never mistaken for one.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::{ErrorBody, ErrorDetail, code};

/// A connection's IO whose parser-error answers are rewritten (see the module documentation).
#[derive(Debug)]
pub struct ParseErrors<I> {
    inner: I,
    /// The rewritten answer still to write, and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
}

impl<I> ParseErrors<I> {
    pub fn new(inner: I) -> Self {
        ParseErrors {
            inner,
            pending: None,
        }
    }
}

/// `(status, code, message)` of the answers hyper sends by itself.
const KNOWN: &[(&str, &str, &str)] = &[
    (
        "400",
        code::MALFORMED_REQUEST,
        "the request line or a header is malformed",
    ),
    ("414", code::URI_TOO_LONG, "the request URI is too long"),
    (
        "431",
        code::HEADERS_TOO_LARGE,
        "the request headers are too large or too many",
    ),
];

/// The JSON answer replacing `head`, when `head` is one of hyper's own.
pub fn rewrite(head: &[u8]) -> Option<Vec<u8>> {
    // Every write of every connection passes here: refuse anything that is not a 400, 414 or
    // 431 status line by its bytes first (a body, a 200 head), before any text is decoded.
    let status = head.strip_prefix(b"HTTP/1.")?.get(2..5)?;
    if !matches!(status, b"400" | b"414" | b"431") {
        return None;
    }
    let text = std::str::from_utf8(head.get(..head.len().min(512))?).ok()?;
    let rest = text.strip_prefix("HTTP/1.")?.get(2..)?;
    let (status, code, message) = KNOWN
        .iter()
        .find(|(s, _, _)| rest.starts_with(s) && rest.as_bytes().get(3) == Some(&b' '))?;
    let end = text.find("\r\n\r\n")?;
    let lines = &text[..end];
    if !lines
        .split("\r\n")
        .any(|l| l.eq_ignore_ascii_case("content-length: 0"))
    {
        return None;
    }
    let reason = lines.split("\r\n").next()?.get(13..).unwrap_or("");
    let request_id = crate::context::new_request_id();
    tracing::info!(
        http.response.status_code = status,
        error.code = code,
        http.request.id = %request_id,
        "request refused by the HTTP parser"
    );
    let body = serde_json::to_vec(&ErrorBody {
        error: ErrorDetail {
            code: (*code).to_owned(),
            message: (*message).to_owned(),
            request_id: Some(request_id.clone()),
            degraded: Vec::new(),
            fields: Vec::new(),
        },
    })
    .ok()?;
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-request-id: {request_id}\r\nx-content-type-options: nosniff\r\ncache-control: no-store\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    Some(out)
}

impl<I: AsyncWrite + Unpin> ParseErrors<I> {
    /// Writes what is pending; ready once nothing is.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((buf, done)) = &mut self.pending {
            if *done == buf.len() {
                self.pending = None;
                break;
            }
            let n = std::task::ready!(Pin::new(&mut self.inner).poll_write(cx, &buf[*done..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *done += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for ParseErrors<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for ParseErrors<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        std::task::ready!(self.drain(cx))?;
        if let Some(answer) = rewrite(buf) {
            self.pending = Some((answer, 0));
            // The original is consumed; the replacement goes out now or at the next call.
            let _ = self.drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        std::task::ready!(self.drain(cx))?;
        // hyper writes a head in the first slice; its own error answers have no body.
        if let Some(first) = bufs.iter().find(|b| !b.is_empty())
            && let Some(answer) = rewrite(first)
        {
            self.pending = Some((answer, 0));
            let _ = self.drain(cx)?;
            return Poll::Ready(Ok(first.len()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bodiless_parser_answers_are_rewritten() {
        let hyper = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Mon, 07 Dec 2026 06:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(rewrite(hyper).expect("rewritten")).expect("utf-8");
        assert!(
            out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{out}"
        );
        assert!(out.contains("content-type: application/json\r\n"));
        let (head, body) = out.split_once("\r\n\r\n").expect("head and body");
        let body: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(body["error"]["code"], "headers_too_large");
        let id = body["error"]["requestId"].as_str().expect("request id");
        assert!(head.contains(&format!("x-request-id: {id}\r\n")), "{head}");

        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 57\r\n\r\n{}";
        assert!(rewrite(ours).is_none());
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert!(rewrite(ok).is_none());
        let body_bytes = b"{\"x\":\"HTTP/1.1 400 \"}";
        assert!(rewrite(body_bytes).is_none());
    }
}
