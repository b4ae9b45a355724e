//! The delivery queue: one row per (event, subscription), queued by the outbox relay in
//! the transaction that marks the events published, claimed by the worker — the oldest
//! undelivered event of each (subscription, order) only, so an order's events leave in
//! sequence. Attempts are settled in [`super::attempts`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{order, order_event, webhook_delivery, webhook_subscription};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};

use super::super::{Result, Store};
use crate::domain::money::format_minor;
use crate::domain::status::{WebhookDeliveryStatus, WebhookTopic};
use crate::domain::webhooks;
use crate::gid::{self, Kind};

/// A delivery claimed for sending, with what sending needs.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub delivery: webhook_delivery::Model,
    pub url: String,
    pub secret: String,
}

impl Store {
    /// Queues a delivery of each event to every active subscription of its topic, inside
    /// the relay's transaction; a (subscription, event) queued before is left alone.
    /// Returns how many were queued.
    pub(crate) async fn queue_webhooks(
        &self,
        txn: &impl ConnectionTrait,
        events: &[order_event::Model],
    ) -> Result<usize> {
        let subscriptions: Vec<(i64, Vec<WebhookTopic>)> = webhook_subscription::Entity::find()
            .filter(webhook_subscription::Column::Active.eq(true))
            .filter(webhook_subscription::Column::DeletedAt.is_null())
            .select_only()
            .column(webhook_subscription::Column::Id)
            .column(webhook_subscription::Column::Topics)
            .into_tuple::<(i64, String)>()
            .all(txn)
            .await?
            .into_iter()
            .map(|(id, topics)| (id, webhooks::topics_from_text(&topics)))
            .collect();
        if subscriptions.is_empty() {
            return Ok(0);
        }
        let wanted: Vec<(&order_event::Model, WebhookTopic, Vec<i64>)> = events
            .iter()
            .filter_map(|event| {
                let topic = webhooks::topic_of(event.event_type)?;
                let to: Vec<i64> = subscriptions
                    .iter()
                    .filter(|(_, topics)| topics.contains(&topic))
                    .map(|(id, _)| *id)
                    .collect();
                (!to.is_empty()).then_some((event, topic, to))
            })
            .collect();
        if wanted.is_empty() {
            return Ok(0);
        }
        let orders: HashMap<i64, order::Model> = order::Entity::find()
            .filter(order::Column::Id.is_in(wanted.iter().map(|(e, _, _)| e.order_id)))
            .all(txn)
            .await?
            .into_iter()
            .map(|o| (o.id, o))
            .collect();
        let now = self.clock().now();
        let allowed = i32::try_from(Ord::max(self.webhooks.max_attempts, 1)).unwrap_or(i32::MAX);
        let mut rows = Vec::new();
        for (event, topic, to) in wanted {
            let body = delivery_body(event, topic, orders.get(&event.order_id));
            for subscription in to {
                rows.push(webhook_delivery::ActiveModel {
                    subscription_id: Set(subscription),
                    event_id: Set(event.id),
                    order_id: Set(event.order_id),
                    sequence: Set(event.sequence),
                    topic: Set(topic),
                    body: Set(body.clone()),
                    status: Set(WebhookDeliveryStatus::Pending),
                    attempts: Set(0),
                    attempts_allowed: Set(allowed),
                    last_response_status: Set(None),
                    last_error: Set(None),
                    next_attempt_at: Set(Some(now)),
                    locked_until: Set(None),
                    occurred_at: Set(event.occurred_at),
                    created_at: Set(now),
                    delivered_at: Set(None),
                    ..Default::default()
                });
            }
        }
        let queued = super::super::queue::insert_new(
            txn,
            rows,
            [
                webhook_delivery::Column::SubscriptionId,
                webhook_delivery::Column::EventId,
            ],
        )
        .await?;
        Ok(usize::try_from(queued).unwrap_or(usize::MAX))
    }

    /// Claims up to `limit` due deliveries for `lease` (other instances leave them alone
    /// meanwhile): PENDING or RETRYING, due, of an active subscription, and the oldest
    /// waiting event of their (subscription, order); none of the `busy` subscriptions
    /// (those with as many deliveries in flight as one subscription may have).
    pub async fn claim_webhook_deliveries(
        &self,
        limit: u64,
        lease: chrono::TimeDelta,
        busy: &[i64],
    ) -> Result<Vec<ClaimedDelivery>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let now = self.clock().now();
        let earlier = Alias::new("earlier");
        let this = webhook_delivery::Entity;
        let an_earlier_one_waits = Query::select()
            .expr(Expr::val(1))
            .from_as(webhook_delivery::Entity, earlier.clone())
            .and_where(
                Expr::col((earlier.clone(), webhook_delivery::Column::SubscriptionId))
                    .eq(Expr::col((this, webhook_delivery::Column::SubscriptionId))),
            )
            .and_where(
                Expr::col((earlier.clone(), webhook_delivery::Column::OrderId))
                    .eq(Expr::col((this, webhook_delivery::Column::OrderId))),
            )
            .and_where(
                Expr::col((earlier.clone(), webhook_delivery::Column::Sequence))
                    .lt(Expr::col((this, webhook_delivery::Column::Sequence))),
            )
            .and_where(
                Expr::col((earlier.clone(), webhook_delivery::Column::Status)).is_in(waiting()),
            )
            .to_owned();
        let waiting = webhook_delivery::Entity::find()
            .filter(waiting_literally())
            .filter(webhook_delivery::Column::SubscriptionId.is_not_in(busy.iter().copied()))
            .filter(Expr::exists(an_earlier_one_waits).not());
        let (_writer, txn) = self.begin_write().await?;
        let claimed = super::super::queue::claim(
            &txn,
            waiting,
            LEASED,
            self.write_gate.is_none(),
            now,
            lease,
            limit,
        )
        .await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let subscriptions: HashMap<i64, webhook_subscription::Model> =
            webhook_subscription::Entity::find()
                .filter(
                    webhook_subscription::Column::Id
                        .is_in(claimed.iter().map(|d| d.subscription_id)),
                )
                .all(&txn)
                .await?
                .into_iter()
                .map(|s| (s.id, s))
                .filter(|(_, s)| s.active && s.deleted_at.is_none())
                .collect();
        // Deactivated meanwhile (or missed when it was): park its deliveries.
        let inactive: Vec<i64> = claimed
            .iter()
            .map(|d| d.subscription_id)
            .filter(|id| !subscriptions.contains_key(id))
            .collect();
        park(&txn, inactive).await?;
        txn.commit().await?;
        Ok(claimed
            .into_iter()
            .filter_map(|delivery| {
                let subscription = subscriptions.get(&delivery.subscription_id)?;
                Some(ClaimedDelivery {
                    url: subscription.url.clone(),
                    secret: subscription.secret.clone(),
                    delivery,
                })
            })
            .collect())
    }

    /// Hands claimed deliveries back unsent, for the next round to claim.
    pub async fn release_webhook_deliveries(&self, ids: Vec<i64>) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let (_writer, txn) = self.begin_write().await?;
        super::super::queue::release::<webhook_delivery::Entity>(&txn, LEASED, ids).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Deliveries waiting to be sent (PENDING or RETRYING), for the queue-depth gauge.
    pub async fn webhook_queue_depth(&self) -> Result<u64> {
        Ok(webhook_delivery::Entity::find()
            .filter(waiting_literally())
            .count(self.db())
            .await?)
    }
}

/// Takes the waiting deliveries of inactive `subscriptions` out of the due range
/// (`next_attempt_at` null), so claims do not read them again and again; [`unpark`]
/// puts them back when the subscription is active again.
pub(super) async fn park(
    txn: &impl ConnectionTrait,
    subscriptions: impl IntoIterator<Item = i64>,
) -> Result<()> {
    let subscriptions: Vec<i64> = subscriptions.into_iter().collect();
    if subscriptions.is_empty() {
        return Ok(());
    }
    webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            webhook_delivery::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(webhook_delivery::Column::SubscriptionId.is_in(subscriptions))
        .filter(webhook_delivery::Column::Status.is_in(waiting()))
        .exec(txn)
        .await?;
    Ok(())
}

/// Makes a reactivated subscription's parked deliveries due at `now`.
pub(super) async fn unpark(
    txn: &impl ConnectionTrait,
    subscription: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now))
        .filter(webhook_delivery::Column::SubscriptionId.eq(subscription))
        .filter(webhook_delivery::Column::Status.is_in(waiting()))
        .filter(webhook_delivery::Column::NextAttemptAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

/// The columns deliveries are claimed by.
const LEASED: super::super::queue::LeaseColumns<webhook_delivery::Column> =
    super::super::queue::LeaseColumns {
        id: webhook_delivery::Column::Id,
        next_attempt_at: webhook_delivery::Column::NextAttemptAt,
        locked_until: webhook_delivery::Column::LockedUntil,
    };

/// States in which a delivery still waits to be sent.
pub(super) fn waiting() -> [&'static str; 2] {
    [
        WebhookDeliveryStatus::Pending.as_ref(),
        WebhookDeliveryStatus::Retrying.as_ref(),
    ]
}

/// `status IN ('PENDING', 'RETRYING')` with the statuses written out, not bound: the
/// claim's index holds only such rows, and the databases use it only for a condition
/// that matches its own (migration `m20261204_000008_waiting_queues`).
fn waiting_literally() -> sea_orm::sea_query::SimpleExpr {
    let [pending, retrying] = waiting();
    Expr::cust(format!(
        "\"webhook_deliveries\".\"status\" IN ('{pending}', '{retrying}')"
    ))
}

/// The JSON a delivery POSTs: `{id, topic, occurredAt, event, order}`, where `order` is
/// the order as it stood when the event was queued (at or after the event).
fn delivery_body(
    event: &order_event::Model,
    topic: WebhookTopic,
    order: Option<&order::Model>,
) -> String {
    let payload: serde_json::Value =
        serde_json::from_str(&event.payload).unwrap_or(serde_json::Value::Null);
    let money = |minor: i64, currency: &str| serde_json::json!({ "amount": format_minor(minor, currency), "currency": currency });
    let order = order.map(|o| {
        serde_json::json!({
            "id": gid::encode(Kind::Order, o.id),
            "number": o.number,
            "customerId": gid::encode(Kind::Customer, o.customer_id),
            "channel": o.channel,
            "status": o.status,
            "paymentStatus": o.payment_status,
            "returnStatus": o.return_status,
            "subtotal": money(o.subtotal, &o.currency),
            "shippingTotal": money(o.shipping_total, &o.currency),
            "taxTotal": money(o.tax_total, &o.currency),
            "total": money(o.total, &o.currency),
            "version": o.version,
            "placedAt": o.placed_at,
            "updatedAt": o.updated_at,
        })
    });
    serde_json::json!({
        "id": gid::encode(Kind::OrderEvent, event.id),
        "topic": topic,
        "occurredAt": event.occurred_at,
        "event": {
            "type": event.event_type,
            "sequence": event.sequence,
            "message": event.message,
            "fulfillmentOrderId": event.fulfillment_order_id.map(|id| gid::encode(Kind::FulfillmentOrder, id)),
            "returnId": event.return_id.map(|id| gid::encode(Kind::Return, id)),
            "payload": payload,
        },
        "order": order,
    })
    .to_string()
}
