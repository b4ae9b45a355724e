//! `returns`: A return (RMA) of some delivered units of an order.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::status::ReturnStatus;

/// A row of `returns`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "returns")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    /// The order's customer (copied, so a customer's returns list needs no join).
    pub customer_id: i64,
    /// `#1058-R1`: the order's number and the return's place among its returns.
    pub number: String,
    pub status: ReturnStatus,
    pub customer_note: Option<String>,
    pub decline_reason: Option<String>,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    /// Where the units go back to (set on approval).
    pub return_location_id: Option<i64>,
    pub version: i32,
    pub requested_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
