//! `idempotency_keys`: A client's idempotency key, unique per principal, with the request fingerprint and the result.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `idempotency_keys`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub principal: String,
    pub key: String,
    pub request_hash: String,
    pub order_id: Option<i64>,
    pub response: Option<String>,
    pub created_at: DateTimeUtc,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
