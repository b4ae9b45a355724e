//! `createWebhookSubscription`, `deleteWebhookSubscription`, `redeliverWebhook`: staff
//! for any subscription, partners with `webhooks:write` for their own.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::Checks;
use crate::domain::ValidationError;
use crate::domain::webhooks::{WebhookUrl, parse_topics};
use crate::events::webhooks::check_resolution;
use crate::gid::{self, Kind};
use crate::graphql::enums::WebhookTopic;
use crate::graphql::error::{UserError, payload};
use crate::graphql::guard::{principal, webhook_owner};
use crate::graphql::types::global_id;
use crate::graphql::types::webhooks::{WebhookDelivery, WebhookSubscription};
use crate::service::Store;

/// A new webhook subscription.
#[derive(InputObject)]
pub struct CreateWebhookSubscriptionInput {
    /// Where to POST: `https://`, at most 2,048 characters, not a loopback, private,
    /// link-local or metadata address (checked again after every DNS resolution).
    pub url: String,
    /// What to send (at least one topic).
    pub topics: Vec<WebhookTopic>,
}

/// Result of `createWebhookSubscription`.
#[derive(SimpleObject)]
pub struct CreateWebhookSubscriptionPayload {
    /// The new subscription.
    pub webhook_subscription: Option<WebhookSubscription>,
    /// The signing secret, shown this once: every delivery carries `Orderly-Signature:
    /// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with it>`.
    pub secret: Option<String>,
    /// Why nothing was created; empty on success.
    pub user_errors: Vec<UserError>,
}

/// A subscription to delete.
#[derive(InputObject)]
pub struct DeleteWebhookSubscriptionInput {
    /// The subscription.
    pub id: ID,
}

/// Result of `deleteWebhookSubscription`.
#[derive(SimpleObject)]
pub struct DeleteWebhookSubscriptionPayload {
    /// The ID of the deleted subscription.
    pub deleted_id: Option<ID>,
    /// Why nothing was deleted; empty on success.
    pub user_errors: Vec<UserError>,
}

/// A delivery to send again.
#[derive(InputObject)]
pub struct RedeliverWebhookInput {
    /// The delivery (any state).
    pub delivery_id: ID,
}

/// Result of `redeliverWebhook`.
#[derive(SimpleObject)]
pub struct WebhookDeliveryPayload {
    /// The delivery, PENDING again.
    pub delivery: Option<WebhookDelivery>,
    /// Why nothing changed; empty on success.
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct WebhooksMutation;

#[Object]
impl WebhooksMutation {
    /// Subscribes a URL to order events. The response holds the signing secret, once.
    async fn create_webhook_subscription(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `CreateWebhookSubscriptionInput`.")]
        input: CreateWebhookSubscriptionInput,
    ) -> Result<CreateWebhookSubscriptionPayload> {
        let owner = webhook_owner(ctx)?;
        let store = ctx.data::<Store>()?;
        let allow_private = store.webhook_policy().allow_private;
        let mut checks = Checks::default();
        let url = checks.take(None, WebhookUrl::parse(&input.url, allow_private));
        let topics: Vec<_> = input.topics.into_iter().map(Into::into).collect();
        let topics = checks.take(None, parse_topics(&topics));
        let url = match url {
            Some(url) => checks.take(
                None,
                check_resolution(&url, allow_private)
                    .await
                    .map(|()| url)
                    .map_err(|m| ValidationError::new("url", m)),
            ),
            None => None,
        };
        let (Some(url), Some(topics)) = (url, topics) else {
            return Ok(CreateWebhookSubscriptionPayload {
                webhook_subscription: None,
                secret: None,
                user_errors: checks.into_errors(),
            });
        };
        let (created, user_errors) = payload(
            store
                .create_webhook_subscription(&url, &topics, &owner, &principal(ctx).actor())
                .await,
            |s| s,
        )?;
        Ok(CreateWebhookSubscriptionPayload {
            secret: created.as_ref().map(|s| s.secret.clone()),
            webhook_subscription: created.map(WebhookSubscription),
            user_errors,
        })
    }

    /// Deletes a subscription: it gets nothing more, its waiting deliveries become
    /// FAILED, its delivery log stays readable.
    async fn delete_webhook_subscription(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `DeleteWebhookSubscriptionInput`.")]
        input: DeleteWebhookSubscriptionInput,
    ) -> Result<DeleteWebhookSubscriptionPayload> {
        let owner = webhook_owner(ctx)?;
        let Some(id) = gid::decode_as(Kind::WebhookSubscription, &input.id) else {
            return Ok(DeleteWebhookSubscriptionPayload {
                deleted_id: None,
                user_errors: vec![
                    ValidationError::new("id", "is not a webhook subscription ID").into(),
                ],
            });
        };
        let (deleted, user_errors) = payload(
            ctx.data::<Store>()?
                .delete_webhook_subscription(id, &owner)
                .await,
            |id| global_id(Kind::WebhookSubscription, id),
        )?;
        Ok(DeleteWebhookSubscriptionPayload {
            deleted_id: deleted,
            user_errors,
        })
    }

    /// Sends a delivery again, whatever its state: PENDING with a fresh allowance of
    /// attempts, after any earlier waiting event of its order. A deactivated subscription
    /// becomes active again.
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `RedeliverWebhookInput`.")] input: RedeliverWebhookInput,
    ) -> Result<WebhookDeliveryPayload> {
        let owner = webhook_owner(ctx)?;
        let Some(id) = gid::decode_as(Kind::WebhookDelivery, &input.delivery_id) else {
            return Ok(WebhookDeliveryPayload {
                delivery: None,
                user_errors: vec![
                    ValidationError::new("deliveryId", "is not a webhook delivery ID").into(),
                ],
            });
        };
        let (delivery, user_errors) = payload(
            ctx.data::<Store>()?.redeliver_webhook(id, &owner).await,
            WebhookDelivery,
        )?;
        Ok(WebhookDeliveryPayload {
            delivery,
            user_errors,
        })
    }
}
