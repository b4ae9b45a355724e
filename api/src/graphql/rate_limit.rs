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
                        "maximumAvailable": t.maximum,
                        "currentlyAvailable": t.available.floor(),
                        "restoreRate": t.restore_rate,
                    }
                }),
            ),
            None => response,
        }
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
/// draws from the same bucket), else in this process. If Redis does not answer, the
/// local buckets stand in until it does.
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
    shared: Option<SharedBuckets>,
}

/// Buckets kept before full ones are swept out.
const SWEEP_AT: usize = 10_000;

impl RateLimiter {
    pub(crate) fn new(shared: Option<SharedBuckets>) -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
            shared,
        }
    }

    /// Takes `cost` points from `key`'s bucket, or says how many seconds until it could.
    pub(crate) async fn charge(
        &self,
        limits: &Limits,
        key: &str,
        cost: usize,
    ) -> Result<Throttle, f64> {
        if let Some(shared) = &self.shared {
            match shared
                .take(key, limits.budget, limits.restore_per_second, cost)
                .await
            {
                Ok((taken, available)) => {
                    #[allow(clippy::cast_precision_loss)]
                    let missing = cost as f64 - available;
                    return if taken {
                        Ok(Throttle {
                            requested: cost,
                            maximum: limits.budget,
                            available,
                            restore_rate: limits.restore_per_second,
                        })
                    } else {
                        Err((missing / limits.restore_per_second.max(f64::EPSILON)).max(0.001))
                    };
                }
                Err(error) => {
                    tracing::warn!(%error, "rate limiting: Redis unavailable, using this instance's buckets");
                }
            }
        }
        self.charge_locally(limits, key, cost)
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
mod tests {
    use super::*;

    #[test]
    fn buckets_drain_and_refill() {
        let limits = Limits {
            budget: 100.0,
            restore_per_second: 1_000_000.0,
            ..Limits::default()
        };
        let limiter = RateLimiter::new(None);
        assert!(limiter.charge_locally(&limits, "a", 60).is_ok());
        // A million points a second refill a 100-point bucket within 2 ms.
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(limiter.charge_locally(&limits, "a", 60).is_ok());
        let slow = Limits {
            budget: 100.0,
            restore_per_second: 1.0,
            ..Limits::default()
        };
        assert!(limiter.charge_locally(&slow, "b", 60).is_ok());
        let retry = limiter.charge_locally(&slow, "b", 60).unwrap_err();
        assert!((19.0..=21.0).contains(&retry), "retry after {retry}");
        assert!(
            limiter.charge_locally(&slow, "c", 60).is_ok(),
            "buckets are per principal"
        );
    }
}
