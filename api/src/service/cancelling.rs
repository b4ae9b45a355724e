//! Cancelling an order: what has not shipped is cancelled and its stock released, the
//! rest of the payment authorisation is voided, and `CANCELLED` is appended — in one
//! write transaction. Shipped parts stay.

use chrono::{DateTime, Utc};
use entity::{fulfillment_order, order};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
};

use super::changes::{
    NewEvent, Settlement, lock_order, order_payment, record_change, save_payment, settle_lines,
};
use super::ordering::Actor;
use super::provider_calls::queue_payment_operation;
use super::{Error, Result, Store, retrying};
use crate::domain::ids::OrderId;
use crate::domain::status::{
    FulfillmentStatus, OrderEventType, PaymentOperationKind, PaymentStatus,
};

/// A cancellation request.
#[derive(Debug, Clone)]
pub struct CancelOrder {
    pub order: OrderId,
    pub reason: Option<String>,
    pub expected_version: Option<i32>,
}

impl Store {
    /// Cancels what has not shipped: releases its reservations, voids the rest of the
    /// payment authorisation, appends `CANCELLED`. Shipped parts stay.
    #[tracing::instrument(skip_all, fields(order = %input.order))]
    pub async fn cancel_order(
        &self,
        input: CancelOrder,
        actor: &Actor,
        scope: super::orders::Visibility,
    ) -> Result<order::Model> {
        retrying!(self.cancel_once(&input, actor, scope))
    }

    async fn cancel_once(
        &self,
        input: &CancelOrder,
        actor: &Actor,
        scope: super::orders::Visibility,
    ) -> Result<order::Model> {
        let now = self.clock().now();
        let (_writer, txn) = self.begin_write().await?;
        let order = lock_order(&txn, input.order)
            .await?
            .filter(|o| scope.allows(o.customer_id))
            .ok_or_else(|| Error::not_found("orderId", "no such order"))?;
        if let Some(expected) = input.expected_version
            && expected != order.version
        {
            return Err(Error::VersionConflict {
                current: order.version,
            });
        }
        let fulfillments = fulfillment_order::Entity::find()
            .filter(fulfillment_order::Column::OrderId.eq(order.id))
            .order_by_asc(fulfillment_order::Column::Id)
            .all(&txn)
            .await?;
        let (cancelled, released) = cancel_open_parts(&txn, &fulfillments, now).await?;
        if cancelled == 0 {
            let why = if order.cancelled_at.is_some() {
                "the order is already cancelled"
            } else {
                "everything has shipped; nothing is left to cancel"
            };
            return Err(Error::invalid_transition("orderId", why));
        }

        let void = self.settle_payment_on_cancel(&txn, order.id, now).await?;
        let whole = cancelled
            == fulfillments
                .iter()
                .filter(|f| f.status != FulfillmentStatus::Cancelled)
                .count();
        let reason = input.reason.clone();
        let message = match (&reason, whole) {
            (Some(r), _) => r.clone(),
            (None, true) => "Order cancelled".to_owned(),
            (None, false) => format!("Cancelled {cancelled} unshipped part(s); shipped parts stay"),
        };
        let events = vec![
            NewEvent::new(OrderEventType::Cancelled)
                .message(message)
                .payload(serde_json::json!({
                    "whole": whole, "fulfillmentOrdersCancelled": cancelled
                })),
        ];
        let updated = record_change(&txn, &order, events, &actor.name, now, |row| {
            row.cancel_reason = Set(reason);
            if whole {
                row.cancelled_at = Set(Some(now));
            }
        })
        .await?;
        txn.commit().await?;
        self.events_committed();
        self.stock_changed(released);
        self.send_payment_operations(void.as_slice()).await;
        Ok(updated)
    }

    /// Voids what was authorised and not captured: the payment becomes VOIDED, or stays
    /// CAPTURED for what shipped.
    async fn settle_payment_on_cancel(
        &self,
        txn: &DatabaseTransaction,
        order_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let Some(payment) = order_payment(txn, order_id).await? else {
            return Ok(None);
        };
        let status: PaymentStatus = payment.status;
        let new_status = if payment.amount_captured == 0 {
            PaymentStatus::Voided
        } else {
            PaymentStatus::Captured
        };
        if status == new_status
            || !crate::domain::lifecycle::payment_can_transition(status, new_status)
        {
            return Ok(None);
        }
        // The provider hears of it after the commit (see `provider_calls`).
        let operation =
            queue_payment_operation(txn, &payment, PaymentOperationKind::Void, 0, now).await?;
        // What stays authorised is what was captured; a void keeps the historical amount
        // for the record.
        let authorized = if new_status == PaymentStatus::Captured {
            payment.amount_captured
        } else {
            payment.amount_authorized
        };
        save_payment(
            txn,
            &payment,
            new_status,
            authorized,
            payment.amount_captured,
            now,
        )
        .await?;
        Ok(Some(operation))
    }
}

/// Cancels every fulfilment order that may still be cancelled, releasing its
/// reservations; returns how many were cancelled and the SKUs released.
async fn cancel_open_parts(
    txn: &DatabaseTransaction,
    fulfillments: &[fulfillment_order::Model],
    now: DateTime<Utc>,
) -> Result<(usize, Vec<i64>)> {
    let mut cancelled = 0;
    let mut released = Vec::new();
    for fo in fulfillments {
        let status: FulfillmentStatus = fo.status;
        if !crate::domain::lifecycle::fulfillment_can_transition(
            status,
            FulfillmentStatus::Cancelled,
        ) {
            continue;
        }
        let lines = settle_lines(txn, fo, Settlement::Cancelled, now).await?;
        released.extend(lines.iter().map(|l| l.sku_id));
        let updated = fulfillment_order::Entity::update_many()
            .col_expr(
                fulfillment_order::Column::Status,
                Expr::value(FulfillmentStatus::Cancelled),
            )
            .col_expr(
                fulfillment_order::Column::Version,
                Expr::col(fulfillment_order::Column::Version).add(1),
            )
            .col_expr(fulfillment_order::Column::UpdatedAt, Expr::value(now))
            .filter(fulfillment_order::Column::Id.eq(fo.id))
            .filter(fulfillment_order::Column::Version.eq(fo.version))
            .exec(txn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(Error::Retry);
        }
        cancelled += 1;
    }
    Ok((cancelled, released))
}
