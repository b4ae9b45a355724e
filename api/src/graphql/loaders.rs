//! Per-request DataLoaders: every nested field loads through here, so a page of 50 orders
//! with customers, lines and SKUs costs one statement per kind of thing, not per row.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, Loader};
use entity::{
    customer, customer_address, fulfillment_order, fulfillment_order_line, inventory_level,
    location, order, order_line, order_note, payment, refund, return_line, return_request, sku,
    webhook_subscription,
};

use super::error::internal;
use crate::domain::ids::{
    CustomerId, FulfillmentOrderId, LocationId, OrderId, OrderLineId, RefundId, ReturnId, SkuId,
    WebhookSubscriptionId,
};
use crate::service::orders::Visibility;
use crate::service::returns::ReturnableLine;
use crate::service::{self, Store};

/// Loads everything by key through the store. One instance per request.
pub struct StoreLoader {
    store: Store,
}

/// The per-request loader type.
pub type Loaders = DataLoader<StoreLoader>;

/// A fresh loader for one request (or one subscription connection) that gathers keys
/// for `delay` before loading them in one batch.
pub fn new_loaders(store: Store, delay: std::time::Duration) -> Loaders {
    DataLoader::new(StoreLoader { store }, tokio::spawn).delay(delay)
}

/// Lines of an order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinesOf(pub OrderId);
/// Fulfilment orders of an order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FulfillmentOrdersOf(pub OrderId);
/// Payments of an order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PaymentsOf(pub OrderId);
/// Inventory levels of a SKU.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LevelsOf(pub SkuId);
/// Lines of a fulfilment order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinesOfFulfillmentOrder(pub FulfillmentOrderId);

/// Returns of an order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReturnsOf(pub OrderId);
/// Refunds of an order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RefundsOf(pub OrderId);
/// What of an order may still be returned.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReturnableOf(pub OrderId);
/// Lines of a return.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinesOfReturn(pub ReturnId);
/// Saved addresses of a customer.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressesOf(pub CustomerId);
/// Notes of an order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NotesOf(pub OrderId);
/// The refund of a return.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RefundOfReturn(pub ReturnId);

type LoadResult<K, V> = Result<HashMap<K, V>, Arc<service::Error>>;

macro_rules! loader {
    ($key:ty => $value:ty, |$store:ident, $ids:ident| $body:expr, $wrap:expr) => {
        impl Loader<$key> for StoreLoader {
            type Value = $value;
            type Error = Arc<service::Error>;

            async fn load(&self, keys: &[$key]) -> LoadResult<$key, $value> {
                let $store = &self.store;
                let $ids: Vec<_> = keys.iter().map(|k| $wrap(*k)).collect();
                let found = $body.await.map_err(Arc::new)?;
                Ok(found
                    .into_iter()
                    .map(|(k, v)| (<$key>::from_inner(k), v))
                    .collect())
            }
        }
    };
}

/// Keys that wrap an inner id (or are the id).
trait FromInner<I> {
    fn from_inner(inner: I) -> Self;
}

macro_rules! plain_key {
    ($($t:ty),*) => {$(
        impl FromInner<$t> for $t {
            fn from_inner(inner: $t) -> Self { inner }
        }
    )*};
}
plain_key!(
    CustomerId,
    LocationId,
    SkuId,
    OrderId,
    OrderLineId,
    FulfillmentOrderId,
    ReturnId,
    RefundId,
    WebhookSubscriptionId
);

macro_rules! wrapper_key {
    ($($w:ident($t:ty)),*) => {$(
        impl FromInner<$t> for $w {
            fn from_inner(inner: $t) -> Self { $w(inner) }
        }
    )*};
}
wrapper_key!(
    LinesOf(OrderId),
    FulfillmentOrdersOf(OrderId),
    PaymentsOf(OrderId),
    LevelsOf(SkuId),
    LinesOfFulfillmentOrder(FulfillmentOrderId),
    ReturnsOf(OrderId),
    RefundsOf(OrderId),
    ReturnableOf(OrderId),
    LinesOfReturn(ReturnId),
    RefundOfReturn(ReturnId),
    NotesOf(OrderId),
    AddressesOf(CustomerId)
);

loader!(CustomerId => customer::Model, |s, ids| s.customers_by_ids(&ids), |k| k);
loader!(LocationId => location::Model, |s, ids| s.locations_by_ids(&ids), |k| k);
loader!(SkuId => sku::Model, |s, ids| s.skus_by_ids(&ids), |k| k);
loader!(OrderId => order::Model, |s, ids| s.orders_by_ids(&ids, Visibility::All), |k| k);
loader!(OrderLineId => order_line::Model, |s, ids| s.order_lines_by_ids(&ids), |k| k);
loader!(FulfillmentOrderId => fulfillment_order::Model, |s, ids| s.fulfillment_orders_by_ids(&ids, Visibility::All), |k| k);
loader!(LinesOf => Vec<order_line::Model>, |s, ids| s.lines_by_orders(&ids), |k: LinesOf| k.0);
loader!(FulfillmentOrdersOf => Vec<fulfillment_order::Model>, |s, ids| s.fulfillment_orders_by_orders(&ids), |k: FulfillmentOrdersOf| k.0);
loader!(PaymentsOf => Vec<payment::Model>, |s, ids| s.payments_by_orders(&ids), |k: PaymentsOf| k.0);
loader!(LevelsOf => Vec<inventory_level::Model>, |s, ids| s.levels_by_skus(&ids), |k: LevelsOf| k.0);
loader!(LinesOfFulfillmentOrder => Vec<fulfillment_order_line::Model>, |s, ids| s.lines_by_fulfillment_orders(&ids), |k: LinesOfFulfillmentOrder| k.0);
loader!(ReturnId => return_request::Model, |s, ids| s.returns_by_ids(&ids, Visibility::All), |k| k);
loader!(RefundId => refund::Model, |s, ids| s.refunds_by_ids(&ids), |k| k);
loader!(ReturnsOf => Vec<return_request::Model>, |s, ids| s.returns_by_orders(&ids), |k: ReturnsOf| k.0);
loader!(RefundsOf => Vec<refund::Model>, |s, ids| s.refunds_by_orders(&ids), |k: RefundsOf| k.0);
loader!(ReturnableOf => Vec<ReturnableLine>, |s, ids| s.returnable_lines_by_orders(&ids), |k: ReturnableOf| k.0);
loader!(LinesOfReturn => Vec<return_line::Model>, |s, ids| s.lines_by_returns(&ids), |k: LinesOfReturn| k.0);
loader!(AddressesOf => Vec<customer_address::Model>, |s, ids| s.addresses_by_customers(&ids), |k: AddressesOf| k.0);
loader!(NotesOf => Vec<order_note::Model>, |s, ids| s.notes_by_orders(&ids), |k: NotesOf| k.0);
loader!(WebhookSubscriptionId => webhook_subscription::Model, |s, ids| s.webhook_subscriptions_by_ids(&ids), |k| k);
loader!(RefundOfReturn => refund::Model, |s, ids| s.refunds_by_returns(&ids), |k: RefundOfReturn| k.0);

/// Loads one value for `key` through the request's loader.
pub async fn load<K, V>(ctx: &Context<'_>, key: K) -> async_graphql::Result<Option<V>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    V: Send + Sync + Clone + 'static,
    StoreLoader: Loader<K, Value = V, Error = Arc<service::Error>>,
{
    if let Some(found) = ctx
        .data_opt::<super::prefetch::Prefetched>()
        .and_then(|stash| stash.get::<K, V>(&key))
    {
        return Ok(Some(found));
    }
    let loaders = ctx.data::<Loaders>()?;
    loaders.load_one(key).await.map_err(|e| internal(&*e))
}

/// Loads a value that must exist (a foreign key); a missing row is an internal error.
pub async fn load_required<K, V>(ctx: &Context<'_>, key: K) -> async_graphql::Result<V>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    V: Send + Sync + Clone + 'static,
    StoreLoader: Loader<K, Value = V, Error = Arc<service::Error>>,
{
    load(ctx, key)
        .await?
        .ok_or_else(|| internal(&service::Error::Corrupt("dangling reference".into())))
}

/// Loads a list (an empty list when there are no rows).
pub async fn load_list<K, V>(ctx: &Context<'_>, key: K) -> async_graphql::Result<Vec<V>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    V: Send + Sync + Clone + 'static,
    StoreLoader: Loader<K, Value = Vec<V>, Error = Arc<service::Error>>,
{
    Ok(load(ctx, key).await?.unwrap_or_default())
}
