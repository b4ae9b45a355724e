//! The webhook delivery worker: claims due deliveries (which the outbox relay queued),
//! POSTs each signed, records the attempts in batches (a transaction for whatever
//! finished meanwhile), and wakes again when something is queued,
//! when a delivery finishes (the next event of that order may go), or on a short timer.
//! A bounded number of deliveries is in flight per instance (32) and per subscription
//! (8, so one hanging receiver cannot stall the others); each has 10 s, no redirects
//! are followed, no reply body is read, and every address a host name resolves to is
//! checked, so a receiver cannot reach into the operator's network or hold memory.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::{Backoff, idle};
use crate::domain::webhooks::{WebhookUrl, is_forbidden, signature};
use crate::gid::{self, Kind};
use crate::metrics::Metrics;
use crate::service::Store;
use crate::service::webhooks::{AttemptOutcome, ClaimedDelivery};

/// Longest one attempt may take, connection included.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a claim keeps other instances off a delivery.
const LEASE: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
/// Deliveries in flight per instance.
pub const MAX_IN_FLIGHT: usize = 32;
/// Deliveries in flight per instance to one subscription: a receiver that hangs holds
/// at most this many slots (for up to 10 s each); the rest serve the others.
pub const MAX_IN_FLIGHT_PER_SUBSCRIPTION: usize = 8;
/// How often the queue depth is counted for `/metrics`.
const DEPTH_EVERY: Duration = Duration::from_secs(5);

/// A resolver that drops loopback, private, link-local and metadata addresses (unless
/// they are allowed), so a public name cannot be pointed at the inside.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| allow_private || !is_forbidden(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(format!(
                    "{host} resolves only to private, loopback or link-local addresses"
                )
                .into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP client deliveries go out with.
pub fn client(allow_private: bool) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("Orderly-Webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(GuardedResolver { allow_private }))
        .pool_max_idle_per_host(4)
        .build()
}

/// Checks at creation that a URL's host does not resolve to a forbidden address (it is
/// checked again on every delivery). A name that does not resolve yet is accepted.
pub async fn check_resolution(url: &WebhookUrl, allow_private: bool) -> Result<(), String> {
    let Some(host) = url.domain() else {
        return Ok(());
    };
    if allow_private {
        return Ok(());
    }
    let lookup = tokio::net::lookup_host((host, url.port()));
    let Ok(Ok(addrs)) = tokio::time::timeout(Duration::from_secs(2), lookup).await else {
        return Ok(());
    };
    let addrs: Vec<SocketAddr> = addrs.collect();
    if addrs.iter().any(|a| is_forbidden(a.ip())) {
        return Err(format!(
            "{host} resolves to a loopback, private, link-local or metadata address"
        ));
    }
    Ok(())
}

/// Sends one delivery and says how it went. Only the status line is read.
pub async fn send(
    client: &reqwest::Client,
    claimed: &ClaimedDelivery,
    allow_private: bool,
    unix_now: i64,
) -> AttemptOutcome {
    let failed = |status: Option<u16>, error: String| AttemptOutcome::Failed { status, error };
    // The URL was checked when it was stored; check again under today's settings.
    if let Err(err) = WebhookUrl::parse(&claimed.url, allow_private) {
        return failed(None, format!("url refused: {}", err.message));
    }
    let delivery = &claimed.delivery;
    let request = client
        .post(&claimed.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("Orderly-Topic", delivery.topic.as_ref())
        .header(
            "Orderly-Event-Id",
            gid::encode(Kind::OrderEvent, delivery.event_id),
        )
        .header(
            "Orderly-Delivery-Id",
            gid::encode(Kind::WebhookDelivery, delivery.id),
        )
        .header(
            "Orderly-Signature",
            signature(&claimed.secret, unix_now, delivery.body.as_bytes()),
        )
        .body(delivery.body.clone());
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            // Dropping the response closes the connection without reading the body.
            drop(response);
            if status.is_success() {
                AttemptOutcome::Delivered {
                    status: status.as_u16(),
                }
            } else {
                failed(Some(status.as_u16()), format!("HTTP {status}"))
            }
        }
        Err(err) => failed(None, describe(&err)),
    }
}

/// Words for a failed attempt, without the URL (which the caller knows).
fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out after 10 s"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_request() {
        "request failed"
    } else {
        "failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {cause}")
    }
}

/// Runs the delivery worker until the runtime stops; `poll` is the safety-net period.
pub fn spawn(store: Store, metrics: Metrics, poll: Duration) -> tokio::task::JoinHandle<()> {
    let policy = store.webhook_policy();
    let wake = store.webhook_signal();
    tokio::spawn(async move {
        let client = match client(policy.allow_private) {
            Ok(client) => client,
            Err(err) => {
                tracing::error!(error = %err, "webhook client could not be built; no deliveries");
                return;
            }
        };
        let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        let in_flight = InFlight::default();
        let (finished, outcomes) = mpsc::unbounded_channel();
        tokio::spawn(recorder(
            store.clone(),
            metrics.clone(),
            outcomes,
            in_flight.clone(),
            wake.clone(),
        ));
        let mut backoff =
            Backoff::new("webhook worker could not claim deliveries; they wait in the database");
        let mut depth_counted = Instant::now() - DEPTH_EVERY;
        loop {
            if depth_counted.elapsed() >= DEPTH_EVERY {
                depth_counted = Instant::now();
                if let Ok(depth) = store.webhook_queue_depth().await {
                    metrics.webhook_queue_depth(depth);
                }
            }
            let free = slots.available_permits() as u64;
            let busy = in_flight.busy();
            match store.claim_webhook_deliveries(free, LEASE, &busy).await {
                Ok(batch) => {
                    backoff.succeeded();
                    let mut over = Vec::new();
                    for claimed in batch {
                        let subscription = claimed.delivery.subscription_id;
                        if !in_flight.take(subscription) {
                            over.push(claimed.delivery.id);
                            continue;
                        }
                        let Ok(slot) = slots.clone().acquire_owned().await else {
                            return;
                        };
                        let (client, clock, finished) =
                            (client.clone(), store.clock().clone(), finished.clone());
                        tokio::spawn(async move {
                            let unix_now = clock.now().timestamp();
                            let outcome =
                                send(&client, &claimed, policy.allow_private, unix_now).await;
                            // The recorder outlives the senders; if not, the lease runs out.
                            let _ = finished.send(Finished {
                                claimed,
                                outcome,
                                slot,
                            });
                        });
                    }
                    if let Err(err) = store.release_webhook_deliveries(over).await {
                        // Their lease runs out instead.
                        tracing::warn!(error = %err, "claimed webhook deliveries not released");
                    }
                }
                Err(err) => {
                    backoff.failed(&err).await;
                    continue;
                }
            }
            idle(&wake, poll).await;
        }
    })
}

/// Deliveries in flight per subscription.
#[derive(Clone, Default)]
struct InFlight(Arc<std::sync::Mutex<HashMap<i64, usize>>>);

impl InFlight {
    fn counts(&self) -> std::sync::MutexGuard<'_, HashMap<i64, usize>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Subscriptions that may not have another delivery in flight now.
    fn busy(&self) -> Vec<i64> {
        self.counts()
            .iter()
            .filter(|(_, n)| **n >= MAX_IN_FLIGHT_PER_SUBSCRIPTION)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Takes a place for one delivery to `subscription`, if it has one left.
    fn take(&self, subscription: i64) -> bool {
        let mut counts = self.counts();
        let n = counts.entry(subscription).or_default();
        if *n >= MAX_IN_FLIGHT_PER_SUBSCRIPTION {
            return false;
        }
        *n += 1;
        true
    }

    fn give_back(&self, subscription: i64) {
        let mut counts = self.counts();
        if let Some(n) = counts.get_mut(&subscription) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&subscription);
            }
        }
    }
}

/// An attempt that has its outcome and waits to be recorded; its slot is given back
/// once it is (the next event of its order may go only then).
struct Finished {
    claimed: ClaimedDelivery,
    outcome: AttemptOutcome,
    slot: OwnedSemaphorePermit,
}

/// Records finished attempts in batches: whatever finished while the last batch was
/// being written goes in the next, the 2xx ones in one transaction, so a burst costs a
/// transaction per batch rather than per delivery (SQLite has a single writer).
async fn recorder(
    store: Store,
    metrics: Metrics,
    mut outcomes: mpsc::UnboundedReceiver<Finished>,
    in_flight: InFlight,
    wake: Arc<tokio::sync::Notify>,
) {
    let mut batch = Vec::with_capacity(MAX_IN_FLIGHT);
    while outcomes.recv_many(&mut batch, MAX_IN_FLIGHT).await > 0 {
        record(&store, &metrics, &batch).await;
        for done in batch.drain(..) {
            in_flight.give_back(done.claimed.delivery.subscription_id);
            drop(done.slot);
        }
        wake.notify_one();
    }
}

async fn record(store: &Store, metrics: &Metrics, batch: &[Finished]) {
    let delivered: Vec<(&ClaimedDelivery, u16)> = batch
        .iter()
        .filter_map(|done| match done.outcome {
            AttemptOutcome::Delivered { status } => Some((&done.claimed, status)),
            AttemptOutcome::Failed { .. } => None,
        })
        .collect();
    match store.record_webhooks_delivered(&delivered).await {
        Ok(_) => {
            let now = store.clock().now();
            for (claimed, _) in &delivered {
                metrics.webhook_attempt("delivered");
                let latency = now - claimed.delivery.occurred_at;
                metrics.webhook_latency(latency.to_std().unwrap_or_default());
            }
        }
        Err(err) => {
            // The leases run out and another round sends them again: at least once.
            tracing::warn!(error = %err, deliveries = delivered.len(), "webhook deliveries not recorded");
        }
    }
    for done in batch {
        if let AttemptOutcome::Failed { status, error } = &done.outcome {
            record_failure(store, metrics, &done.claimed, *status, error).await;
        }
    }
}

async fn record_failure(
    store: &Store,
    metrics: &Metrics,
    claimed: &ClaimedDelivery,
    status: Option<u16>,
    error: &str,
) {
    let jitter: f64 = rand::random();
    match store
        .record_webhook_failure(claimed, status, error, jitter)
        .await
    {
        Ok(row) => {
            let label = match row.status {
                crate::domain::status::WebhookDeliveryStatus::Failed => "failed",
                _ => "retrying",
            };
            metrics.webhook_attempt(label);
        }
        Err(err) => {
            // The lease runs out and another round sends it again: at least once.
            tracing::warn!(error = %err, delivery = claimed.delivery.id, "webhook attempt not recorded");
        }
    }
}
