//! Per-principal leaky buckets of cost points (Shopify-style): each request's cost is
//! taken from its principal's bucket, which refills at a steady rate. With Redis the
//! buckets are shared by every instance; without it (or while it does not answer) each
//! instance keeps its own.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use super::policy::Limits;

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

/// Buckets in Redis, updated atomically by one script on Redis' own clock.
pub struct SharedBuckets {
    client: redis::Client,
    prefix: String,
    connection: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    script: redis::Script,
}

/// Refill by elapsed time, take `cost` if it is there, remember level and time.
const BUCKET_SCRIPT: &str = r"
local budget = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'a', 't')
local available = tonumber(state[1]) or budget
local at = tonumber(state[2]) or now
available = math.min(budget, available + math.max(0, now - at) / 1000 * rate)
local ok = 0
if available >= cost then
  available = available - cost
  ok = 1
end
redis.call('HSET', KEYS[1], 'a', tostring(available), 't', tostring(now))
local ttl = 60000
if rate > 0 then ttl = math.ceil((budget - available) / rate * 1000) + 1000 end
redis.call('PEXPIRE', KEYS[1], ttl)
return {ok, tostring(available)}
";

impl SharedBuckets {
    /// Buckets in the Redis at `url`, under `prefix:rate:`; connects lazily.
    pub fn new(url: &str, prefix: &str) -> Result<Self, redis::RedisError> {
        Ok(Self {
            client: redis::Client::open(url)?,
            prefix: format!("{prefix}:rate:"),
            connection: tokio::sync::Mutex::new(None),
            script: redis::Script::new(BUCKET_SCRIPT),
        })
    }

    async fn charge(&self, limits: &Limits, key: &str, cost: usize) -> Result<(bool, f64), String> {
        let mut connection = {
            let mut slot = self.connection.lock().await;
            match slot.as_ref() {
                Some(connection) => connection.clone(),
                None => {
                    let connection = tokio::time::timeout(
                        SHARED_TIMEOUT,
                        self.client.get_multiplexed_async_connection(),
                    )
                    .await
                    .map_err(|_| "timed out connecting to Redis".to_owned())?
                    .map_err(|e| e.to_string())?;
                    *slot = Some(connection.clone());
                    connection
                }
            }
        };
        let mut invocation = self.script.key(format!("{}{key}", self.prefix));
        invocation
            .arg(limits.budget)
            .arg(limits.restore_per_second)
            .arg(cost);
        let outcome = tokio::time::timeout(
            SHARED_TIMEOUT,
            invocation.invoke_async::<(i64, String)>(&mut connection),
        )
        .await;
        match outcome {
            Ok(Ok((ok, available))) => Ok((ok == 1, available.parse().unwrap_or(0.0))),
            Ok(Err(e)) => {
                *self.connection.lock().await = None;
                Err(e.to_string())
            }
            Err(_) => {
                *self.connection.lock().await = None;
                Err("Redis did not answer in time".to_owned())
            }
        }
    }
}

/// How long a request waits for Redis before the local bucket decides.
const SHARED_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(250);

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
            match shared.charge(limits, key, cost).await {
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
