//! The event bus as the service layer sees it: a port. The outbox publishes committed
//! events through it; `events/` provides the adapters (in-process broadcast, Redis
//! pub/sub) and the hub that routes what arrives to subscription streams.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::broadcast;

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
