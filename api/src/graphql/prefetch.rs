//! Reading ahead: a resolver that returns orders looks at what the client selected under
//! them and reads the customers, lines, SKUs, payments and fulfilment orders of all of
//! them at once, before
//! any child resolver runs; the children then find their rows here instead of asking the
//! DataLoader. A page of orders with those fields costs the same few statements whatever
//! its size and however busy the server is: the DataLoader's batches are formed by a
//! timer, and under load a request's keys straggle into several batches.
//!
//! What is stashed was read in the same request, so it is as fresh as a loader's batch.
//! Anything not stashed still loads through the DataLoader.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use async_graphql::{Context, Lookahead, Result};
use entity::order;

use super::error::internal;
use super::loaders::{FulfillmentOrdersOf, LinesOf, PaymentsOf};
use crate::domain::ids::{CustomerId, OrderId, SkuId};
use crate::service::Store;
use crate::service::orders::Visibility;

/// Rows read ahead for one request, by loader key type.
#[derive(Default)]
pub struct Prefetched {
    maps: Mutex<HashMap<TypeId, Box<dyn Any + Send>>>,
}

impl Prefetched {
    /// Adds `values` under their keys.
    pub fn put<K, V>(&self, values: impl IntoIterator<Item = (K, V)>)
    where
        K: Hash + Eq + Send + 'static,
        V: Send + 'static,
    {
        let mut maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        let map = maps
            .entry(TypeId::of::<HashMap<K, V>>())
            .or_insert_with(|| Box::new(HashMap::<K, V>::new()));
        if let Some(map) = map.downcast_mut::<HashMap<K, V>>() {
            map.extend(values);
        }
    }

    /// The value stashed for `key`, if any.
    pub fn get<K, V>(&self, key: &K) -> Option<V>
    where
        K: Hash + Eq + 'static,
        V: Clone + 'static,
    {
        let maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        maps.get(&TypeId::of::<HashMap<K, V>>())?
            .downcast_ref::<HashMap<K, V>>()?
            .get(key)
            .cloned()
    }
}

/// True when the field being resolved sits inside a list (`customers { edges { node {
/// orders ... } } }`): there each parent reading ahead would cost a statement group per
/// item, and the DataLoader's batches across the items serve better.
pub fn inside_a_list(ctx: &Context<'_>) -> bool {
    let mut node = ctx.path_node.as_ref();
    while let Some(at) = node {
        if matches!(at.segment, async_graphql::QueryPathSegment::Index(_)) {
            return true;
        }
        node = at.parent;
    }
    false
}

/// The selections of a connection's nodes (`edges { node }` and `nodes`).
pub fn connection_nodes<'a>(page: &Lookahead<'a>) -> Vec<Lookahead<'a>> {
    vec![page.field("edges").field("node"), page.field("nodes")]
}

/// What a selection of `Order` asks for that is read ahead.
#[derive(Clone, Copy)]
struct Wanted {
    customers: bool,
    lines: bool,
    skus: bool,
    payments: bool,
    fulfillment_orders: bool,
}

impl Wanted {
    fn of(selections: &[Lookahead<'_>]) -> Self {
        let selects = |path: &[&str]| {
            selections.iter().any(|s| {
                let mut at = s.field(path[0]);
                for field in &path[1..] {
                    at = at.field(field);
                }
                at.exists()
            })
        };
        Self {
            customers: selects(&["customer"]),
            lines: selects(&["lines"]),
            skus: selects(&["lines", "sku"]),
            payments: selects(&["payments"]),
            fulfillment_orders: selects(&["fulfillmentOrders"]),
        }
    }
}

/// Lines (with their SKUs when asked: one joined statement), payments and fulfilment
/// orders of `ids`.
async fn children(store: &Store, ids: &[OrderId], wanted: Wanted) -> Result<Children> {
    let (lines, payments, fulfillment_orders) = futures_util::future::join3(
        async {
            match (wanted.lines, wanted.skus) {
                (true, true) => store
                    .lines_with_skus_by_orders(ids)
                    .await
                    .map(|(lines, skus)| Some((lines, Some(skus)))),
                (true, false) => store.lines_by_orders(ids).await.map(|l| Some((l, None))),
                _ => Ok(None),
            }
        },
        async {
            match wanted.payments {
                true => store.payments_by_orders(ids).await.map(Some),
                false => Ok(None),
            }
        },
        async {
            match wanted.fulfillment_orders {
                true => store.fulfillment_orders_by_orders(ids).await.map(Some),
                false => Ok(None),
            }
        },
    )
    .await;
    Ok(Children {
        lines: lines.map_err(|e| internal(&e))?,
        payments: payments.map_err(|e| internal(&e))?,
        fulfillment_orders: fulfillment_orders.map_err(|e| internal(&e))?,
    })
}

type LinesAndSkus = (
    HashMap<OrderId, Vec<entity::order_line::Model>>,
    Option<HashMap<SkuId, entity::sku::Model>>,
);

struct Children {
    lines: Option<LinesAndSkus>,
    payments: Option<HashMap<OrderId, Vec<entity::payment::Model>>>,
    fulfillment_orders: Option<HashMap<OrderId, Vec<entity::fulfillment_order::Model>>>,
}

impl Children {
    /// Stashes what was read; every order gets an entry, so one without lines,
    /// payments or fulfilment orders has an empty list, not a miss.
    fn stash(self, stash: &Prefetched, ids: &[OrderId]) {
        if let Some((mut lines, skus)) = self.lines {
            if let Some(skus) = skus {
                stash.put(skus);
            }
            stash.put(
                ids.iter()
                    .map(|&id| (LinesOf(id), lines.remove(&id).unwrap_or_default())),
            );
        }
        if let Some(mut payments) = self.payments {
            stash.put(
                ids.iter()
                    .map(|&id| (PaymentsOf(id), payments.remove(&id).unwrap_or_default())),
            );
        }
        if let Some(mut found) = self.fulfillment_orders {
            stash.put(ids.iter().map(|&id| {
                (
                    FulfillmentOrdersOf(id),
                    found.remove(&id).unwrap_or_default(),
                )
            }));
        }
    }
}

/// Reads ahead what `selections` (each a selection of `Order`) ask of `orders`: at most
/// four statements, run side by side (customers; lines joined with SKUs; payments;
/// fulfilment orders).
pub async fn orders(
    ctx: &Context<'_>,
    orders: &[&order::Model],
    selections: &[Lookahead<'_>],
) -> Result<()> {
    let Some(stash) = ctx.data_opt::<Prefetched>() else {
        return Ok(());
    };
    if orders.is_empty() {
        return Ok(());
    }
    let wanted = Wanted::of(selections);
    let store = ctx.data::<Store>()?;
    let ids: Vec<OrderId> = orders.iter().map(|o| OrderId(o.id)).collect();
    let mut customer_ids: Vec<CustomerId> =
        orders.iter().map(|o| CustomerId(o.customer_id)).collect();
    customer_ids.sort_unstable_by_key(|c| c.0);
    customer_ids.dedup();
    let (customers, children) = futures_util::future::join(
        async {
            match wanted.customers {
                true => store.customers_by_ids(&customer_ids).await.map(Some),
                false => Ok(None),
            }
        },
        children(store, &ids, wanted),
    )
    .await;
    if let Some(customers) = customers.map_err(|e| internal(&e))? {
        stash.put(customers);
    }
    children?.stash(stash, &ids);
    Ok(())
}

/// One order by id with what `selection` asks of it: with its customer and its lines'
/// SKUs (and no payments), in one statement; otherwise read side by side — the order
/// joined with its customer, its lines joined with their SKUs, its payments — a single
/// round trip's wait. `None` when there is no such order or `visibility` hides it (then nothing
/// read is kept).
pub async fn order(
    ctx: &Context<'_>,
    id: OrderId,
    visibility: Visibility,
    selection: Lookahead<'_>,
) -> Result<Option<order::Model>> {
    let store = ctx.data::<Store>()?;
    let wanted = Wanted::of(&[selection]);
    let stash = ctx.data_opt::<Prefetched>();
    let ids = [id];
    if let Some(stash) = stash
        && wanted.customers
        && wanted.skus
        && !wanted.payments
    {
        // The common shape (an order page, a tracking view): one statement.
        let Some(found) = store
            .order_with_customer_and_lines(id, visibility)
            .await
            .map_err(|e| internal(&e))?
        else {
            return Ok(None);
        };
        stash.put([(CustomerId(found.customer.id), found.customer)]);
        stash.put(found.skus);
        stash.put([(LinesOf(id), found.lines)]);
        return Ok(Some(found.order));
    }
    let (found, children) = futures_util::future::join(
        async {
            if wanted.customers && stash.is_some() {
                store
                    .order_with_customer(id, visibility)
                    .await
                    .map(|found| found.map(|(o, c)| (o, Some(c))))
            } else {
                store
                    .orders_by_ids(&ids, visibility)
                    .await
                    .map(|mut found| found.remove(&id).map(|o| (o, None)))
            }
        },
        async {
            match stash {
                Some(_) => children(store, &ids, wanted).await.map(Some),
                None => Ok(None),
            }
        },
    )
    .await;
    let Some((order, customer)) = found.map_err(|e| internal(&e))? else {
        return Ok(None);
    };
    if let Some(stash) = stash {
        if let Some(customer) = customer {
            stash.put([(CustomerId(customer.id), customer)]);
        }
        if let Some(children) = children? {
            children.stash(stash, &ids);
        }
    }
    Ok(Some(order))
}
