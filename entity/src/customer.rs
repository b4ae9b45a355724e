//! `customers`: A buyer. `email` is unique; `time_zone` is an IANA name used for delivery labels.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `customers`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub time_zone: String,
    pub version: i32,
    /// Whether the customer wants e-mail notifications.
    pub notify_by_email: bool,
    /// Whether the customer wants SMS notifications.
    pub notify_by_sms: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
