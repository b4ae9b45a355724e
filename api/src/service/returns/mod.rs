//! Returns (RMAs): a customer asks for delivered units back, staff approve (choosing
//! where they go) or decline, the parcel travels back, staff receive it — restocking or
//! disposing each line — and the refund follows. Each step is one write transaction
//! under the order's lock, checked against the return state machine, with its event
//! appended; the refund's provider call happens after the commit (`provider_calls`).

mod reads;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    customer, fulfillment_order, fulfillment_order_line, location, order, order_line, payment,
    refund, return_line, return_request,
};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::catalog::restock;
use super::changes::{NewEvent, lock_order, order_payment, record_change};
use super::idempotency::Key;
use super::ordering::Actor;
use super::orders::Visibility;
use super::{Error, Result, Store, group, retrying};
use crate::domain::ids::{LocationId, OrderId, OrderLineId, ReturnId, ReturnLineId};
use crate::domain::returns::{
    Delivery, RefundLine, derive_return_status, line_refund, return_can_transition, returnable,
    returnable_until, tax_by_line, units_held,
};
use crate::domain::status::{
    FulfillmentStatus, OrderEventType, OrderReturnStatus, PaymentStatus, RefundStatus,
    ReturnDisposition, ReturnReason, ReturnStatus,
};

/// One line of a return request.
#[derive(Debug, Clone)]
pub struct ReturnLineRequest {
    pub order_line: OrderLineId,
    pub quantity: i32,
    pub reason: ReturnReason,
    pub note: Option<String>,
}

/// A customer's request to send units back.
#[derive(Debug, Clone)]
pub struct RequestReturn {
    pub order: OrderId,
    /// One entry per order line (duplicates are refused at the edge).
    pub lines: Vec<ReturnLineRequest>,
    pub customer_note: Option<String>,
    pub idempotency_key: Option<String>,
}

/// What staff decide about a requested return.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Approve, the units going back to this location (default: the one that shipped them).
    Approve(Option<LocationId>),
    /// Decline, saying why.
    Decline(String),
}

/// A change to a return that needs only its id and version.
#[derive(Debug, Clone)]
pub struct ReturnChange<T> {
    pub return_id: ReturnId,
    pub expected_version: Option<i32>,
    pub change: T,
}

/// The return parcel's carrier and tracking number.
#[derive(Debug, Clone)]
pub struct ReturnShipment {
    pub carrier: String,
    pub tracking_number: String,
}

/// What arrived of one return line and what becomes of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedLine {
    pub line: ReturnLineId,
    pub quantity: i32,
    pub disposition: ReturnDisposition,
}

/// A return's receipt: what arrived, and whether shipping is refunded too.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// One entry per return line (duplicates are refused at the edge); lines not listed
    /// did not arrive.
    pub lines: Vec<ReceivedLine>,
    pub refund_shipping: bool,
}

/// A line that may still be asked back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReturnableLine {
    pub order_line: OrderLineId,
    pub quantity: i32,
    pub until: chrono::NaiveDate,
}

/// The return locked for a change, with its order.
struct Locked {
    order: order::Model,
    ret: return_request::Model,
}

impl Store {
    /// Opens a return of delivered units (customers for their own orders). Idempotent
    /// per caller and key.
    #[tracing::instrument(skip_all, fields(order = %input.order))]
    pub async fn request_return(
        &self,
        input: RequestReturn,
        actor: &Actor,
        scope: Visibility,
    ) -> Result<return_request::Model> {
        let key = input.idempotency_key.as_ref().map(|k| {
            let lines: Vec<_> = input
                .lines
                .iter()
                .map(|l| (l.order_line.0, l.quantity, l.reason.as_ref(), &l.note))
                .collect();
            let request = serde_json::json!([input.order.0, lines, input.customer_note]);
            Key::new("requestReturn", &actor.name, k, &request)
        });
        if let Some(key) = &key
            && let Some(id) = key.replay(self.db(), self.clock().now()).await?
        {
            return self.return_row(ReturnId(id)).await;
        }
        retrying!(self.request_return_once(&input, key.as_ref(), actor, scope))
    }

    async fn request_return_once(
        &self,
        input: &RequestReturn,
        key: Option<&Key>,
        actor: &Actor,
        scope: Visibility,
    ) -> Result<return_request::Model> {
        let now = self.clock().now();
        let (_writer, txn) = self.begin_write().await?;
        let order = lock_order(&txn, input.order)
            .await?
            .filter(|o| scope.allows(o.customer_id))
            .ok_or_else(|| Error::not_found("orderId", "no such order"))?;
        let lines: HashMap<i64, order_line::Model> = order_line::Entity::find()
            .filter(order_line::Column::OrderId.eq(order.id))
            .all(&txn)
            .await?
            .into_iter()
            .map(|l| (l.id, l))
            .collect();
        let open = self
            .returnable_lines_of(&txn, std::slice::from_ref(&order))
            .await?
            .remove(&order.id)
            .unwrap_or_default();
        for (i, wanted) in input.lines.iter().enumerate() {
            if !lines.contains_key(&wanted.order_line.0) {
                return Err(Error::not_found(
                    &format!("lines.{i}.orderLineId"),
                    "no such line on this order",
                ));
            }
            let left = open
                .iter()
                .find(|r| r.order_line == wanted.order_line)
                .map_or(0, |r| r.quantity);
            if wanted.quantity > left {
                return Err(Error::NotReturnable {
                    field: format!("lines.{i}.quantity"),
                    message: if left == 0 {
                        "nothing of this line can be returned: it is not delivered, already \
                         returned, or its return window has closed"
                            .to_owned()
                    } else {
                        format!("only {left} unit(s) of this line can still be returned")
                    },
                });
            }
        }
        let count = return_request::Entity::find()
            .filter(return_request::Column::OrderId.eq(order.id))
            .all(&txn)
            .await?
            .len();
        let ret = return_request::Entity::insert(return_request::ActiveModel {
            order_id: Set(order.id),
            customer_id: Set(order.customer_id),
            number: Set(format!("{}-R{}", order.number, count + 1)),
            status: Set(ReturnStatus::Requested),
            customer_note: Set(input.customer_note.clone()),
            decline_reason: Set(None),
            carrier: Set(None),
            tracking_number: Set(None),
            return_location_id: Set(None),
            version: Set(1),
            requested_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec_with_returning(&txn)
        .await?;
        return_line::Entity::insert_many(input.lines.iter().map(|l| return_line::ActiveModel {
            return_id: Set(ret.id),
            order_line_id: Set(l.order_line.0),
            quantity: Set(l.quantity),
            reason: Set(l.reason),
            note: Set(l.note.clone()),
            quantity_received: Set(0),
            disposition: Set(None),
            ..Default::default()
        }))
        .exec_without_returning(&txn)
        .await?;
        let units: i32 = input.lines.iter().map(|l| l.quantity).sum();
        let event = NewEvent::new(OrderEventType::ReturnRequested)
            .for_return(ret.id)
            .message(format!("Return {} requested: {units} unit(s)", ret.number))
            .payload(
                serde_json::json!({ "returnId": ret.id, "number": ret.number, "units": units }),
            );
        let return_status = order_return_status(&txn, order.id).await?;
        record_change(&txn, &order, vec![event], &actor.name, now, |row| {
            row.return_status = Set(return_status);
        })
        .await?;
        if let Some(key) = key
            && !key.claim(&txn, order.id, ret.id, now).await?
        {
            drop(txn);
            let id = key.replay(self.db(), now).await?.ok_or(Error::Retry)?;
            return self.return_row(ReturnId(id)).await;
        }
        txn.commit().await?;
        self.events_committed();
        Ok(ret)
    }

    /// Approves or declines a requested return (staff).
    #[tracing::instrument(skip_all, fields(return_id = %input.return_id))]
    pub async fn decide_return(
        &self,
        input: ReturnChange<Decision>,
        actor: &Actor,
    ) -> Result<return_request::Model> {
        retrying!(self.decide_once(&input, actor))
    }

    async fn decide_once(
        &self,
        input: &ReturnChange<Decision>,
        actor: &Actor,
    ) -> Result<return_request::Model> {
        let now = self.clock().now();
        let (_writer, txn) = self.begin_write().await?;
        let Locked { order, ret } = lock_return(&txn, input, Visibility::All).await?;
        let (to, mut row, event) = match &input.change {
            Decision::Approve(location) => {
                let location = match location {
                    Some(id) => location::Entity::find_by_id(id.0)
                        .filter(location::Column::Active.eq(true))
                        .one(&txn)
                        .await?
                        .ok_or_else(|| {
                            Error::not_found("returnLocationId", "no such active location")
                        })?,
                    None => shipping_location(&txn, ret.id).await?,
                };
                let row = return_request::ActiveModel {
                    return_location_id: Set(Some(location.id)),
                    ..Default::default()
                };
                let event = NewEvent::new(OrderEventType::ReturnApproved)
                    .message(format!(
                        "Return {} approved: send it to {}",
                        ret.number, location.name
                    ))
                    .payload(serde_json::json!({
                        "returnId": ret.id, "number": ret.number, "returnLocationId": location.id
                    }));
                (ReturnStatus::Approved, row, event)
            }
            Decision::Decline(reason) => {
                let row = return_request::ActiveModel {
                    decline_reason: Set(Some(reason.clone())),
                    ..Default::default()
                };
                let event = NewEvent::new(OrderEventType::ReturnDeclined)
                    .message(format!("Return {} declined: {reason}", ret.number))
                    .payload(serde_json::json!({ "returnId": ret.id, "number": ret.number }));
                (ReturnStatus::Declined, row, event)
            }
        };
        check_transition(&ret, to)?;
        row.status = Set(to);
        let stored = save_return(&txn, &ret, row, now).await?;
        let return_status = order_return_status(&txn, order.id).await?;
        record_change(
            &txn,
            &order,
            vec![event.for_return(ret.id)],
            &actor.name,
            now,
            |row| row.return_status = Set(return_status),
        )
        .await?;
        txn.commit().await?;
        self.events_committed();
        Ok(stored)
    }

    /// Records the return parcel's carrier and tracking number (customers for their own
    /// returns, staff for any): APPROVED → IN_TRANSIT.
    #[tracing::instrument(skip_all, fields(return_id = %input.return_id))]
    pub async fn record_return_shipment(
        &self,
        input: ReturnChange<ReturnShipment>,
        actor: &Actor,
        scope: Visibility,
    ) -> Result<return_request::Model> {
        retrying!(self.return_shipment_once(&input, actor, scope))
    }

    async fn return_shipment_once(
        &self,
        input: &ReturnChange<ReturnShipment>,
        actor: &Actor,
        scope: Visibility,
    ) -> Result<return_request::Model> {
        let now = self.clock().now();
        let (_writer, txn) = self.begin_write().await?;
        let Locked { order, ret } = lock_return(&txn, input, scope).await?;
        check_transition(&ret, ReturnStatus::InTransit)?;
        let shipment = &input.change;
        let row = return_request::ActiveModel {
            status: Set(ReturnStatus::InTransit),
            carrier: Set(Some(shipment.carrier.clone())),
            tracking_number: Set(Some(shipment.tracking_number.clone())),
            ..Default::default()
        };
        let stored = save_return(&txn, &ret, row, now).await?;
        let event = NewEvent::new(OrderEventType::ReturnInTransit)
            .for_return(ret.id)
            .message(format!(
                "Return {} on its way back: {} {}",
                ret.number, shipment.carrier, shipment.tracking_number
            ))
            .payload(serde_json::json!({
                "returnId": ret.id, "carrier": shipment.carrier,
                "trackingNumber": shipment.tracking_number,
            }));
        let return_status = order_return_status(&txn, order.id).await?;
        record_change(&txn, &order, vec![event], &actor.name, now, |row| {
            row.return_status = Set(return_status);
        })
        .await?;
        txn.commit().await?;
        self.events_committed();
        Ok(stored)
    }

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

/// A refund to write.
pub(crate) struct NewRefund {
    pub return_id: Option<i64>,
    pub amount: i64,
    pub shipping_amount: i64,
    pub reason: Option<String>,
}

/// Inserts a PENDING refund and books it on the payment (one conditional update, so two
/// refunds can never together pay back more than was captured); returns its id.
pub(crate) async fn insert_refund(
    txn: &DatabaseTransaction,
    payment: &payment::Model,
    refund: NewRefund,
    now: DateTime<Utc>,
) -> Result<i64> {
    let refunded = payment.amount_refunded + refund.amount;
    let status = match payment.status {
        PaymentStatus::Captured | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded => {
            if refunded >= payment.amount_captured {
                PaymentStatus::Refunded
            } else {
                PaymentStatus::PartiallyRefunded
            }
        }
        // More is still to ship and be captured: the payment keeps its capture status.
        other => other,
    };
    let booked = payment::Entity::update_many()
        .col_expr(
            payment::Column::AmountRefunded,
            Expr::col(payment::Column::AmountRefunded).add(refund.amount),
        )
        .col_expr(payment::Column::Status, Expr::value(status))
        .col_expr(
            payment::Column::Version,
            Expr::col(payment::Column::Version).add(1),
        )
        .col_expr(payment::Column::UpdatedAt, Expr::value(now))
        .filter(payment::Column::Id.eq(payment.id))
        .filter(
            Expr::col(payment::Column::AmountRefunded)
                .add(refund.amount)
                .lte(Expr::col(payment::Column::AmountCaptured)),
        )
        .exec(txn)
        .await?;
    if booked.rows_affected != 1 {
        return Err(Error::Retry);
    }
    let row = refund::Entity::insert(refund::ActiveModel {
        order_id: Set(payment.order_id),
        payment_id: Set(payment.id),
        return_id: Set(refund.return_id),
        amount: Set(refund.amount),
        shipping_amount: Set(refund.shipping_amount),
        currency: Set(payment.currency.clone()),
        reason: Set(refund.reason),
        status: Set(RefundStatus::Pending),
        provider_reference: Set(None),
        attempts: Set(0),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(txn)
    .await?;
    Ok(row.last_insert_id)
}

/// Locks the return's order and reads the return, checking who may change it and its
/// version.
async fn lock_return<T>(
    txn: &DatabaseTransaction,
    input: &ReturnChange<T>,
    scope: Visibility,
) -> Result<Locked> {
    let locked = lock_return_unchecked(txn, input.return_id, scope).await?;
    check_version(&locked.ret, input.expected_version)?;
    Ok(locked)
}

/// `VERSION_CONFLICT` unless the return is at `expected` (when given).
fn check_version(ret: &return_request::Model, expected: Option<i32>) -> Result<()> {
    match expected {
        Some(expected) if expected != ret.version => Err(Error::VersionConflict {
            current: ret.version,
        }),
        _ => Ok(()),
    }
}

/// Locks the return's order and reads the return; someone else's return looks missing.
async fn lock_return_unchecked(
    txn: &DatabaseTransaction,
    id: ReturnId,
    scope: Visibility,
) -> Result<Locked> {
    let missing = || Error::not_found("returnId", "no such return");
    let owner = return_request::Entity::find_by_id(id.0)
        .select_only()
        .column(return_request::Column::OrderId)
        .into_tuple::<i64>()
        .one(txn)
        .await?
        .ok_or_else(missing)?;
    let order = lock_order(txn, OrderId(owner))
        .await?
        .filter(|o| scope.allows(o.customer_id))
        .ok_or_else(missing)?;
    let ret = return_request::Entity::find_by_id(id.0)
        .one(txn)
        .await?
        .ok_or_else(missing)?;
    Ok(Locked { order, ret })
}

fn check_transition(ret: &return_request::Model, to: ReturnStatus) -> Result<()> {
    if return_can_transition(ret.status, to) {
        return Ok(());
    }
    Err(Error::invalid_transition(
        "returnId",
        format!(
            "return {} is {}; it cannot become {}",
            ret.number,
            ret.status.as_ref(),
            to.as_ref()
        ),
    ))
}

/// Applies `row` to the return, bumping its version (guarded by the version read).
async fn save_return(
    txn: &DatabaseTransaction,
    ret: &return_request::Model,
    mut row: return_request::ActiveModel,
    now: DateTime<Utc>,
) -> Result<return_request::Model> {
    row.updated_at = Set(now);
    let saved = return_request::Entity::update_many()
        .set(row)
        .col_expr(
            return_request::Column::Version,
            Expr::col(return_request::Column::Version).add(1),
        )
        .filter(return_request::Column::Id.eq(ret.id))
        .filter(return_request::Column::Version.eq(ret.version))
        .exec(txn)
        .await?;
    if saved.rows_affected != 1 {
        return Err(Error::Retry);
    }
    return_request::Entity::find_by_id(ret.id)
        .one(txn)
        .await?
        .ok_or_else(|| Error::Corrupt("return vanished".into()))
}

/// The location that shipped the return's first line (where it goes back by default).
async fn shipping_location(txn: &DatabaseTransaction, return_id: i64) -> Result<location::Model> {
    let first_line = return_line::Entity::find()
        .filter(return_line::Column::ReturnId.eq(return_id))
        .order_by_asc(return_line::Column::Id)
        .one(txn)
        .await?
        .ok_or_else(|| Error::Corrupt("return without lines".into()))?;
    let parcel = fulfillment_order_line::Entity::find()
        .filter(fulfillment_order_line::Column::OrderLineId.eq(first_line.order_line_id))
        .order_by_asc(fulfillment_order_line::Column::Id)
        .one(txn)
        .await?
        .ok_or_else(|| Error::Corrupt("returned line never shipped".into()))?;
    let fo = fulfillment_order::Entity::find_by_id(parcel.fulfillment_order_id)
        .one(txn)
        .await?
        .ok_or_else(|| Error::Corrupt("parcel line without parcel".into()))?;
    location::Entity::find_by_id(fo.location_id)
        .one(txn)
        .await?
        .ok_or_else(|| Error::Corrupt("parcel without location".into()))
}

/// Units held by returns, per order line, for the orders `ids` (one statement).
async fn held_units(db: &impl ConnectionTrait, ids: &[i64]) -> Result<HashMap<i64, i32>> {
    let to_return: sea_orm::RelationDef = return_line::Entity::belongs_to(return_request::Entity)
        .from(return_line::Column::ReturnId)
        .to(return_request::Column::Id)
        .into();
    let rows: Vec<(i64, i32, i32, ReturnStatus)> = return_line::Entity::find()
        .join(sea_orm::JoinType::InnerJoin, to_return)
        .filter(return_request::Column::OrderId.is_in(ids.iter().copied()))
        .select_only()
        .column(return_line::Column::OrderLineId)
        .column(return_line::Column::Quantity)
        .column(return_line::Column::QuantityReceived)
        .column(return_request::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let mut held = HashMap::new();
    for (line, quantity, received, status) in rows {
        *held.entry(line).or_insert(0) += units_held(status, quantity, received);
    }
    Ok(held)
}

/// Units already refunded (or being refunded) per order line, by returns other than `except`.
async fn refunded_units(
    txn: &DatabaseTransaction,
    order_id: i64,
    except: i64,
) -> Result<HashMap<i64, i32>> {
    let done: Vec<i64> = return_request::Entity::find()
        .filter(return_request::Column::OrderId.eq(order_id))
        .filter(return_request::Column::Id.ne(except))
        .filter(
            return_request::Column::Status.is_in([ReturnStatus::Received, ReturnStatus::Refunded]),
        )
        .select_only()
        .column(return_request::Column::Id)
        .into_tuple()
        .all(txn)
        .await?;
    let mut units = HashMap::new();
    if done.is_empty() {
        return Ok(units);
    }
    for line in return_line::Entity::find()
        .filter(return_line::Column::ReturnId.is_in(done))
        .all(txn)
        .await?
    {
        *units.entry(line.order_line_id).or_insert(0) += line.quantity_received;
    }
    Ok(units)
}

/// Customers' time zones.
async fn customer_zones(
    db: &impl ConnectionTrait,
    ids: impl Iterator<Item = i64>,
) -> Result<HashMap<i64, chrono_tz::Tz>> {
    Ok(customer::Entity::find()
        .filter(customer::Column::Id.is_in(ids.collect::<Vec<_>>()))
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::TimeZone)
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, zone)| (id, zone.parse().unwrap_or(chrono_tz::UTC)))
        .collect())
}

/// The order's return status, derived from its returns as they now are in `txn`.
pub(crate) async fn order_return_status(
    txn: &DatabaseTransaction,
    order_id: i64,
) -> Result<Option<OrderReturnStatus>> {
    let returns = return_request::Entity::find()
        .filter(return_request::Column::OrderId.eq(order_id))
        .all(txn)
        .await?;
    if returns.is_empty() {
        return Ok(None);
    }
    let lines = group(
        return_line::Entity::find()
            .filter(return_line::Column::ReturnId.is_in(returns.iter().map(|r| r.id)))
            .all(txn)
            .await?,
        |l| l.return_id,
    );
    let summary: Vec<(ReturnStatus, i32)> = returns
        .iter()
        .map(|r| {
            let units = lines
                .get(&r.id)
                .into_iter()
                .flatten()
                .map(|l| units_held(r.status, l.quantity, l.quantity_received))
                .sum();
            (r.status, units)
        })
        .collect();
    let delivered: i32 = {
        let parcels: Vec<i64> = fulfillment_order::Entity::find()
            .filter(fulfillment_order::Column::OrderId.eq(order_id))
            .filter(fulfillment_order::Column::Status.eq(FulfillmentStatus::Delivered))
            .select_only()
            .column(fulfillment_order::Column::Id)
            .into_tuple()
            .all(txn)
            .await?;
        fulfillment_order_line::Entity::find()
            .filter(fulfillment_order_line::Column::FulfillmentOrderId.is_in(parcels))
            .all(txn)
            .await?
            .iter()
            .map(|l| l.quantity)
            .sum()
    };
    Ok(derive_return_status(&summary, delivered))
}
