//! `customer_addresses`: A customer's saved shipping address.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `customer_addresses`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "customer_addresses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    /// "Home", "Office".
    pub label: Option<String>,
    pub name: Option<String>,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// The customer's default (at most one is).
    pub is_default: bool,
    pub created_at: DateTimeUtc,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
