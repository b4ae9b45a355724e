//! `notifications`: One message to a customer about one order event on one channel.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::status::{NotificationChannel, NotificationKind, NotificationStatus};

/// A row of `notifications`; unique per (event, channel).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    pub order_id: Option<i64>,
    /// The `order_events` row it tells of.
    pub event_id: i64,
    pub kind: NotificationKind,
    pub channel: NotificationChannel,
    /// The e-mail address or phone number (empty when the customer has none).
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
    pub status: NotificationStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// When the next attempt is due (QUEUED).
    pub next_attempt_at: Option<DateTimeUtc>,
    /// An instance is sending it until then; others leave it alone.
    pub locked_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
