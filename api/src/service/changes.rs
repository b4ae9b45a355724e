//! How every change to an order is recorded: the order row is locked, the change is
//! made, the summary status is re-derived from the rows as they now are, the version
//! goes up, and the events are appended with the next gap-free sequence numbers — all in
//! the caller's transaction (the transactional outbox).

use chrono::{DateTime, Utc};
use entity::{fulfillment_order, fulfillment_order_line, order, order_event, order_line, payment};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::catalog::{Movement, move_stock};
use super::{Error, Result};
use crate::domain::ids::OrderId;
use crate::domain::lifecycle::derive_order_status;
use crate::domain::status::{FulfillmentStatus, OrderEventType, PaymentStatus};

/// An event to append.
#[derive(Debug, Clone)]
pub(crate) struct NewEvent {
    pub kind: OrderEventType,
    pub fulfillment_order: Option<i64>,
    pub location: Option<i64>,
    pub return_id: Option<i64>,
    pub message: Option<String>,
    pub payload: serde_json::Value,
}

impl NewEvent {
    pub fn new(kind: OrderEventType) -> Self {
        Self {
            kind,
            fulfillment_order: None,
            location: None,
            return_id: None,
            message: None,
            payload: serde_json::json!({}),
        }
    }

    /// The event concerns fulfilment order `id`, shipped from `location`.
    pub fn fulfillment(mut self, id: i64, location: i64) -> Self {
        self.fulfillment_order = Some(id);
        self.location = Some(location);
        self
    }

    /// The event concerns return `id`.
    pub fn for_return(mut self, id: i64) -> Self {
        self.return_id = Some(id);
        self
    }

    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    pub fn payload(mut self, payload: serde_json::Value) -> Self {
        self.payload = payload;
        self
    }
}

/// Locks the order row for the rest of the transaction (Postgres `FOR UPDATE`; SQLite
/// write transactions are already exclusive), so changes to one order never interleave.
pub(crate) async fn lock_order(
    txn: &DatabaseTransaction,
    id: OrderId,
) -> Result<Option<order::Model>> {
    Ok(order::Entity::find_by_id(id.0)
        .lock_exclusive()
        .one(txn)
        .await?)
}

/// The order's payment (one per order today; the newest if ever more).
pub(crate) async fn order_payment(
    txn: &DatabaseTransaction,
    order_id: i64,
) -> Result<Option<payment::Model>> {
    Ok(payment::Entity::find()
        .filter(payment::Column::OrderId.eq(order_id))
        .order_by_desc(payment::Column::Id)
        .lock_exclusive()
        .one(txn)
        .await?)
}

/// Appends `events` after the order's last sequence, bumps its version by as many, re-derives its
/// status and payment status, and applies `edit` to the row; returns the row as stored.
pub(crate) async fn record_change(
    txn: &DatabaseTransaction,
    order: &order::Model,
    events: Vec<NewEvent>,
    actor: &str,
    now: DateTime<Utc>,
    edit: impl FnOnce(&mut order::ActiveModel),
) -> Result<order::Model> {
    let fulfillments = fulfillment_order::Entity::find()
        .filter(fulfillment_order::Column::OrderId.eq(order.id))
        .select_only()
        .column(fulfillment_order::Column::Status)
        .into_tuple::<FulfillmentStatus>()
        .all(txn)
        .await?;
    let payment_status = match order_payment(txn, order.id).await? {
        Some(p) => p.status,
        None => PaymentStatus::Pending,
    };
    let status = derive_order_status(payment_status, &fulfillments);
    let count =
        i32::try_from(events.len()).map_err(|_| Error::Corrupt("too many events".into()))?;

    let mut row = order::ActiveModel {
        status: Set(status),
        payment_status: Set(payment_status),
        updated_at: Set(now),
        ..Default::default()
    };
    edit(&mut row);
    let updated = order::Entity::update_many()
        .set(row)
        // Each event is one accepted transition, so the version always equals the last
        // event's sequence: a client holding version v has seen events 1..=v.
        .col_expr(
            order::Column::Version,
            Expr::col(order::Column::Version).add(count),
        )
        .col_expr(
            order::Column::LastSequence,
            Expr::col(order::Column::LastSequence).add(count),
        )
        .filter(order::Column::Id.eq(order.id))
        .filter(order::Column::Version.eq(order.version))
        .exec(txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(Error::Retry);
    }
    append_events(
        txn,
        order.id,
        order.customer_id,
        order.last_sequence,
        events,
        actor,
        now,
    )
    .await?;
    order::Entity::find_by_id(order.id)
        .one(txn)
        .await?
        .ok_or_else(|| Error::Corrupt("order vanished".into()))
}

/// Inserts events numbered after `last_sequence`.
pub(crate) async fn append_events(
    txn: &DatabaseTransaction,
    order_id: i64,
    customer_id: i64,
    last_sequence: i32,
    events: Vec<NewEvent>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let rows = event_rows(order_id, customer_id, last_sequence, events, actor, now);
    order_event::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// The rows of events numbered after `last_sequence`.
pub(crate) fn event_rows(
    order_id: i64,
    customer_id: i64,
    last_sequence: i32,
    events: Vec<NewEvent>,
    actor: &str,
    now: DateTime<Utc>,
) -> Vec<order_event::ActiveModel> {
    events
        .into_iter()
        .enumerate()
        .map(|(i, e)| order_event::ActiveModel {
            order_id: Set(order_id),
            sequence: Set(last_sequence + i as i32 + 1),
            event_type: Set(e.kind),
            fulfillment_order_id: Set(e.fulfillment_order),
            customer_id: Set(customer_id),
            message: Set(e.message),
            payload: Set(e.payload.to_string()),
            actor: Set(actor.to_owned()),
            occurred_at: Set(now),
            location_id: Set(e.location),
            return_id: Set(e.return_id),
            ..Default::default()
        })
        .collect()
}

/// What becomes of a fulfilment order's units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settlement {
    /// They leave the building: out of on-hand and reserved, counted as fulfilled.
    Shipped,
    /// They go back to available stock, counted as cancelled.
    Cancelled,
}

/// Settles every line of `fo` (stock moved with one conditional update each, order-line
/// counters bumped) and returns the lines.
pub(crate) async fn settle_lines(
    txn: &DatabaseTransaction,
    fo: &fulfillment_order::Model,
    settlement: Settlement,
    now: DateTime<Utc>,
) -> Result<Vec<fulfillment_order_line::Model>> {
    let lines = fulfillment_order_line::Entity::find()
        .filter(fulfillment_order_line::Column::FulfillmentOrderId.eq(fo.id))
        .all(txn)
        .await?;
    let counter = match settlement {
        Settlement::Shipped => order_line::Column::QuantityFulfilled,
        Settlement::Cancelled => order_line::Column::QuantityCancelled,
    };
    for line in &lines {
        let movement = match settlement {
            Settlement::Shipped => Movement::Ship(line.quantity),
            Settlement::Cancelled => Movement::Release(line.quantity),
        };
        if !move_stock(txn, fo.location_id, line.sku_id, movement, now).await? {
            return Err(Error::Corrupt(format!(
                "fulfilment order {} has no reservation for SKU {}",
                fo.id, line.sku_id
            )));
        }
        order_line::Entity::update_many()
            .col_expr(counter, Expr::col(counter).add(line.quantity))
            .filter(order_line::Column::Id.eq(line.order_line_id))
            .exec(txn)
            .await?;
    }
    Ok(lines)
}

/// Saves a payment's new status and amounts, bumping its version.
pub(crate) async fn save_payment(
    txn: &DatabaseTransaction,
    payment: &payment::Model,
    status: PaymentStatus,
    authorized: i64,
    captured: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    payment::Entity::update_many()
        .col_expr(payment::Column::Status, Expr::value(status))
        .col_expr(payment::Column::AmountAuthorized, Expr::value(authorized))
        .col_expr(payment::Column::AmountCaptured, Expr::value(captured))
        .col_expr(
            payment::Column::Version,
            Expr::col(payment::Column::Version).add(1),
        )
        .col_expr(payment::Column::UpdatedAt, Expr::value(now))
        .filter(payment::Column::Id.eq(payment.id))
        .exec(txn)
        .await?;
    Ok(())
}
