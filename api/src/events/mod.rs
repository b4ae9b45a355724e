//! Live updates. Committed `order_events` rows are published by the outbox `relay` to the
//! `EventBus` — Redis pub/sub when `REDIS_URL` is set, an in-process broadcast otherwise —
//! and every instance's `Hub` routes them to the subscription streams that want them (by
//! order and customer). The database is the record: the bus is at-most-once, so a stream
//! that sees a gap, lags or hears that the bus reconnected re-reads from `order_events`.

pub mod hub;
pub mod relay;
pub mod scheduler;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::sync::broadcast;

/// The Redis channel every instance publishes to and subscribes to.
pub const CHANNEL: &str = "orderly:events";

/// What travels on the Redis channel.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Wire {
    Event(Box<BusEvent>),
    Stock { stock: Vec<i64> },
}

/// A committed order event as it travels on the bus: the `order_events` row itself.
pub type BusEvent = entity::order_event::Model;

/// What the bus delivers to an instance.
#[derive(Debug, Clone)]
pub enum BusMessage {
    /// A committed event.
    Event(Arc<BusEvent>),
    /// Available stock of these SKUs changed (state, not history: streams re-read it).
    Stock(Arc<Vec<i64>>),
    /// Events may have been missed (the subscriber reconnected): re-read from the database.
    Resync,
}

/// Why the bus could not do something.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The broker did not answer (in time).
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
}

/// Carries events to every instance.
#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Publishes one event (at most once: subscribers resynchronise from the database).
    async fn publish(&self, event: &BusEvent) -> Result<(), BusError>;
    /// Announces that stock of `skus` changed.
    async fn publish_stock(&self, skus: &[i64]) -> Result<(), BusError>;
    /// Checks the broker answers (readiness).
    async fn health(&self) -> Result<(), BusError>;
    /// Everything this instance receives from the bus.
    fn subscribe(&self) -> broadcast::Receiver<BusMessage>;
    /// A short name for logs and `/ready`.
    fn name(&self) -> &'static str;
}

/// How many messages an instance buffers for a slow hub before it must resync.
const LOCAL_BUFFER: usize = 16_384;

/// One instance, no broker: a broadcast channel.
pub struct InProcessBus {
    sender: broadcast::Sender<BusMessage>,
}

impl InProcessBus {
    /// An empty bus.
    pub fn new() -> Self {
        Self {
            sender: broadcast::channel(LOCAL_BUFFER).0,
        }
    }
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl EventBus for InProcessBus {
    async fn publish(&self, event: &BusEvent) -> Result<(), BusError> {
        // No receivers is not an error: nobody is listening right now.
        let _ = self.sender.send(BusMessage::Event(Arc::new(event.clone())));
        Ok(())
    }

    async fn publish_stock(&self, skus: &[i64]) -> Result<(), BusError> {
        let _ = self.sender.send(BusMessage::Stock(Arc::new(skus.to_vec())));
        Ok(())
    }

    async fn health(&self) -> Result<(), BusError> {
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<BusMessage> {
        self.sender.subscribe()
    }

    fn name(&self) -> &'static str {
        "in-process"
    }
}

/// Redis pub/sub. Publishing uses one multiplexed connection, re-established on demand,
/// so a Redis outage never blocks or fails a database commit. Receiving uses exactly one
/// subscriber connection per instance, reconnecting with back-off; after each reconnect
/// it announces `Resync`, since messages published meanwhile are gone.
pub struct RedisBus {
    client: redis::Client,
    connection: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    local: broadcast::Sender<BusMessage>,
}

const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

impl RedisBus {
    /// A bus for `url`; connects lazily, so start-up does not need Redis up. Starts the
    /// subscriber task on the current runtime.
    pub fn start(url: &str) -> Result<Arc<Self>, BusError> {
        let client = redis::Client::open(url).map_err(|e| BusError::Unavailable(e.to_string()))?;
        let bus = Arc::new(Self {
            client,
            connection: tokio::sync::Mutex::new(None),
            local: broadcast::channel(LOCAL_BUFFER).0,
        });
        tokio::spawn(subscriber(Arc::downgrade(&bus)));
        Ok(bus)
    }

    async fn connection(&self) -> Result<redis::aio::MultiplexedConnection, BusError> {
        let mut slot = self.connection.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok(conn.clone());
        }
        let conn = tokio::time::timeout(
            REDIS_TIMEOUT,
            self.client.get_multiplexed_async_connection(),
        )
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

/// The instance's one subscriber connection, for as long as the bus exists.
async fn subscriber(bus: std::sync::Weak<RedisBus>) {
    let mut backoff = Duration::from_millis(50);
    loop {
        let Some(strong) = bus.upgrade() else { return };
        let client = strong.client.clone();
        let local = strong.local.clone();
        drop(strong);
        let connected = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(CHANNEL).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match tokio::time::timeout(REDIS_TIMEOUT, connected).await {
            Ok(Ok(pubsub)) => {
                backoff = Duration::from_millis(50);
                // Whatever was published while we were not listening is lost to us.
                let _ = local.send(BusMessage::Resync);
                let mut messages = pubsub.into_on_message();
                while let Some(message) = messages.next().await {
                    match serde_json::from_slice::<Wire>(message.get_payload_bytes()) {
                        Ok(Wire::Event(event)) => {
                            let _ = local.send(BusMessage::Event(Arc::new(*event)));
                        }
                        Ok(Wire::Stock { stock }) => {
                            let _ = local.send(BusMessage::Stock(Arc::new(stock)));
                        }
                        Err(err) => tracing::warn!(error = %err, "ignored a malformed bus message"),
                    }
                    if bus.strong_count() == 0 {
                        return;
                    }
                }
                tracing::warn!("lost the Redis subscriber connection; reconnecting");
            }
            Ok(Err(err)) => tracing::warn!(error = %err, "cannot subscribe to Redis; retrying"),
            Err(_) => tracing::warn!("timed out subscribing to Redis; retrying"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

#[async_trait]
impl EventBus for RedisBus {
    async fn publish(&self, event: &BusEvent) -> Result<(), BusError> {
        let payload =
            serde_json::to_string(event).map_err(|e| BusError::Unavailable(e.to_string()))?;
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(CHANNEL).arg(payload);
        self.run::<i64>(cmd).await.map(|_| ())
    }

    async fn publish_stock(&self, skus: &[i64]) -> Result<(), BusError> {
        let payload = serde_json::to_string(&Wire::Stock {
            stock: skus.to_vec(),
        })
        .map_err(|e| BusError::Unavailable(e.to_string()))?;
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(CHANNEL).arg(payload);
        self.run::<i64>(cmd).await.map(|_| ())
    }

    async fn health(&self) -> Result<(), BusError> {
        self.run::<String>(redis::cmd("PING")).await.map(|_| ())
    }

    fn subscribe(&self) -> broadcast::Receiver<BusMessage> {
        self.local.subscribe()
    }

    fn name(&self) -> &'static str {
        "redis"
    }
}

/// The bus the settings ask for.
pub fn from_settings(redis_url: Option<&str>) -> Result<Arc<dyn EventBus>, BusError> {
    Ok(match redis_url {
        Some(url) => RedisBus::start(url)?,
        None => Arc::new(InProcessBus::new()),
    })
}
