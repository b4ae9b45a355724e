//! Editing an order before it is picked: quantities (0 removes a line), new lines, the
//! shipping address or method. In one write transaction the order's reservations are
//! released, the new lines routed with the same routing as placement (a new address may
//! move the order to another location) and reserved in lock order with the same
//! conditional updates (no oversell, no deadlock), the fulfilment orders that changed
//! replaced, the order re-priced, and ORDER_EDITED / ADDRESS_CHANGED appended. A higher
//! total is authorised first (declined: nothing changes); a lower one releases the
//! difference through the provider after the commit.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use entity::{fulfillment_order, fulfillment_order_line, order, order_line, sku};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
};

use super::catalog::{Movement, move_stock};
use super::changes::{NewEvent, lock_order, order_payment, record_change, save_payment};
use super::ordering::{Actor, out_of_stock, reserve};
use super::orders::Visibility;
use super::payments::PaymentError;
use super::provider_calls::queue_payment_operation;
use super::quoting::candidates;
use super::{Error, Result, Store, retrying};
use crate::domain::address::Address;
use crate::domain::ids::{OrderId, OrderLineId, SkuId};
use crate::domain::money::format_minor;
use crate::domain::pricing::{Totals, totals};
use crate::domain::routing::{self, Destination, Plan};
use crate::domain::status::{
    FulfillmentStatus, OrderEventType, PaymentOperationKind, PaymentStatus, ShippingMethod,
};

/// An edit of an order.
#[derive(Debug, Clone)]
pub struct EditOrder {
    pub order: OrderId,
    pub expected_version: i32,
    /// New quantities of existing lines (0 removes the line).
    pub set_quantities: Vec<(OrderLineId, i32)>,
    /// SKU codes and quantities to add (merged into a line of the same SKU).
    pub add_lines: Vec<(String, i32)>,
    pub address: Option<Address>,
    pub method: Option<ShippingMethod>,
}

/// Who edits: staff and partners until picking starts; customers within their window.
#[derive(Debug, Clone, Copy)]
pub enum Editor {
    Staff,
    Customer,
}

/// The edited order, worked out inside the transaction.
struct Draft {
    /// SKU → (line id if it exists, quantity, unit price).
    lines: BTreeMap<i64, (Option<i64>, i32, i64)>,
    skus: HashMap<i64, sku::Model>,
    address: Address,
    method: ShippingMethod,
}

impl Store {
    /// Whether `editor` may edit `order` now (`Order.editable`), and why not.
    pub fn edit_refusal(
        &self,
        order: &order::Model,
        fulfillments: &[fulfillment_order::Model],
        editor: Editor,
    ) -> Option<String> {
        if order.cancelled_at.is_some() {
            return Some("the order is cancelled".to_owned());
        }
        let live: Vec<_> = fulfillments
            .iter()
            .filter(|f| f.status != FulfillmentStatus::Cancelled)
            .collect();
        if live.iter().any(|f| f.status != FulfillmentStatus::Open) {
            return Some(
                "picking has started; ask the warehouse or cancel what is open".to_owned(),
            );
        }
        if matches!(editor, Editor::Customer)
            && self.clock().now() > order.placed_at + self.customer_edit_window
        {
            return Some(format!(
                "orders can be changed for {} after placing; contact us",
                humantime::format_duration(self.customer_edit_window.to_std().unwrap_or_default())
            ));
        }
        None
    }

    /// Edits an order (see the module docs). `expected_version` is required.
    #[tracing::instrument(skip_all, fields(order = %input.order))]
    pub async fn edit_order(
        &self,
        input: EditOrder,
        editor: Editor,
        actor: &Actor,
        scope: Visibility,
    ) -> Result<order::Model> {
        // Price the edit first: a higher total is authorised before anything is written.
        let preview = retrying!(self.edit_once(&input, editor, actor, scope, None))?;
        let EditOutcome::NeedsMore { amount, payment } = preview else {
            let EditOutcome::Done(order, operations) = preview else {
                unreachable!()
            };
            self.send_payment_operations(&operations).await;
            return Ok(*order);
        };
        let provider = self
            .payments
            .get(&payment.provider)
            .ok_or_else(|| Error::Corrupt(format!("no provider '{}'", payment.provider)))?;
        let reference = payment.provider_reference.clone().unwrap_or_default();
        let key = format!("increase:{}:{}", input.order.0, input.expected_version);
        match provider
            .increase_authorization(&reference, amount, &payment.currency, &key)
            .await
        {
            Ok(()) => {}
            Err(PaymentError::Declined(why)) => return Err(Error::PaymentDeclined(why)),
            Err(other) => return Err(Error::Provider(other)),
        }
        let outcome = retrying!(self.edit_once(&input, editor, actor, scope, Some(amount)));
        match outcome {
            Ok(EditOutcome::Done(order, operations)) => {
                self.send_payment_operations(&operations).await;
                Ok(*order)
            }
            Ok(EditOutcome::NeedsMore { .. }) => Err(Error::Retry),
            Err(err) => {
                // Not edited after all: give the extra hold back.
                let release = format!("release:{key}");
                if let Err(e) = provider
                    .release(&reference, amount, &payment.currency, &release)
                    .await
                {
                    tracing::error!(error = %e, "could not release the extra hold of an edit that failed");
                }
                Err(err)
            }
        }
    }

    /// One attempt. Without `authorized_more`, an edit that costs more than is held
    /// stops before writing and says how much more to hold.
    async fn edit_once(
        &self,
        input: &EditOrder,
        editor: Editor,
        actor: &Actor,
        scope: Visibility,
        authorized_more: Option<i64>,
    ) -> Result<EditOutcome> {
        let now = self.clock().now();
        let (_writer, txn) = self.begin_write().await?;
        let order = lock_order(&txn, input.order)
            .await?
            .filter(|o| scope.allows(o.customer_id))
            .ok_or_else(|| Error::not_found("orderId", "no such order"))?;
        if input.expected_version != order.version {
            return Err(Error::VersionConflict {
                current: order.version,
            });
        }
        let fulfillments = fulfillment_order::Entity::find()
            .filter(fulfillment_order::Column::OrderId.eq(order.id))
            .order_by_asc(fulfillment_order::Column::Id)
            .all(&txn)
            .await?;
        if let Some(why) = self.edit_refusal(&order, &fulfillments, editor) {
            return Err(Error::NotEditable {
                field: "orderId".to_owned(),
                message: why,
            });
        }
        let draft = draft(&txn, &order, input).await?;
        let amounts = totals(
            &draft
                .lines
                .values()
                .map(|(_, qty, price)| (*price, *qty))
                .collect::<Vec<_>>(),
            draft.method,
            self.tax.for_country(draft.address.country.as_str()),
        )
        .ok_or_else(|| {
            crate::domain::ValidationError::new("addLines", "the order total is too large")
        })?;
        let payment = order_payment(&txn, order.id)
            .await?
            .ok_or_else(|| Error::Corrupt("order without payment".into()))?;
        let held = payment.amount_authorized;
        let authorized = payment.status == PaymentStatus::Authorized;
        if authorized && amounts.total > held + authorized_more.unwrap_or(0) {
            if authorized_more.is_some() {
                // The edit grew between the two attempts: authorise again.
                return Err(Error::Retry);
            }
            return Ok(EditOutcome::NeedsMore {
                amount: amounts.total - held,
                payment,
            });
        }

        // Stock: give back what the order holds, then take what the edit needs.
        let old_lines = release_all(&txn, &fulfillments, now).await?;
        let plan = self.route_draft(&txn, &draft).await?;
        reserve(&txn, &plan, now).await?;
        let line_ids = save_lines(&txn, &order, &draft).await?;
        replace_fulfillments(
            &txn,
            &order,
            &fulfillments,
            &plan,
            &line_ids,
            draft.method,
            now,
        )
        .await?;

        let mut operations = Vec::new();
        if authorized && amounts.total != held {
            save_payment(
                &txn,
                &payment,
                PaymentStatus::Authorized,
                amounts.total,
                0,
                now,
            )
            .await?;
            if amounts.total < held {
                operations.push(
                    queue_payment_operation(
                        &txn,
                        &payment,
                        PaymentOperationKind::Release,
                        held - amounts.total,
                        now,
                    )
                    .await?,
                );
            }
        }
        let events = edit_events(&order, &draft, &old_lines, &amounts, input);
        let a = draft.address.clone();
        let method = draft.method;
        let updated = record_change(&txn, &order, events, &actor.name, now, |row| {
            row.subtotal = Set(amounts.subtotal);
            row.shipping_total = Set(amounts.shipping);
            row.tax_total = Set(amounts.tax);
            row.total = Set(amounts.total);
            row.shipping_method = Set(method);
            row.routing_strategy = Set(plan.strategy);
            row.routing_reason = Set(plan.reason.clone());
            row.ship_name = Set(a.name.clone());
            row.ship_line1 = Set(a.line1.clone());
            row.ship_line2 = Set(a.line2.clone());
            row.ship_city = Set(a.city.clone());
            row.ship_region = Set(a.region.clone());
            row.ship_postal_code = Set(a.postal_code.clone());
            row.ship_country = Set(a.country.as_str().to_owned());
            row.ship_latitude = Set(a.latitude);
            row.ship_longitude = Set(a.longitude);
        })
        .await?;
        txn.commit().await?;
        self.events_committed();
        let mut skus: Vec<i64> = draft.lines.keys().copied().collect();
        skus.extend(old_lines.keys().copied());
        self.stock_changed(skus);
        Ok(EditOutcome::Done(Box::new(updated), operations))
    }

    /// Routes the draft's lines to its address.
    async fn route_draft(&self, txn: &DatabaseTransaction, draft: &Draft) -> Result<Plan> {
        let wanted: BTreeMap<SkuId, i32> = draft
            .lines
            .iter()
            .map(|(sku, (_, qty, _))| (SkuId(*sku), *qty))
            .collect();
        let skus: Vec<SkuId> = wanted.keys().copied().collect();
        let destination = Destination {
            country: draft.address.country.as_str().to_owned(),
            region: draft.address.region.clone(),
            coordinates: draft.address.latitude.zip(draft.address.longitude),
        };
        let priced: Vec<(sku::Model, i32)> = draft
            .lines
            .iter()
            .filter_map(|(sku, (_, qty, _))| draft.skus.get(sku).map(|s| (s.clone(), *qty)))
            .collect();
        let candidates = candidates(txn, &skus).await?;
        if !candidates
            .iter()
            .any(|c| c.active && c.ships_to.contains(&destination.country))
        {
            return Err(crate::domain::ValidationError::new(
                "shippingAddress.country",
                format!("no location ships to {}", destination.country),
            )
            .into());
        }
        routing::route(&wanted, &candidates, &destination).map_err(|u| {
            match out_of_stock(&u.short, &priced) {
                Error::OutOfStock { message, .. } => Error::OutOfStock {
                    field: "addLines".to_owned(),
                    message,
                },
                other => other,
            }
        })
    }
}

/// What one attempt came to.
enum EditOutcome {
    /// Edited; payment operations to send.
    Done(Box<order::Model>, Vec<i64>),
    /// The edit costs `amount` more than is held: authorise that first.
    NeedsMore {
        amount: i64,
        payment: entity::payment::Model,
    },
}

/// Applies the input to the order's lines; checks lines and SKUs.
async fn draft(
    txn: &DatabaseTransaction,
    order: &order::Model,
    input: &EditOrder,
) -> Result<Draft> {
    let existing = order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(order.id))
        .order_by_asc(order_line::Column::LineNumber)
        .all(txn)
        .await?;
    let mut lines: BTreeMap<i64, (Option<i64>, i32, i64)> = existing
        .iter()
        .filter(|l| l.quantity > l.quantity_cancelled)
        .map(|l| {
            (
                l.sku_id,
                (Some(l.id), l.quantity - l.quantity_cancelled, l.unit_price),
            )
        })
        .collect();
    for (i, (line, qty)) in input.set_quantities.iter().enumerate() {
        let Some(found) = existing.iter().find(|l| l.id == line.0) else {
            return Err(Error::not_found(
                &format!("setQuantities.{i}.orderLineId"),
                "no such line on this order",
            ));
        };
        if *qty == 0 {
            lines.remove(&found.sku_id);
        } else {
            lines.insert(found.sku_id, (Some(found.id), *qty, found.unit_price));
        }
    }
    let codes: Vec<&str> = input.add_lines.iter().map(|(c, _)| c.as_str()).collect();
    let skus: HashMap<i64, sku::Model> = sku::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(sku::Column::Code.is_in(codes))
                .add(sku::Column::Id.is_in(existing.iter().map(|l| l.sku_id))),
        )
        .all(txn)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    for (i, (code, qty)) in input.add_lines.iter().enumerate() {
        let Some(sku) = skus.values().find(|s| &s.code == code && s.active).cloned() else {
            return Err(Error::not_found(
                &format!("addLines.{i}.sku"),
                format!("no SKU with code '{code}'"),
            ));
        };
        if sku.currency != order.currency {
            return Err(crate::domain::ValidationError::new(
                format!("addLines.{i}.sku"),
                format!("the order is priced in {}", order.currency),
            )
            .into());
        }
        let entry = lines.entry(sku.id).or_insert((None, 0, sku.price_amount));
        entry.1 += qty;
        if entry.1 > 10_000 {
            return Err(crate::domain::ValidationError::new(
                format!("addLines.{i}.quantity"),
                "at most 10000 units of one SKU",
            )
            .into());
        }
    }
    if lines.is_empty() {
        return Err(crate::domain::ValidationError::new(
            "setQuantities",
            "an order keeps at least one line; cancel it instead",
        )
        .into());
    }
    let address = match &input.address {
        Some(address) => address.clone(),
        None => super::reorder::shipped_to(order)?,
    };
    Ok(Draft {
        lines,
        skus,
        address,
        method: input.method.unwrap_or(order.shipping_method),
    })
}

/// Releases every reservation of the order's open fulfilment orders (in lock order);
/// returns the units it held per SKU.
async fn release_all(
    txn: &DatabaseTransaction,
    fulfillments: &[fulfillment_order::Model],
    now: DateTime<Utc>,
) -> Result<BTreeMap<i64, i32>> {
    let open: Vec<&fulfillment_order::Model> = fulfillments
        .iter()
        .filter(|f| f.status == FulfillmentStatus::Open)
        .collect();
    let lines = fulfillment_order_line::Entity::find()
        .filter(fulfillment_order_line::Column::FulfillmentOrderId.is_in(open.iter().map(|f| f.id)))
        .all(txn)
        .await?;
    let location_of: HashMap<i64, i64> = open.iter().map(|f| (f.id, f.location_id)).collect();
    let mut releases: Vec<(i64, i64, i32)> = lines
        .iter()
        .map(|l| (location_of[&l.fulfillment_order_id], l.sku_id, l.quantity))
        .collect();
    releases.sort_unstable();
    let mut held = BTreeMap::new();
    for (location, sku, qty) in releases {
        if !move_stock(txn, location, sku, Movement::Release(qty), now).await? {
            return Err(Error::Corrupt(format!(
                "location {location} has no reservation of SKU {sku} to release"
            )));
        }
        *held.entry(sku).or_insert(0) += qty;
    }
    fulfillment_order_line::Entity::delete_many()
        .filter(fulfillment_order_line::Column::FulfillmentOrderId.is_in(open.iter().map(|f| f.id)))
        .exec(txn)
        .await?;
    Ok(held)
}

/// Writes the draft's lines: quantities of kept lines, new lines appended, removed lines
/// deleted. Returns the line id of each SKU.
async fn save_lines(
    txn: &DatabaseTransaction,
    order: &order::Model,
    draft: &Draft,
) -> Result<HashMap<i64, i64>> {
    let existing = order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(order.id))
        .all(txn)
        .await?;
    let mut ids = HashMap::new();
    let mut next_number = existing.iter().map(|l| l.line_number).max().unwrap_or(0) + 1;
    for line in &existing {
        match draft.lines.get(&line.sku_id) {
            Some((_, qty, _)) => {
                order_line::Entity::update_many()
                    .col_expr(
                        order_line::Column::Quantity,
                        Expr::value(qty + line.quantity_cancelled),
                    )
                    .filter(order_line::Column::Id.eq(line.id))
                    .exec(txn)
                    .await?;
                ids.insert(line.sku_id, line.id);
            }
            None => {
                order_line::Entity::delete_by_id(line.id).exec(txn).await?;
            }
        }
    }
    for (sku, (_, qty, price)) in &draft.lines {
        if ids.contains_key(sku) {
            continue;
        }
        let row = order_line::Entity::insert(order_line::ActiveModel {
            order_id: Set(order.id),
            line_number: Set(next_number),
            sku_id: Set(*sku),
            quantity: Set(*qty),
            unit_price: Set(*price),
            quantity_fulfilled: Set(0),
            quantity_cancelled: Set(0),
            ..Default::default()
        })
        .exec(txn)
        .await?;
        next_number += 1;
        ids.insert(*sku, row.last_insert_id);
    }
    Ok(ids)
}

/// Gives each allocation of the plan a fulfilment order: the open one already at that
/// location (its lines replaced), or a new one; open ones the plan no longer uses are
/// cancelled (they were never picked).
async fn replace_fulfillments(
    txn: &DatabaseTransaction,
    order: &order::Model,
    fulfillments: &[fulfillment_order::Model],
    plan: &Plan,
    line_ids: &HashMap<i64, i64>,
    method: ShippingMethod,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut open: Vec<&fulfillment_order::Model> = fulfillments
        .iter()
        .filter(|f| f.status == FulfillmentStatus::Open)
        .collect();
    for allocation in &plan.allocations {
        let reused = open
            .iter()
            .position(|f| f.location_id == allocation.location.0)
            .map(|i| open.remove(i));
        let fo = match reused {
            Some(fo) => {
                fulfillment_order::Entity::update_many()
                    .col_expr(
                        fulfillment_order::Column::ShippingMethod,
                        Expr::value(method),
                    )
                    .col_expr(
                        fulfillment_order::Column::Version,
                        Expr::col(fulfillment_order::Column::Version).add(1),
                    )
                    .col_expr(fulfillment_order::Column::UpdatedAt, Expr::value(now))
                    .filter(fulfillment_order::Column::Id.eq(fo.id))
                    .exec(txn)
                    .await?;
                fo.id
            }
            None => {
                fulfillment_order::Entity::insert(fulfillment_order::ActiveModel {
                    order_id: Set(order.id),
                    location_id: Set(allocation.location.0),
                    status: Set(FulfillmentStatus::Open),
                    shipping_method: Set(method),
                    version: Set(1),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                })
                .exec(txn)
                .await?
                .last_insert_id
            }
        };
        fulfillment_order_line::Entity::insert_many(allocation.lines.iter().map(|(sku, qty)| {
            fulfillment_order_line::ActiveModel {
                fulfillment_order_id: Set(fo),
                order_line_id: Set(line_ids.get(&sku.0).copied().unwrap_or_default()),
                sku_id: Set(sku.0),
                quantity: Set(*qty),
                ..Default::default()
            }
        }))
        .exec_without_returning(txn)
        .await?;
    }
    for unused in open {
        fulfillment_order::Entity::update_many()
            .col_expr(
                fulfillment_order::Column::Status,
                Expr::value(FulfillmentStatus::Cancelled),
            )
            .col_expr(
                fulfillment_order::Column::Version,
                Expr::col(fulfillment_order::Column::Version).add(1),
            )
            .col_expr(fulfillment_order::Column::UpdatedAt, Expr::value(now))
            .filter(fulfillment_order::Column::Id.eq(unused.id))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// ORDER_EDITED saying what changed, and ADDRESS_CHANGED when the address did.
fn edit_events(
    order: &order::Model,
    draft: &Draft,
    before: &BTreeMap<i64, i32>,
    amounts: &Totals,
    input: &EditOrder,
) -> Vec<NewEvent> {
    let code = |sku: &i64| {
        draft
            .skus
            .get(sku)
            .map_or_else(|| format!("SKU {sku}"), |s| s.code.clone())
    };
    let mut changes = Vec::new();
    let mut all: Vec<i64> = before.keys().chain(draft.lines.keys()).copied().collect();
    all.sort_unstable();
    all.dedup();
    for sku in all {
        let was = before.get(&sku).copied().unwrap_or(0);
        let now = draft.lines.get(&sku).map_or(0, |(_, q, _)| *q);
        match (was, now) {
            (a, b) if a == b => {}
            (0, b) => changes.push(format!("added {} × {b}", code(&sku))),
            (_, 0) => changes.push(format!("removed {}", code(&sku))),
            (a, b) => changes.push(format!("{} {a} → {b}", code(&sku))),
        }
    }
    if draft.method != order.shipping_method {
        changes.push(format!(
            "shipping {} → {}",
            order.shipping_method.as_ref(),
            draft.method.as_ref()
        ));
    }
    if amounts.total != order.total {
        changes.push(format!(
            "total {} → {} {}",
            format_minor(order.total, &order.currency),
            format_minor(amounts.total, &order.currency),
            order.currency
        ));
    }
    let mut events = Vec::new();
    if !changes.is_empty() || input.address.is_none() {
        events.push(
            NewEvent::new(OrderEventType::OrderEdited)
                .message(if changes.is_empty() {
                    "Order edited".to_owned()
                } else {
                    changes.join("; ")
                })
                .payload(serde_json::json!({
                    "total": amounts.total, "previousTotal": order.total,
                    "shippingMethod": draft.method.as_ref(),
                })),
        );
    }
    if input.address.is_some() {
        let a = &draft.address;
        events.push(
            NewEvent::new(OrderEventType::AddressChanged)
                .message(format!(
                    "Ships to {}, {} {}",
                    a.line1,
                    a.city,
                    a.country.as_str()
                ))
                .payload(serde_json::json!({ "city": a.city, "country": a.country.as_str() })),
        );
    }
    events
}
