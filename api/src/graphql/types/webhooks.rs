//! Webhook subscriptions and their delivery log.

use crate::graphql::scalars::Timestamp;
use async_graphql::{Context, ID, Object, Result};
use entity::{webhook_delivery, webhook_subscription};

use super::global_id;
use crate::domain::ids::WebhookSubscriptionId;
use crate::domain::webhooks::topics_from_text;
use crate::gid::Kind;
use crate::graphql::enums::{WebhookDeliveryStatus, WebhookTopic};
use crate::graphql::loaders::load_required;

/// A webhook subscription.
pub struct WebhookSubscription(pub webhook_subscription::Model);

/// An endpoint that receives order events as signed HTTP POSTs, in sequence order per
/// order. Its secret is shown once, when it is created.
#[Object]
impl WebhookSubscription {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(Kind::WebhookSubscription, self.0.id)
    }
    /// Where deliveries are POSTed.
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// What it listens to.
    async fn topics(&self) -> Vec<WebhookTopic> {
        topics_from_text(&self.0.topics)
            .into_iter()
            .map(Into::into)
            .collect()
    }
    /// False once deactivated (every delivery failed for 24 hours) or deleted; new events
    /// are not queued for it. `redeliverWebhook` on one of its deliveries activates it again.
    async fn active(&self) -> bool {
        self.0.active && self.0.deleted_at.is_none()
    }
    /// Why it was deactivated.
    async fn deactivated_reason(&self) -> Option<&str> {
        self.0.deactivated_reason.as_deref()
    }
    /// Since when every attempt has failed; null while deliveries succeed.
    async fn failing_since(&self) -> Option<Timestamp> {
        self.0.failing_since.map(Timestamp)
    }
    /// When it was created.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
}

/// A webhook delivery.
pub struct WebhookDelivery(pub webhook_delivery::Model);

/// One order event on its way to one subscription: its attempts and where it stands.
#[Object]
impl WebhookDelivery {
    /// Opaque global ID (also sent as the `Orderly-Delivery-Id` header).
    pub async fn id(&self) -> ID {
        global_id(Kind::WebhookDelivery, self.0.id)
    }
    /// The subscription it goes to.
    async fn subscription(&self, ctx: &Context<'_>) -> Result<WebhookSubscription> {
        Ok(WebhookSubscription(
            load_required(ctx, WebhookSubscriptionId(self.0.subscription_id)).await?,
        ))
    }
    /// The topic it was sent under (the `Orderly-Topic` header).
    async fn topic(&self) -> WebhookTopic {
        self.0.topic.into()
    }
    /// The order event delivered (the `Orderly-Event-Id` header and the body's `id`):
    /// receivers deduplicate by it.
    async fn event_id(&self) -> ID {
        global_id(Kind::OrderEvent, self.0.event_id)
    }
    /// Where it stands.
    async fn status(&self) -> WebhookDeliveryStatus {
        self.0.status.into()
    }
    /// Attempts made so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// The HTTP status of the last answer, if there was one.
    async fn last_response_status(&self) -> Option<i32> {
        self.0.last_response_status
    }
    /// Why the last attempt failed.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// When the next attempt is due (PENDING and RETRYING); null while the subscription
    /// is inactive (deactivated after failing for 24 h; `redeliverWebhook` resumes it).
    async fn next_attempt_at(&self) -> Option<Timestamp> {
        self.0.next_attempt_at.map(Timestamp)
    }
    /// When the receiver answered 2xx.
    async fn delivered_at(&self) -> Option<Timestamp> {
        self.0.delivered_at.map(Timestamp)
    }
    /// When the event happened.
    async fn occurred_at(&self) -> Timestamp {
        Timestamp(self.0.occurred_at)
    }
    /// The JSON body POSTed (the same on every attempt).
    async fn body(&self) -> &str {
        &self.0.body
    }
}
