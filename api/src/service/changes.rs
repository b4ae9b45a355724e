//! How every change to an order is recorded: the order row is locked, the change is
//! made, the summary status is re-derived from the rows as they now are, the version
//! goes up, and the events are appended with the next gap-free sequence numbers — all in
//! the caller's transaction (the transactional outbox).

use chrono::{DateTime, Utc};
use entity::{fulfillment_order, order, order_event, payment};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

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
    pub message: Option<String>,
    pub payload: serde_json::Value,
}

impl NewEvent {
    pub fn new(kind: OrderEventType) -> Self {
        Self {
            kind,
            fulfillment_order: None,
            location: None,
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
    let rows = events
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
            published_at: Set(None),
            location_id: Set(e.location),
            ..Default::default()
        });
    order_event::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    Ok(())
}
