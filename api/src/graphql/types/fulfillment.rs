//! Fulfilment orders (what one location ships) and the delivery promise shown to customers.

use crate::graphql::scalars::Timestamp;
use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{customer, fulfillment_order, fulfillment_order_line, order};

use super::catalog::{Location, Sku};
use super::global_id;
use super::order::{Order, OrderLine};
use crate::domain::delivery::{self, DeliveryWindow};
use crate::domain::ids::{CustomerId, FulfillmentOrderId, LocationId, OrderId, OrderLineId, SkuId};
use crate::gid::Kind;
use crate::graphql::enums::{FulfillmentStatus, ShippingMethod};
use crate::graphql::loaders::{LinesOfFulfillmentOrder, load_list, load_required};
use crate::graphql::scalars::Date;
use crate::service::Store;

/// The part of an order one location ships.
pub struct FulfillmentOrder(pub fulfillment_order::Model);

/// When a parcel should arrive, and what to tell the customer.
#[derive(SimpleObject, Clone, Debug)]
pub struct DeliveryEstimate {
    /// First day it may arrive.
    pub earliest: Date,
    /// Last day it should arrive.
    pub latest: Date,
    /// What a portal shows, in the customer's time zone: "Arriving tomorrow",
    /// "Arriving Thursday", "Delivered Nov 24", "Delayed".
    pub label: String,
}

impl FulfillmentOrder {
    fn window(&self) -> Option<DeliveryWindow> {
        match (self.0.estimated_earliest, self.0.estimated_latest) {
            (Some(earliest), Some(latest)) => Some(DeliveryWindow { earliest, latest }),
            _ => None,
        }
    }

    /// The estimate with its label, when there is one.
    pub async fn estimate(&self, ctx: &Context<'_>) -> Result<Option<DeliveryEstimate>> {
        let Some(window) = self.window() else {
            return Ok(None);
        };
        Ok(Some(DeliveryEstimate {
            earliest: Date(window.earliest),
            latest: Date(window.latest),
            label: self.label(ctx).await?,
        }))
    }

    /// The promise label, computed in the customer's time zone from the store's clock.
    pub async fn label(&self, ctx: &Context<'_>) -> Result<String> {
        let order: order::Model = load_required(ctx, OrderId(self.0.order_id)).await?;
        let customer: customer::Model = load_required(ctx, CustomerId(order.customer_id)).await?;
        let tz: chrono_tz::Tz = customer.time_zone.parse().unwrap_or(chrono_tz::UTC);
        let now = ctx.data::<Store>()?.clock().now();
        let local_day = |at: DateTime<Utc>| -> NaiveDate { at.with_timezone(&tz).date_naive() };
        Ok(delivery::label(
            self.0.status,
            self.window(),
            self.0.delivered_at.map(local_day),
            local_day(now),
        ))
    }
}

/// The part of an order one location ships, with carrier, tracking and delivery promise.
#[Object]
impl FulfillmentOrder {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(Kind::FulfillmentOrder, self.0.id)
    }
    /// The order this is part of.
    async fn order(&self, ctx: &Context<'_>) -> Result<Order> {
        Ok(Order(load_required(ctx, OrderId(self.0.order_id)).await?))
    }
    /// The location that ships it.
    async fn location(&self, ctx: &Context<'_>) -> Result<Location> {
        Ok(Location(
            load_required(ctx, LocationId(self.0.location_id)).await?,
        ))
    }
    /// Where it stands.
    async fn status(&self) -> Result<FulfillmentStatus> {
        Ok(self.0.status.into())
    }
    /// Shipping speed.
    async fn shipping_method(&self) -> Result<ShippingMethod> {
        Ok(self.0.shipping_method.into())
    }
    /// What it ships.
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<FulfillmentOrderLine>> {
        let lines = load_list(ctx, LinesOfFulfillmentOrder(FulfillmentOrderId(self.0.id))).await?;
        Ok(lines.into_iter().map(FulfillmentOrderLine).collect())
    }
    /// Carrier name, once shipped.
    async fn carrier(&self) -> Option<&str> {
        self.0.carrier.as_deref()
    }
    /// Carrier tracking number, once shipped.
    async fn tracking_number(&self) -> Option<&str> {
        self.0.tracking_number.as_deref()
    }
    /// Tracking page, once shipped.
    async fn tracking_url(&self) -> Option<&str> {
        self.0.tracking_url.as_deref()
    }
    /// When it was handed to the carrier.
    async fn shipped_at(&self) -> Option<Timestamp> {
        self.0.shipped_at.map(Timestamp)
    }
    /// When it was delivered.
    async fn delivered_at(&self) -> Option<Timestamp> {
        self.0.delivered_at.map(Timestamp)
    }
    /// The estimated delivery window with its label; null until an estimate exists.
    async fn estimated_delivery(&self, ctx: &Context<'_>) -> Result<Option<DeliveryEstimate>> {
        self.estimate(ctx).await
    }
    /// What a portal shows even before an estimate exists ("Preparing to ship").
    async fn delivery_label(&self, ctx: &Context<'_>) -> Result<String> {
        self.label(ctx).await
    }
    /// Optimistic-concurrency version.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// Units of one order line that a fulfilment order ships.
pub struct FulfillmentOrderLine(pub fulfillment_order_line::Model);

/// Units of one order line that a fulfilment order ships.
#[Object]
impl FulfillmentOrderLine {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(Kind::FulfillmentOrderLine, self.0.id)
    }
    /// The order line.
    async fn order_line(&self, ctx: &Context<'_>) -> Result<OrderLine> {
        let line: entity::order_line::Model =
            load_required(ctx, OrderLineId(self.0.order_line_id)).await?;
        let order: order::Model = load_required(ctx, OrderId(line.order_id)).await?;
        Ok(OrderLine(line, order.currency))
    }
    /// The SKU to pick.
    async fn sku(&self, ctx: &Context<'_>) -> Result<Sku> {
        Ok(Sku(load_required(ctx, SkuId(self.0.sku_id)).await?))
    }
    /// Units to pick.
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }
}
