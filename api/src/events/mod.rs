//! The event bus that carries committed order events to every instance: Redis pub/sub when
//! `REDIS_URL` is set, an in-process broadcast otherwise. The database is the record;
//! the bus only makes delivery fast (the outbox relay and subscriptions build on this).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// The Redis channel every instance publishes to and subscribes to.
pub const CHANNEL: &str = "orderly:events";

/// A committed order event as it travels on the bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusEvent {
    pub event_id: i64,
    pub order_id: i64,
    pub customer_id: i64,
    pub sequence: i32,
    pub event_type: String,
    pub fulfillment_order_id: Option<i64>,
}

/// Why the bus could not do something.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The broker did not answer (in time).
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
}

/// Publishes events to every instance and reports whether it can.
#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Publishes one event (at most once: subscribers resynchronise from the database).
    async fn publish(&self, event: &BusEvent) -> Result<(), BusError>;
    /// Checks the broker answers (readiness).
    async fn health(&self) -> Result<(), BusError>;
    /// A short name for logs and `/ready`.
    fn name(&self) -> &'static str;
}

/// One instance, no broker: a broadcast channel.
pub struct InProcessBus {
    sender: broadcast::Sender<BusEvent>,
}

impl InProcessBus {
    /// A bus buffering up to `capacity` events per slow receiver.
    pub fn new(capacity: usize) -> Self {
        Self { sender: broadcast::channel(capacity.max(16)).0 }
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<BusEvent> {
        self.sender.subscribe()
    }
}

#[async_trait]
impl EventBus for InProcessBus {
    async fn publish(&self, event: &BusEvent) -> Result<(), BusError> {
        // No receivers is not an error: nobody is listening right now.
        let _ = self.sender.send(event.clone());
        Ok(())
    }

    async fn health(&self) -> Result<(), BusError> {
        Ok(())
    }

    fn name(&self) -> &'static str {
        "in-process"
    }
}

/// Redis pub/sub. Publishing uses one multiplexed connection, re-established on demand,
/// so a Redis outage never blocks or fails a database commit.
pub struct RedisBus {
    client: redis::Client,
    connection: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
}

const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

impl RedisBus {
    /// A bus for `url`; connects lazily, so start-up does not need Redis up.
    pub fn new(url: &str) -> Result<Self, BusError> {
        let client = redis::Client::open(url).map_err(|e| BusError::Unavailable(e.to_string()))?;
        Ok(Self { client, connection: tokio::sync::Mutex::new(None) })
    }

    async fn connection(&self) -> Result<redis::aio::MultiplexedConnection, BusError> {
        let mut slot = self.connection.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok(conn.clone());
        }
        let conn = tokio::time::timeout(REDIS_TIMEOUT, self.client.get_multiplexed_async_connection())
            .await
            .map_err(|_| BusError::Unavailable("timed out connecting to Redis".into()))?
            .map_err(|e| BusError::Unavailable(e.to_string()))?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, BusError> {
        let mut conn = self.connection().await?;
        let result = tokio::time::timeout(REDIS_TIMEOUT, cmd.query_async::<T>(&mut conn)).await;
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                *self.connection.lock().await = None;
                Err(BusError::Unavailable(e.to_string()))
            }
            Err(_) => {
                *self.connection.lock().await = None;
                Err(BusError::Unavailable("Redis did not answer in time".into()))
            }
        }
    }
}

#[async_trait]
impl EventBus for RedisBus {
    async fn publish(&self, event: &BusEvent) -> Result<(), BusError> {
        let payload = serde_json::to_string(event).map_err(|e| BusError::Unavailable(e.to_string()))?;
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(CHANNEL).arg(payload);
        self.run::<i64>(cmd).await.map(|_| ())
    }

    async fn health(&self) -> Result<(), BusError> {
        self.run::<String>(redis::cmd("PING")).await.map(|_| ())
    }

    fn name(&self) -> &'static str {
        "redis"
    }
}

/// The bus the settings ask for.
pub fn from_settings(redis_url: Option<&str>) -> Result<Arc<dyn EventBus>, BusError> {
    Ok(match redis_url {
        Some(url) => Arc::new(RedisBus::new(url)?),
        None => Arc::new(InProcessBus::new(4096)),
    })
}
