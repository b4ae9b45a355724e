//! Returns (RMAs): a customer asks for delivered units back, staff approve (choosing
//! where they go) or decline, the parcel travels back, staff receive it — restocking or
//! disposing each line — and the refund follows. Each step is one write transaction
//! under the order's lock, checked against the return state machine, with its event
//! appended; the refund's provider call happens after the commit (`provider_calls`).
//! Here: asking, deciding and the way back; `receiving.rs`: receipt and refund;
//! `records.rs`: a return's rows under the order's lock; `reads.rs`: batched reads.

mod reads;
mod receiving;
mod records;

use std::collections::HashMap;

use entity::{location, order, order_line, return_line, return_request};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use super::changes::{NewEvent, lock_order, record_change};
use super::idempotency::Key;
use super::ordering::Actor;
use super::orders::Visibility;
use super::{Error, Result, Store, retrying};
use crate::domain::ids::{LocationId, OrderId, OrderLineId, ReturnId, ReturnLineId};
use crate::domain::status::{OrderEventType, ReturnDisposition, ReturnReason, ReturnStatus};
pub(crate) use records::{NewRefund, insert_refund, order_return_status};
use records::{check_transition, lock_return, save_return, shipping_location};

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
}
