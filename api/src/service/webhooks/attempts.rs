//! Settling attempts: a 2xx makes deliveries DELIVERED (many in one transaction); a
//! failure schedules a retry with back-off, or makes the delivery FAILED when its
//! attempts are spent, and deactivates a subscription that has failed for 24 hours.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use entity::{webhook_delivery, webhook_subscription};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::super::{Error, Result, Store};
use super::ClaimedDelivery;
use super::deliveries::{park, waiting};
use crate::domain::status::WebhookDeliveryStatus;
use crate::domain::webhooks::{self, DEACTIVATE_AFTER};

/// What one attempt came to.
#[derive(Debug, Clone)]
pub enum AttemptOutcome {
    /// The receiver answered 2xx.
    Delivered { status: u16 },
    /// Anything else: a non-2xx status, a timeout, a refused connection, a refused URL.
    Failed { status: Option<u16>, error: String },
}

impl Store {
    /// Records attempts that were answered 2xx, many in one transaction: each becomes
    /// DELIVERED (unless settled meanwhile, when its subscription was deleted) and its
    /// subscription is no longer failing. `delivered` holds (delivery, HTTP status).
    /// Returns how many were recorded.
    pub async fn record_webhooks_delivered(
        &self,
        delivered: &[(&ClaimedDelivery, u16)],
    ) -> Result<u64> {
        if delivered.is_empty() {
            return Ok(0);
        }
        let now = self.clock().now();
        let mut by_status: BTreeMap<u16, Vec<i64>> = BTreeMap::new();
        for (claimed, status) in delivered {
            by_status
                .entry(*status)
                .or_default()
                .push(claimed.delivery.id);
        }
        let subscriptions: BTreeSet<i64> = delivered
            .iter()
            .map(|(claimed, _)| claimed.delivery.subscription_id)
            .collect();
        let (_writer, txn) = self.begin_write().await?;
        let mut recorded = 0;
        for (status, ids) in by_status {
            recorded += webhook_delivery::Entity::update_many()
                .col_expr(
                    webhook_delivery::Column::Status,
                    Expr::value(WebhookDeliveryStatus::Delivered.as_ref()),
                )
                .col_expr(
                    webhook_delivery::Column::Attempts,
                    Expr::col(webhook_delivery::Column::Attempts).add(1),
                )
                .col_expr(
                    webhook_delivery::Column::LastResponseStatus,
                    Expr::value(i32::from(status)),
                )
                .col_expr(
                    webhook_delivery::Column::LastError,
                    Expr::value(Option::<String>::None),
                )
                .col_expr(
                    webhook_delivery::Column::NextAttemptAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .col_expr(
                    webhook_delivery::Column::LockedUntil,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .col_expr(webhook_delivery::Column::DeliveredAt, Expr::value(now))
                .filter(webhook_delivery::Column::Id.is_in(ids))
                .filter(webhook_delivery::Column::Status.is_in(waiting()))
                .exec(&txn)
                .await?
                .rows_affected;
        }
        webhook_subscription::Entity::update_many()
            .col_expr(
                webhook_subscription::Column::FailingSince,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(webhook_subscription::Column::Id.is_in(subscriptions))
            .filter(webhook_subscription::Column::FailingSince.is_not_null())
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(recorded)
    }

    /// Records a failed attempt (`status` is the HTTP status when there was an answer):
    /// RETRYING after a back-off, or FAILED when its attempts are spent. A subscription
    /// failing for 24 hours is deactivated and its waiting deliveries parked. `jitter`
    /// in `[0, 1)` spreads the retries.
    pub async fn record_webhook_failure(
        &self,
        claimed: &ClaimedDelivery,
        status: Option<u16>,
        error: &str,
        jitter: f64,
    ) -> Result<webhook_delivery::Model> {
        let now = self.clock().now();
        let delivery = &claimed.delivery;
        let attempts = delivery.attempts.saturating_add(1);
        let mut row = webhook_delivery::ActiveModel {
            id: Set(delivery.id),
            attempts: Set(attempts),
            locked_until: Set(None),
            last_response_status: Set(status.map(i32::from)),
            last_error: Set(Some(error.chars().take(500).collect())),
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
                now + chrono::TimeDelta::from_std(wait).unwrap_or(chrono::TimeDelta::hours(1)),
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
                deactivate(&txn, &subscription, since, now, error).await?;
                row.next_attempt_at = Set(None);
            }
            Some(_) if !subscription.active => {
                // Deactivated by another attempt: wait parked with the rest.
                row.next_attempt_at = Set(None);
            }
            Some(_) => {}
        }
        let updated = webhook_delivery::Entity::update(row).exec(&txn).await?;
        txn.commit().await?;
        Ok(updated)
    }
}

/// Deactivates a subscription whose every delivery has failed since `since`, saying
/// why, and parks its waiting deliveries.
async fn deactivate(
    txn: &impl ConnectionTrait,
    subscription: &webhook_subscription::Model,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    error: &str,
) -> Result<()> {
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
        .exec(txn)
        .await?;
    park(txn, [subscription.id]).await?;
    tracing::warn!(
        subscription = subscription.id,
        "webhook subscription deactivated after failing for 24 h"
    );
    Ok(())
}
