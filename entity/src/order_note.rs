//! `order_notes`: A note on an order by staff or the customer.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::status::NoteVisibility;

/// A row of `order_notes`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "order_notes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    pub author: String,
    pub body: String,
    /// Who may read it: INTERNAL (staff and partners) or CUSTOMER (the customer too).
    pub visibility: NoteVisibility,
    pub created_at: DateTimeUtc,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
