//! `webhook_deliveries`: One order event on its way to one subscription, with its attempts.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::status::{WebhookDeliveryStatus, WebhookTopic};

/// A row of `webhook_deliveries`; unique per (subscription, event).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub subscription_id: i64,
    /// The `order_events` row delivered.
    pub event_id: i64,
    pub order_id: i64,
    /// The event's sequence within its order: deliveries of one order leave in this order.
    pub sequence: i32,
    pub topic: WebhookTopic,
    /// The JSON body, fixed when the delivery is queued, so every attempt sends the same.
    pub body: String,
    pub status: WebhookDeliveryStatus,
    /// Attempts made so far.
    pub attempts: i32,
    /// Attempts after which it is FAILED (raised again by a redelivery).
    pub attempts_allowed: i32,
    pub last_response_status: Option<i32>,
    pub last_error: Option<String>,
    /// When the next attempt is due (PENDING and RETRYING).
    pub next_attempt_at: Option<DateTimeUtc>,
    /// An instance is sending it until then; others leave it alone.
    pub locked_until: Option<DateTimeUtc>,
    /// When the event was committed (latency is measured from here).
    pub occurred_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub delivered_at: Option<DateTimeUtc>,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
