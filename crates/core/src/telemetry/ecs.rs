//! An Elastic Common Schema (ECS) JSON formatter for `tracing`.
//!
//! Each event becomes one line:
//! `{"@timestamp":…,"log.level":"info","message":…,"service.name":…,"log.logger":…,
//!   <fields of every enclosing span, outermost first>, <fields of the event>}`.
//! Span fields are kept as JSON on the span (so `trace.id`, `url.path`… set on the request
//! span appear on every line logged inside it); a field recorded later on a span replaces the
//! earlier value. Field names are written as given: call sites use ECS names
//! (`http.response.status_code`, `event.duration` in nanoseconds, `error.message`) or our own
//! under `tis.`; a plain name of no field set (`endpoint`, `issuer`, `retry_in_ms`, or a
//! library's) is moved under `tis.` (ECS keeps custom fields out of its own top level).
//! A text value longer than [`MAX_VALUE_BYTES`] is cut there and says how much was cut (a
//! slow-statement warning would otherwise carry a whole migration's DDL).
//!
//! We write our own (about a hundred lines) rather than use `tracing-ecs-formatter`, which
//! drops span fields.

use std::io::Write;

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// The fields of one span, as JSON.
struct SpanFields(Map<String, Value>);

/// A `tracing` layer writing ECS JSON lines to `W`.
pub struct EcsLayer<W> {
    service: String,
    make_writer: W,
}

impl EcsLayer<fn() -> std::io::Stdout> {
    pub fn stdout(service: &str) -> Self {
        EcsLayer {
            service: service.to_owned(),
            make_writer: std::io::stdout,
        }
    }
}

impl<W> EcsLayer<W> {
    pub fn with_writer(service: &str, make_writer: W) -> Self {
        EcsLayer {
            service: service.to_owned(),
            make_writer,
        }
    }
}

/// The longest text value a line carries (bytes); the rest is replaced by a note of its size.
pub const MAX_VALUE_BYTES: usize = 4096;

/// `value` as JSON, cut at [`MAX_VALUE_BYTES`] (on a character boundary) when longer.
fn bounded(mut value: String) -> Value {
    if value.len() > MAX_VALUE_BYTES {
        let mut end = MAX_VALUE_BYTES;
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        let cut = value.len() - end;
        value.truncate(end);
        value.push_str(&format!("… ({cut} more bytes not logged)"));
    }
    Value::from(value)
}

struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let value = if value.len() > MAX_VALUE_BYTES {
            bounded(value.to_owned())
        } else {
            Value::from(value)
        };
        self.0.insert(field.name().to_owned(), value);
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().to_owned(), bounded(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), bounded(format!("{value:?}")));
    }
}

impl<S, W> Layer<S> for EcsLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Map::new();
        attrs.record(&mut JsonVisitor(&mut fields));
        span.extensions_mut().insert(SpanFields(fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(SpanFields(fields)) = ext.get_mut::<SpanFields>() {
            values.record(&mut JsonVisitor(fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut line = Map::new();
        let now = time::OffsetDateTime::now_utc();
        line.insert(
            "@timestamp".into(),
            Value::from(now.format(&Rfc3339).unwrap_or_default()),
        );
        line.insert(
            "log.level".into(),
            Value::from(meta.level().as_str().to_ascii_lowercase()),
        );
        line.insert("message".into(), Value::from(""));
        line.insert("service.name".into(), Value::from(self.service.as_str()));
        line.insert("log.logger".into(), Value::from(meta.target()));
        line.insert("ecs.version".into(), Value::from("8.11.0"));

        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                    for (k, v) in fields {
                        line.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        let mut fields = Map::new();
        event.record(&mut JsonVisitor(&mut fields));
        for (k, v) in fields {
            line.insert(k, v);
        }
        let line = ecs_clean(line);

        let Ok(mut buf) = serde_json::to_vec(&line) else {
            return;
        };
        buf.push(b'\n');
        let mut writer = self.make_writer.make_writer();
        let _ = writer.write_all(&buf);
    }
}

/// The ECS field sets (8.11) and the base fields that are objects: in ECS each is an object
/// (`service.name`, `tls.established`, `user.name`…), so a scalar under one of these names at
/// the top of a line clashes with the mapping (Elasticsearch rejects the document or maps the
/// field wrongly for every later one).
pub const ECS_OBJECTS: &[&str] = &[
    "agent",
    "as",
    "client",
    "cloud",
    "code_signature",
    "container",
    "data_stream",
    "destination",
    "device",
    "dll",
    "dns",
    "ecs",
    "elf",
    "email",
    "error",
    "event",
    "faas",
    "file",
    "geo",
    "group",
    "hash",
    "host",
    "http",
    "interface",
    "labels",
    "log",
    "macho",
    "network",
    "observer",
    "orchestrator",
    "organization",
    "os",
    "package",
    "pe",
    "process",
    "registry",
    "related",
    "risk",
    "rule",
    "server",
    "service",
    "source",
    "span",
    "threat",
    "tls",
    "trace",
    "transaction",
    "url",
    "user",
    "user_agent",
    "vlan",
    "volume",
    "vulnerability",
    "x509",
];

/// The names ECS keeps at the top level of a document without a field set (8.11).
const ECS_TOP_LEVEL: &[&str] = &["@timestamp", "message", "tags", "labels"];

/// Whether a field name stays as written: a dotted name (`http.request.method`, `tis.service`,
/// a library's `db.statement`) or one of ECS's own top-level names. Any other plain name is
/// custom and goes under `tis.`.
fn stays(key: &str) -> bool {
    key.contains('.') || ECS_TOP_LEVEL.contains(&key)
}

/// Moves custom fields into our own namespace: a top-level `endpoint`, `issuer`, `service`,
/// `tls`, `user`… becomes `tis.endpoint`, `tis.issuer`, `tis.service`… (a plain `service` or
/// `tls` would also clash with the ECS object of that name: Elasticsearch rejects the document
/// or maps the field wrongly for every later one). Call sites use ECS names or `tis.*`; this
/// keeps a stray one, or a library's, from breaking ingestion.
fn ecs_clean(line: Map<String, Value>) -> Map<String, Value> {
    if line.keys().all(|k| stays(k)) {
        return line;
    }
    line.into_iter()
        .map(|(k, v)| {
            if stays(&k) {
                (k, v)
            } else {
                (format!("tis.{k}"), v)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> MakeWriter<'a> for Buf {
        type Writer = Buf;
        fn make_writer(&'a self) -> Buf {
            self.clone()
        }
    }

    #[test]
    fn events_carry_ecs_fields_and_their_spans_fields() {
        let buf = Buf::default();
        let sub =
            tracing_subscriber::registry().with(EcsLayer::with_writer("reference", buf.clone()));
        tracing::subscriber::with_default(sub, || {
            let span = tracing::info_span!("request", "trace.id" = "abc", "url.path" = "/x");
            let _g = span.enter();
            tracing::info!(http.response.status_code = 200u64, "request completed");
        });
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let line: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(line["message"], "request completed");
        assert_eq!(line["log.level"], "info");
        assert_eq!(line["service.name"], "reference");
        assert_eq!(line["trace.id"], "abc");
        assert_eq!(line["url.path"], "/x");
        assert_eq!(line["http.response.status_code"], 200);
        assert!(line["@timestamp"].as_str().unwrap().ends_with('Z'));
    }

    /// The one line `log` writes through an [`EcsLayer`] for `service`, every key of which is
    /// an ECS name or under `tis.` (so never a plain value where ECS has an object).
    fn one_line(service: &str, log: impl FnOnce()) -> Value {
        let buf = Buf::default();
        let sub = tracing_subscriber::registry().with(EcsLayer::with_writer(service, buf.clone()));
        tracing::subscriber::with_default(sub, log);
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let line: Value = serde_json::from_str(out.trim()).unwrap();
        for key in line.as_object().unwrap().keys() {
            assert!(stays(key), "`{key}` is custom but outside `tis.`: {line}");
            assert!(
                !ECS_OBJECTS.contains(&key.as_str()),
                "`{key}` is an object in ECS, not a value: {line}"
            );
        }
        line
    }

    #[test]
    fn fields_that_are_objects_in_ecs_never_appear_as_plain_values() {
        let line = one_line("gateway", || {
            let span = tracing::info_span!("request", "url.path" = "/x", user = "alice");
            let _g = span.enter();
            tracing::info!(service = "profile", tls = false, "endpoint discovered");
        });
        assert_eq!(line["service.name"], "gateway");
        assert_eq!(line["tis.service"], "profile");
        assert_eq!(line["tis.tls"], false);
        assert_eq!(line["tis.user"], "alice");
    }

    #[test]
    fn custom_fields_go_under_tis_and_long_values_are_cut() {
        let ddl = format!("CREATE TABLE é{}", "x".repeat(3 * MAX_VALUE_BYTES));
        let line = one_line("tcs", || {
            tracing::warn!(
                endpoint = "127.0.0.1:1",
                retry_in_ms = 250u64,
                db.statement = ddl.as_str(),
                tags = "a",
                "slow statement"
            );
        });
        assert_eq!(line["tis.endpoint"], "127.0.0.1:1");
        assert_eq!(line["tis.retry_in_ms"], 250);
        assert_eq!(line["tags"], "a");
        assert_eq!(line["message"], "slow statement");
        let statement = line["db.statement"].as_str().unwrap();
        assert!(statement.starts_with("CREATE TABLE é"), "{statement}");
        assert!(
            statement.len() < MAX_VALUE_BYTES + 64,
            "{}",
            statement.len()
        );
        assert!(
            statement.ends_with(&format!(
                "… ({} more bytes not logged)",
                ddl.len() - MAX_VALUE_BYTES
            )),
            "{}",
            &statement[MAX_VALUE_BYTES - 8..]
        );
    }
}
