//! Requests the HTTP parser refuses (414, 431, 400) are answered with the JSON error shape and
//! an `X-Request-Id`, like every other error: raw bytes over TCP, as a broken client or an
//! attacker sends them.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

/// Sends `request` as is and reads the whole answer (the gateway closes the connection).
async fn raw(
    gw: &Gateway,
    what: &str,
    request: &[u8],
) -> (u16, Vec<(String, String)>, serde_json::Value) {
    let mut stream = tokio::net::TcpStream::connect(gw.addr)
        .await
        .expect("connect");
    stream.write_all(request).await.expect("write");
    let mut answer = Vec::new();
    // Generous: CI once saw one of these answers not closed within 10 s on a loaded machine
    // (which one was not said then; it is now).
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
        .await
        .unwrap_or_else(|_| {
            let got = String::from_utf8_lossy(&answer);
            panic!("{what}: the gateway did not answer and close within 30 s; got {got:?}")
        })
        .unwrap_or_else(|e| panic!("{what}: read: {e}"));
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {text:?}"));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
        .collect();
    let body =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not a JSON body ({e}): {text:?}"));
    (status, headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn what_the_parser_refuses_comes_back_as_a_json_error_with_a_request_id() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (_up, addr) = Upstream::start("a").await;
    let gw = Gateway::start(config(&idp, &dir, vec![addr])).await;

    let long_uri = format!(
        "GET /reference/echo?{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(70_000)
    );
    let big_header = format!(
        "GET /reference/echo HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(500_000)
    );
    let many_headers = format!(
        "GET /reference/echo HTTP/1.1\r\nHost: x\r\n{}\r\n",
        (0..200)
            .map(|i| format!("X-H{i}: v\r\n"))
            .collect::<String>()
    );
    for (what, request, status, code) in [
        ("a URI over 64 KiB", long_uri, 414, "uri_too_long"),
        ("a 500 KB header", big_header, 431, "headers_too_large"),
        ("200 headers", many_headers, 431, "headers_too_large"),
        (
            "a header with no colon",
            "GET /reference/echo HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n".to_owned(),
            400,
            "malformed_request",
        ),
        (
            "a header name with a space",
            "GET /reference/echo HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n".to_owned(),
            400,
            "malformed_request",
        ),
    ] {
        let (got, headers, body) = raw(&gw, what, request.as_bytes()).await;
        assert_eq!(got, status, "{what}: {body}");
        assert_eq!(body["error"]["code"], code, "{what}: {body}");
        let id = body["error"]["requestId"].as_str().expect("requestId");
        assert_eq!(header(&headers, "x-request-id"), Some(id), "{what}");
        assert_eq!(
            header(&headers, "content-type"),
            Some("application/json"),
            "{what}"
        );
        assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));
    }

    // A request the parser accepts is unchanged, and the gateway still serves.
    assert_eq!(gw.get("/reference/echo", &idp.token()).await.status(), 200);
}
