//! Money moves after the database has said yes. A use case decides a capture, a void or
//! a refund inside its write transaction and records it as a row (`payment_operations`,
//! `refunds`) in state PENDING; only after the commit is the provider called, with an
//! idempotency key derived from that row (`capture:<id>`, `void:<id>`, `refund:<id>`).
//! A transaction that `retrying!` re-runs therefore never calls the provider twice, a
//! crash between commit and call leaves a PENDING row that the sweeper sends later, and
//! a failed call leaves the row FAILED — visible, retryable, never lost.

use chrono::{DateTime, Duration, Utc};
use entity::{payment, payment_operation, refund, return_request};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::changes::{NewEvent, lock_order, record_change};
use super::returns::order_return_status;
use super::{Error, Result, Store, retrying};
use crate::domain::ids::OrderId;
use crate::domain::status::{
    OrderEventType, PaymentOperationKind, ProviderCallStatus, RefundStatus, ReturnStatus,
};

/// How long a PENDING or FAILED call rests before the sweeper tries it again.
pub const RETRY_AFTER: Duration = Duration::seconds(60);
/// After this many provider calls a row is left for people to look at.
pub const MAX_ATTEMPTS: i32 = 10;
/// Rows one sweep sends at most.
const SWEEP_BATCH: u64 = 50;

/// The idempotency key the provider hears for refund `id`.
pub fn refund_key(id: i64) -> String {
    format!("refund:{id}")
}

/// Cuts a provider's error text to what fits a column (staff read it; clients never do).
pub(crate) fn error_text(err: &super::payments::PaymentError) -> String {
    err.to_string().chars().take(500).collect()
}

impl Store {
    /// Sends committed payment operations to the provider, recording each outcome.
    /// Failures are logged and left FAILED for the sweeper: the business change they
    /// belong to is committed and stays.
    pub(crate) async fn send_payment_operations(&self, ids: &[i64]) {
        for &id in ids {
            if let Err(err) = self.send_payment_operation(id).await {
                tracing::error!(operation = id, error = %err, "payment operation not sent; the sweeper retries it");
            }
        }
    }

    async fn send_payment_operation(&self, id: i64) -> Result<()> {
        let Some(op) = payment_operation::Entity::find_by_id(id)
            .one(self.db())
            .await?
        else {
            return Ok(());
        };
        if op.status == ProviderCallStatus::Succeeded {
            return Ok(());
        }
        let payment = payment::Entity::find_by_id(op.payment_id)
            .one(self.db())
            .await?
            .ok_or_else(|| Error::Corrupt(format!("operation {id} without payment")))?;
        let reference = payment.provider_reference.clone().unwrap_or_default();
        let outcome = match self.payments.get(&payment.provider) {
            None => Ok(()),
            Some(provider) => match op.kind {
                PaymentOperationKind::Capture => {
                    let key = format!("capture:{id}");
                    provider
                        .capture(&reference, op.amount, &op.currency, &key)
                        .await
                }
                PaymentOperationKind::Void => {
                    provider.void(&reference, &format!("void:{id}")).await
                }
                PaymentOperationKind::Release => {
                    let key = format!("release:{id}");
                    provider
                        .release(&reference, op.amount, &op.currency, &key)
                        .await
                }
            },
        };
        let (status, error) = match &outcome {
            Ok(()) => (ProviderCallStatus::Succeeded, None),
            Err(err) => (ProviderCallStatus::Failed, Some(error_text(err))),
        };
        tracing::debug!(
            operation = id,
            kind = op.kind.as_ref(),
            ok = outcome.is_ok(),
            "payment operation sent"
        );
        payment_operation::Entity::update_many()
            .col_expr(payment_operation::Column::Status, Expr::value(status))
            .col_expr(
                payment_operation::Column::Attempts,
                Expr::col(payment_operation::Column::Attempts).add(1),
            )
            .col_expr(payment_operation::Column::LastError, Expr::value(error))
            .col_expr(
                payment_operation::Column::UpdatedAt,
                Expr::value(self.clock().now()),
            )
            .filter(payment_operation::Column::Id.eq(id))
            .filter(payment_operation::Column::Status.ne(ProviderCallStatus::Succeeded))
            .exec(self.db())
            .await?;
        outcome.map_err(Error::Provider)
    }

    /// Asks the provider to pay refund `id` back (unless it already has) and records the
    /// outcome: SUCCEEDED — the return, if any, becomes REFUNDED and `REFUNDED` is
    /// appended — or FAILED with the provider's reason. Returns the refund as it now is.
    pub(crate) async fn send_refund(&self, id: i64) -> Result<refund::Model> {
        let refund = refund::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .ok_or_else(|| Error::Corrupt(format!("refund {id} vanished")))?;
        if refund.status == RefundStatus::Succeeded {
            return Ok(refund);
        }
        let payment = payment::Entity::find_by_id(refund.payment_id)
            .one(self.db())
            .await?
            .ok_or_else(|| Error::Corrupt(format!("refund {id} without payment")))?;
        let reference = payment.provider_reference.clone().unwrap_or_default();
        let outcome = match self.payments.get(&payment.provider) {
            None => Err(super::payments::PaymentError::Unavailable(format!(
                "no provider '{}' is registered",
                payment.provider
            ))),
            Some(provider) => {
                provider
                    .refund(&reference, refund.amount, &refund.currency, &refund_key(id))
                    .await
            }
        };
        if let Err(err) = &outcome {
            tracing::error!(refund = id, error = %err, "refund failed at the provider; it stays FAILED until retried");
        }
        retrying!(self.record_refund_outcome(&refund, &outcome))
    }

    async fn record_refund_outcome(
        &self,
        refund: &refund::Model,
        outcome: &std::result::Result<String, super::payments::PaymentError>,
    ) -> Result<refund::Model> {
        let now = self.clock().now();
        let (_writer, txn) = self.begin_write().await?;
        let order = lock_order(&txn, OrderId(refund.order_id))
            .await?
            .ok_or_else(|| Error::Corrupt("refund without order".into()))?;
        let current = refund::Entity::find_by_id(refund.id)
            .one(&txn)
            .await?
            .ok_or_else(|| Error::Corrupt("refund vanished".into()))?;
        if current.status == RefundStatus::Succeeded {
            // Another sender recorded it first.
            return Ok(current);
        }
        let mut row = refund::ActiveModel {
            attempts: Set(current.attempts + 1),
            updated_at: Set(now),
            ..Default::default()
        };
        match outcome {
            Ok(reference) => {
                row.status = Set(RefundStatus::Succeeded);
                row.provider_reference = Set(Some(reference.clone()));
                row.last_error = Set(None);
            }
            Err(err) => {
                row.status = Set(RefundStatus::Failed);
                row.last_error = Set(Some(error_text(err)));
            }
        }
        refund::Entity::update_many()
            .set(row)
            .filter(refund::Column::Id.eq(refund.id))
            .exec(&txn)
            .await?;
        if outcome.is_ok() {
            let mut event = NewEvent::new(OrderEventType::Refunded)
                .message(format!(
                    "Refunded {} {}",
                    crate::domain::money::format_minor(current.amount, &current.currency),
                    current.currency
                ))
                .payload(serde_json::json!({
                    "refundId": current.id, "amount": current.amount,
                    "currency": current.currency, "returnId": current.return_id,
                }));
            if let Some(return_id) = current.return_id {
                finish_return(&txn, return_id, now).await?;
                event = event.for_return(return_id);
            }
            let return_status = order_return_status(&txn, order.id).await?;
            record_change(&txn, &order, vec![event], "payments", now, |row| {
                row.return_status = Set(return_status);
            })
            .await?;
        }
        let stored = refund::Entity::find_by_id(refund.id)
            .one(&txn)
            .await?
            .ok_or_else(|| Error::Corrupt("refund vanished".into()))?;
        txn.commit().await?;
        if outcome.is_ok() {
            self.events_committed();
        }
        Ok(stored)
    }

    /// Sends what is still owed to the provider: PENDING calls whose sender died and
    /// FAILED ones, each after resting `RETRY_AFTER`, up to `MAX_ATTEMPTS`. Safe on
    /// every instance at once: the idempotency keys make a repeated call harmless.
    pub async fn retry_provider_calls(&self) -> Result<usize> {
        let before: DateTime<Utc> = self.clock().now() - RETRY_AFTER;
        let refunds: Vec<i64> = refund::Entity::find()
            .filter(refund::Column::Status.is_in([RefundStatus::Pending, RefundStatus::Failed]))
            .filter(refund::Column::UpdatedAt.lt(before))
            .filter(refund::Column::Attempts.lt(MAX_ATTEMPTS))
            .order_by_asc(refund::Column::Id)
            .select_only()
            .column(refund::Column::Id)
            .limit(SWEEP_BATCH)
            .into_tuple()
            .all(self.db())
            .await?;
        let operations: Vec<i64> = payment_operation::Entity::find()
            .filter(
                payment_operation::Column::Status
                    .is_in([ProviderCallStatus::Pending, ProviderCallStatus::Failed]),
            )
            .filter(payment_operation::Column::UpdatedAt.lt(before))
            .filter(payment_operation::Column::Attempts.lt(MAX_ATTEMPTS))
            .order_by_asc(payment_operation::Column::Id)
            .select_only()
            .column(payment_operation::Column::Id)
            .limit(SWEEP_BATCH)
            .into_tuple()
            .all(self.db())
            .await?;
        let sent = refunds.len() + operations.len();
        for id in refunds {
            self.send_refund(id).await?;
        }
        self.send_payment_operations(&operations).await;
        Ok(sent)
    }
}

/// A received return whose refund the provider paid becomes REFUNDED.
async fn finish_return(
    txn: &sea_orm::DatabaseTransaction,
    return_id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    return_request::Entity::update_many()
        .col_expr(
            return_request::Column::Status,
            Expr::value(ReturnStatus::Refunded),
        )
        .col_expr(
            return_request::Column::Version,
            Expr::col(return_request::Column::Version).add(1),
        )
        .col_expr(return_request::Column::UpdatedAt, Expr::value(now))
        .filter(return_request::Column::Id.eq(return_id))
        .filter(return_request::Column::Status.eq(ReturnStatus::Received))
        .exec(txn)
        .await?;
    Ok(())
}

/// Records a capture or void to send after the commit; returns its id.
pub(crate) async fn queue_payment_operation(
    txn: &sea_orm::DatabaseTransaction,
    payment: &payment::Model,
    kind: PaymentOperationKind,
    amount: i64,
    now: DateTime<Utc>,
) -> Result<i64> {
    let op = payment_operation::Entity::insert(payment_operation::ActiveModel {
        payment_id: Set(payment.id),
        order_id: Set(payment.order_id),
        kind: Set(kind),
        amount: Set(amount),
        currency: Set(payment.currency.clone()),
        status: Set(ProviderCallStatus::Pending),
        attempts: Set(0),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(txn)
    .await?;
    Ok(op.last_insert_id)
}
