//! `payment_operations`: A capture or void the provider is still to hear about. Written
//! in the transaction that decides it, sent to the provider after the commit with the
//! idempotency key `<kind>:<id>`, retried until the provider says yes.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::status::{PaymentOperationKind, ProviderCallStatus};

/// A row of `payment_operations`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "payment_operations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub payment_id: i64,
    pub order_id: i64,
    pub kind: PaymentOperationKind,
    /// Minor units (0 for a void).
    pub amount: i64,
    pub currency: String,
    pub status: ProviderCallStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
