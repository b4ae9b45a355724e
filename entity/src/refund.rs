//! `refunds`: Money given back on a payment, for a return or as goodwill.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::status::RefundStatus;

/// A row of `refunds`. The provider is called after the row commits, with the
/// idempotency key `refund:<id>`; `status` says how that call went.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    pub payment_id: i64,
    /// The return this refund pays for (at most one refund per return).
    pub return_id: Option<i64>,
    /// Minor units, shipping included.
    pub amount: i64,
    /// The part of `amount` that refunds the order's shipping charge.
    pub shipping_amount: i64,
    pub currency: String,
    pub reason: Option<String>,
    pub status: RefundStatus,
    pub provider_reference: Option<String>,
    /// Provider calls made so far.
    pub attempts: i32,
    /// Why the last provider call failed (for staff; never sent to customers).
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
