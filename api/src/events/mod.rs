//! Live updates: the adapters of the service layer's `EventBus` port. Committed `order_events` rows are published by the outbox `relay` to the
//! `EventBus` — Redis pub/sub when `REDIS_URL` is set, an in-process broadcast otherwise —
//! and every instance's `Hub` routes them to the subscription streams that want them (by
//! order and customer). The database is the record: the bus is at-most-once, so a stream
//! that sees a gap, lags or hears that the bus reconnected re-reads from `order_events`.

pub mod hub;
pub mod notify;
pub mod relay;
pub mod scheduler;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::sync::broadcast;

use crate::broker::Broker;
pub use crate::service::bus::{BusError, BusEvent, BusMessage, EventBus};

/// How a background worker (relay, webhook worker, notification sender) behaves when
/// the database fails it: waits 50 ms longer per failure in a row (at most 2 s), and
/// warns on the 1st, 2nd, 4th, 8th… failure rather than on every one.
pub(crate) struct Backoff {
    failures: u32,
    what: &'static str,
}

impl Backoff {
    /// `what` finishes the warning: "<what> failed; …".
    pub(crate) fn new(what: &'static str) -> Self {
        Self { failures: 0, what }
    }

    /// The worker got through: the next failure is the first again.
    pub(crate) fn succeeded(&mut self) {
        self.failures = 0;
    }

    /// Logs `err` (sometimes) and waits before the worker tries again.
    pub(crate) async fn failed(&mut self, err: &(dyn std::fmt::Display + Sync)) {
        self.failures = self.failures.saturating_add(1);
        let failures = self.failures;
        if failures == 1 || failures.is_power_of_two() {
            tracing::warn!(error = %err, failures, "{}", self.what);
        }
        tokio::time::sleep(Duration::from_millis(50 * u64::from(failures.min(40)))).await;
    }
}

/// Waits for `wake` (work was committed) or `poll` (the safety net), whichever is first.
pub(crate) async fn idle(wake: &tokio::sync::Notify, poll: Duration) {
    tokio::select! {
        () = wake.notified() => {}
        () = tokio::time::sleep(poll) => {}
    }
}

/// The Redis channel every instance publishes to and subscribes to.
pub const CHANNEL: &str = "orderly:events";

/// What travels on the Redis channel.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Wire {
    Event(Box<BusEvent>),
    Stock { stock: Vec<i64> },
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

/// Redis pub/sub. Publishing goes through the instance's `Broker` (one self-healing
/// connection, a deadline on every command), so a Redis outage never blocks or fails a
/// database commit. Receiving uses exactly one subscriber connection per instance,
/// reconnecting with back-off; after each reconnect it announces `Resync`, since messages
/// published meanwhile are gone.
pub struct RedisBus {
    broker: Broker,
    local: broadcast::Sender<BusMessage>,
}

const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

impl RedisBus {
    /// A bus over `broker`; starts the subscriber task on the current runtime.
    pub fn start(broker: Broker) -> Arc<Self> {
        let bus = Arc::new(Self {
            broker,
            local: broadcast::channel(LOCAL_BUFFER).0,
        });
        tokio::spawn(subscriber(Arc::downgrade(&bus)));
        bus
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, BusError> {
        self.broker
            .run(&cmd, REDIS_TIMEOUT)
            .await
            .map_err(|e| BusError::Unavailable(e.to_string()))
    }
}

/// The instance's one subscriber connection, for as long as the bus exists.
async fn subscriber(bus: std::sync::Weak<RedisBus>) {
    let mut backoff = Duration::from_millis(50);
    loop {
        let Some(strong) = bus.upgrade() else { return };
        let client = strong.broker.client().clone();
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

/// The bus the settings ask for: Redis when there is a broker, else in-process.
pub fn from_broker(broker: Option<&Broker>) -> Arc<dyn EventBus> {
    match broker {
        Some(broker) => RedisBus::start(broker.clone()),
        None => Arc::new(InProcessBus::new()),
    }
}
