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

/// Texts shared by every instance under `<prefix><name>`, each kept for a while (the
/// persisted queries' texts by their hash).
#[derive(Clone)]
pub struct SharedTexts {
    broker: Broker,
    prefix: String,
}

impl SharedTexts {
    /// Texts under `prefix` (e.g. `orderly:apq:`) in `broker`'s Redis.
    pub fn new(broker: Broker, prefix: String) -> Self {
        Self { broker, prefix }
    }

    /// The text under `name`, if Redis has it; gives up after `deadline`.
    pub async fn get(&self, name: &str, deadline: Duration) -> Result<Option<String>, BrokerError> {
        self.broker
            .run(
                redis::cmd("GET").arg(format!("{}{name}", self.prefix)),
                deadline,
            )
            .await
    }

    /// Keeps `text` under `name` for `ttl`; gives up after `deadline`.
    pub async fn put(
        &self,
        name: &str,
        text: &str,
        ttl: Duration,
        deadline: Duration,
    ) -> Result<(), BrokerError> {
        let mut set = redis::cmd("SET");
        set.arg(format!("{}{name}", self.prefix))
            .arg(text)
            .arg("EX")
            .arg(ttl.as_secs().max(1));
        self.broker.run(&set, deadline).await
    }
}

/// Leaky buckets of cost points in Redis, one hash per key, updated atomically by one
/// script on Redis' own clock, so every instance draws from the same bucket.
#[derive(Clone)]
pub struct SharedBuckets {
    broker: Broker,
    prefix: String,
    script: redis::Script,
}

/// Refill by elapsed time; take `cost` if it is there, and then up to `grant` more
/// points as a lease the instance spends locally; remember level and time.
const BUCKET_SCRIPT: &str = r"
local budget = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local grant = tonumber(ARGV[4])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'a', 't')
local available = tonumber(state[1]) or budget
local at = tonumber(state[2]) or now
available = math.min(budget, available + math.max(0, now - at) / 1000 * rate)
local ok = 0
local granted = 0
if available >= cost then
  available = available - cost
  ok = 1
  granted = math.min(grant, available)
  available = available - granted
end
redis.call('HSET', KEYS[1], 'a', tostring(available), 't', tostring(now))
local ttl = 60000
if rate > 0 then ttl = math.ceil((budget - available) / rate * 1000) + 1000 end
redis.call('PEXPIRE', KEYS[1], ttl)
return {ok, tostring(available), tostring(granted)}
";

/// How long a request waits for Redis before the local bucket decides.
const BUCKET_DEADLINE: Duration = Duration::from_millis(250);

/// What one charge against a shared bucket did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Taken {
    /// Whether the cost was taken.
    pub ok: bool,
    /// Points left in the shared bucket (after the cost and the lease).
    pub available: f64,
    /// Points leased to this instance on top of the cost.
    pub granted: f64,
}

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
    /// second) if they are there, and then up to `grant` more as a lease.
    pub async fn take(
        &self,
        key: &str,
        budget: f64,
        rate: f64,
        cost: usize,
        grant: f64,
    ) -> Result<Taken, BrokerError> {
        let mut invocation = self.script.key(format!("{}{key}", self.prefix));
        invocation.arg(budget).arg(rate).arg(cost).arg(grant);
        let (ok, available, granted) = self
            .broker
            .invoke::<(i64, String, String)>(&invocation, BUCKET_DEADLINE)
            .await?;
        Ok(Taken {
            ok: ok == 1,
            available: available.parse().unwrap_or(0.0),
            granted: granted.parse().unwrap_or(0.0),
        })
    }

    /// Whether Redis answers a `PING` within the request deadline.
    pub async fn answers(&self) -> bool {
        self.broker
            .run::<String>(&redis::cmd("PING"), BUCKET_DEADLINE)
            .await
            .is_ok()
    }
}
