//! `return_lines`: Units of one order line being returned.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `return_lines`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "return_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub return_id: i64,
    pub order_line_id: i64,
    pub quantity: i32,
    pub quantity_received: i32,
    pub restock: bool,
    pub reason: Option<String>,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
