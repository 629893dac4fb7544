//! Distributed traces: spans of sampled requests, exported over OTLP/HTTP (protobuf).
//!
//! **Which spans.** A request's span (tis-core's `request` span, one per hop, the server side)
//! and every span created inside it with the target [`TARGET`]: the gateway's steps, each try
//! of a mesh call (the client side; its id goes upstream as the `traceparent` parent), the
//! handler of a service, and each database statement (tis-store). Other spans (libraries',
//! background tasks') are never exported.
//!
//! **Ids are the W3C trace context's.** The request span's trace id and span id are those of
//! [`crate::trace_context::TraceContext`], the ones already in every log line (`trace.id`,
//! `span.id`) and in the `traceparent` this hop sends; its parent is the caller's span. So a
//! trace found in Jaeger or Tempo is the same trace id as the log lines of that request, and
//! one request is followed gateway → service → database across processes.
//!
//! **Sampling** is parent-based with a ratio at the root: a new trace (no valid incoming
//! `traceparent`) is sampled when its trace id falls under the ratio
//! ([`TraceContext::new_root`] sets the W3C `sampled` flag accordingly); a continued trace
//! keeps its caller's decision. An unsampled request costs one flag test per span here: no
//! allocation, no clock read.
//!
//! **Export never blocks or fails a request.** A finished span goes into a bounded queue
//! (`try_send`); a task sends batches (`batch_size` spans, or whatever came within
//! `interval`) to the endpoint with a timeout. A full queue or a failed export drops spans and
//! counts them in `traces_spans_dropped_total{reason}`; `traces_spans_exported_total` counts
//! the delivered ones.
//!
//! We write this layer (about three hundred lines) rather than use `tracing-opentelemetry`
//! with the SDK's batch processor: that layer builds an OpenTelemetry span (attributes copied,
//! clock read) for every `tracing` span whether the trace is sampled or not, with ids of its
//! own beside the W3C context we propagate; and the SDK's batch processor runs its own thread
//! with a blocking HTTP client, a second HTTP stack in every process. The wire format is
//! OTLP's, from `opentelemetry-proto`.

use std::borrow::Cow;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span, status,
};
use prost::Message;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::context::RequestContext;
use crate::trace_context::TraceContext;

/// The target of every span meant for export: `tracing::debug_span!(target: TARGET, …)`.
/// At debug level, so that with tracing off (and logs at `info`) such a span is disabled at
/// its call site and costs nothing.
pub const TARGET: &str = "tis_trace";

/// The span tis-core's request context opens for each request (see [`crate::context`]).
const REQUEST_SPAN: &str = "request";
const REQUEST_TARGET: &str = "tis_core::context";

/// The `[telemetry.traces]` section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TracesConfig {
    /// The OTLP/HTTP traces endpoint (`http://collector:4318/v1/traces`). Unset: tracing is
    /// off. Setting it is all it takes to turn it on.
    pub endpoint: Option<String>,
    /// The share of new traces recorded, 0 to 1; a request that arrives with a `traceparent`
    /// follows its caller's decision.
    pub sample_ratio: f64,
    /// The `service.name` of the exported spans; by default the process's (`gateway`,
    /// `reference`…), as in its logs.
    pub service_name: Option<String>,
    /// Spans sent in one export at most.
    pub batch_size: usize,
    /// Finished spans waiting for export at most; beyond, new ones are dropped (counted).
    pub queue_size: usize,
    /// How long a span waits for its batch to fill before it is sent anyway.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// The longest one export may take.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for TracesConfig {
    fn default() -> Self {
        TracesConfig {
            endpoint: None,
            sample_ratio: 1.0,
            service_name: None,
            batch_size: 512,
            queue_size: 4096,
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
        }
    }
}

impl TracesConfig {
    /// Every problem with the section, each naming its key (`prefix` is where it sits).
    pub fn problems(&self, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(endpoint) = &self.endpoint {
            match url::Url::parse(endpoint) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                _ => out.push(format!(
                    "`{prefix}.endpoint` is {endpoint:?}: expected an http(s) URL such as \
                     http://127.0.0.1:4318/v1/traces"
                )),
            }
        }
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            out.push(format!(
                "`{prefix}.sample_ratio` is {}: expected a share between 0 and 1",
                self.sample_ratio
            ));
        }
        if self.batch_size == 0 || self.queue_size == 0 {
            out.push(format!(
                "`{prefix}.batch_size` and `{prefix}.queue_size` must be at least 1"
            ));
        }
        if self.interval.is_zero() || self.timeout.is_zero() {
            out.push(format!(
                "`{prefix}.interval` and `{prefix}.timeout` must be longer than zero"
            ));
        }
        out
    }
}

// ---- sampling ------------------------------------------------------------------------------

/// New traces whose trace id's low 63 bits fall under this are sampled (OpenTelemetry's
/// `TraceIdRatioBased`). `u64::MAX`: every one, which is also what a process without tracing
/// says to the processes it calls (the flag it always sent).
static ROOT_THRESHOLD: AtomicU64 = AtomicU64::new(u64::MAX);
static ENABLED: AtomicBool = AtomicBool::new(false);

fn threshold(ratio: f64) -> u64 {
    if ratio >= 1.0 {
        u64::MAX
    } else if ratio <= 0.0 {
        0
    } else {
        // Over the 63-bit range, as the comparison below.
        (ratio * (1u64 << 63) as f64) as u64
    }
}

/// Whether a new trace with this id is recorded (the W3C `sampled` flag it starts with).
pub fn root_sampled(trace_id: u128) -> bool {
    let t = ROOT_THRESHOLD.load(Ordering::Relaxed);
    t == u64::MAX || ((trace_id as u64) >> 1) < t
}

/// Whether this process exports traces.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

// ---- the layer -----------------------------------------------------------------------------

/// A span being recorded: kept in the span's extensions until it closes.
struct Recording {
    trace_id: u128,
    span_id: u64,
    parent_id: Option<u64>,
    name: Cow<'static, str>,
    kind: span::SpanKind,
    start: u64,
    attributes: Vec<KeyValue>,
    error: Option<String>,
}

/// The `tracing` layer that records sampled spans and hands them to the exporter.
pub struct TraceLayer {
    queue: mpsc::Sender<Span>,
}

/// Whether `meta` is one this layer looks at: exported spans, the request span, and the
/// request's completion event (its status).
pub fn wanted(meta: &Metadata<'_>) -> bool {
    meta.target() == TARGET || meta.target() == REQUEST_TARGET
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn nonzero_u64() -> u64 {
    loop {
        let v = fastrand::u64(..);
        if v != 0 {
            return v;
        }
    }
}

fn string(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..KeyValue::default()
    }
}

/// Span fields as OTLP attributes; `otel.kind` and `otel.name` set the span's kind and name.
struct Attrs<'a>(&'a mut Recording);

impl Attrs<'_> {
    fn put(&mut self, field: &Field, value: any_value::Value) {
        let key = field.name();
        match (key, &value) {
            // Already the span's own ids.
            ("trace.id" | "span.id", _) => return,
            ("otel.kind", any_value::Value::StringValue(k)) => {
                self.0.kind = match k.as_str() {
                    "server" => span::SpanKind::Server,
                    "client" => span::SpanKind::Client,
                    _ => span::SpanKind::Internal,
                };
                return;
            }
            ("otel.name", any_value::Value::StringValue(n)) => {
                self.0.name = Cow::Owned(n.clone());
                return;
            }
            ("error.message", any_value::Value::StringValue(m)) => self.0.error = Some(m.clone()),
            ("http.response.status_code", any_value::Value::IntValue(s)) if *s >= 500 => {
                self.0.error = Some(format!("status {s}"));
            }
            _ => {}
        }
        let kv = KeyValue {
            key: key.to_owned(),
            value: Some(AnyValue { value: Some(value) }),
            ..KeyValue::default()
        };
        match self.0.attributes.iter_mut().find(|a| a.key == key) {
            Some(old) => *old = kv,
            None => self.0.attributes.push(kv),
        }
    }
}

impl Visit for Attrs<'_> {
    fn record_f64(&mut self, f: &Field, v: f64) {
        self.put(f, any_value::Value::DoubleValue(v));
    }
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.put(f, any_value::Value::IntValue(v));
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        self.put(
            f,
            any_value::Value::IntValue(i64::try_from(v).unwrap_or(i64::MAX)),
        );
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.put(f, any_value::Value::BoolValue(v));
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        self.put(f, any_value::Value::StringValue(v.to_owned()));
    }
    fn record_error(&mut self, f: &Field, v: &(dyn std::error::Error + 'static)) {
        self.put(f, any_value::Value::StringValue(v.to_string()));
    }
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        self.put(f, any_value::Value::StringValue(format!("{v:?}")));
    }
}

/// What a new span continues: the nearest recorded span above it, if any.
fn recorded_parent<S>(attrs: &Attributes<'_>, ctx: &Context<'_, S>) -> Option<(u128, u64)>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let parent = if let Some(id) = attrs.parent() {
        ctx.span(id)
    } else if attrs.is_contextual() {
        ctx.lookup_current()
    } else {
        None
    }?;
    parent.scope().find_map(|s| {
        s.extensions()
            .get::<Recording>()
            .map(|r| (r.trace_id, r.span_id))
    })
}

impl<S> Layer<S> for TraceLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        let (trace_id, span_id, parent_id, kind) = if meta.target() == REQUEST_TARGET {
            if meta.name() != REQUEST_SPAN {
                return;
            }
            // This hop: the ids of its trace context, made just before the span.
            let Some(trace) = RequestContext::current().map(|c| c.trace()) else {
                return;
            };
            if trace.flags & 0x01 == 0 {
                return;
            }
            (
                trace.trace_id,
                trace.span_id,
                trace.parent_id,
                span::SpanKind::Server,
            )
        } else {
            let Some((trace_id, parent)) = recorded_parent(attrs, &ctx) else {
                return;
            };
            (
                trace_id,
                nonzero_u64(),
                Some(parent),
                span::SpanKind::Internal,
            )
        };
        let Some(span) = ctx.span(id) else { return };
        let mut rec = Recording {
            trace_id,
            span_id,
            parent_id,
            name: Cow::Borrowed(meta.name()),
            kind,
            start: now_nanos(),
            attributes: Vec::with_capacity(meta.fields().len()),
            error: None,
        };
        attrs.record(&mut Attrs(&mut rec));
        if meta.name() == REQUEST_SPAN {
            // `GET /reference/api/grades`, as tracing UIs show server spans.
            let attr = |k: &str| {
                rec.attributes.iter().find(|a| a.key == k).and_then(|a| {
                    match a.value.as_ref()?.value.as_ref()? {
                        any_value::Value::StringValue(s) => Some(s.clone()),
                        _ => None,
                    }
                })
            };
            let path = attr("url.path");
            // Probes and scrapes are not what anyone traces.
            if path
                .as_deref()
                .is_some_and(|p| p.starts_with("/health/") || p == "/metrics")
            {
                return;
            }
            if let (Some(m), Some(p)) = (attr("http.request.method"), path) {
                rec.name = Cow::Owned(format!("{m} {p}"));
            }
        }
        span.extensions_mut().insert(rec);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(rec) = span.extensions_mut().get_mut::<Recording>() {
            values.record(&mut Attrs(rec));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        // The request's completion line carries its status: keep it on the request span.
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        if let Some(rec) = span.extensions_mut().get_mut::<Recording>() {
            struct Status<'a>(Attrs<'a>);
            impl Visit for Status<'_> {
                fn record_u64(&mut self, f: &Field, v: u64) {
                    if f.name() == "http.response.status_code" {
                        self.0.record_u64(f, v);
                    }
                }
                fn record_i64(&mut self, f: &Field, v: i64) {
                    if f.name() == "http.response.status_code" {
                        self.0.record_i64(f, v);
                    }
                }
                fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
            }
            event.record(&mut Status(Attrs(rec)));
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(rec) = span.extensions_mut().remove::<Recording>() else {
            return;
        };
        let out = Span {
            trace_id: rec.trace_id.to_be_bytes().to_vec(),
            span_id: rec.span_id.to_be_bytes().to_vec(),
            parent_span_id: rec
                .parent_id
                .map(|p| p.to_be_bytes().to_vec())
                .unwrap_or_default(),
            flags: 0x01,
            name: rec.name.into_owned(),
            kind: rec.kind as i32,
            start_time_unix_nano: rec.start,
            end_time_unix_nano: now_nanos(),
            attributes: rec.attributes,
            status: rec.error.map(|message| Status {
                message,
                code: status::StatusCode::Error as i32,
            }),
            ..Span::default()
        };
        if self.queue.try_send(out).is_err() {
            span_metrics().dropped_full.increment(1);
        }
    }
}

/// The `traceparent` to send for a call made inside `span`: the nearest recorded span's id
/// as the parent, so the callee's spans hang under the try that called it. `None` when the
/// span is not recorded (tracing off, or the trace not sampled): the request context's
/// `traceparent` then goes as it is.
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    if !enabled() {
        return None;
    }
    span.with_subscriber(|(id, dispatch)| {
        let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
        let span = registry.span(id)?;
        span.scope().find_map(|s| {
            s.extensions().get::<Recording>().map(|r| {
                TraceContext {
                    trace_id: r.trace_id,
                    span_id: r.span_id,
                    parent_id: r.parent_id,
                    flags: 0x01,
                }
                .header_value()
            })
        })
    })
    .flatten()
}

/// The handler's span, under the request's: named by the matched route
/// (`GET /reference/api/grades/{id}`), so that the time spent in the service's own code shows
/// apart from what the layers around it took. Installed by [`crate::http::standard`] only
/// when traces are exported.
pub async fn handler_span(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tracing::Instrument;
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |p| p.as_str());
    let span = tracing::debug_span!(
        target: TARGET,
        "handler",
        otel.name = %format_args!("handler {} {route}", req.method()),
        "http.route" = route,
    );
    next.run(req).instrument(span).await
}

// ---- export --------------------------------------------------------------------------------

struct Metrics {
    exported: metrics::Counter,
    dropped_full: metrics::Counter,
    dropped_export: metrics::Counter,
}

fn span_metrics() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(|| {
        metrics::describe_counter!(
            "traces_spans_exported_total",
            "Spans delivered to the OTLP endpoint."
        );
        metrics::describe_counter!(
            "traces_spans_dropped_total",
            "Spans dropped: reason queue_full (the export queue was full) or export_failed \
             (the endpoint did not accept the batch in time)."
        );
        Metrics {
            exported: metrics::counter!("traces_spans_exported_total"),
            dropped_full: metrics::counter!("traces_spans_dropped_total", "reason" => "queue_full"),
            dropped_export: metrics::counter!("traces_spans_dropped_total", "reason" => "export_failed"),
        }
    })
}

/// Starts exporting: sets the sampler, spawns the export task on the current Tokio runtime
/// and returns the layer to install. `None` when the section has no endpoint (tracing off)
/// or no runtime is running.
pub fn start(cfg: &TracesConfig, service: &str) -> Option<TraceLayer> {
    let endpoint = cfg.endpoint.clone()?;
    let runtime = tokio::runtime::Handle::try_current().ok()?;
    let m = span_metrics();
    for c in [&m.exported, &m.dropped_full, &m.dropped_export] {
        c.increment(0);
    }
    let (queue, rx) = mpsc::channel(cfg.queue_size.max(1));
    let resource = Resource {
        attributes: vec![
            string(
                "service.name",
                cfg.service_name.as_deref().unwrap_or(service),
            ),
            string("service.instance.id", format!("{}", std::process::id())),
        ],
        ..Resource::default()
    };
    let client = reqwest::Client::builder()
        .timeout(cfg.timeout)
        .build()
        .ok()?;
    runtime.spawn(export_loop(
        rx,
        Exporter {
            client,
            endpoint,
            resource,
        },
        cfg.batch_size.max(1),
        cfg.interval,
    ));
    ROOT_THRESHOLD.store(threshold(cfg.sample_ratio), Ordering::Relaxed);
    ENABLED.store(true, Ordering::Relaxed);
    Some(TraceLayer { queue })
}

struct Exporter {
    client: reqwest::Client,
    endpoint: String,
    resource: Resource,
}

impl Exporter {
    fn encode(&self, spans: Vec<Span>) -> Vec<u8> {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(self.resource.clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "tis".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..InstrumentationScope::default()
                    }),
                    spans,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
        .encode_to_vec()
    }

    async fn send(&self, spans: Vec<Span>) -> Result<(), String> {
        let res = self
            .client
            .post(&self.endpoint)
            .header(http::header::CONTENT_TYPE, "application/x-protobuf")
            .body(self.encode(spans))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(format!("answered {}", res.status()))
        }
    }
}

async fn export_loop(
    mut rx: mpsc::Receiver<Span>,
    exporter: Exporter,
    batch_size: usize,
    interval: Duration,
) {
    let m = span_metrics();
    let mut failing = false;
    let mut batch = Vec::with_capacity(batch_size);
    loop {
        // Wait for a first span, then as many as come within `interval`, up to a batch.
        if rx.recv_many(&mut batch, batch_size).await == 0 {
            return; // every sender gone
        }
        let until = tokio::time::Instant::now() + interval;
        while batch.len() < batch_size {
            let room = batch_size - batch.len();
            match tokio::time::timeout_at(until, rx.recv_many(&mut batch, room)).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        let n = batch.len() as u64;
        match exporter.send(std::mem::take(&mut batch)).await {
            Ok(()) => {
                m.exported.increment(n);
                if failing {
                    failing = false;
                    tracing::info!(url.full = %exporter.endpoint, "trace export works again");
                }
            }
            Err(error) => {
                m.dropped_export.increment(n);
                if !failing {
                    failing = true;
                    tracing::warn!(url.full = %exporter.endpoint, error.message = %error, dropped = n,
                        "trace export failed; spans are dropped (counted in traces_spans_dropped_total) until it works again");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ratio_samples_that_share_of_trace_ids() {
        let t = threshold(0.25);
        let mut sampled = 0;
        for _ in 0..20_000 {
            let id = fastrand::u128(1..);
            if ((id as u64) >> 1) < t {
                sampled += 1;
            }
        }
        assert!((4_000..6_000).contains(&sampled), "{sampled} of 20000");
        assert_eq!(threshold(0.0), 0);
        assert_eq!(threshold(1.0), u64::MAX);
    }

    #[test]
    fn a_bad_section_names_its_keys() {
        let bad = TracesConfig {
            endpoint: Some("collector:4318".into()),
            sample_ratio: 1.5,
            ..TracesConfig::default()
        };
        let problems = bad.problems("telemetry.traces");
        assert!(
            problems[0].contains("`telemetry.traces.endpoint`"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("`telemetry.traces.sample_ratio`"),
            "{problems:?}"
        );
        assert!(TracesConfig::default().problems("t").is_empty());
    }
}
