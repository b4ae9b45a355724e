//! `inventory_levels`: Stock of one SKU at one location. `available = on_hand - reserved`; the database enforces `0 <= reserved <= on_hand`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `inventory_levels`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "inventory_levels")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub location_id: i64,
    pub sku_id: i64,
    pub on_hand: i32,
    pub reserved: i32,
    pub version: i32,
    pub updated_at: DateTimeUtc,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
