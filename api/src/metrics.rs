//! Prometheus metrics, one registry per application instance (so several servers in one
//! test process never mix their numbers). Served as text on `/metrics`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

/// Most distinct operation names tracked; later ones are counted as `other`, so clients
/// cannot blow up the metric cardinality.
const MAX_OPERATION_LABELS: usize = 256;

/// The application's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    graphql_requests: IntCounterVec,
    graphql_duration: HistogramVec,
    db_statements: IntCounter,
    db_errors: IntCounter,
    db_duration: Histogram,
    webhook_attempts: IntCounterVec,
    webhook_latency: Histogram,
    webhook_queue: IntGauge,
    notifications: IntCounterVec,
    notification_queue: IntGauge,
    notifications_taken: IntCounterVec,
    placements: IntCounterVec,
    placement_batches: IntCounter,
    /// Held while the placement counters are brought up to the store's.
    placements_sync: Arc<Mutex<()>>,
    operations: Arc<Mutex<HashSet<String>>>,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("orderly".to_owned()), None)?;
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route and status class",
            ),
            &["route", "status"],
        )?;
        let graphql_requests = IntCounterVec::new(
            Opts::new(
                "graphql_requests_total",
                "GraphQL operations by name and outcome",
            ),
            &["operation", "outcome"],
        )?;
        let graphql_duration = HistogramVec::new(
            HistogramOpts::new(
                "graphql_request_duration_seconds",
                "GraphQL operation latency",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["operation"],
        )?;
        let db_statements = IntCounter::new("db_statements_total", "SQL statements executed")?;
        let db_errors = IntCounter::new("db_statement_errors_total", "SQL statements that failed")?;
        let db_duration = Histogram::with_opts(
            HistogramOpts::new("db_statement_duration_seconds", "SQL statement latency").buckets(
                vec![
                    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5,
                ],
            ),
        )?;
        let webhook_attempts = IntCounterVec::new(
            Opts::new(
                "webhook_attempts_total",
                "Webhook delivery attempts by outcome (delivered, retrying, failed)",
            ),
            &["outcome"],
        )?;
        let webhook_latency = Histogram::with_opts(
            HistogramOpts::new(
                "webhook_delivery_latency_seconds",
                "From the event's commit to the receiver's 2xx",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0, 600.0, 3600.0,
            ]),
        )?;
        let webhook_queue = IntGauge::new(
            "webhook_queue_depth",
            "Webhook deliveries waiting to be sent (pending or retrying)",
        )?;
        let notifications = IntCounterVec::new(
            Opts::new(
                "notifications_total",
                "Notification sending attempts by outcome (sent, retrying, failed)",
            ),
            &["outcome"],
        )?;
        let notification_queue = IntGauge::new(
            "notification_queue_depth",
            "Notifications waiting to be sent",
        )?;
        let notifications_taken = IntCounterVec::new(
            Opts::new(
                "notifications_taken_total",
                "Notifications the sender took to send, by how: handed over by this \
                 instance's relay as it wrote them, or claimed from the database",
            ),
            &["how"],
        )?;
        // Both series from the start, at 0: the sender counts only what it took.
        for how in ["handed", "claimed"] {
            notifications_taken.with_label_values(&[how]);
        }
        let placements = IntCounterVec::new(
            Opts::new(
                "placements_total",
                "Orders placed, by how they were written: batched (several orders in one \
                 transaction, Postgres) or single",
            ),
            &["path"],
        )?;
        let placement_batches = IntCounter::new(
            "placement_batches_total",
            "Placement transactions that wrote a batch of orders (Postgres)",
        )?;
        registry.register(Box::new(placements.clone()))?;
        registry.register(Box::new(placement_batches.clone()))?;
        registry.register(Box::new(notifications.clone()))?;
        registry.register(Box::new(notification_queue.clone()))?;
        registry.register(Box::new(notifications_taken.clone()))?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(webhook_attempts.clone()))?;
        registry.register(Box::new(webhook_latency.clone()))?;
        registry.register(Box::new(webhook_queue.clone()))?;
        registry.register(Box::new(graphql_requests.clone()))?;
        registry.register(Box::new(graphql_duration.clone()))?;
        registry.register(Box::new(db_statements.clone()))?;
        registry.register(Box::new(db_errors.clone()))?;
        registry.register(Box::new(db_duration.clone()))?;
        Ok(Self {
            registry,
            http_requests,
            graphql_requests,
            graphql_duration,
            db_statements,
            db_errors,
            db_duration,
            webhook_attempts,
            webhook_latency,
            webhook_queue,
            notifications,
            notification_queue,
            notifications_taken,
            placements,
            placement_batches,
            placements_sync: Arc::default(),
            operations: Arc::default(),
        })
    }

    /// Counts one HTTP response.
    pub fn http_request(&self, route: &str, status: u16) {
        let class = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.http_requests.with_label_values(&[route, class]).inc();
    }

    /// Records one GraphQL operation.
    pub fn graphql_request(&self, operation: Option<&str>, ok: bool, elapsed: Duration) {
        let name = self.operation_label(operation);
        let outcome = if ok { "ok" } else { "error" };
        self.graphql_requests
            .with_label_values(&[name.as_str(), outcome])
            .inc();
        self.graphql_duration
            .with_label_values(&[name.as_str()])
            .observe(elapsed.as_secs_f64());
    }

    /// Records one SQL statement (called by the database driver hook).
    pub fn db_statement(&self, elapsed: Duration, failed: bool) {
        self.db_statements.inc();
        if failed {
            self.db_errors.inc();
        }
        self.db_duration.observe(elapsed.as_secs_f64());
    }

    /// Counts one webhook attempt by what it came to.
    pub fn webhook_attempt(&self, outcome: &str) {
        self.webhook_attempts.with_label_values(&[outcome]).inc();
    }

    /// Records how long a delivered event took from commit to 2xx.
    pub fn webhook_latency(&self, elapsed: Duration) {
        self.webhook_latency.observe(elapsed.as_secs_f64());
    }

    /// Sets the number of deliveries waiting.
    pub fn webhook_queue_depth(&self, depth: u64) {
        self.webhook_queue
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// Counts one notification attempt by what it came to.
    pub fn notification(&self, outcome: &str) {
        self.notifications.with_label_values(&[outcome]).inc();
    }

    /// Counts notifications taken to send: `how` is `handed` or `claimed`.
    pub fn notifications_taken(&self, how: &str, count: usize) {
        if count == 0 {
            return;
        }
        self.notifications_taken
            .with_label_values(&[how])
            .inc_by(count as u64);
    }

    /// Sets the number of notifications waiting.
    pub fn notification_queue_depth(&self, depth: u64) {
        self.notification_queue
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// Brings the placement counters up to the store's totals so far (orders batched,
    /// orders written alone, batches), read when `/metrics` is served.
    pub fn placements(&self, batched: u64, single: u64, batches: u64) {
        let Ok(_sync) = self.placements_sync.lock() else {
            return;
        };
        let catch_up = |counter: &IntCounter, to: u64| {
            counter.inc_by(to.saturating_sub(counter.get()));
        };
        catch_up(&self.placements.with_label_values(&["batched"]), batched);
        catch_up(&self.placements.with_label_values(&["single"]), single);
        catch_up(&self.placement_batches, batches);
    }

    /// SQL statements executed so far.
    pub fn db_statement_count(&self) -> u64 {
        self.db_statements.get()
    }

    fn operation_label(&self, operation: Option<&str>) -> String {
        let Some(name) = operation.filter(|n| {
            !n.is_empty()
                && n.len() <= 64
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        }) else {
            return "anonymous".to_owned();
        };
        let Ok(mut known) = self.operations.lock() else {
            return "other".to_owned();
        };
        if known.contains(name) || known.len() < MAX_OPERATION_LABELS {
            known.insert(name.to_owned());
            name.to_owned()
        } else {
            "other".to_owned()
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}
