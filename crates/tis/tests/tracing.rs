//! Distributed traces for real: `tis up` with `telemetry.traces.endpoint` pointing at a small
//! OTLP/HTTP receiver (protobuf `ExportTraceServiceRequest`s, decoded with
//! opentelemetry-proto), one request through the gateway, and the spans it produced in two
//! processes, each under its parent: caller → gateway → its steps → the mesh try → Reference's
//! request → its handler → its database statements. Then the receiver goes away: requests
//! are still answered, and the spans are dropped and counted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind};
use prost::Message;
use tis_testkit::up::TisUp;

const TIS: &str = env!("CARGO_BIN_EXE_tis");

/// A span as received, with the `service.name` of the process that sent it.
#[derive(Clone, Debug)]
struct Got {
    service: String,
    span: Span,
}

impl Got {
    fn id(&self) -> &[u8] {
        &self.span.span_id
    }
    fn parent(&self) -> &[u8] {
        &self.span.parent_span_id
    }
}

/// An OTLP/HTTP receiver on 127.0.0.1:0 keeping every span it is sent.
struct Receiver {
    url: String,
    spans: Arc<Mutex<Vec<Got>>>,
    server: tokio::task::JoinHandle<()>,
}

async fn receiver() -> Receiver {
    let spans = Arc::new(Mutex::new(Vec::new()));
    let kept = spans.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let kept = kept.clone();
            async move {
                let req = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf body");
                let mut kept = kept.lock().expect("lock");
                for rs in req.resource_spans {
                    let service = rs
                        .resource
                        .iter()
                        .flat_map(|r| &r.attributes)
                        .find(|a| a.key == "service.name")
                        .and_then(|a| match a.value.as_ref()?.value.as_ref()? {
                            any_value::Value::StringValue(s) => Some(s.clone()),
                            _ => None,
                        })
                        .unwrap_or_default();
                    for span in rs.scope_spans.into_iter().flat_map(|s| s.spans) {
                        kept.push(Got {
                            service: service.clone(),
                            span,
                        });
                    }
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/v1/traces", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    Receiver { url, spans, server }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The one span of `service` named `name` whose parent is `parent`.
fn child<'a>(spans: &'a [Got], service: &str, name: &str, parent: &[u8]) -> &'a Got {
    let found: Vec<&Got> = spans
        .iter()
        .filter(|g| g.service == service && g.span.name == name && g.parent() == parent)
        .collect();
    assert!(
        !found.is_empty(),
        "no {service} span {name:?} under {}; spans:\n{}",
        hex(parent),
        describe(spans)
    );
    found[0]
}

fn describe(spans: &[Got]) -> String {
    spans
        .iter()
        .map(|g| {
            format!(
                "  {:<10} {:<40} id {} parent {}",
                g.service,
                g.span.name,
                hex(g.id()),
                hex(g.parent())
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn one_request_is_followed_from_the_gateway_through_the_service_to_its_database() {
    let rx = receiver().await;
    let up = TisUp::start(
        TIS,
        &[
            ("TIS_TELEMETRY__TRACES__ENDPOINT", rx.url.clone()),
            ("TIS_TELEMETRY__TRACES__INTERVAL", "50ms".into()),
        ],
    );
    let state = up
        .state_when("the gateway and reference ready", |s| {
            TisUp::has(s, &["gateway", "reference-1", "profile-1"])
        })
        .await;
    let issuer = state["issuer"].as_str().expect("issuer").to_owned();
    let token = tis_testkit::up::token(TIS, &issuer, &["--user", "admin"]);
    let gateway = TisUp::addr_of(&state, "gateway", "addr");
    let admin = TisUp::addr_of(&state, "gateway", "admin");

    // The caller's own trace: everything below must continue it.
    let trace_id = format!("{:032x}", fastrand::u128(1..));
    let caller_span = format!("{:016x}", fastrand::u64(1..));
    let res = reqwest::Client::new()
        .get(format!("http://{gateway}/reference/api/grades?size=1"))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);

    let deadline = Duration::from_secs(30);
    let every = Duration::from_millis(50);
    let spans: Vec<Got> = tis_testkit::wait::until("the request's spans", deadline, every, || {
        let spans = rx.spans.lock().expect("lock").clone();
        let ours: Vec<Got> = spans
            .into_iter()
            .filter(|g| hex(&g.span.trace_id) == trace_id)
            .collect();
        // Each process's server span ends last of its spans, and each process exports on
        // its own: wait for both (one process's spans may arrive a batch before the other's).
        let served_by = |service: &str| {
            ours.iter()
                .any(|g| g.service == service && g.span.name == "GET /reference/api/grades")
        };
        let done = served_by("gateway") && served_by("reference");
        async move { done.then_some(ours) }
    })
    .await
    .unwrap_or_else(|e| {
        panic!(
            "{e}; received:\n{}\nlog:\n{}",
            describe(&rx.spans.lock().expect("lock")),
            up.log()
        )
    });

    let caller = (0..8)
        .map(|i| u8::from_str_radix(&caller_span[i * 2..i * 2 + 2], 16).expect("hex"))
        .collect::<Vec<u8>>();
    // The gateway: its server span continues the caller's.
    let root = child(&spans, "gateway", "GET /reference/api/grades", &caller);
    assert_eq!(root.span.kind, SpanKind::Server as i32);
    child(&spans, "gateway", "gateway.authenticate", root.id());
    child(&spans, "gateway", "gateway.authorise", root.id());
    let proxy = child(&spans, "gateway", "gateway.proxy", root.id());
    let try_ = child(&spans, "gateway", "mesh.try", proxy.id());
    assert_eq!(try_.span.kind, SpanKind::Client as i32);
    // Reference, another process: its server span is the child of the gateway's try.
    let served = child(&spans, "reference", "GET /reference/api/grades", try_.id());
    assert_eq!(served.span.kind, SpanKind::Server as i32);
    let handler = child(
        &spans,
        "reference",
        "handler GET /reference/api/grades",
        served.id(),
    );
    let query = child(&spans, "reference", "db.query", handler.id());
    assert_eq!(query.span.kind, SpanKind::Client as i32);
    let attrs: HashMap<&str, String> = query
        .span
        .attributes
        .iter()
        .filter_map(|a| match a.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some((a.key.as_str(), s.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        attrs.get("db.system.name").map(String::as_str),
        Some("sqlite")
    );
    assert!(
        attrs
            .get("db.query.text")
            .is_some_and(|q| q.to_lowercase().contains("select")),
        "{attrs:?}"
    );
    for g in &spans {
        assert!(
            g.span.start_time_unix_nano <= g.span.end_time_unix_nano,
            "{}",
            g.span.name
        );
    }

    // The receiver goes away: requests are answered as before, the spans are dropped and
    // counted.
    rx.server.abort();
    let _ = rx.server.await;
    for _ in 0..3 {
        let res = reqwest::Client::new()
            .get(format!("http://{gateway}/reference/api/grades?size=1"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 200, "a request never waits for the exporter");
    }
    let dropped = tis_testkit::wait::until("dropped spans counted", deadline, every, || async {
        let text = reqwest::get(format!("http://{admin}/metrics"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.lines()
            .find(|l| l.starts_with("traces_spans_dropped_total{reason=\"export_failed\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .filter(|n| *n > 0.0)
    })
    .await;
    if let Err(e) = dropped {
        panic!("{e}; log:\n{}", up.log());
    }
}
