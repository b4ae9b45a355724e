//! Authorisations across a crash. Placing an order asks the provider to hold money
//! before the order's transaction commits, so the two can part: a server killed (or a
//! request timed out) between the provider's answer and the commit would leave money
//! held for no order, and the client's retry would hold it again.
//!
//! So the authorisation is a row first. A placement writes a `payment_attempts` row
//! (STARTED) and commits it, then asks the provider with the key `authorize:<id>`; the
//! placing transaction marks it ORDERED with a conditional update, so exactly one of a
//! placement and a release can take it. A client's retry with the same idempotency key
//! and the same request finds its STARTED attempt and asks again with the same key: the
//! provider answers with the authorisation it already made. A placement that fails
//! releases its attempt (VOIDING, then VOIDED once the provider confirms the void). The
//! sweeper releases what is left: attempts STARTED for longer than `ABANDONED_AFTER`
//! (longer than any request may run) — it asks the provider what the key holds and voids
//! it — and VOIDING ones whose void failed.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use entity::payment_attempt::{self, Column};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::ordering::{Actor, PlaceOrder};
use super::payments::{Authorization, PaymentError, PaymentProvider};
use super::provider_calls::{MAX_ATTEMPTS, RETRY_AFTER, error_text};
use super::{Error, Result, Store};
use crate::domain::status::PaymentAttemptStatus;

/// How long an attempt may stay STARTED before the sweeper takes it for abandoned. Far
/// longer than a request may run (`ORDERLY_REQUEST_TIMEOUT_MS`, 30 s by default), whose
/// timeout ends the placement.
pub const ABANDONED_AFTER: Duration = Duration::minutes(5);
/// Attempts one sweep releases at most.
const SWEEP_BATCH: u64 = 50;

/// The key the provider hears when attempt `id` authorises.
pub fn authorize_key(id: i64) -> String {
    format!("authorize:{id}")
}

/// The key the provider hears when attempt `id` is voided.
fn void_key(id: i64) -> String {
    format!("void:authorize:{id}")
}

/// What one placement asks the provider for.
pub(crate) struct Ask<'a> {
    pub input: &'a PlaceOrder,
    pub actor: &'a Actor,
    pub fingerprint: &'a str,
    pub amount: i64,
    pub currency: &'a str,
}

impl Store {
    /// Authorises a placement: resumes the STARTED attempt of an earlier try of the same
    /// request under the same idempotency key, or writes a new one, then asks the
    /// provider with the attempt's key. Returns the attempt's id and the authorisation.
    /// A decline closes the attempt; a provider failure leaves it STARTED, for the
    /// client's retry or the sweeper (the provider may have held the money).
    pub(crate) async fn authorize_placement(
        &self,
        provider: &Arc<dyn PaymentProvider>,
        ask: Ask<'_>,
    ) -> Result<(i64, Authorization)> {
        let id = match self.resumable_attempt(&ask).await? {
            Some(id) => id,
            None => self.start_attempt(&ask).await?,
        };
        let outcome = provider
            .authorize(
                ask.amount,
                ask.currency,
                ask.input.token.as_deref(),
                &authorize_key(id),
            )
            .await;
        match outcome {
            Ok(authorization) => Ok((id, authorization)),
            Err(PaymentError::Declined(why)) => {
                let _turn = self.write_turn().await;
                payment_attempt::Entity::update_many()
                    .col_expr(Column::Status, Expr::value(PaymentAttemptStatus::Declined))
                    .col_expr(
                        Column::LastError,
                        Expr::value(Some(error_text(&PaymentError::Declined(why.clone())))),
                    )
                    .col_expr(Column::UpdatedAt, Expr::value(self.clock().now()))
                    .filter(Column::Id.eq(id))
                    .filter(Column::Status.eq(PaymentAttemptStatus::Started))
                    .exec(self.db())
                    .await?;
                Err(Error::PaymentDeclined(why))
            }
            Err(other) => Err(Error::Provider(other)),
        }
    }

    /// The STARTED attempt an earlier try of this very request left, if any.
    async fn resumable_attempt(&self, ask: &Ask<'_>) -> Result<Option<i64>> {
        let Some(key) = &ask.input.idempotency_key else {
            return Ok(None);
        };
        Ok(payment_attempt::Entity::find()
            .select_only()
            .column(Column::Id)
            .filter(Column::Principal.eq(ask.actor.name.as_str()))
            .filter(Column::ClientKey.eq(key.as_str()))
            .filter(Column::RequestHash.eq(ask.fingerprint))
            .filter(Column::Provider.eq(ask.input.provider.as_str()))
            .filter(Column::Amount.eq(ask.amount))
            .filter(Column::Currency.eq(ask.currency))
            .filter(Column::Status.eq(PaymentAttemptStatus::Started))
            .order_by_desc(Column::Id)
            .into_tuple()
            .one(self.db())
            .await?)
    }

    /// Writes (and commits) a new STARTED attempt: on Postgres in a group with the
    /// attempts of whatever else is being placed (`attempt_starts.rs`), and alone if that
    /// group failed.
    async fn start_attempt(&self, ask: &Ask<'_>) -> Result<i64> {
        let now = self.clock().now();
        let row = payment_attempt::Model {
            id: 0,
            provider: ask.input.provider.clone(),
            principal: ask.actor.name.clone(),
            client_key: ask.input.idempotency_key.clone(),
            request_hash: ask.fingerprint.to_owned(),
            amount: ask.amount,
            currency: ask.currency.to_owned(),
            status: PaymentAttemptStatus::Started,
            provider_reference: None,
            order_id: None,
            attempts: 0,
            last_error: None,
            created_at: now,
            updated_at: now,
        };
        if let Some(starts) = &self.attempt_starts
            && let Some(id) = starts.start(self, row.clone()).await
        {
            return Ok(id);
        }
        let mut row: payment_attempt::ActiveModel = row.into();
        row.id = NotSet;
        let _turn = self.write_turn().await;
        let inserted = payment_attempt::Entity::insert(row).exec(self.db()).await?;
        Ok(inserted.last_insert_id)
    }

    /// Releases attempt `id` after its placement failed or lost to a concurrent one —
    /// unless an order took it. Errors are logged: the sweeper finishes the job.
    pub(crate) async fn release_attempt(
        &self,
        provider: &Arc<dyn PaymentProvider>,
        id: i64,
        authorization: &Authorization,
    ) {
        let reference = authorization.reference();
        match self
            .mark_voiding(id, PaymentAttemptStatus::Started, reference)
            .await
        {
            Ok(true) => self.send_void(provider.as_ref(), id, reference).await,
            Ok(false) => {}
            Err(err) => {
                tracing::error!(attempt = id, error = %err, "could not release an authorisation no order took; the sweeper will");
            }
        }
    }

    /// STARTED (or VOIDING) → VOIDING with the reference to void, if the attempt is
    /// still `from`: false when an order (or another release) took it first.
    async fn mark_voiding(
        &self,
        id: i64,
        from: PaymentAttemptStatus,
        reference: &str,
    ) -> Result<bool> {
        let _turn = self.write_turn().await;
        let updated = payment_attempt::Entity::update_many()
            .col_expr(Column::Status, Expr::value(PaymentAttemptStatus::Voiding))
            .col_expr(
                Column::ProviderReference,
                Expr::value(Some(reference.to_owned())),
            )
            .col_expr(Column::UpdatedAt, Expr::value(self.clock().now()))
            .filter(Column::Id.eq(id))
            .filter(Column::Status.eq(from))
            .exec(self.db())
            .await?;
        Ok(updated.rows_affected == 1)
    }

    /// Voids a VOIDING attempt at the provider and records the outcome.
    async fn send_void(&self, provider: &dyn PaymentProvider, id: i64, reference: &str) {
        let outcome = provider.void(reference, &void_key(id)).await;
        if let Err(err) = &outcome {
            tracing::error!(attempt = id, error = %err, "voiding an authorisation no order took failed; the sweeper retries it");
        }
        let recorded = self
            .settle_attempt(id, PaymentAttemptStatus::Voiding, outcome.err())
            .await;
        if let Err(err) = recorded {
            tracing::error!(attempt = id, error = %err, "could not record a void");
        }
    }

    /// Records how releasing attempt `id` (in state `from`) went: VOIDED, or still `from`
    /// with the error.
    async fn settle_attempt(
        &self,
        id: i64,
        from: PaymentAttemptStatus,
        failure: Option<PaymentError>,
    ) -> Result<()> {
        let status = if failure.is_some() {
            from
        } else {
            PaymentAttemptStatus::Voided
        };
        let error = failure.as_ref().map(error_text);
        let _turn = self.write_turn().await;
        payment_attempt::Entity::update_many()
            .col_expr(Column::Status, Expr::value(status))
            .col_expr(Column::LastError, Expr::value(error))
            .col_expr(Column::UpdatedAt, Expr::value(self.clock().now()))
            .filter(Column::Id.eq(id))
            .filter(Column::Status.eq(from))
            .exec(self.db())
            .await?;
        Ok(())
    }

    /// Releases what placements left behind: attempts STARTED for longer than
    /// `ABANDONED_AFTER` (the provider is asked what the key holds, and that is voided)
    /// and VOIDING ones whose void failed, after `RETRY_AFTER`, up to `MAX_ATTEMPTS`
    /// tries each. Safe on every instance at once: each attempt is claimed first, and
    /// the keys make a repeated provider call harmless. Returns how many it handled.
    pub async fn release_abandoned_authorizations(&self) -> Result<usize> {
        let now = self.clock().now();
        let candidates: Vec<payment_attempt::Model> = payment_attempt::Entity::find()
            // A literal, so both databases use the partial index of open attempts.
            .filter(Expr::cust("status IN ('STARTED', 'VOIDING')"))
            .filter(Column::UpdatedAt.lt(now - RETRY_AFTER))
            .filter(Column::Attempts.lt(MAX_ATTEMPTS))
            .order_by_asc(Column::UpdatedAt)
            .order_by_asc(Column::Id)
            .limit(SWEEP_BATCH)
            .all(self.db())
            .await?;
        let mut handled = 0;
        for attempt in candidates {
            if attempt.status == PaymentAttemptStatus::Started
                && attempt.updated_at > now - ABANDONED_AFTER
            {
                continue;
            }
            if !self.claim_for_sweep(&attempt, now).await? {
                continue;
            }
            handled += 1;
            let Some(provider) = self.payments.get(&attempt.provider) else {
                let missing = PaymentError::Unavailable(format!(
                    "no provider '{}' is registered",
                    attempt.provider
                ));
                self.settle_attempt(attempt.id, attempt.status, Some(missing))
                    .await?;
                continue;
            };
            match attempt.status {
                PaymentAttemptStatus::Started => {
                    self.release_abandoned(provider.as_ref(), &attempt).await?
                }
                _ => {
                    let reference = attempt.provider_reference.clone().unwrap_or_default();
                    self.send_void(provider.as_ref(), attempt.id, &reference)
                        .await
                }
            }
        }
        Ok(handled)
    }

    /// Takes `attempt` for this sweep (counts the try, moves `updated_at`): false when
    /// another instance took it first.
    async fn claim_for_sweep(
        &self,
        attempt: &payment_attempt::Model,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let _turn = self.write_turn().await;
        let claimed = payment_attempt::Entity::update_many()
            .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::Id.eq(attempt.id))
            .filter(Column::Status.eq(attempt.status))
            .filter(Column::UpdatedAt.eq(attempt.updated_at))
            .exec(self.db())
            .await?;
        Ok(claimed.rows_affected == 1)
    }

    /// An attempt whose placement died: whatever the provider holds under its key is
    /// voided (nothing held: VOIDED at once).
    async fn release_abandoned(
        &self,
        provider: &dyn PaymentProvider,
        attempt: &payment_attempt::Model,
    ) -> Result<()> {
        let id = attempt.id;
        match provider.find_authorization(&authorize_key(id)).await {
            Ok(Some(authorization)) => {
                let reference = authorization.reference();
                if self
                    .mark_voiding(id, PaymentAttemptStatus::Started, reference)
                    .await?
                {
                    tracing::warn!(
                        attempt = id,
                        "voiding an authorisation whose placement never committed"
                    );
                    self.send_void(provider, id, reference).await;
                }
                Ok(())
            }
            Ok(None) => {
                self.settle_attempt(id, PaymentAttemptStatus::Started, None)
                    .await
            }
            Err(err) => {
                tracing::error!(attempt = id, error = %err, "could not ask the provider what an abandoned attempt holds");
                self.settle_attempt(id, PaymentAttemptStatus::Started, Some(err))
                    .await
            }
        }
    }
}

/// Inside the placing transaction: attempt `id` now belongs to order `order_id`, as a
/// statement (placement checks that it changed one row; on Postgres it is part of the
/// placement's one statement). It changes no row when the attempt was released meanwhile
/// (the sweeper took it for abandoned): the placement must not commit on an
/// authorisation that is being voided.
pub(crate) fn take_statement(
    id: i64,
    order_id: i64,
    reference: &str,
    now: DateTime<Utc>,
) -> sea_orm::UpdateMany<payment_attempt::Entity> {
    payment_attempt::Entity::update_many()
        .col_expr(Column::Status, Expr::value(PaymentAttemptStatus::Ordered))
        .col_expr(Column::OrderId, Expr::value(Some(order_id)))
        .col_expr(
            Column::ProviderReference,
            Expr::value(Some(reference.to_owned())),
        )
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(PaymentAttemptStatus::Started))
}
