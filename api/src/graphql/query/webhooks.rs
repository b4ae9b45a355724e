//! `webhookSubscriptions` and `webhookDeliveries`: staff see every subscription, a
//! partner with `webhooks:write` its own.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object, Result};

use crate::domain::ValidationError;
use crate::gid::{self, Kind};
use crate::graphql::enums::WebhookDeliveryStatus;
use crate::graphql::error::{invalid_argument, query_error};
use crate::graphql::guard::webhook_owner;
use crate::graphql::types::connection;
use crate::graphql::types::webhooks::{WebhookDelivery, WebhookSubscription};
use crate::service::Store;
use crate::service::page::PageRequest;

#[derive(Default)]
pub struct WebhooksQuery;

#[Object]
impl WebhooksQuery {
    /// Webhook subscriptions, newest first (partners: their own).
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, None, child_complexity)")]
    async fn webhook_subscriptions(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Return at most this many items from the start (at most 100; default 20)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor (an edge's `cursor`).")] after: Option<
            String,
        >,
    ) -> Result<Connection<String, WebhookSubscription>> {
        let owner = webhook_owner(ctx)?;
        let request =
            PageRequest::parse(first, after.as_deref(), None, None).map_err(invalid_argument)?;
        let page = ctx
            .data::<Store>()?
            .webhook_subscriptions_page(&owner, &request)
            .await
            .map_err(query_error)?;
        Ok(connection(page, WebhookSubscription))
    }

    /// The delivery log, newest first (partners: their subscriptions' only): what was
    /// sent where, how often, and what the receiver answered.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, None, child_complexity)")]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this subscription's deliveries.")] subscription_id: Option<ID>,
        #[graphql(desc = "Only deliveries in one of these states.")] status: Option<
            Vec<WebhookDeliveryStatus>,
        >,
        #[graphql(
            desc = "Return at most this many items from the start (at most 100; default 20)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor (an edge's `cursor`).")] after: Option<
            String,
        >,
    ) -> Result<Connection<String, WebhookDelivery>> {
        let owner = webhook_owner(ctx)?;
        let subscription = subscription_id
            .map(|id| {
                gid::decode_as(Kind::WebhookSubscription, &id).ok_or_else(|| {
                    invalid_argument(ValidationError::new(
                        "subscriptionId",
                        "is not a webhook subscription ID",
                    ))
                })
            })
            .transpose()?;
        let statuses: Vec<_> = status
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect();
        let request =
            PageRequest::parse(first, after.as_deref(), None, None).map_err(invalid_argument)?;
        let page = ctx
            .data::<Store>()?
            .webhook_deliveries_page(&owner, subscription, &statuses, &request)
            .await
            .map_err(query_error)?;
        Ok(connection(page, WebhookDelivery))
    }
}
