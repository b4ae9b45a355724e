//! `payment_attempts`: One authorisation asked of a payment provider while placing an
//! order. Written (STARTED) and committed before the provider is called, so a crash
//! between the provider's answer and the order's commit leaves a row to find: the
//! client's retry reuses it (the provider hears the same idempotency key,
//! `authorize:<id>`, and answers with the same authorisation), and the sweeper voids
//! what no committed order took. The placing transaction marks it ORDERED.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::status::PaymentAttemptStatus;

/// A row of `payment_attempts`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "payment_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The provider's registered name (`test`, `manual`, …).
    pub provider: String,
    /// Who placed: the principal the idempotency key belongs to.
    pub principal: String,
    /// The client's idempotency key, when it sent one (a retry finds the attempt by it).
    pub client_key: Option<String>,
    /// The placement request's fingerprint: a retry must ask for the same thing.
    pub request_hash: String,
    /// Minor units asked for.
    pub amount: i64,
    pub currency: String,
    pub status: PaymentAttemptStatus,
    /// The provider's reference, once known.
    pub provider_reference: Option<String>,
    /// The order that took this authorisation (ORDERED).
    pub order_id: Option<i64>,
    /// Sweeps that tried to release it.
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
