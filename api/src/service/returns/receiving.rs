//! Receiving a return: restocking or disposing each line, and the refund that follows
//! (written in the same transaction, sent to the provider after the commit).

use super::records::{
    NewRefund, check_transition, check_version, customer_zones, held_units, insert_refund,
    lock_return_unchecked, order_return_status, refunded_units, save_return, shipping_location,
};
use super::{Locked, Receipt, ReturnChange, ReturnableLine};
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    fulfillment_order, fulfillment_order_line, order, order_line, refund, return_line,
    return_request,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::domain::ids::{OrderLineId, ReturnId};
use crate::domain::returns::{
    Delivery, RefundLine, line_refund, returnable, returnable_until, tax_by_line,
};
use crate::domain::status::{
    FulfillmentStatus, OrderEventType, RefundStatus, ReturnDisposition, ReturnStatus,
};
use crate::service::catalog::restock;
use crate::service::changes::{NewEvent, order_payment, record_change};
use crate::service::ordering::Actor;
use crate::service::orders::Visibility;
use crate::service::{Error, Result, Store, group, retrying};

impl Store {
    /// Receives a return (staff): RESTOCK units go back on hand at the return location,
    /// DISPOSE units do not; the received lines' price and tax share (and shipping, when
    /// asked) are refunded to the original payment, the provider being called after the
    /// commit. Sending the same receipt again is safe: it returns the return as it is and
    /// retries a refund the provider failed.
    #[tracing::instrument(skip_all, fields(return_id = %input.return_id))]
    pub async fn receive_return(
        &self,
        input: ReturnChange<Receipt>,
        actor: &Actor,
    ) -> Result<return_request::Model> {
        let (ret, refund) = retrying!(self.receive_once(&input, actor))?;
        if let Some(refund) = refund {
            self.send_refund(refund).await?;
        }
        self.return_row(ReturnId(ret.id)).await
    }

    async fn receive_once(
        &self,
        input: &ReturnChange<Receipt>,
        actor: &Actor,
    ) -> Result<(return_request::Model, Option<i64>)> {
        let now = self.clock().now();
        let (_writer, txn) = self.begin_write().await?;
        // Locked before anything is read: a receipt racing this one has committed or
        // waits, so a repeat sees the return received and replays.
        let Locked { order, ret } =
            lock_return_unchecked(&txn, input.return_id, Visibility::All).await?;
        let lines = return_line::Entity::find()
            .filter(return_line::Column::ReturnId.eq(ret.id))
            .order_by_asc(return_line::Column::Id)
            .all(&txn)
            .await?;
        if matches!(ret.status, ReturnStatus::Received | ReturnStatus::Refunded) {
            return replay_receipt(&txn, ret, &lines, &input.change).await;
        }
        check_version(&ret, input.expected_version)?;
        check_transition(&ret, ReturnStatus::Received)?;
        let receipt = &input.change;
        let by_id: HashMap<i64, &return_line::Model> = lines.iter().map(|l| (l.id, l)).collect();
        for (i, got) in receipt.lines.iter().enumerate() {
            let line = by_id.get(&got.line.0).ok_or_else(|| {
                Error::not_found(
                    &format!("lines.{i}.returnLineId"),
                    "no such line on this return",
                )
            })?;
            if got.quantity > line.quantity {
                return Err(crate::domain::ValidationError::new(
                    format!("lines.{i}.quantity"),
                    format!("at most the {} unit(s) asked back", line.quantity),
                )
                .into());
            }
        }
        let location = match ret.return_location_id {
            Some(id) => id,
            None => shipping_location(&txn, ret.id).await?.id,
        };
        let order_lines: HashMap<i64, order_line::Model> = order_line::Entity::find()
            .filter(order_line::Column::OrderId.eq(order.id))
            .all(&txn)
            .await?
            .into_iter()
            .map(|l| (l.id, l))
            .collect();
        let mut restocked = Vec::new();
        for got in &receipt.lines {
            let line = by_id[&got.line.0];
            return_line::Entity::update_many()
                .col_expr(
                    return_line::Column::QuantityReceived,
                    Expr::value(got.quantity),
                )
                .col_expr(
                    return_line::Column::Disposition,
                    Expr::value(got.disposition),
                )
                .filter(return_line::Column::Id.eq(line.id))
                .exec(&txn)
                .await?;
            if got.disposition == ReturnDisposition::Restock && got.quantity > 0 {
                let sku = order_lines
                    .get(&line.order_line_id)
                    .map(|l| l.sku_id)
                    .ok_or_else(|| Error::Corrupt("return line without order line".into()))?;
                let reason = format!("return {} restocked", ret.number);
                restock(&txn, location, sku, got.quantity, &reason, &actor.name, now).await?;
                restocked.push(sku);
            }
        }
        let received: HashMap<i64, i32> = receipt
            .lines
            .iter()
            .map(|g| (by_id[&g.line.0].order_line_id, g.quantity))
            .collect();
        let units: i32 = received.values().sum();
        let refund = self
            .refund_for_receipt(
                &txn,
                &order,
                &ret,
                &order_lines,
                &received,
                receipt.refund_shipping,
                now,
            )
            .await?;
        // Nothing to pay back (nothing arrived, or goodwill refunds already paid it all):
        // the return is done.
        let to = if refund.is_some() {
            ReturnStatus::Received
        } else {
            ReturnStatus::Refunded
        };
        let stored = save_return(
            &txn,
            &ret,
            return_request::ActiveModel {
                status: Set(to),
                return_location_id: Set(Some(location)),
                ..Default::default()
            },
            now,
        )
        .await?;
        let event = NewEvent::new(OrderEventType::ReturnReceived)
            .for_return(ret.id)
            .message(format!("Return {} received: {units} unit(s)", ret.number))
            .payload(serde_json::json!({
                "returnId": ret.id, "units": units, "refundId": refund.as_ref().map(|r| r.0),
                "refundAmount": refund.as_ref().map(|r| r.1),
            }));
        let return_status = order_return_status(&txn, order.id).await?;
        record_change(&txn, &order, vec![event], &actor.name, now, |row| {
            row.return_status = Set(return_status);
        })
        .await?;
        txn.commit().await?;
        self.events_committed();
        if !restocked.is_empty() {
            self.stock_changed(restocked);
        }
        Ok((stored, refund.map(|r| r.0)))
    }

    /// Writes the PENDING refund of a receipt (and books it on the payment); returns its
    /// id and amount, or `None` when there is nothing to pay back.
    #[allow(clippy::too_many_arguments)]
    async fn refund_for_receipt(
        &self,
        txn: &DatabaseTransaction,
        order: &order::Model,
        ret: &return_request::Model,
        order_lines: &HashMap<i64, order_line::Model>,
        received: &HashMap<i64, i32>,
        refund_shipping: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<(i64, i64)>> {
        let Some(payment) = order_payment(txn, order.id).await? else {
            return Ok(None);
        };
        let mut ordered: Vec<&order_line::Model> = order_lines.values().collect();
        ordered.sort_by_key(|l| l.line_number);
        // The order's tax covers goods and shipping: split it between them first, then
        // the goods' part over the lines.
        let split = tax_by_line(
            &[(order.subtotal, 1), (order.shipping_total, 1)],
            order.tax_total,
        );
        let (goods_tax, shipping_tax) = (split[0], split[1]);
        let taxes = tax_by_line(
            &ordered
                .iter()
                .map(|l| (l.unit_price, l.quantity))
                .collect::<Vec<_>>(),
            goods_tax,
        );
        let before = refunded_units(txn, order.id, ret.id).await?;
        let mut amount: i64 = 0;
        for (line, tax) in ordered.iter().zip(taxes) {
            let units = received.get(&line.id).copied().unwrap_or(0);
            if units == 0 {
                continue;
            }
            amount += line_refund(
                RefundLine {
                    unit_price: line.unit_price,
                    ordered: line.quantity,
                    refunded_before: before.get(&line.id).copied().unwrap_or(0),
                    units,
                },
                tax,
            );
        }
        let shipping = if refund_shipping {
            let paid_back: Option<i64> = refund::Entity::find()
                .filter(refund::Column::OrderId.eq(order.id))
                .select_only()
                .column_as(refund::Column::ShippingAmount.sum(), "sum")
                .into_tuple::<Option<i64>>()
                .one(txn)
                .await?
                .flatten();
            std::cmp::max(
                order.shipping_total + shipping_tax - paid_back.unwrap_or(0),
                0,
            )
        } else {
            0
        };
        let left = payment.amount_captured - payment.amount_refunded;
        let total = std::cmp::min(amount + shipping, left);
        if total <= 0 {
            return Ok(None);
        }
        let id = insert_refund(
            txn,
            &payment,
            NewRefund {
                return_id: Some(ret.id),
                amount: total,
                shipping_amount: std::cmp::min(shipping, total),
                reason: Some(format!("Return {}", ret.number)),
            },
            now,
        )
        .await?;
        Ok(Some((id, total)))
    }

    /// What of each order may still be asked back, per line (delivered, inside the
    /// window in the customer's time zone, not on another return), for a batch of orders.
    pub(crate) async fn returnable_lines_of(
        &self,
        db: &impl ConnectionTrait,
        orders: &[order::Model],
    ) -> Result<HashMap<i64, Vec<ReturnableLine>>> {
        let ids: Vec<i64> = orders.iter().map(|o| o.id).collect();
        let delivered = fulfillment_order::Entity::find()
            .filter(fulfillment_order::Column::OrderId.is_in(ids.clone()))
            .filter(fulfillment_order::Column::Status.eq(FulfillmentStatus::Delivered))
            .all(db)
            .await?;
        if delivered.is_empty() {
            return Ok(HashMap::new());
        }
        let parcel_lines = group(
            fulfillment_order_line::Entity::find()
                .filter(
                    fulfillment_order_line::Column::FulfillmentOrderId
                        .is_in(delivered.iter().map(|f| f.id)),
                )
                .all(db)
                .await?,
            |l| l.fulfillment_order_id,
        );
        let held = held_units(db, &ids).await?;
        let zones = customer_zones(db, orders.iter().map(|o| o.customer_id)).await?;
        let today_of = |order: &order::Model| {
            let zone = zones
                .get(&order.customer_id)
                .copied()
                .unwrap_or(chrono_tz::UTC);
            (zone, self.clock().now().with_timezone(&zone).date_naive())
        };
        let mut out: HashMap<i64, Vec<ReturnableLine>> = HashMap::new();
        for order in orders {
            let (zone, today) = today_of(order);
            let mut deliveries: HashMap<i64, Vec<Delivery>> = HashMap::new();
            for fo in delivered.iter().filter(|f| f.order_id == order.id) {
                let on = fo
                    .delivered_at
                    .unwrap_or(fo.updated_at)
                    .with_timezone(&zone)
                    .date_naive();
                let until = returnable_until(on, self.return_window_days);
                for line in parcel_lines.get(&fo.id).into_iter().flatten() {
                    deliveries
                        .entry(line.order_line_id)
                        .or_default()
                        .push(Delivery {
                            units: line.quantity,
                            until,
                        });
                }
            }
            let mut lines: Vec<ReturnableLine> = deliveries
                .into_iter()
                .filter_map(|(line, parcels)| {
                    let held = held.get(&line).copied().unwrap_or(0);
                    returnable(&parcels, held, today).map(|(quantity, until)| ReturnableLine {
                        order_line: OrderLineId(line),
                        quantity,
                        until,
                    })
                })
                .collect();
            lines.sort_by_key(|l| l.order_line);
            if !lines.is_empty() {
                out.insert(order.id, lines);
            }
        }
        Ok(out)
    }

    /// One return, as stored.
    pub(crate) async fn return_row(&self, id: ReturnId) -> Result<return_request::Model> {
        return_request::Entity::find_by_id(id.0)
            .one(self.db())
            .await?
            .ok_or_else(|| Error::Corrupt("return vanished".into()))
    }
}

/// Answers a receipt sent again: the same lines give the return as it is (and retry a
/// refund the provider failed); other lines are a different receipt, refused.
async fn replay_receipt(
    txn: &DatabaseTransaction,
    ret: return_request::Model,
    lines: &[return_line::Model],
    receipt: &Receipt,
) -> Result<(return_request::Model, Option<i64>)> {
    let same = lines.iter().all(|line| {
        let sent = receipt.lines.iter().find(|g| g.line.0 == line.id);
        match sent {
            Some(g) => {
                g.quantity == line.quantity_received && Some(g.disposition) == line.disposition
            }
            None => line.quantity_received == 0,
        }
    }) && receipt
        .lines
        .iter()
        .all(|g| lines.iter().any(|l| l.id == g.line.0));
    if !same {
        return Err(Error::invalid_transition(
            "returnId",
            format!(
                "return {} was already received with other quantities",
                ret.number
            ),
        ));
    }
    let owed = refund::Entity::find()
        .filter(refund::Column::ReturnId.eq(ret.id))
        .filter(refund::Column::Status.ne(RefundStatus::Succeeded))
        .one(txn)
        .await?
        .map(|r| r.id);
    Ok((ret, owed))
}
