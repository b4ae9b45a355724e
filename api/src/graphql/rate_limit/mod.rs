//! Per-principal leaky buckets of cost points (Shopify-style): each request's cost is
//! taken from its principal's bucket, which refills at a steady rate. With Redis the
//! buckets are shared by every instance (`broker::SharedBuckets`); without it (or while
//! it does not answer) each instance keeps its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextValidation,
};
use async_graphql::{Response, ServerError, ValidationResult};

use super::error_codes::coded;
use crate::auth::Principal;
pub use crate::broker::SharedBuckets;
use crate::config::Limits;

/// Who pays for an anonymous request: its client address (set by the transport).
#[derive(Debug, Clone)]
pub struct ClientAddress(pub String);

impl ClientAddress {
    /// The peer's IP address (forwarding headers are not trusted).
    pub fn of(req: &actix_web::HttpRequest) -> Self {
        Self(
            req.peer_addr()
                .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string()),
        )
    }
}

/// The extension that charges each request's cost to its principal's bucket and reports
/// the bucket in `extensions.cost`; one per schema.
#[derive(Clone)]
pub struct RateLimit {
    limits: Arc<Limits>,
    limiter: Arc<RateLimiter>,
}

impl RateLimit {
    /// Charges against `limits`, in Redis when `shared` is given.
    pub fn new(limits: Arc<Limits>, shared: Option<SharedBuckets>) -> Self {
        Self {
            limits,
            limiter: Arc::new(RateLimiter::new(shared)),
        }
    }
}

impl ExtensionFactory for RateLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RateLimitRun {
            limit: self.clone(),
            throttle: Mutex::new(None),
        })
    }
}

struct RateLimitRun {
    limit: RateLimit,
    throttle: Mutex<Option<Throttle>>,
}

/// The bucket key of a principal: anonymous callers pay per client address.
fn bucket_key(who: &Principal, address: Option<&ClientAddress>) -> String {
    match who {
        Principal::Anonymous => {
            format!("anonymous:{}", address.map_or("unknown", |a| a.0.as_str()))
        }
        other => other.actor(),
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for RateLimitRun {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let limits = &self.limit.limits;
        if limits.budget <= 0.0 {
            return Ok(result);
        }
        let who = ctx.data_opt::<Principal>().unwrap_or(&Principal::Anonymous);
        let key = bucket_key(who, ctx.data_opt::<ClientAddress>());
        match self
            .limit
            .limiter
            .charge(limits, &key, result.complexity)
            .await
        {
            Ok(throttle) => {
                *self
                    .throttle
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(throttle);
                Ok(result)
            }
            Err(retry_after) => {
                let mut error = coded(
                    "RATE_LIMITED",
                    format!(
                        "this request costs {} points and your budget is spent; retry in {:.1} s",
                        result.complexity, retry_after
                    ),
                );
                if let Some(ext) = error.extensions.as_mut() {
                    ext.set("retryAfter", (retry_after * 1000.0).ceil() / 1000.0);
                    ext.set("cost", result.complexity);
                }
                Err(vec![error])
            }
        }
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let response = next.run(ctx, operation_name).await;
        let throttle = *self
            .throttle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match throttle {
            Some(t) => response.extension(
                "cost",
                async_graphql::value!({
                    "requestedQueryCost": t.requested,
                    "throttleStatus": {
                        "maximumAvailable": points(t.maximum),
                        "currentlyAvailable": points(t.available.floor()),
                        "restoreRate": points(t.restore_rate),
                    }
                }),
            ),
            None => response,
        }
    }
}

/// Cost points as JSON: a whole number as an integer (`20000`, not `20000.0`), a
/// fractional setting as it is.
fn points(value: f64) -> async_graphql::Value {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53: integers up to here are exact
    if value.fract() == 0.0 && value.abs() <= EXACT {
        #[allow(clippy::cast_possible_truncation)] // whole and within ±2^53
        let whole = value as i64;
        async_graphql::Value::from(whole)
    } else {
        async_graphql::Value::from(value)
    }
}

/// A principal's bucket of cost points.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    available: f64,
    at: Instant,
}

/// Where a principal's budget stands after a request was charged.
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    pub requested: usize,
    pub maximum: f64,
    pub available: f64,
    pub restore_rate: f64,
}

/// Leaky buckets by principal: in Redis when the server has one (so every instance
/// draws from the same bucket), else in this process.
///
/// Redis is not asked on every request: a cheap request (at most a quarter of the
/// share, a twentieth of the budget) takes the share with it as a lease, and the
/// requests after it spend the lease here until it runs out. Leased points have left
/// the shared bucket, so instances never overspend it together; at most one share per
/// principal and instance sits unspent. A request dearer than that goes to Redis itself.
///
/// If Redis fails or does not answer in time, a breaker opens: every request charges
/// this instance's own buckets at once, and Redis is probed in the background (once
/// per back-off period) until it answers again.
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
    leases: Mutex<HashMap<String, Lease>>,
    shared: Option<SharedBuckets>,
    breaker: Arc<Breaker>,
}

/// Points taken from a shared bucket ahead of use, the bucket's level then, and since
/// when a request is asking Redis for more (a request dropped while asking leaves it
/// set: after a second it no longer counts).
#[derive(Debug, Clone, Copy, Default)]
struct Lease {
    points: f64,
    shared_level: f64,
    asking: Option<Instant>,
}

/// What a request does about its principal's lease.
enum Leasing {
    /// Paid from the lease.
    Spent(Throttle),
    /// Ask Redis for the cost and a new lease.
    Ask,
    /// Another request is asking for a lease: ask Redis for the cost only.
    Pending,
}

/// Buckets kept before full ones are swept out.
const SWEEP_AT: usize = 10_000;

/// The part of the budget an instance leases at once.
const SHARE_OF_BUDGET: f64 = 1.0 / 20.0;

/// How long Redis is left alone after it failed, before a background probe.
const BACKOFF: std::time::Duration = std::time::Duration::from_secs(2);

/// Whether Redis is worth asking: closed (yes) until a failure opens it for `BACKOFF`;
/// then one background probe at a time decides.
#[derive(Default)]
struct Breaker {
    open_until: Mutex<Option<Instant>>,
    probing: std::sync::atomic::AtomicBool,
}

impl Breaker {
    fn is_open(&self) -> bool {
        self.open_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some()
    }

    fn open(&self) {
        *self
            .open_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now() + BACKOFF);
    }

    fn close(&self) {
        *self
            .open_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// True when the back-off has run out and no probe is running (the caller probes).
    fn probe_due(&self) -> bool {
        let due = self
            .open_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some_and(|until| Instant::now() >= until);
        due && !self.probing.swap(true, std::sync::atomic::Ordering::AcqRel)
    }
}

impl RateLimiter {
    pub(crate) fn new(shared: Option<SharedBuckets>) -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
            leases: Mutex::new(HashMap::new()),
            shared,
            breaker: Arc::new(Breaker::default()),
        }
    }

    /// Takes `cost` points from `key`'s bucket, or says how many seconds until it could.
    pub(crate) async fn charge(
        &self,
        limits: &Limits,
        key: &str,
        cost: usize,
    ) -> Result<Throttle, f64> {
        let Some(shared) = &self.shared else {
            return self.charge_locally(limits, key, cost);
        };
        if self.breaker.is_open() {
            if self.breaker.probe_due() {
                let (shared, breaker) = (shared.clone(), self.breaker.clone());
                tokio::spawn(async move {
                    if shared.answers().await {
                        tracing::info!("rate limiting: Redis answers again, buckets shared");
                        breaker.close();
                    } else {
                        breaker.open();
                    }
                    breaker
                        .probing
                        .store(false, std::sync::atomic::Ordering::Release);
                });
            }
            return self.charge_locally(limits, key, cost);
        }
        #[allow(clippy::cast_precision_loss)]
        let points = cost as f64;
        let share = limits.budget * SHARE_OF_BUDGET;
        let grant = if points <= share / 4.0 {
            match self.spend_lease(limits, key, cost) {
                Leasing::Spent(throttle) => return Ok(throttle),
                Leasing::Ask => share,
                Leasing::Pending => 0.0,
            }
        } else {
            0.0
        };
        let taken = shared
            .take(key, limits.budget, limits.restore_per_second, cost, grant)
            .await;
        let mut leases = self
            .leases
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if grant > 0.0
            && let Some(lease) = leases.get_mut(key)
        {
            lease.asking = None;
        }
        match taken {
            Ok(taken) if taken.ok => {
                if leases.len() >= SWEEP_AT {
                    leases.clear();
                }
                let lease = leases.entry(key.to_owned()).or_default();
                lease.points += taken.granted;
                lease.shared_level = taken.available;
                Ok(Throttle {
                    requested: cost,
                    maximum: limits.budget,
                    available: taken.available + lease.points,
                    restore_rate: limits.restore_per_second,
                })
            }
            Ok(taken) => {
                let missing = points - taken.available;
                Err((missing / limits.restore_per_second.max(f64::EPSILON)).max(0.001))
            }
            Err(error) => {
                drop(leases);
                tracing::warn!(%error, "rate limiting: Redis unavailable, using this instance's buckets for {} s", BACKOFF.as_secs());
                self.breaker.open();
                self.charge_locally(limits, key, cost)
            }
        }
    }

    /// Spends `cost` from this instance's lease on `key`'s shared bucket if it holds
    /// that much; otherwise says whether this request should ask for a new lease (one
    /// request per key at a time does: a burst of concurrent requests must not each
    /// lease a share) or only for its own cost.
    fn spend_lease(&self, limits: &Limits, key: &str, cost: usize) -> Leasing {
        #[allow(clippy::cast_precision_loss)]
        let points = cost as f64;
        let mut leases = self
            .leases
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let lease = leases.entry(key.to_owned()).or_default();
        if lease.points >= points {
            lease.points -= points;
            return Leasing::Spent(Throttle {
                requested: cost,
                maximum: limits.budget,
                available: lease.shared_level + lease.points,
                restore_rate: limits.restore_per_second,
            });
        }
        let now = Instant::now();
        if lease
            .asking
            .is_some_and(|since| now.duration_since(since) < std::time::Duration::from_secs(1))
        {
            Leasing::Pending
        } else {
            lease.asking = Some(now);
            Leasing::Ask
        }
    }

    fn charge_locally(&self, limits: &Limits, key: &str, cost: usize) -> Result<Throttle, f64> {
        let now = Instant::now();
        #[allow(clippy::cast_precision_loss)]
        let cost_points = cost as f64;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, b| {
                let refilled = b.available
                    + now.duration_since(b.at).as_secs_f64() * limits.restore_per_second;
                refilled < limits.budget
            });
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            available: limits.budget,
            at: now,
        });
        bucket.available = (bucket.available
            + now.duration_since(bucket.at).as_secs_f64() * limits.restore_per_second)
            .min(limits.budget);
        bucket.at = now;
        if bucket.available < cost_points {
            let missing = cost_points - bucket.available;
            return Err((missing / limits.restore_per_second.max(f64::EPSILON)).max(0.001));
        }
        bucket.available -= cost_points;
        Ok(Throttle {
            requested: cost,
            maximum: limits.budget,
            available: bucket.available,
            restore_rate: limits.restore_per_second,
        })
    }
}

#[cfg(test)]
mod tests;
