//! Fulfilment: picking, packing, shipping (stock leaves the building, what ships is
//! captured, the delivery promise is set) and the carrier's delivery events. Every step
//! is checked against the fulfilment state machine and recorded as an order event.

use chrono::{DateTime, Utc};
use entity::{customer, fulfillment_order, order, order_line};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect,
};

use super::changes::{NewEvent, lock_order, order_payment, record_change, save_payment};
use super::changes::{Settlement, settle_lines};
use super::ordering::Actor;
use super::provider_calls::queue_payment_operation;
use super::{Error, Result, Store, retrying};
use crate::domain::delivery::{DeliveryWindow, estimate_window};
use crate::domain::ids::{FulfillmentOrderId, OrderId};
use crate::domain::lifecycle::{fulfillment_can_transition, payment_can_transition};
use crate::domain::pricing::{Totals, shipment_capture};
use crate::domain::status::{
    FulfillmentStatus, OrderEventType, PaymentOperationKind, PaymentStatus, ShippingMethod,
};

/// Carrier details when a parcel ships.
#[derive(Debug, Clone)]
pub struct Shipment {
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: Option<String>,
}

/// A carrier or 3PL update.
#[derive(Debug, Clone)]
pub struct DeliveryUpdate {
    pub status: FulfillmentStatus,
    pub occurred_at: Option<DateTime<Utc>>,
    pub estimated_delivery_at: Option<DateTime<Utc>>,
    pub message: Option<String>,
}

/// What a step does besides moving the status.
enum Step {
    Pick,
    Pack,
    Ship(Shipment),
    Deliver(DeliveryUpdate),
}

impl Step {
    fn target(&self) -> FulfillmentStatus {
        match self {
            Self::Pick => FulfillmentStatus::Picking,
            Self::Pack => FulfillmentStatus::Packed,
            Self::Ship(_) => FulfillmentStatus::Shipped,
            Self::Deliver(update) => update.status,
        }
    }
}

fn event_for(status: FulfillmentStatus) -> OrderEventType {
    match status {
        FulfillmentStatus::Picking => OrderEventType::PickingStarted,
        FulfillmentStatus::Packed => OrderEventType::Packed,
        FulfillmentStatus::Shipped => OrderEventType::Shipped,
        FulfillmentStatus::InTransit => OrderEventType::InTransit,
        FulfillmentStatus::OutForDelivery => OrderEventType::OutForDelivery,
        FulfillmentStatus::Delivered => OrderEventType::Delivered,
        FulfillmentStatus::DeliveryException => OrderEventType::DeliveryException,
        FulfillmentStatus::Open | FulfillmentStatus::Cancelled => OrderEventType::Cancelled,
    }
}

impl Store {
    /// OPEN → PICKING.
    pub async fn start_picking(
        &self,
        id: FulfillmentOrderId,
        expected_version: Option<i32>,
        actor: &Actor,
    ) -> Result<fulfillment_order::Model> {
        retrying!(self.step(id, || Step::Pick, expected_version, actor))
    }

    /// PICKING → PACKED.
    pub async fn mark_packed(
        &self,
        id: FulfillmentOrderId,
        expected_version: Option<i32>,
        actor: &Actor,
    ) -> Result<fulfillment_order::Model> {
        retrying!(self.step(id, || Step::Pack, expected_version, actor))
    }

    /// PACKED → SHIPPED: stock leaves `on_hand` and `reserved`, what ships is captured,
    /// the delivery estimate is set.
    pub async fn ship(
        &self,
        id: FulfillmentOrderId,
        shipment: Shipment,
        expected_version: Option<i32>,
        actor: &Actor,
    ) -> Result<fulfillment_order::Model> {
        retrying!(self.step(id, || Step::Ship(shipment.clone()), expected_version, actor))
    }

    /// A carrier update: IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERED or DELIVERY_EXCEPTION,
    /// optionally with a new estimate.
    pub async fn record_delivery_event(
        &self,
        id: FulfillmentOrderId,
        update: DeliveryUpdate,
        expected_version: Option<i32>,
        actor: &Actor,
    ) -> Result<fulfillment_order::Model> {
        retrying!(self.step(
            id,
            || Step::Deliver(update.clone()),
            expected_version,
            actor
        ))
    }

    #[tracing::instrument(skip(self, make, actor))]
    /// One fulfilment step in one write transaction: lock the order, check the version
    /// and the transition, apply what the step does, bump the version, append its events.
    async fn step(
        &self,
        id: FulfillmentOrderId,
        make: impl Fn() -> Step,
        expected_version: Option<i32>,
        actor: &Actor,
    ) -> Result<fulfillment_order::Model> {
        let step = make();
        let now = self.clock().now();
        let (_writer, txn) = self.begin_write().await?;
        let (order, fo) = lock_fulfillment(&txn, id, expected_version).await?;
        let to = step.target();
        check_transition(&fo, to)?;

        let mut change = Change {
            row: fulfillment_order::ActiveModel {
                status: Set(to),
                updated_at: Set(now),
                ..Default::default()
            },
            events: vec![NewEvent::new(event_for(to)).fulfillment(fo.id, fo.location_id)],
            stock_moved: Vec::new(),
            payment_operations: Vec::new(),
        };
        match step {
            Step::Pick | Step::Pack => {}
            Step::Ship(shipment) => {
                self.apply_shipment(&txn, &order, &fo, &shipment, now, &mut change)
                    .await?;
            }
            Step::Deliver(update) => {
                apply_delivery_update(&txn, &order, &fo, to, update, now, &mut change).await?;
            }
        }

        let updated = fulfillment_order::Entity::update_many()
            .set(change.row)
            .col_expr(
                fulfillment_order::Column::Version,
                Expr::col(fulfillment_order::Column::Version).add(1),
            )
            .filter(fulfillment_order::Column::Id.eq(fo.id))
            .filter(fulfillment_order::Column::Version.eq(fo.version))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(Error::Retry);
        }
        record_change(&txn, &order, change.events, &actor.name, now, |_| {}).await?;
        let fo = fulfillment_order::Entity::find_by_id(id.0)
            .one(&txn)
            .await?
            .ok_or_else(|| {
                Error::Corrupt("fulfillment order vanished in its transaction".into())
            })?;
        txn.commit().await?;
        self.events_committed();
        if !change.stock_moved.is_empty() {
            self.stock_changed(change.stock_moved);
        }
        self.send_payment_operations(&change.payment_operations)
            .await;
        Ok(fo)
    }

    /// Shipping: stock leaves the shelf, what ships is captured, the carrier and the
    /// delivery estimate are set, and SHIPPED (plus PAYMENT_CAPTURED) is recorded.
    async fn apply_shipment(
        &self,
        txn: &DatabaseTransaction,
        order: &order::Model,
        fo: &fulfillment_order::Model,
        shipment: &Shipment,
        now: DateTime<Utc>,
        change: &mut Change,
    ) -> Result<()> {
        let (captured, skus) = self.ship_goods(txn, order, fo, now).await?;
        change.stock_moved = skus;
        let ship_date = local_date(txn, order, now).await?;
        let method: ShippingMethod = fo.shipping_method;
        let window = estimate_window(ship_date, method);
        let row = &mut change.row;
        row.carrier = Set(Some(shipment.carrier.clone()));
        row.tracking_number = Set(Some(shipment.tracking_number.clone()));
        row.tracking_url = Set(shipment.tracking_url.clone());
        row.shipped_at = Set(Some(now));
        row.estimated_earliest = Set(Some(window.earliest));
        row.estimated_latest = Set(Some(window.latest));
        change.events[0] = NewEvent::new(OrderEventType::Shipped)
            .fulfillment(fo.id, fo.location_id)
            .message(format!("{} {}", shipment.carrier, shipment.tracking_number))
            .payload(serde_json::json!({
                "carrier": shipment.carrier, "trackingNumber": shipment.tracking_number,
                "estimatedEarliest": window.earliest, "estimatedLatest": window.latest,
            }));
        if let Some((amount, currency, operation)) = captured {
            change.payment_operations.push(operation);
            change.events.push(
                NewEvent::new(OrderEventType::PaymentCaptured)
                    .fulfillment(fo.id, fo.location_id)
                    .payload(serde_json::json!({ "amount": amount, "currency": currency })),
            );
        }
        Ok(())
    }

    /// Takes shipped units out of stock and captures their price; returns what was
    /// captured. The last shipment captures whatever is left, so rounding never drifts.
    async fn ship_goods(
        &self,
        txn: &DatabaseTransaction,
        order: &order::Model,
        fo: &fulfillment_order::Model,
        now: DateTime<Utc>,
    ) -> Result<(Option<(i64, String, i64)>, Vec<i64>)> {
        let payment = order_payment(txn, order.id)
            .await?
            .ok_or_else(|| Error::Corrupt("order without payment".into()))?;
        let payment_status: PaymentStatus = payment.status;
        if !matches!(
            payment_status,
            PaymentStatus::Authorized | PaymentStatus::PartiallyCaptured
        ) {
            return Err(Error::invalid_transition(
                "fulfillmentOrderId",
                format!(
                    "the payment is {}: it must be authorised before anything ships",
                    payment_status.as_ref()
                ),
            ));
        }
        let lines = settle_lines(txn, fo, Settlement::Shipped, now).await?;
        let skus: Vec<i64> = lines.iter().map(|l| l.sku_id).collect();
        let prices: std::collections::HashMap<i64, i64> = order_line::Entity::find()
            .filter(order_line::Column::Id.is_in(lines.iter().map(|l| l.order_line_id)))
            .all(txn)
            .await?
            .into_iter()
            .map(|l| (l.id, l.unit_price))
            .collect();
        let shipped_value: i64 = lines
            .iter()
            .map(|l| prices.get(&l.order_line_id).copied().unwrap_or(0) * i64::from(l.quantity))
            .sum();

        let unshipped_others = fulfillment_order::Entity::find()
            .filter(fulfillment_order::Column::OrderId.eq(order.id))
            .filter(fulfillment_order::Column::Id.ne(fo.id))
            .filter(fulfillment_order::Column::Status.is_in([
                FulfillmentStatus::Open,
                FulfillmentStatus::Picking,
                FulfillmentStatus::Packed,
            ]))
            .all(txn)
            .await?
            .len();
        let amount = shipment_capture(
            &Totals {
                subtotal: order.subtotal,
                shipping: order.shipping_total,
                tax: order.tax_total,
                total: order.total,
            },
            shipped_value,
            payment.amount_captured,
            payment.amount_authorized - payment.amount_captured,
            unshipped_others == 0,
        );
        if amount <= 0 {
            return Ok((None, skus));
        }
        // The provider hears of it after the commit (see `provider_calls`).
        let operation =
            queue_payment_operation(txn, &payment, PaymentOperationKind::Capture, amount, now)
                .await?;
        let captured = payment.amount_captured + amount;
        let status = if captured >= payment.amount_authorized {
            PaymentStatus::Captured
        } else {
            PaymentStatus::PartiallyCaptured
        };
        if !payment_can_transition(payment_status, status) {
            return Err(Error::Corrupt(format!(
                "payment {} cannot go {} → {}",
                payment.id,
                payment_status.as_ref(),
                status.as_ref()
            )));
        }
        save_payment(
            txn,
            &payment,
            status,
            payment.amount_authorized,
            captured,
            now,
        )
        .await?;
        Ok((Some((amount, payment.currency, operation)), skus))
    }
}

/// The calendar day of `at` in the order's customer's time zone.
async fn local_date(
    txn: &DatabaseTransaction,
    order: &order::Model,
    at: DateTime<Utc>,
) -> Result<chrono::NaiveDate> {
    let zone = customer::Entity::find_by_id(order.customer_id)
        .select_only()
        .column(customer::Column::TimeZone)
        .into_tuple::<String>()
        .one(txn)
        .await?
        .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
        .unwrap_or(chrono_tz::UTC);
    Ok(at.with_timezone(&zone).date_naive())
}

/// What one fulfilment step writes: the row's new columns, its events, the SKUs whose
/// stock moved.
struct Change {
    row: fulfillment_order::ActiveModel,
    events: Vec<NewEvent>,
    stock_moved: Vec<i64>,
    /// Captures to send to the provider once committed.
    payment_operations: Vec<i64>,
}

/// The fulfilment order and its order, the order locked; `NOT_FOUND` or
/// `VERSION_CONFLICT` as the input deserves.
async fn lock_fulfillment(
    txn: &DatabaseTransaction,
    id: FulfillmentOrderId,
    expected_version: Option<i32>,
) -> Result<(order::Model, fulfillment_order::Model)> {
    let not_found = || Error::not_found("fulfillmentOrderId", "no such fulfillment order");
    let order_id = fulfillment_order::Entity::find_by_id(id.0)
        .select_only()
        .column(fulfillment_order::Column::OrderId)
        .into_tuple::<i64>()
        .one(txn)
        .await?
        .ok_or_else(not_found)?;
    let order = lock_order(txn, OrderId(order_id))
        .await?
        .ok_or_else(not_found)?;
    let fo = fulfillment_order::Entity::find_by_id(id.0)
        .one(txn)
        .await?
        .ok_or_else(not_found)?;
    if let Some(expected) = expected_version
        && expected != fo.version
    {
        return Err(Error::VersionConflict {
            current: fo.version,
        });
    }
    Ok((order, fo))
}

/// `INVALID_TRANSITION` unless the fulfilment order may become `to`.
fn check_transition(fo: &fulfillment_order::Model, to: FulfillmentStatus) -> Result<()> {
    let from: FulfillmentStatus = fo.status;
    if fulfillment_can_transition(from, to) {
        return Ok(());
    }
    Err(Error::invalid_transition(
        "fulfillmentOrderId",
        format!(
            "a fulfillment order that is {} cannot become {}",
            from.as_ref(),
            to.as_ref()
        ),
    ))
}

/// A carrier's update: delivered time, a new estimate (which may make "tomorrow" true
/// again later), and the event with the carrier's message.
async fn apply_delivery_update(
    txn: &DatabaseTransaction,
    order: &order::Model,
    fo: &fulfillment_order::Model,
    to: FulfillmentStatus,
    update: DeliveryUpdate,
    now: DateTime<Utc>,
    change: &mut Change,
) -> Result<()> {
    let at = update.occurred_at.unwrap_or(now);
    if to == FulfillmentStatus::Delivered {
        change.row.delivered_at = Set(Some(at));
    }
    if let Some(estimate) = update.estimated_delivery_at {
        let day = local_date(txn, order, estimate).await?;
        let window = DeliveryWindow {
            earliest: day,
            latest: day,
        };
        change.row.estimated_earliest = Set(Some(window.earliest));
        change.row.estimated_latest = Set(Some(window.latest));
        change.row.arriving_tomorrow_notified_on = Set(None);
    }
    let mut event = NewEvent::new(event_for(to))
        .fulfillment(fo.id, fo.location_id)
        .payload(serde_json::json!({
            "occurredAt": at, "estimatedDeliveryAt": update.estimated_delivery_at,
        }));
    if let Some(message) = update.message {
        event = event.message(message);
    }
    change.events[0] = event;
    Ok(())
}
