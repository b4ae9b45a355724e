//! Money after the sale: goodwill and partial refunds to the original payment
//! (`refundOrder`), and recording a `manual` order's payment when the money arrives
//! (`recordPayment`). Refunds are written PENDING and booked on the payment in one
//! transaction — never more than captured minus refunded — and the provider is called
//! after the commit (`provider_calls`).

use entity::{order, refund};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use super::changes::{NewEvent, lock_order, order_payment, record_change, save_payment};
use super::idempotency::Key;
use super::ordering::Actor;
use super::returns::{NewRefund, insert_refund};
use super::{Error, Result, Store, retrying};
use crate::domain::ids::OrderId;
use crate::domain::money::format_minor;
use crate::domain::status::{OrderEventType, PaymentStatus};

/// A refund to give.
#[derive(Debug, Clone)]
pub struct RefundOrder {
    pub order: OrderId,
    /// Minor units of `currency`; positive.
    pub amount: i64,
    pub currency: String,
    pub reason: String,
    pub expected_version: Option<i32>,
    pub idempotency_key: Option<String>,
}

/// Money that arrived for a `manual` order.
#[derive(Debug, Clone)]
pub struct RecordPayment {
    pub order: OrderId,
    pub amount: i64,
    pub currency: String,
    pub reference: Option<String>,
    pub expected_version: Option<i32>,
}

impl Store {
    /// Refunds `amount` to the order's payment (staff and partners). Idempotent per caller
    /// and key: a retry returns the first refund — and asks the provider again if it
    /// failed, under the same provider key, so money never goes back twice.
    #[tracing::instrument(skip_all, fields(order = %input.order))]
    pub async fn refund_order(
        &self,
        input: RefundOrder,
        actor: &Actor,
    ) -> Result<(refund::Model, order::Model)> {
        let key = input.idempotency_key.as_ref().map(|k| {
            let request =
                serde_json::json!([input.order.0, input.amount, input.currency, input.reason]);
            Key::new("refundOrder", &actor.name, k, &request)
        });
        let replayed = match &key {
            Some(key) => key.replay(self.db(), self.clock().now()).await?,
            None => None,
        };
        let id = match replayed {
            Some(id) => id,
            None => retrying!(self.refund_once(&input, key.as_ref(), actor))?,
        };
        let refund = self.send_refund(id).await?;
        let order = order::Entity::find_by_id(refund.order_id)
            .one(self.db())
            .await?
            .ok_or_else(|| Error::Corrupt("refund without order".into()))?;
        Ok((refund, order))
    }

    async fn refund_once(
        &self,
        input: &RefundOrder,
        key: Option<&Key>,
        actor: &Actor,
    ) -> Result<i64> {
        let now = self.clock().now();
        let (_writer, txn) = self.begin_write().await?;
        let order = lock_order(&txn, input.order)
            .await?
            .ok_or_else(|| Error::not_found("orderId", "no such order"))?;
        if let Some(expected) = input.expected_version
            && expected != order.version
        {
            return Err(Error::VersionConflict {
                current: order.version,
            });
        }
        if input.currency != order.currency {
            return Err(crate::domain::ValidationError::new(
                "amount.currencyCode",
                format!("the order was paid in {}", order.currency),
            )
            .into());
        }
        let payment = order_payment(&txn, order.id)
            .await?
            .ok_or_else(|| Error::Corrupt("order without payment".into()))?;
        let left = payment.amount_captured - payment.amount_refunded;
        if input.amount > left {
            return Err(Error::RefundExceedsCaptured {
                field: "amount.amount".to_owned(),
                message: format!(
                    "at most {} {} can be refunded (captured {}, refunded {})",
                    format_minor(left, &order.currency),
                    order.currency,
                    format_minor(payment.amount_captured, &order.currency),
                    format_minor(payment.amount_refunded, &order.currency),
                ),
            });
        }
        let id = insert_refund(
            &txn,
            &payment,
            NewRefund {
                return_id: None,
                amount: input.amount,
                shipping_amount: 0,
                reason: Some(input.reason.clone()),
            },
            now,
        )
        .await?;
        // No event yet: `REFUNDED` is appended when the provider has paid it back. The
        // order's payment status follows the booking now.
        record_change(&txn, &order, Vec::new(), &actor.name, now, |_| {}).await?;
        if let Some(key) = key
            && !key.claim(&txn, order.id, id, now).await?
        {
            drop(txn);
            return key.replay(self.db(), now).await?.ok_or(Error::Retry);
        }
        txn.commit().await?;
        Ok(id)
    }

    /// Records that a `manual` order's money arrived (staff and partners): the payment
    /// becomes AUTHORIZED for the order total — held by us, captured as parcels ship —
    /// and the order can be fulfilled.
    #[tracing::instrument(skip_all, fields(order = %input.order))]
    pub async fn record_payment(
        &self,
        input: RecordPayment,
        actor: &Actor,
    ) -> Result<order::Model> {
        retrying!(self.record_payment_once(&input, actor))
    }

    async fn record_payment_once(
        &self,
        input: &RecordPayment,
        actor: &Actor,
    ) -> Result<order::Model> {
        let now = self.clock().now();
        let (_writer, txn) = self.begin_write().await?;
        let order = lock_order(&txn, input.order)
            .await?
            .ok_or_else(|| Error::not_found("orderId", "no such order"))?;
        if let Some(expected) = input.expected_version
            && expected != order.version
        {
            return Err(Error::VersionConflict {
                current: order.version,
            });
        }
        let payment = order_payment(&txn, order.id)
            .await?
            .ok_or_else(|| Error::Corrupt("order without payment".into()))?;
        if payment.status != PaymentStatus::Pending || order.cancelled_at.is_some() {
            return Err(Error::invalid_transition(
                "orderId",
                format!(
                    "the payment is {}{}: there is nothing to record",
                    payment.status.as_ref(),
                    if order.cancelled_at.is_some() {
                        " and the order is cancelled"
                    } else {
                        ""
                    }
                ),
            ));
        }
        if input.currency != order.currency {
            return Err(crate::domain::ValidationError::new(
                "amount.currencyCode",
                format!("the order is priced in {}", order.currency),
            )
            .into());
        }
        if input.amount != order.total {
            return Err(crate::domain::ValidationError::new(
                "amount.amount",
                format!(
                    "record the order total, {} {}",
                    format_minor(order.total, &order.currency),
                    order.currency
                ),
            )
            .into());
        }
        save_payment(
            &txn,
            &payment,
            PaymentStatus::Authorized,
            order.total,
            payment.amount_captured,
            now,
        )
        .await?;
        if let Some(reference) = &input.reference {
            entity::payment::Entity::update_many()
                .set(entity::payment::ActiveModel {
                    provider_reference: Set(Some(reference.clone())),
                    ..Default::default()
                })
                .filter(entity::payment::Column::Id.eq(payment.id))
                .exec(&txn)
                .await?;
        }
        let event = NewEvent::new(OrderEventType::PaymentRecorded)
            .message(format!(
                "Payment of {} {} recorded{}",
                format_minor(input.amount, &order.currency),
                order.currency,
                input
                    .reference
                    .as_ref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ))
            .payload(serde_json::json!({
                "amount": input.amount, "currency": order.currency, "reference": input.reference,
            }));
        let updated = record_change(&txn, &order, vec![event], &actor.name, now, |_| {}).await?;
        txn.commit().await?;
        self.events_committed();
        Ok(updated)
    }

    /// Refunds of the orders `ids`, oldest first.
    pub async fn refunds_by_orders(
        &self,
        ids: &[OrderId],
    ) -> Result<std::collections::HashMap<OrderId, Vec<refund::Model>>> {
        let rows = refund::Entity::find()
            .filter(refund::Column::OrderId.is_in(ids.iter().map(|i| i.0)))
            .all(self.db())
            .await?;
        let mut rows = rows;
        rows.sort_by_key(|r| r.id);
        Ok(super::group(rows, |r| OrderId(r.order_id)))
    }
}
