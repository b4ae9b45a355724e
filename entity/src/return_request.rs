//! `returns`: A return (RMA) of some lines of an order.

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
    pub number: String,
    pub status: ReturnStatus,
    pub reason: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
