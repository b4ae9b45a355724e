//! Customer notifications. The outbox relay writes one row per (event, channel) in the
//! transaction that marks the events published — rendered there, in the customer's time
//! zone, SKIPPED where the customer turned the channel off — and a sender claims QUEUED
//! rows, sends them and records the outcome here, retried like webhooks.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{customer, fulfillment_order, notification, order, order_event, return_request};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};

use super::page::{Cursor, CursorKey, Keyset, Page, PageRequest};
use super::{Result, Store};
use crate::domain::delivery::{DeliveryWindow, label};
use crate::domain::ids::CustomerId;
use crate::domain::money::format_minor;
use crate::domain::notifications::{Context, kind_of, tracking_link};
use crate::domain::status::{
    FulfillmentStatus, NotificationChannel, NotificationKind, NotificationStatus, OrderEventType,
};
use crate::domain::webhooks::backoff;

impl Store {
    /// Writes the notifications `events` bring, inside the relay's transaction: one per
    /// (event, channel), QUEUED, or SKIPPED when the customer turned the channel off or
    /// has no phone number for SMS. An (event, channel) written before is left alone.
    /// Up to `lease` QUEUED ones are written leased to this process's sender: they come
    /// back, for the caller to hand over once its transaction commits (`handoff.rs`).
    /// Returns how many were queued to send, and those leased.
    pub(crate) async fn queue_notifications(
        &self,
        txn: &impl ConnectionTrait,
        events: &[order_event::Model],
        lease: usize,
    ) -> Result<(usize, Vec<notification::Model>)> {
        let wanted: Vec<(&order_event::Model, NotificationKind)> = events
            .iter()
            .filter_map(|e| kind_of(e.event_type).map(|k| (e, k)))
            .collect();
        if wanted.is_empty() {
            return Ok((0, Vec::new()));
        }
        let customers: HashMap<i64, customer::Model> = customer::Entity::find()
            .filter(customer::Column::Id.is_in(wanted.iter().map(|(e, _)| e.customer_id)))
            .all(txn)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        // Only what the templates say of an order: its row has 31 columns, and the relay
        // reads up to a batch's worth of orders at once.
        let orders: HashMap<i64, OrderFacts> = order::Entity::find()
            .filter(order::Column::Id.is_in(wanted.iter().map(|(e, _)| e.order_id)))
            .select_only()
            .column(order::Column::Id)
            .column(order::Column::Number)
            .column(order::Column::Total)
            .column(order::Column::Currency)
            .column(order::Column::CancelReason)
            .into_tuple::<(i64, String, i64, String, Option<String>)>()
            .all(txn)
            .await?
            .into_iter()
            .map(|(id, number, total, currency, cancel_reason)| {
                (
                    id,
                    OrderFacts {
                        id,
                        number,
                        total,
                        currency,
                        cancel_reason,
                    },
                )
            })
            .collect();
        let parcels: Vec<i64> = wanted
            .iter()
            .filter_map(|(e, _)| e.fulfillment_order_id)
            .collect();
        let parcels: HashMap<i64, fulfillment_order::Model> = if parcels.is_empty() {
            HashMap::new()
        } else {
            fulfillment_order::Entity::find()
                .filter(fulfillment_order::Column::Id.is_in(parcels))
                .all(txn)
                .await?
                .into_iter()
                .map(|f| (f.id, f))
                .collect()
        };
        let returns: Vec<i64> = wanted.iter().filter_map(|(e, _)| e.return_id).collect();
        let returns: HashMap<i64, String> = if returns.is_empty() {
            HashMap::new()
        } else {
            return_request::Entity::find()
                .filter(return_request::Column::Id.is_in(returns))
                .select_only()
                .column(return_request::Column::Id)
                .column(return_request::Column::Number)
                .into_tuple::<(i64, String)>()
                .all(txn)
                .await?
                .into_iter()
                .collect()
        };
        let now = self.clock().now();
        let mut room = lease;
        let (mut rows, mut leased) = (Vec::new(), Vec::new());
        let mut queued = 0;
        for (event, kind) in wanted {
            let Some(customer) = customers.get(&event.customer_id) else {
                continue;
            };
            let order = orders.get(&event.order_id);
            let parcel = event.fulfillment_order_id.and_then(|id| parcels.get(&id));
            let return_number = event.return_id.and_then(|id| returns.get(&id)).cloned();
            let context = context_of(event, kind, customer, order, parcel, return_number);
            for channel in [NotificationChannel::Email, NotificationChannel::Sms] {
                let (recipient, skip) = match channel {
                    NotificationChannel::Email => (
                        customer.email.clone(),
                        (!customer.notify_by_email).then_some("the customer turned e-mail off"),
                    ),
                    NotificationChannel::Sms => match customer.phone.as_deref() {
                        _ if !customer.notify_by_sms => {
                            (String::new(), Some("the customer turned SMS off"))
                        }
                        None | Some("") => (String::new(), Some("no phone number")),
                        Some(phone) => (phone.to_owned(), None),
                    },
                };
                let (subject, body, status, error) =
                    match self.templates.render(kind, channel, &context) {
                        Ok(message) => (
                            message.subject,
                            message.body,
                            if skip.is_some() {
                                NotificationStatus::Skipped
                            } else {
                                NotificationStatus::Queued
                            },
                            skip.map(str::to_owned),
                        ),
                        Err(err) => (
                            None,
                            String::new(),
                            NotificationStatus::Failed,
                            Some(format!("template: {err}")),
                        ),
                    };
                let queue = status == NotificationStatus::Queued;
                queued += usize::from(queue);
                let lease = queue && room > 0;
                room -= usize::from(lease);
                let row = notification::ActiveModel {
                    customer_id: Set(customer.id),
                    order_id: Set(order.map(|o| o.id)),
                    event_id: Set(event.id),
                    kind: Set(kind),
                    channel: Set(channel),
                    recipient: Set(recipient),
                    subject: Set(subject),
                    body: Set(body),
                    status: Set(status),
                    attempts: Set(0),
                    last_error: Set(error),
                    next_attempt_at: Set((status == NotificationStatus::Queued).then_some(now)),
                    locked_until: Set(lease.then(|| now + super::handoff::LEASE)),
                    created_at: Set(now),
                    sent_at: Set(None),
                    ..Default::default()
                };
                if lease { &mut leased } else { &mut rows }.push(row);
            }
        }
        let unique = [notification::Column::EventId, notification::Column::Channel];
        let leased = super::queue::insert_new_returning(txn, leased, unique).await?;
        super::queue::insert_new(txn, rows, unique).await?;
        Ok((queued, leased))
    }

    /// Claims up to `limit` QUEUED notifications that are due, for `lease`.
    pub async fn claim_notifications(
        &self,
        limit: u64,
        lease: chrono::TimeDelta,
    ) -> Result<Vec<notification::Model>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let now = self.clock().now();
        let waiting = notification::Entity::find().filter(queued_literally());
        let (_writer, txn) = self.begin_write().await?;
        let claimed = super::queue::claim(
            &txn,
            waiting,
            LEASED,
            self.write_gate.is_none(),
            now,
            lease,
            limit,
        )
        .await?;
        txn.commit().await?;
        Ok(claimed)
    }

    /// Records the outcome of each claimed notification's sending attempt, all in one
    /// transaction (one commit for a batch instead of one per notification): SENT, or
    /// QUEUED again after a back-off, or FAILED when the attempts are spent. A
    /// notification that is no longer QUEUED (another instance finished it after the
    /// lease ran out) is left as it is. Returns the rows this call changed.
    pub async fn record_notification_attempts(
        &self,
        outcomes: Vec<(&notification::Model, std::result::Result<(), String>)>,
    ) -> Result<Vec<notification::Model>> {
        if outcomes.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.clock().now();
        let (sent, failed): (Vec<_>, Vec<_>) = outcomes.into_iter().partition(|(_, o)| o.is_ok());
        let (_writer, txn) = self.begin_write().await?;
        let mut changed = Vec::with_capacity(sent.len() + failed.len());
        if !sent.is_empty() {
            changed = notification::Entity::update_many()
                .col_expr(
                    notification::Column::Status,
                    Expr::value(NotificationStatus::Sent),
                )
                .col_expr(
                    notification::Column::Attempts,
                    Expr::col(notification::Column::Attempts).add(1),
                )
                .col_expr(notification::Column::SentAt, Expr::value(Some(now)))
                .col_expr(
                    notification::Column::NextAttemptAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .col_expr(
                    notification::Column::LastError,
                    Expr::value(Option::<String>::None),
                )
                .col_expr(
                    notification::Column::LockedUntil,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(notification::Column::Id.is_in(sent.iter().map(|(n, _)| n.id)))
                .filter(notification::Column::Status.eq(NotificationStatus::Queued))
                .exec_with_returning(&txn)
                .await?;
        }
        for (claimed, outcome) in failed {
            let error = outcome.err().unwrap_or_default();
            let attempts = claimed.attempts.saturating_add(1);
            let allowed = i32::try_from(self.webhooks.max_attempts).unwrap_or(i32::MAX);
            let next_attempt = (attempts < allowed).then(|| {
                let wait = backoff(
                    u32::try_from(attempts).unwrap_or(1),
                    self.webhooks.first_backoff,
                    rand::random(),
                );
                now + chrono::TimeDelta::from_std(wait).unwrap_or(chrono::TimeDelta::hours(1))
            });
            let status = if next_attempt.is_some() {
                NotificationStatus::Queued
            } else {
                NotificationStatus::Failed
            };
            let row = notification::Entity::update_many()
                .col_expr(notification::Column::Status, Expr::value(status))
                .col_expr(notification::Column::Attempts, Expr::value(attempts))
                .col_expr(
                    notification::Column::NextAttemptAt,
                    Expr::value(next_attempt),
                )
                .col_expr(
                    notification::Column::LastError,
                    Expr::value(Some(error.chars().take(500).collect::<String>())),
                )
                .col_expr(
                    notification::Column::LockedUntil,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(notification::Column::Id.eq(claimed.id))
                .filter(notification::Column::Status.eq(NotificationStatus::Queued))
                .exec_with_returning(&txn)
                .await?;
            changed.extend(row);
        }
        txn.commit().await?;
        Ok(changed)
    }

    /// One notification by id.
    pub async fn notification(&self, id: i64) -> Result<Option<notification::Model>> {
        Ok(notification::Entity::find_by_id(id).one(self.db()).await?)
    }

    /// Notifications, newest first; `customer` narrows them to one customer's.
    pub async fn notifications_page(
        &self,
        customer: Option<CustomerId>,
        request: &PageRequest,
    ) -> Result<Page<notification::Model>> {
        let mut select = notification::Entity::find();
        if let Some(customer) = customer {
            select = select.filter(notification::Column::CustomerId.eq(customer.0));
        }
        let keyset = Keyset {
            key: Expr::col((notification::Entity, notification::Column::Id)),
            id: Expr::col((notification::Entity, notification::Column::Id)),
            descending: true,
            time_key: false,
            cursor_of: |m: &notification::Model| Cursor::new(CursorKey::Int(m.id), m.id),
        };
        super::page::fetch(self.db(), select, &keyset, request).await
    }

    /// Notifications waiting to be sent, for the queue-depth gauge.
    pub async fn notification_queue_depth(&self) -> Result<u64> {
        use sea_orm::PaginatorTrait;
        Ok(notification::Entity::find()
            .filter(queued_literally())
            .count(self.db())
            .await?)
    }
}

/// The columns notifications are claimed by.
const LEASED: super::queue::LeaseColumns<notification::Column> = super::queue::LeaseColumns {
    id: notification::Column::Id,
    next_attempt_at: notification::Column::NextAttemptAt,
    locked_until: notification::Column::LockedUntil,
};

/// `status = 'QUEUED'` with the status written out, not bound: the claim's index holds
/// only such rows, and the databases use it only for a condition that matches its own
/// (migration `m20261204_000008_waiting_queues`).
fn queued_literally() -> sea_orm::sea_query::SimpleExpr {
    Expr::cust(format!(
        "\"notifications\".\"status\" = '{}'",
        NotificationStatus::Queued.as_ref()
    ))
}

/// What a notification says of its order.
struct OrderFacts {
    id: i64,
    number: String,
    total: i64,
    currency: String,
    cancel_reason: Option<String>,
}

/// What the templates of one event may say, dates in the customer's time zone.
fn context_of(
    event: &order_event::Model,
    kind: NotificationKind,
    customer: &customer::Model,
    order: Option<&OrderFacts>,
    parcel: Option<&fulfillment_order::Model>,
    return_number: Option<String>,
) -> Context {
    let zone: chrono_tz::Tz = customer.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let local = |at: DateTime<Utc>| at.with_timezone(&zone).date_naive();
    let today = local(event.occurred_at);
    let payload: serde_json::Value = serde_json::from_str(&event.payload).unwrap_or_default();
    let window = parcel.and_then(|p| {
        Some(DeliveryWindow {
            earliest: p.estimated_earliest?,
            latest: p.estimated_latest?,
        })
    });
    let status_line = match event.event_type {
        OrderEventType::Shipped | OrderEventType::ArrivingTomorrow => {
            label(FulfillmentStatus::Shipped, window, None, today)
        }
        OrderEventType::OutForDelivery => {
            label(FulfillmentStatus::OutForDelivery, window, None, today)
        }
        OrderEventType::Delivered => {
            label(FulfillmentStatus::Delivered, window, Some(today), today)
        }
        OrderEventType::DeliveryException => {
            label(FulfillmentStatus::DeliveryException, window, None, today)
        }
        _ => String::new(),
    };
    let carrier = parcel.and_then(|p| p.carrier.clone());
    let tracking_number = parcel.and_then(|p| p.tracking_number.clone());
    let tracking_url = parcel.and_then(|p| {
        p.tracking_url
            .clone()
            .or_else(|| tracking_link(p.carrier.as_deref()?, p.tracking_number.as_deref()?))
    });
    let amount = match kind {
        NotificationKind::RefundIssued => {
            let currency = payload["currency"].as_str().unwrap_or_default();
            payload["amount"]
                .as_i64()
                .map(|minor| format!("{} {currency}", format_minor(minor, currency)))
        }
        NotificationKind::OrderConfirmed => {
            order.map(|o| format!("{} {}", format_minor(o.total, &o.currency), o.currency))
        }
        _ => None,
    };
    let reason = match kind {
        NotificationKind::OrderCancelled => order.and_then(|o| o.cancel_reason.clone()),
        NotificationKind::DeliveryDelayed => event.message.clone(),
        _ => None,
    };
    Context {
        name: customer.name.clone(),
        order_number: order.map(|o| o.number.clone()).unwrap_or_default(),
        status_line,
        carrier,
        tracking_number,
        tracking_url,
        amount,
        return_number,
        reason,
    }
}
