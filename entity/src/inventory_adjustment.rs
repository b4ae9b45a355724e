//! `inventory_adjustments`: the stock ledger — every manual change of on-hand stock, with who and why.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `inventory_adjustments`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "inventory_adjustments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub inventory_level_id: i64,
    /// Change of on-hand units (negative for shrinkage).
    pub delta: i32,
    /// On-hand units after the change.
    pub on_hand_after: i32,
    pub reason: String,
    pub actor: String,
    pub created_at: DateTimeUtc,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
