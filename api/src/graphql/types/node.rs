//! The Relay `Node` interface and global-ID look-ups, with the same access rules as the
//! typed root fields (someone else's order is simply not found).

use async_graphql::{Context, Interface, Result};

use super::catalog::{Location, Sku};
use super::customer::Customer;
use super::fulfillment::FulfillmentOrder;
use super::notifications::Notification;
use super::order::Order;
use super::returns::{Refund, Return};
use super::webhooks::{WebhookDelivery, WebhookSubscription};
use crate::domain::ids::{
    CustomerId, FulfillmentOrderId, LocationId, OrderId, RefundId, ReturnId, SkuId,
};
use crate::gid::{self, Kind};
use crate::graphql::error::query_error;
use crate::graphql::guard::{
    can_read_customer, can_read_fulfillment_order, can_read_order, principal, webhook_owner_of,
};
use crate::graphql::loaders::load;
use crate::service::Store;

/// An object with an opaque global ID, fetchable with `node(id:)`.
// One short-lived value per resolved node; boxing would only add allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Interface)]
#[graphql(field(name = "id", ty = "async_graphql::ID", desc = "Opaque global ID."))]
pub enum Node {
    Order(Order),
    Customer(Customer),
    Location(Location),
    Sku(Sku),
    FulfillmentOrder(FulfillmentOrder),
    Return(Return),
    Refund(Refund),
    WebhookSubscription(WebhookSubscription),
    WebhookDelivery(WebhookDelivery),
    Notification(Notification),
}

/// Resolves a global ID to a visible node; unknown, malformed and forbidden IDs are `None`.
pub async fn resolve(ctx: &Context<'_>, id: &str) -> Result<Option<Node>> {
    let Some((kind, key)) = gid::decode(id) else {
        return Ok(None);
    };
    let who = principal(ctx);
    Ok(match kind {
        Kind::Order => load::<_, entity::order::Model>(ctx, OrderId(key))
            .await?
            .filter(|o| can_read_order(who, CustomerId(o.customer_id)))
            .map(|o| Node::Order(Order(o))),
        Kind::Customer => load::<_, entity::customer::Model>(ctx, CustomerId(key))
            .await?
            .filter(|c| can_read_customer(who, CustomerId(c.id)))
            .map(|c| Node::Customer(Customer(c))),
        Kind::Location => load(ctx, LocationId(key))
            .await?
            .map(|l| Node::Location(Location(l))),
        Kind::Sku => load(ctx, SkuId(key)).await?.map(|s| Node::Sku(Sku(s))),
        Kind::FulfillmentOrder => {
            let Some(fo) =
                load::<_, entity::fulfillment_order::Model>(ctx, FulfillmentOrderId(key)).await?
            else {
                return Ok(None);
            };
            let order: Option<entity::order::Model> = load(ctx, OrderId(fo.order_id)).await?;
            order
                .filter(|o| can_read_fulfillment_order(who, CustomerId(o.customer_id)))
                .map(|_| Node::FulfillmentOrder(FulfillmentOrder(fo)))
        }
        Kind::Return => load::<_, entity::return_request::Model>(ctx, ReturnId(key))
            .await?
            .filter(|r| can_read_order(who, CustomerId(r.customer_id)))
            .map(|r| Node::Return(Return(r))),
        Kind::Refund => {
            let Some(refund) = load::<_, entity::refund::Model>(ctx, RefundId(key)).await? else {
                return Ok(None);
            };
            let order: Option<entity::order::Model> = load(ctx, OrderId(refund.order_id)).await?;
            order
                .filter(|o| can_read_order(who, CustomerId(o.customer_id)))
                .map(|_| Node::Refund(Refund(refund)))
        }
        Kind::WebhookSubscription => {
            let Some(owner) = webhook_owner_of(who) else {
                return Ok(None);
            };
            ctx.data::<Store>()?
                .webhook_subscription(key, &owner)
                .await
                .map_err(query_error)?
                .map(|s| Node::WebhookSubscription(WebhookSubscription(s)))
        }
        Kind::WebhookDelivery => {
            let Some(owner) = webhook_owner_of(who) else {
                return Ok(None);
            };
            ctx.data::<Store>()?
                .webhook_delivery(key, &owner)
                .await
                .map_err(query_error)?
                .map(|d| Node::WebhookDelivery(WebhookDelivery(d)))
        }
        Kind::Notification => ctx
            .data::<Store>()?
            .notification(key)
            .await
            .map_err(query_error)?
            .filter(|n| {
                who.customer_id() == Some(CustomerId(n.customer_id))
                    || (who.customer_id().is_none()
                        && who.has_scope(crate::auth::Scope::CustomersRead))
            })
            .map(|n| Node::Notification(Notification(n))),
        _ => None,
    })
}
