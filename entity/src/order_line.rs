//! `order_lines`: One SKU and quantity on an order, priced when placed.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `order_lines`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "order_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    pub line_number: i32,
    pub sku_id: i64,
    pub quantity: i32,
    pub unit_price: i64,
    pub quantity_fulfilled: i32,
    pub quantity_cancelled: i32,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
