//! Orderly's one way to talk to Redis: a `redis::aio::ConnectionManager`, made lazily (so
//! start-up does not need Redis up) and reconnecting by itself, with a deadline on every
//! command so that a Redis that hangs never holds up a request or a commit. The event
//! bus publishes through it and the rate limiter keeps its shared buckets through it;
//! only the bus's pub/sub subscriber, a connection of its own kind, opens another.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Why Redis could not do something.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// Redis refused or failed the command, or the connection broke.
    #[error("Redis failed: {0}")]
    Failed(#[from] redis::RedisError),
    /// Redis did not answer before the deadline.
    #[error("Redis did not answer in time")]
    TimedOut,
}

/// A Redis server, reached through one self-healing multiplexed connection.
#[derive(Clone)]
pub struct Broker {
    client: redis::Client,
    manager: ConnectionManager,
}

impl Broker {
    /// The Redis at `url`; connects on first use.
    pub fn connect_lazily(url: &str) -> Result<Self, BrokerError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        Ok(Self { client, manager })
    }

    /// The client, for connections of another kind (pub/sub).
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// Runs `cmd`, giving up after `deadline`.
    pub async fn run<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
        deadline: Duration,
    ) -> Result<T, BrokerError> {
        let mut connection = self.manager.clone();
        tokio::time::timeout(deadline, cmd.query_async::<T>(&mut connection))
            .await
            .map_err(|_| BrokerError::TimedOut)?
            .map_err(BrokerError::from)
    }

    /// Runs `invocation` of a Lua script, giving up after `deadline`.
    pub async fn invoke<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
        deadline: Duration,
    ) -> Result<T, BrokerError> {
        let mut connection = self.manager.clone();
        tokio::time::timeout(deadline, invocation.invoke_async::<T>(&mut connection))
            .await
            .map_err(|_| BrokerError::TimedOut)?
            .map_err(BrokerError::from)
    }
}

/// Leaky buckets of cost points in Redis, one hash per key, updated atomically by one
/// script on Redis' own clock, so every instance draws from the same bucket.
pub struct SharedBuckets {
    broker: Broker,
    prefix: String,
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

/// How long a request waits for Redis before the local bucket decides.
const BUCKET_DEADLINE: Duration = Duration::from_millis(250);

impl SharedBuckets {
    /// Buckets on `broker`, under `prefix:rate:`.
    pub fn new(broker: Broker, prefix: &str) -> Self {
        Self {
            broker,
            prefix: format!("{prefix}:rate:"),
            script: redis::Script::new(BUCKET_SCRIPT),
        }
    }

    /// Takes `cost` points from `key`'s bucket (of `budget`, refilled at `rate` a
    /// second) if they are there; says whether it did and how many are left.
    pub async fn take(
        &self,
        key: &str,
        budget: f64,
        rate: f64,
        cost: usize,
    ) -> Result<(bool, f64), BrokerError> {
        let mut invocation = self.script.key(format!("{}{key}", self.prefix));
        invocation.arg(budget).arg(rate).arg(cost);
        let (ok, available) = self
            .broker
            .invoke::<(i64, String)>(&invocation, BUCKET_DEADLINE)
            .await?;
        Ok((ok == 1, available.parse().unwrap_or(0.0)))
    }
}
