//! `order_events`: Audit history and transactional outbox: one row per accepted change, `sequence` 1, 2, 3… per order.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::status::OrderEventType;

/// A row of `order_events`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "order_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    pub sequence: i32,
    pub event_type: OrderEventType,
    pub fulfillment_order_id: Option<i64>,
    pub customer_id: i64,
    pub message: Option<String>,
    /// JSON document.
    pub payload: String,
    pub actor: String,
    pub occurred_at: DateTimeUtc,
    /// The location the event concerns (fulfilment events), for warehouse queues.
    #[serde(default)]
    pub location_id: Option<i64>,
    /// The return the event concerns (return events), for `returnUpdated`.
    #[serde(default)]
    pub return_id: Option<i64>,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
