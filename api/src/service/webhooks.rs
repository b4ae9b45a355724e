//! Webhook subscriptions and deliveries. The outbox relay queues one delivery per (event,
//! subscription) in the transaction that marks the events published; a worker claims
//! what is due — the oldest undelivered event of each (subscription, order) only, so an
//! order's events leave in sequence — sends it and records the attempt here.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{order, order_event, webhook_delivery, webhook_subscription};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, LockBehavior, LockType, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::page::{Cursor, CursorKey, Keyset, Page, PageRequest};
use super::{Error, Result, Store};
use crate::domain::money::format_minor;
use crate::domain::status::{WebhookDeliveryStatus, WebhookTopic};
use crate::domain::webhooks::{self, DEACTIVATE_AFTER, WebhookUrl};
use crate::gid::{self, Kind};

/// How deliveries are retried.
#[derive(Debug, Clone, Copy)]
pub struct WebhookPolicy {
    /// Attempts before a delivery is FAILED (`ORDERLY_WEBHOOK_MAX_ATTEMPTS`).
    pub max_attempts: u32,
    /// Wait after the first failure, doubled per failure (`ORDERLY_WEBHOOK_BACKOFF_MS`).
    pub first_backoff: std::time::Duration,
    /// Whether `http://` and private, loopback and link-local targets are allowed
    /// (`ORDERLY_WEBHOOK_ALLOW_PRIVATE`).
    pub allow_private: bool,
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 12,
            first_backoff: std::time::Duration::from_millis(1000),
            allow_private: false,
        }
    }
}

/// Whose subscriptions a caller sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOwner {
    /// Staff: every subscription.
    All,
    /// A partner: only those it created (`partner:<subject>`).
    Partner(String),
}

impl WebhookOwner {
    fn stored(&self) -> Option<String> {
        match self {
            Self::All => None,
            Self::Partner(name) => Some(name.clone()),
        }
    }

    fn sees(&self, subscription: &webhook_subscription::Model) -> bool {
        subscription.deleted_at.is_none()
            && match self {
                Self::All => true,
                Self::Partner(name) => subscription.owner.as_deref() == Some(name),
            }
    }
}

/// A delivery claimed for sending, with what sending needs.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub delivery: webhook_delivery::Model,
    pub url: String,
    pub secret: String,
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub enum AttemptOutcome {
    /// The receiver answered 2xx.
    Delivered { status: u16 },
    /// Anything else: a non-2xx status, a timeout, a refused connection, a refused URL.
    Failed { status: Option<u16>, error: String },
}

impl Store {
    /// Creates a subscription and its signing secret (returned once, to show once).
    #[tracing::instrument(skip(self, topics))]
    pub async fn create_webhook_subscription(
        &self,
        url: &WebhookUrl,
        topics: &[WebhookTopic],
        owner: &WebhookOwner,
        created_by: &str,
    ) -> Result<webhook_subscription::Model> {
        let topics = webhooks::parse_topics(topics)?;
        let random: [u8; 32] = rand::random();
        let secret: String = std::iter::once("whsec_".to_owned())
            .chain(random.iter().map(|b| format!("{b:02x}")))
            .collect();
        Ok(
            webhook_subscription::Entity::insert(webhook_subscription::ActiveModel {
                url: Set(url.as_str().to_owned()),
                topics: Set(webhooks::topics_to_text(&topics)),
                secret: Set(secret),
                owner: Set(owner.stored()),
                created_by: Set(created_by.to_owned()),
                active: Set(true),
                failing_since: Set(None),
                deactivated_reason: Set(None),
                created_at: Set(self.clock().now()),
                deleted_at: Set(None),
                ..Default::default()
            })
            .exec_with_returning(self.db())
            .await?,
        )
    }

    /// Deletes a subscription the caller sees: it gets nothing more, its waiting
    /// deliveries become FAILED, its log stays. `NOT_FOUND` on `id` otherwise.
    #[tracing::instrument(skip(self))]
    pub async fn delete_webhook_subscription(&self, id: i64, owner: &WebhookOwner) -> Result<i64> {
        let now = self.clock().now();
        let (_writer, txn) = self.begin_write().await?;
        let found = webhook_subscription::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .filter(|s| owner.sees(s))
            .ok_or_else(|| Error::not_found("id", "no such webhook subscription"))?;
        webhook_subscription::Entity::update_many()
            .col_expr(webhook_subscription::Column::DeletedAt, Expr::value(now))
            .col_expr(webhook_subscription::Column::Active, Expr::value(false))
            .filter(webhook_subscription::Column::Id.eq(found.id))
            .exec(&txn)
            .await?;
        webhook_delivery::Entity::update_many()
            .col_expr(
                webhook_delivery::Column::Status,
                Expr::value(WebhookDeliveryStatus::Failed.as_ref()),
            )
            .col_expr(
                webhook_delivery::Column::LastError,
                Expr::value("the subscription was deleted"),
            )
            .col_expr(
                webhook_delivery::Column::NextAttemptAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(webhook_delivery::Column::SubscriptionId.eq(found.id))
            .filter(webhook_delivery::Column::Status.is_in(waiting()))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(found.id)
    }

    /// One subscription the caller sees.
    pub async fn webhook_subscription(
        &self,
        id: i64,
        owner: &WebhookOwner,
    ) -> Result<Option<webhook_subscription::Model>> {
        Ok(webhook_subscription::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .filter(|s| owner.sees(s)))
    }

    /// One delivery the caller sees (its subscription is the caller's, deleted or not).
    pub async fn webhook_delivery(
        &self,
        id: i64,
        owner: &WebhookOwner,
    ) -> Result<Option<webhook_delivery::Model>> {
        let Some(delivery) = webhook_delivery::Entity::find_by_id(id)
            .one(self.db())
            .await?
        else {
            return Ok(None);
        };
        let subscription = webhook_subscription::Entity::find_by_id(delivery.subscription_id)
            .one(self.db())
            .await?;
        let visible = subscription.is_some_and(|s| match owner {
            WebhookOwner::All => true,
            WebhookOwner::Partner(name) => s.owner.as_deref() == Some(name),
        });
        Ok(visible.then_some(delivery))
    }

    /// Subscriptions by id, deleted ones included (a delivery's subscription).
    pub async fn webhook_subscriptions_by_ids(
        &self,
        ids: &[crate::domain::ids::WebhookSubscriptionId],
    ) -> Result<HashMap<crate::domain::ids::WebhookSubscriptionId, webhook_subscription::Model>>
    {
        Ok(webhook_subscription::Entity::find()
            .filter(webhook_subscription::Column::Id.is_in(ids.iter().map(|i| i.0)))
            .all(self.db())
            .await?
            .into_iter()
            .map(|s| (crate::domain::ids::WebhookSubscriptionId(s.id), s))
            .collect())
    }

    /// The subscriptions the caller sees, newest first.
    pub async fn webhook_subscriptions_page(
        &self,
        owner: &WebhookOwner,
        request: &PageRequest,
    ) -> Result<Page<webhook_subscription::Model>> {
        let mut select = webhook_subscription::Entity::find()
            .filter(webhook_subscription::Column::DeletedAt.is_null());
        if let Some(name) = owner.stored() {
            select = select.filter(webhook_subscription::Column::Owner.eq(name));
        }
        let keyset = Keyset {
            key: Expr::col((
                webhook_subscription::Entity,
                webhook_subscription::Column::Id,
            )),
            id: Expr::col((
                webhook_subscription::Entity,
                webhook_subscription::Column::Id,
            )),
            descending: true,
            time_key: false,
            cursor_of: |m: &webhook_subscription::Model| Cursor::new(CursorKey::Int(m.id), m.id),
        };
        super::page::fetch(self.db(), select, &keyset, request).await
    }

    /// The delivery log the caller sees, newest first; `subscription` narrows it to one
    /// subscription (someone else's shows nothing), `statuses` to some states.
    pub async fn webhook_deliveries_page(
        &self,
        owner: &WebhookOwner,
        subscription: Option<i64>,
        statuses: &[WebhookDeliveryStatus],
        request: &PageRequest,
    ) -> Result<Page<webhook_delivery::Model>> {
        let mut select = webhook_delivery::Entity::find();
        if let Some(id) = subscription {
            select = select.filter(webhook_delivery::Column::SubscriptionId.eq(id));
        }
        if let Some(name) = owner.stored() {
            select = select.filter(
                webhook_delivery::Column::SubscriptionId.in_subquery(
                    Query::select()
                        .column(webhook_subscription::Column::Id)
                        .from(webhook_subscription::Entity)
                        .and_where(webhook_subscription::Column::Owner.eq(name))
                        .to_owned(),
                ),
            );
        }
        if !statuses.is_empty() {
            select =
                select.filter(webhook_delivery::Column::Status.is_in(statuses.iter().copied()));
        }
        let keyset = Keyset {
            key: Expr::col((webhook_delivery::Entity, webhook_delivery::Column::Id)),
            id: Expr::col((webhook_delivery::Entity, webhook_delivery::Column::Id)),
            descending: true,
            time_key: false,
            cursor_of: |m: &webhook_delivery::Model| Cursor::new(CursorKey::Int(m.id), m.id),
        };
        super::page::fetch(self.db(), select, &keyset, request).await
    }

    /// Sends a delivery again as soon as it is its order's turn: it becomes PENDING with
    /// a fresh allowance of attempts, and a deactivated subscription is active again.
    /// `NOT_FOUND` on `deliveryId` for someone else's delivery or a deleted subscription.
    #[tracing::instrument(skip(self))]
    pub async fn redeliver_webhook(
        &self,
        id: i64,
        owner: &WebhookOwner,
    ) -> Result<webhook_delivery::Model> {
        let now = self.clock().now();
        let missing = || Error::not_found("deliveryId", "no such webhook delivery");
        let (_writer, txn) = self.begin_write().await?;
        let delivery = webhook_delivery::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or_else(missing)?;
        let subscription = webhook_subscription::Entity::find_by_id(delivery.subscription_id)
            .one(&txn)
            .await?
            .filter(|s| owner.sees(s))
            .ok_or_else(missing)?;
        if !subscription.active {
            webhook_subscription::Entity::update_many()
                .col_expr(webhook_subscription::Column::Active, Expr::value(true))
                .col_expr(
                    webhook_subscription::Column::FailingSince,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .col_expr(
                    webhook_subscription::Column::DeactivatedReason,
                    Expr::value(Option::<String>::None),
                )
                .filter(webhook_subscription::Column::Id.eq(subscription.id))
                .exec(&txn)
                .await?;
        }
        let allowed = delivery
            .attempts
            .saturating_add(i32::try_from(self.webhooks.max_attempts).unwrap_or(i32::MAX));
        webhook_delivery::Entity::update_many()
            .col_expr(
                webhook_delivery::Column::Status,
                Expr::value(WebhookDeliveryStatus::Pending.as_ref()),
            )
            .col_expr(
                webhook_delivery::Column::AttemptsAllowed,
                Expr::value(allowed),
            )
            .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now))
            .filter(webhook_delivery::Column::Id.eq(delivery.id))
            .exec(&txn)
            .await?;
        let updated = webhook_delivery::Entity::find_by_id(delivery.id)
            .one(&txn)
            .await?
            .ok_or_else(missing)?;
        txn.commit().await?;
        self.webhooks_queued();
        Ok(updated)
    }

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
        let queued = super::queue::insert_new(
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
    /// waiting event of their (subscription, order).
    pub async fn claim_webhook_deliveries(
        &self,
        limit: u64,
        lease: chrono::TimeDelta,
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
        let active = Query::select()
            .column(webhook_subscription::Column::Id)
            .from(webhook_subscription::Entity)
            .and_where(webhook_subscription::Column::Active.eq(true))
            .and_where(webhook_subscription::Column::DeletedAt.is_null())
            .to_owned();
        let due = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::Status.is_in(waiting()))
            .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
            .filter(
                webhook_delivery::Column::LockedUntil
                    .is_null()
                    .or(webhook_delivery::Column::LockedUntil.lt(now)),
            )
            .filter(webhook_delivery::Column::SubscriptionId.in_subquery(active))
            .filter(Expr::exists(an_earlier_one_waits).not())
            .order_by_asc(webhook_delivery::Column::NextAttemptAt)
            .order_by_asc(webhook_delivery::Column::Id)
            .limit(limit);
        let (_writer, txn) = self.begin_write().await?;
        let claimed = if self.write_gate.is_some() {
            due.all(&txn).await?
        } else {
            due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
                .all(&txn)
                .await?
        };
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        webhook_delivery::Entity::update_many()
            .col_expr(
                webhook_delivery::Column::LockedUntil,
                Expr::value(now + lease),
            )
            .filter(webhook_delivery::Column::Id.is_in(claimed.iter().map(|d| d.id)))
            .exec(&txn)
            .await?;
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
                .collect();
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

    /// Records one attempt: DELIVERED, or RETRYING after a back-off, or FAILED when its
    /// attempts are spent. A subscription failing for 24 hours is deactivated. `jitter`
    /// in `[0, 1)` spreads the retries.
    pub async fn record_webhook_attempt(
        &self,
        claimed: &ClaimedDelivery,
        outcome: &AttemptOutcome,
        jitter: f64,
    ) -> Result<webhook_delivery::Model> {
        let now = self.clock().now();
        let delivery = &claimed.delivery;
        let attempts = delivery.attempts.saturating_add(1);
        let mut row = webhook_delivery::ActiveModel {
            id: Set(delivery.id),
            attempts: Set(attempts),
            locked_until: Set(None),
            ..Default::default()
        };
        let (_writer, txn) = self.begin_write().await?;
        let current = webhook_delivery::Entity::find_by_id(delivery.id)
            .one(&txn)
            .await?
            .ok_or_else(|| Error::Corrupt("a claimed delivery vanished".into()))?;
        if !matches!(
            current.status,
            WebhookDeliveryStatus::Pending | WebhookDeliveryStatus::Retrying
        ) {
            // Settled meanwhile (its subscription was deleted): keep what it says.
            return Ok(current);
        }
        let subscription = webhook_subscription::Entity::find_by_id(delivery.subscription_id)
            .one(&txn)
            .await?
            .ok_or_else(|| Error::Corrupt("a delivery without its subscription".into()))?;
        match outcome {
            AttemptOutcome::Delivered { status } => {
                row.status = Set(WebhookDeliveryStatus::Delivered);
                row.last_response_status = Set(Some(i32::from(*status)));
                row.last_error = Set(None);
                row.next_attempt_at = Set(None);
                row.delivered_at = Set(Some(now));
                if subscription.failing_since.is_some() {
                    webhook_subscription::Entity::update_many()
                        .col_expr(
                            webhook_subscription::Column::FailingSince,
                            Expr::value(Option::<DateTime<Utc>>::None),
                        )
                        .filter(webhook_subscription::Column::Id.eq(subscription.id))
                        .exec(&txn)
                        .await?;
                }
            }
            AttemptOutcome::Failed { status, error } => {
                row.last_response_status = Set(status.map(i32::from));
                row.last_error = Set(Some(error.chars().take(500).collect()));
                if attempts >= delivery.attempts_allowed {
                    row.status = Set(WebhookDeliveryStatus::Failed);
                    row.next_attempt_at = Set(None);
                } else {
                    let wait = webhooks::backoff(
                        u32::try_from(attempts).unwrap_or(1),
                        self.webhooks.first_backoff,
                        jitter,
                    );
                    row.status = Set(WebhookDeliveryStatus::Retrying);
                    row.next_attempt_at = Set(Some(
                        now + chrono::TimeDelta::from_std(wait)
                            .unwrap_or(chrono::TimeDelta::hours(1)),
                    ));
                }
                match subscription.failing_since {
                    None => {
                        webhook_subscription::Entity::update_many()
                            .col_expr(webhook_subscription::Column::FailingSince, Expr::value(now))
                            .filter(webhook_subscription::Column::Id.eq(subscription.id))
                            .exec(&txn)
                            .await?;
                    }
                    Some(since) if now - since >= DEACTIVATE_AFTER && subscription.active => {
                        let reason = format!(
                            "deactivated at {}: every delivery failed since {}; the last: {error}",
                            now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                            since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        );
                        webhook_subscription::Entity::update_many()
                            .col_expr(webhook_subscription::Column::Active, Expr::value(false))
                            .col_expr(
                                webhook_subscription::Column::DeactivatedReason,
                                Expr::value(reason.chars().take(300).collect::<String>()),
                            )
                            .filter(webhook_subscription::Column::Id.eq(subscription.id))
                            .exec(&txn)
                            .await?;
                        tracing::warn!(
                            subscription = subscription.id,
                            "webhook subscription deactivated after failing for 24 h"
                        );
                    }
                    Some(_) => {}
                }
            }
        }
        let updated = webhook_delivery::Entity::update(row).exec(&txn).await?;
        txn.commit().await?;
        Ok(updated)
    }

    /// Deliveries waiting to be sent (PENDING or RETRYING), for the queue-depth gauge.
    pub async fn webhook_queue_depth(&self) -> Result<u64> {
        Ok(webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::Status.is_in(waiting()))
            .count(self.db())
            .await?)
    }

    /// The retry policy.
    pub fn webhook_policy(&self) -> WebhookPolicy {
        self.webhooks
    }

    /// Tells the delivery worker that deliveries were queued.
    pub(crate) fn webhooks_queued(&self) {
        self.webhooks_queued.notify_one();
    }

    /// What the delivery worker waits on between rounds.
    pub fn webhook_signal(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.webhooks_queued.clone()
    }
}

/// States in which a delivery still waits to be sent.
fn waiting() -> [&'static str; 2] {
    [
        WebhookDeliveryStatus::Pending.as_ref(),
        WebhookDeliveryStatus::Retrying.as_ref(),
    ]
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
