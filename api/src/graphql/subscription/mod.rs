//! Live subscriptions. Each stream subscribes to its topic on the instance's hub first,
//! then reads what it needs from `order_events`, so nothing that commits in between is
//! lost; it then follows the bus, and whenever it sees a gap in an order's sequence, a
//! lag or a bus reconnect, it re-reads from the database — no gap, no duplicate.
//!
//! A stream lives as long as its subscription and is sized for the largest thing it ever
//! awaits, so database reads, in the streams and in the resolvers that start them, are
//! boxed: an idle subscription then holds a receiver and a few numbers, not the state of
//! a query it ran once (issue 12: memory per idle subscription).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result, Subscription};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::enums::FulfillmentStatus;
use super::error::{query_error, top_level};
use super::guard::{can_read_order, can_see_event, order_visibility, principal};
use super::loaders::{load, load_required};
use super::types::catalog::Sku;
use super::types::fulfillment::{DeliveryEstimate, FulfillmentOrder};
use super::types::order::{Order, OrderEvent};
use super::types::returns::Return;
use crate::auth::Principal;
use crate::domain::ids::{CustomerId, FulfillmentOrderId, LocationId, OrderId, ReturnId, SkuId};
use crate::domain::status as domain;
use crate::events::hub::{Hub, Topic};
use crate::gid::{self, Kind};
use crate::service::Store;
use crate::service::orders::{EventScope, Visibility};

mod streams;
use streams::{order_stream, scoped_stream};

/// A shipment update for a customer portal: the parcel's status and promise.
pub struct DeliveryUpdate {
    event: entity::order_event::Model,
}

/// A shipment update for a customer portal: where the parcel is and when it arrives.
#[Object]
impl DeliveryUpdate {
    /// The order.
    async fn order(&self, ctx: &Context<'_>) -> Result<Order> {
        Ok(Order(
            load_required(ctx, OrderId(self.event.order_id)).await?,
        ))
    }
    /// The shipment.
    async fn fulfillment_order(&self, ctx: &Context<'_>) -> Result<FulfillmentOrder> {
        let id = self.event.fulfillment_order_id.unwrap_or_default();
        Ok(FulfillmentOrder(
            load_required(ctx, FulfillmentOrderId(id)).await?,
        ))
    }
    /// The shipment's status now.
    async fn status(&self, ctx: &Context<'_>) -> Result<FulfillmentStatus> {
        let fo = self.fulfillment_order(ctx).await?;
        Ok(fo.0.status.into())
    }
    /// The estimated delivery window with its label, when there is one.
    async fn estimated_delivery(&self, ctx: &Context<'_>) -> Result<Option<DeliveryEstimate>> {
        self.fulfillment_order(ctx).await?.estimate(ctx).await
    }
    /// What a portal shows: "Arriving tomorrow", "Delivered Nov 24", "Delayed".
    async fn label(&self, ctx: &Context<'_>) -> Result<String> {
        self.fulfillment_order(ctx).await?.label(ctx).await
    }
    /// The event that caused this update.
    async fn event(&self) -> OrderEvent {
        OrderEvent(self.event.clone())
    }
}

fn is_delivery_event(kind: domain::OrderEventType) -> bool {
    use domain::OrderEventType as E;
    matches!(
        kind,
        E::Shipped
            | E::InTransit
            | E::OutForDelivery
            | E::Delivered
            | E::DeliveryException
            | E::ArrivingTomorrow
    )
}

/// The return status a return event records.
fn status_reached(kind: domain::OrderEventType) -> Option<domain::ReturnStatus> {
    use domain::{OrderEventType as E, ReturnStatus as R};
    Some(match kind {
        E::ReturnRequested => R::Requested,
        E::ReturnApproved => R::Approved,
        E::ReturnDeclined => R::Declined,
        E::ReturnInTransit => R::InTransit,
        E::ReturnReceived => R::Received,
        E::Refunded => R::Refunded,
        _ => return None,
    })
}

/// The customer whose orders a stream follows: customers follow themselves; staff and
/// partners with `orders:read` name one.
fn followed_customer(who: &Principal, given: Option<&ID>) -> Result<CustomerId> {
    let given = match given {
        Some(id) => Some(CustomerId(
            gid::decode_as(Kind::Customer, id)
                .ok_or_else(|| top_level("NOT_FOUND", "no such customer"))?,
        )),
        None => None,
    };
    match (order_visibility(who), given) {
        (Some(Visibility::OwnedBy(me)), None) => Ok(me),
        (Some(Visibility::OwnedBy(me)), Some(id)) if id == me => Ok(me),
        (Some(Visibility::OwnedBy(_)), Some(_)) => Err(top_level("NOT_FOUND", "no such customer")),
        (Some(Visibility::All), Some(id)) => Ok(id),
        (Some(Visibility::All), None) => Err(top_level(
            "INVALID_INPUT",
            "customerId: say whose orders to follow",
        )),
        (None, _) => Err(top_level(
            "FORBIDDEN",
            "following orders needs the orders:read scope",
        )),
    }
}

/// Every live subscription.
#[derive(Default)]
pub struct Subscription;

/// Live updates over WebSocket (`graphql-transport-ws` or `graphql-ws` on `/graphql`):
/// each change is sent the moment it commits, resumable without gaps or repeats.
#[Subscription]
impl Subscription {
    /// Events of one order: first those after `afterSequence` (all of them for 0), then
    /// live ones as they commit — in sequence, without gaps or repeats. Without
    /// `afterSequence`, only what happens from now on. Resume after a disconnect by
    /// passing the last `sequence` you received.
    async fn order_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order's global ID.")] order_id: ID,
        #[graphql(
            desc = "Replay the events after this sequence first (the last one you saw), then stream live ones; omit to start with the next change."
        )]
        after_sequence: Option<i32>,
    ) -> Result<impl Stream<Item = Result<OrderEvent>> + use<>> {
        let store = ctx.data::<Store>()?.clone();
        let hub = ctx.data::<Arc<Hub>>()?.clone();
        let key = gid::decode_as(Kind::Order, &order_id)
            .ok_or_else(|| top_level("NOT_FOUND", "no such order"))?;
        let found: Option<entity::order::Model> = Box::pin(load(ctx, OrderId(key))).await?;
        let order = found
            .filter(|o| can_read_order(principal(ctx), CustomerId(o.customer_id)))
            .ok_or_else(|| top_level("NOT_FOUND", "no such order"))?;
        // Without a resume point, start at the sequence the order has now; the stream's
        // first read after subscribing picks up anything committed since this load.
        let last = after_sequence.map_or(order.last_sequence, |s| s.max(0));
        let who = principal(ctx).clone();
        Ok(futures_util::StreamExt::filter(
            order_stream(store, hub, order.id, last),
            move |r| {
                let shown = r
                    .as_ref()
                    .map_or(true, |e| can_see_event(&who, e.0.event_type));
                async move { shown }
            },
        ))
    }

    /// A return: first as it is now, then once per step — approved or declined, on its
    /// way back, received, refunded — with the status that step reached (customers:
    /// their own returns).
    async fn return_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The return's global ID.")] return_id: ID,
    ) -> Result<impl Stream<Item = Result<Return>> + use<>> {
        let store = ctx.data::<Store>()?.clone();
        let hub = ctx.data::<Arc<Hub>>()?.clone();
        let missing = || top_level("NOT_FOUND", "no such return");
        let key = ReturnId(gid::decode_as(Kind::Return, &return_id).ok_or_else(missing)?);
        let found: Option<entity::return_request::Model> = Box::pin(load(ctx, key)).await?;
        let ret = found
            .filter(|r| can_read_order(principal(ctx), CustomerId(r.customer_id)))
            .ok_or_else(missing)?;
        let order: entity::order::Model =
            Box::pin(load_required(ctx, OrderId(ret.order_id))).await?;
        // Following the order from the sequence it had when the return was read, so no
        // change after that read is missed (one may be sent twice: each is a snapshot).
        let events = order_stream(store.clone(), hub, order.id, order.last_sequence);
        let now = futures_util::stream::once(async move { Ok(Return(ret)) });
        let changes = futures_util::StreamExt::filter_map(events, move |r| {
            let store = store.clone();
            async move {
                match r {
                    Ok(OrderEvent(event)) if event.return_id == Some(key.0) => {
                        // Read afresh: the connection's loader would answer from its cache.
                        match Box::pin(store.returns_by_ids(&[key], Visibility::All)).await {
                            Ok(mut found) => found.remove(&key).map(|mut r| {
                                // Each message is one step: its status is the one that
                                // step reached, even when a later step (the refund
                                // after a receipt) has already committed.
                                r.status = status_reached(event.event_type).unwrap_or(r.status);
                                Ok(Return(r))
                            }),
                            Err(err) => Some(Err(query_error(err))),
                        }
                    }
                    Ok(_) => None,
                    Err(err) => Some(Err(err)),
                }
            }
        });
        Ok(futures_util::StreamExt::chain(now, changes))
    }

    /// Events of all orders of one customer as they commit (customers: their own; omit
    /// `customerId`). Each order's events arrive in sequence.
    async fn customer_order_updates(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The customer's global ID (staff and partners); customers leave it out and hear about themselves."
        )]
        customer_id: Option<ID>,
    ) -> Result<impl Stream<Item = Result<OrderEvent>> + use<>> {
        let customer = followed_customer(principal(ctx), customer_id.as_ref())?;
        let store = ctx.data::<Store>()?.clone();
        let hub = ctx.data::<Arc<Hub>>()?.clone();
        let start = Box::pin(store.newest_event_id())
            .await
            .map_err(query_error)?;
        let stream = scoped_stream(store, hub, EventScope::Customer(customer), start);
        let who = principal(ctx).clone();
        let shown = futures_util::StreamExt::filter(stream, move |r| {
            let shown = r
                .as_ref()
                .map_or(true, |e| can_see_event(&who, e.event_type));
            async move { shown }
        });
        Ok(futures_util::StreamExt::map(shown, |r| r.map(OrderEvent)))
    }

    /// Shipment updates with the delivery promise — shipped, in transit, out for delivery,
    /// delivered, delayed, and `ARRIVING_TOMORROW` the day before (customers: their own;
    /// omit `customerId`).
    async fn delivery_updates(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The customer's global ID (staff and partners); customers leave it out and hear about themselves."
        )]
        customer_id: Option<ID>,
    ) -> Result<impl Stream<Item = Result<DeliveryUpdate>> + use<>> {
        let customer = followed_customer(principal(ctx), customer_id.as_ref())?;
        let store = ctx.data::<Store>()?.clone();
        let hub = ctx.data::<Arc<Hub>>()?.clone();
        let start = Box::pin(store.newest_event_id())
            .await
            .map_err(query_error)?;
        let stream = scoped_stream(store, hub, EventScope::Customer(customer), start);
        Ok(futures_util::StreamExt::filter_map(
            stream,
            |r| async move {
                match r {
                    Ok(event)
                        if event.fulfillment_order_id.is_some()
                            && is_delivery_event(event.event_type) =>
                    {
                        Some(Ok(DeliveryUpdate { event }))
                    }
                    Ok(_) => None,
                    Err(err) => Some(Err(err)),
                }
            },
        ))
    }
    /// Stock of these SKUs (at most 50 codes), first as it is now, then each time what is
    /// available changes — for storefront stock badges.
    async fn inventory_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The SKU codes to watch (1 to 50).")] sku_codes: Vec<String>,
    ) -> Result<impl Stream<Item = Result<Sku>> + use<>> {
        if sku_codes.is_empty() || sku_codes.len() > 50 {
            return Err(top_level("INVALID_INPUT", "skuCodes: name 1 to 50 SKUs"));
        }
        let store = ctx.data::<Store>()?.clone();
        let hub = ctx.data::<Arc<Hub>>()?.clone();
        let mut skus = Vec::new();
        for code in &sku_codes {
            match Box::pin(store.sku_by_code(code.trim()))
                .await
                .map_err(query_error)?
            {
                Some(sku) => skus.push(sku),
                None => return Err(top_level("NOT_FOUND", format!("no SKU with code '{code}'"))),
            }
        }
        // Subscribed before the first read, so no change can fall in between.
        let receivers: Vec<_> = skus.iter().map(|s| hub.watch(Topic::Sku(s.id))).collect();
        let signals =
            futures_util::stream::select_all(receivers.into_iter().enumerate().map(|(i, rx)| {
                Box::pin(futures_util::stream::unfold(rx, move |mut rx| async move {
                    match rx.recv().await {
                        Err(RecvError::Closed) => None,
                        _ => Some((i, rx)),
                    }
                }))
            }));
        Ok(async_stream::stream! {
            let mut shown: HashMap<i64, i32> = HashMap::new();
            let mut pending: Vec<usize> = (0..skus.len()).collect();
            let mut signals = signals;
            loop {
                for i in std::mem::take(&mut pending) {
                    let sku = &skus[i];
                    match Box::pin(store.levels_by_skus(&[SkuId(sku.id)])).await {
                        Ok(levels) => {
                            let available: i32 =
                                levels.get(&SkuId(sku.id)).map_or(0, |l| l.iter().map(|l| l.on_hand - l.reserved).sum());
                            if shown.insert(sku.id, available) != Some(available) {
                                yield Ok(Sku(sku.clone()));
                            }
                        }
                        Err(err) => {
                            yield Err(query_error(err));
                            return;
                        }
                    }
                }
                match futures_util::StreamExt::next(&mut signals).await {
                    Some(i) => pending.push(i),
                    None => return,
                }
            }
        })
    }

    /// A location's fulfilment queue for warehouse screens: each fulfilment order of the
    /// location, as it now is, whenever it is allocated or changes.
    async fn fulfillment_queue(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The location whose work list to watch.")] location_id: ID,
    ) -> Result<impl Stream<Item = Result<FulfillmentOrder>> + use<>> {
        let location = gid::decode_as(Kind::Location, &location_id)
            .ok_or_else(|| top_level("NOT_FOUND", "no such location"))?;
        let store = ctx.data::<Store>()?.clone();
        if Box::pin(store.locations_by_ids(&[LocationId(location)]))
            .await
            .map_err(query_error)?
            .is_empty()
        {
            return Err(top_level("NOT_FOUND", "no such location"));
        }
        let hub = ctx.data::<Arc<Hub>>()?.clone();
        let start = Box::pin(store.newest_event_id())
            .await
            .map_err(query_error)?;
        let reader = store.clone();
        let stream = scoped_stream(
            store,
            hub,
            EventScope::Location(LocationId(location)),
            start,
        );
        Ok(futures_util::StreamExt::filter_map(stream, move |r| {
            let store = reader.clone();
            async move {
                match r {
                    Ok(event) => {
                        let id = FulfillmentOrderId(event.fulfillment_order_id?);
                        match Box::pin(store.fulfillment_orders_by_ids(&[id], Visibility::All))
                            .await
                        {
                            Ok(mut found) => found.remove(&id).map(|fo| Ok(FulfillmentOrder(fo))),
                            Err(err) => Some(Err(query_error(err))),
                        }
                    }
                    Err(err) => Some(Err(err)),
                }
            }
        }))
    }
}
