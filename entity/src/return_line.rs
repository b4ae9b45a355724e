//! `return_lines`: Units of one order line asked back on a return.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::status::{ReturnDisposition, ReturnReason};

/// A row of `return_lines`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "return_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub return_id: i64,
    pub order_line_id: i64,
    /// Units asked back.
    pub quantity: i32,
    pub reason: ReturnReason,
    pub note: Option<String>,
    /// Units that arrived (set on receipt).
    pub quantity_received: i32,
    /// What became of the received units (set on receipt).
    pub disposition: Option<ReturnDisposition>,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
