//! `orders`: An order. `status` and `payment_status` are derived summaries stored for filtering; money is in minor units of `currency`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::status::{
    OrderReturnStatus, OrderStatus, PaymentStatus, RoutingStrategy, ShippingMethod,
};

/// A row of `orders`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub number: String,
    pub customer_id: i64,
    pub channel: String,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    pub return_status: Option<OrderReturnStatus>,
    pub currency: String,
    pub subtotal: i64,
    pub shipping_total: i64,
    pub tax_total: i64,
    pub total: i64,
    pub ship_name: Option<String>,
    pub ship_line1: String,
    pub ship_line2: Option<String>,
    pub ship_city: String,
    pub ship_region: Option<String>,
    pub ship_postal_code: String,
    pub ship_country: String,
    pub ship_latitude: Option<f64>,
    pub ship_longitude: Option<f64>,
    pub shipping_method: ShippingMethod,
    pub routing_strategy: RoutingStrategy,
    pub routing_reason: String,
    pub note: Option<String>,
    pub cancel_reason: Option<String>,
    pub placed_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub cancelled_at: Option<DateTimeUtc>,
    /// Sequence of the newest order_events row.
    pub last_sequence: i32,
    pub version: i32,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
