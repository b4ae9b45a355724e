//! `fulfillment_order_lines`: How many units of one order line a fulfilment order ships.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `fulfillment_order_lines`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "fulfillment_order_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub fulfillment_order_id: i64,
    pub order_line_id: i64,
    pub sku_id: i64,
    pub quantity: i32,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
