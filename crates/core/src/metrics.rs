//! Prometheus metrics: the process-wide recorder, the `/metrics` handler, and per-route HTTP
//! server metrics.
//!
//! Names follow Prometheus conventions (base units, `_total` counters, `_seconds`
//! histograms) so that `promtool check metrics` accepts the exposition:
//! - `http_server_requests_total{method,route,status}`
//! - `http_server_request_duration_seconds{method,route}` (histogram)
//! - `http_server_requests_in_flight`
//! - `process_resident_memory_bytes`, `process_open_fds`, `process_start_time_seconds`
//!
//! `route` is the matched route template (`/reference/api/grades/{id}`), never the raw path,
//! so an attacker cannot create label values.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::time::Instant;

/// Latency buckets, in seconds: fine below 10 ms, where a healthy hop lives.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often histogram samples are folded into their buckets when nobody scrapes.
pub const UPKEEP_EVERY: Duration = Duration::from_secs(1);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
static START: OnceLock<SystemTime> = OnceLock::new();

/// The process-wide Prometheus recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        START.get_or_init(SystemTime::now);
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (a test harness); then ours stays local.
        let _ = metrics::set_global_recorder(recorder);
        describe();
        // The recorder keeps every histogram sample until upkeep folds it into the buckets;
        // left to scrapes alone, a busy process that nobody scrapes (`tis up`, a benchmark,
        // a Prometheus outage) grows by every request's samples: about 1 MB a second at
        // 30,000 requests a second. A plain thread, so that it runs whatever runtime (or
        // none) the process has.
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error.message = %e, "could not start the metrics upkeep thread; histogram samples are folded at scrapes only");
        }
        handle
    })
}

fn describe() {
    metrics::describe_counter!(
        "http_server_requests_total",
        "HTTP requests served, by route and status."
    );
    metrics::describe_histogram!(
        "http_server_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time to produce the response headers, by route."
    );
    metrics::describe_gauge!(
        "http_server_requests_in_flight",
        "HTTP requests being served now."
    );
    metrics::describe_gauge!(
        "process_resident_memory_bytes",
        metrics::Unit::Bytes,
        "Resident set size."
    );
    metrics::describe_gauge!("process_open_fds", "Open file descriptors.");
    metrics::describe_gauge!(
        "process_start_time_seconds",
        metrics::Unit::Seconds,
        "Start time since the Unix epoch."
    );
}

/// Renders the exposition text, refreshing the process gauges first.
pub fn render() -> String {
    let handle = handle();
    update_process_gauges();
    handle.run_upkeep();
    handle.render()
}

/// `GET /metrics`.
pub async fn handler() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(),
    )
        .into_response()
}

/// Resident set size of this process in bytes, from `/proc/self/statm` (Linux).
pub fn resident_memory_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn update_process_gauges() {
    if let Some(rss) = resident_memory_bytes() {
        metrics::gauge!("process_resident_memory_bytes").set(rss as f64);
    }
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        metrics::gauge!("process_open_fds").set(dir.count() as f64);
    }
    if let Some(start) = START.get()
        && let Ok(since) = start.duration_since(UNIX_EPOCH)
    {
        metrics::gauge!("process_start_time_seconds").set(since.as_secs_f64());
    }
}

/// Middleware recording the HTTP server metrics. Add it with `Router::layer`, so that the
/// matched route template is known.
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let in_flight = metrics::gauge!("http_server_requests_in_flight");
    in_flight.increment(1.0);
    let res = next.run(req).await;
    in_flight.decrement(1.0);
    let status = res.status().as_u16().to_string();
    record(&method, &route, &status, start.elapsed());
    res
}

fn record(method: &str, route: &str, status: &str, elapsed: Duration) {
    metrics::counter!("http_server_requests_total", "method" => method.to_owned(), "route" => route.to_owned(), "status" => status.to_owned()).increment(1);
    metrics::histogram!("http_server_request_duration_seconds", "method" => method.to_owned(), "route" => route.to_owned()).record(elapsed.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_samples_are_folded_by_a_thread_of_their_own_not_only_at_scrapes() {
        let _ = handle();
        let names = || -> Vec<String> {
            std::fs::read_dir("/proc/self/task")
                .expect("/proc/self/task")
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .map(|name| name.trim().to_owned())
                .collect()
        };
        // A new thread names itself once it runs: until then it shows its parent's name.
        let until = std::time::Instant::now() + Duration::from_secs(5);
        let mut threads = names();
        while !threads.iter().any(|n| n == "metrics-upkeep") && std::time::Instant::now() < until {
            std::thread::yield_now();
            threads = names();
        }
        assert!(
            threads.iter().any(|n| n == "metrics-upkeep"),
            "threads: {threads:?}"
        );
    }
}
