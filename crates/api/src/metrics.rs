//! `/metrics` in the Prometheus text format (version 0.0.4), hand-written:
//! request counts and latency by route template and status, connections,
//! rate-limit refusals, maintenance results, and the quota totals (read from
//! the database at scrape time, so every instance reports the same totals).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use sqlx::Row;

use crate::error::Result;
use crate::service::Api;

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Per-instance counters. Cheap: one short mutex section per request.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), Histogram>>,
    rate_limited: Mutex<BTreeMap<&'static str, u64>>,
    pub connections_open: AtomicU64,
    pub connections_accepted: AtomicU64,
    pub connections_refused_capacity: AtomicU64,
    pub connections_refused_address: AtomicU64,
    pub request_timeouts: AtomicU64,
}

impl Metrics {
    pub fn record_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        // Clients choose the method: only the standard ones get their own
        // series, so the label set (and memory) stays bounded.
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
            _ => "other",
        };
        let seconds = elapsed.as_secs_f64();
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let histogram = requests
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        histogram.count += 1;
        histogram.sum_seconds += seconds;
        for (bound, count) in BUCKETS.iter().zip(histogram.buckets.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
    }

    pub fn record_rate_limited(&self, limit: &'static str) {
        *self
            .rate_limited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(limit)
            .or_default() += 1;
    }

    pub fn rate_limited(&self, limit: &str) -> u64 {
        self.rate_limited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(limit)
            .copied()
            .unwrap_or(0)
    }

    /// The whole exposition: this instance's counters plus database totals.
    pub async fn render(&self, api: &Api) -> Result<String> {
        let mut out = String::new();
        self.render_requests(&mut out);
        self.render_counters(&mut out);
        render_maintenance(&mut out);
        render_database(&mut out, api).await?;
        Ok(out)
    }

    fn render_requests(&self, out: &mut String) {
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        out.push_str("# HELP photopro_http_requests_total HTTP requests answered, by method, route template and status.\n");
        out.push_str("# TYPE photopro_http_requests_total counter\n");
        for ((method, route, status), histogram) in &requests {
            let _ = writeln!(
                out,
                "photopro_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {}",
                escape(route),
                histogram.count
            );
        }
        out.push_str("# HELP photopro_http_request_duration_seconds Time from request headers to response headers.\n");
        out.push_str("# TYPE photopro_http_request_duration_seconds histogram\n");
        for ((method, route, status), histogram) in &requests {
            let labels = format!(
                "method=\"{method}\",route=\"{}\",status=\"{status}\"",
                escape(route)
            );
            for (bound, count) in BUCKETS.iter().zip(histogram.buckets.iter()) {
                let _ = writeln!(
                    out,
                    "photopro_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "photopro_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                histogram.count
            );
            let _ = writeln!(
                out,
                "photopro_http_request_duration_seconds_sum{{{labels}}} {}",
                histogram.sum_seconds
            );
            let _ = writeln!(
                out,
                "photopro_http_request_duration_seconds_count{{{labels}}} {}",
                histogram.count
            );
        }
    }

    fn render_counters(&self, out: &mut String) {
        let gauge = |out: &mut String, name: &str, help: &str, kind: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        gauge(
            out,
            "photopro_http_connections_open",
            "Open client connections.",
            "gauge",
            self.connections_open.load(Ordering::Relaxed),
        );
        gauge(
            out,
            "photopro_http_connections_accepted_total",
            "Client connections accepted.",
            "counter",
            self.connections_accepted.load(Ordering::Relaxed),
        );
        out.push_str("# HELP photopro_http_connections_refused_total Connections closed at once because a cap was reached.\n");
        out.push_str("# TYPE photopro_http_connections_refused_total counter\n");
        let _ = writeln!(
            out,
            "photopro_http_connections_refused_total{{cap=\"total\"}} {}",
            self.connections_refused_capacity.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "photopro_http_connections_refused_total{{cap=\"per_address\"}} {}",
            self.connections_refused_address.load(Ordering::Relaxed)
        );
        gauge(
            out,
            "photopro_http_request_timeouts_total",
            "Requests answered 503 request_timeout.",
            "counter",
            self.request_timeouts.load(Ordering::Relaxed),
        );
        out.push_str("# HELP photopro_rate_limited_total Requests refused with 429, by limit.\n");
        out.push_str("# TYPE photopro_rate_limited_total counter\n");
        let limited = self
            .rate_limited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for limit in ["pairing_attempts", "failed_auth", "pairing_codes"] {
            let _ = writeln!(
                out,
                "photopro_rate_limited_total{{limit=\"{limit}\"}} {}",
                limited.get(limit).copied().unwrap_or(0)
            );
        }
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Totals of this process's maintenance runs (see [`crate::server::maintenance_stats`]).
fn render_maintenance(out: &mut String) {
    let stats = crate::server::maintenance_stats().snapshot();
    let _ = writeln!(
        out,
        "# HELP photopro_maintenance_runs_total Maintenance passes run by this process, by outcome.\n\
         # TYPE photopro_maintenance_runs_total counter\n\
         photopro_maintenance_runs_total{{outcome=\"ok\"}} {}\n\
         photopro_maintenance_runs_total{{outcome=\"failed\"}} {}",
        stats.runs, stats.failures
    );
    let _ = writeln!(
        out,
        "# HELP photopro_maintenance_last_run_timestamp_seconds When the last successful pass ended (Unix seconds; 0: never).\n\
         # TYPE photopro_maintenance_last_run_timestamp_seconds gauge\n\
         photopro_maintenance_last_run_timestamp_seconds {}",
        stats.last_run_unix
    );
    // Every counter of MaintenanceReport, summed over this process's passes.
    for (field, total) in &stats.totals {
        let name = format!("photopro_maintenance_{field}_total");
        let _ = writeln!(
            out,
            "# HELP {name} Sum of MaintenanceReport.{field} over this process's passes.\n# TYPE {name} counter\n{name} {total}"
        );
    }
}

async fn render_database(out: &mut String, api: &Api) -> Result<()> {
    let row = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) AS bytes \
         FROM reservations WHERE state = 'open'",
    )
    .fetch_one(&api.db.pool)
    .await?;
    let open: i64 = row.try_get("n")?;
    let row = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(COALESCE(SUM(used_bytes), 0) AS BIGINT) AS used, \
         CAST(COALESCE(SUM(reserved_bytes), 0) AS BIGINT) AS reserved FROM organizations",
    )
    .fetch_one(&api.db.pool)
    .await?;
    let organizations: i64 = row.try_get("n")?;
    let used: i64 = row.try_get("used")?;
    let reserved: i64 = row.try_get("reserved")?;
    for (name, help, value) in [
        (
            "photopro_reservations_open",
            "Open upload reservations (all organizations).",
            open,
        ),
        (
            "photopro_bytes_reserved",
            "Bytes held by open reservations (sum of organizations' reserved_bytes).",
            reserved,
        ),
        (
            "photopro_bytes_stored",
            "Bytes committed to stored assets (sum of organizations' used_bytes).",
            used,
        ),
        ("photopro_organizations", "Organizations.", organizations),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_chosen_methods_do_not_grow_the_label_set() {
        let metrics = Metrics::default();
        for i in 0..1000 {
            metrics.record_request(&format!("X{i}"), "unmatched", 405, Duration::ZERO);
        }
        metrics.record_request("GET", "/health", 200, Duration::from_millis(2));
        let series = metrics.requests.lock().unwrap();
        assert_eq!(series.len(), 2);
        let other = &series[&("other".to_string(), "unmatched".to_string(), 405)];
        assert_eq!(other.count, 1000);
        let health = &series[&("GET".to_string(), "/health".to_string(), 200)];
        // 2 ms falls in the 2.5 ms bucket and above, not in 1 ms.
        assert_eq!(health.buckets[0], 0);
        assert_eq!(health.buckets[1], 1);
    }
}
