//! Webhook subscriptions (created, listed, deleted by their owner) and the deliveries'
//! read side and redelivery; the delivery queue itself is in [`deliveries`], settling attempts in [`attempts`].

mod attempts;
mod deliveries;

pub use attempts::AttemptOutcome;
pub use deliveries::ClaimedDelivery;
use deliveries::waiting;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{webhook_delivery, webhook_subscription};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use super::page::{Cursor, CursorKey, Keyset, Page, PageRequest};
use super::{Error, Result, Store};
use crate::domain::status::{WebhookDeliveryStatus, WebhookTopic};
use crate::domain::webhooks::{self, WebhookUrl};

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
            deliveries::unpark(&txn, subscription.id, now).await?;
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
