//! A return's rows under the order's lock: locking and checking a return, saving it,
//! the units it holds and refunded, and the refund rows every refund path writes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    customer, fulfillment_order, fulfillment_order_line, location, payment, refund, return_line,
    return_request,
};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::{Locked, ReturnChange};
use crate::domain::ids::{OrderId, ReturnId};
use crate::domain::returns::{derive_return_status, return_can_transition, units_held};
use crate::domain::status::{
    FulfillmentStatus, OrderReturnStatus, PaymentStatus, RefundStatus, ReturnStatus,
};
use crate::service::changes::lock_order;
use crate::service::orders::Visibility;
use crate::service::{Error, Result, group};

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
pub(super) async fn lock_return<T>(
    txn: &DatabaseTransaction,
    input: &ReturnChange<T>,
    scope: Visibility,
) -> Result<Locked> {
    let locked = lock_return_unchecked(txn, input.return_id, scope).await?;
    check_version(&locked.ret, input.expected_version)?;
    Ok(locked)
}

/// `VERSION_CONFLICT` unless the return is at `expected` (when given).
pub(super) fn check_version(ret: &return_request::Model, expected: Option<i32>) -> Result<()> {
    match expected {
        Some(expected) if expected != ret.version => Err(Error::VersionConflict {
            current: ret.version,
        }),
        _ => Ok(()),
    }
}

/// Locks the return's order and reads the return; someone else's return looks missing.
pub(super) async fn lock_return_unchecked(
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

pub(super) fn check_transition(ret: &return_request::Model, to: ReturnStatus) -> Result<()> {
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
pub(super) async fn save_return(
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
pub(super) async fn shipping_location(
    txn: &DatabaseTransaction,
    return_id: i64,
) -> Result<location::Model> {
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
pub(super) async fn held_units(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, i32>> {
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
pub(super) async fn refunded_units(
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
pub(super) async fn customer_zones(
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
