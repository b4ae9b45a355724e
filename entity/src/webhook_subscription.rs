//! `webhook_subscriptions`: A partner's or staff's endpoint for order events.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `webhook_subscriptions`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhook_subscriptions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Where deliveries are POSTed.
    pub url: String,
    /// Topics, comma-separated, as their `SCREAMING_SNAKE_CASE` names.
    pub topics: String,
    /// Signs every delivery (HMAC-SHA256); shown to the creator once.
    #[serde(skip_serializing)]
    pub secret: String,
    /// The partner that owns it (`partner:<subject>`); `None` when staff created it.
    pub owner: Option<String>,
    /// Who created it (the principal's actor name).
    pub created_by: String,
    /// False once deactivated (failing for 24 h); new events are not queued for it.
    pub active: bool,
    /// Since when every attempt has failed; `None` after a success.
    pub failing_since: Option<DateTimeUtc>,
    /// Why it was deactivated.
    pub deactivated_reason: Option<String>,
    pub created_at: DateTimeUtc,
    /// Set when deleted: it is gone from lists and gets nothing, its log stays.
    pub deleted_at: Option<DateTimeUtc>,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
