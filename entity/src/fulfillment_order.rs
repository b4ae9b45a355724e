//! `fulfillment_orders`: The part of an order one location ships, with carrier, tracking and delivery estimate.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::status::{FulfillmentStatus, ShippingMethod};

/// A row of `fulfillment_orders`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "fulfillment_orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    pub location_id: i64,
    pub status: FulfillmentStatus,
    pub shipping_method: ShippingMethod,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    pub shipped_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    pub estimated_earliest: Option<Date>,
    pub estimated_latest: Option<Date>,
    /// Set once when ARRIVING_TOMORROW was emitted for that date.
    pub arriving_tomorrow_notified_on: Option<Date>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
