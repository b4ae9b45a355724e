//! Reading ahead: a resolver that returns orders looks at what the client selected under
//! them and reads the customers, lines, SKUs and payments of all of them at once, before
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
use super::loaders::{LinesOf, PaymentsOf};
use crate::domain::ids::{CustomerId, OrderId, SkuId};
use crate::service::Store;

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

/// The selections of a connection's nodes (`edges { node }` and `nodes`).
pub fn connection_nodes<'a>(page: &Lookahead<'a>) -> Vec<Lookahead<'a>> {
    vec![page.field("edges").field("node"), page.field("nodes")]
}

/// Reads ahead what `selections` (each a selection of `Order`) ask of `orders`.
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
    let selects = |path: &[&str]| {
        selections.iter().any(|s| {
            let mut at = s.field(path[0]);
            for field in &path[1..] {
                at = at.field(field);
            }
            at.exists()
        })
    };
    let (want_customers, want_lines, want_skus, want_payments) = (
        selects(&["customer"]),
        selects(&["lines"]),
        selects(&["lines", "sku"]),
        selects(&["payments"]),
    );
    let store = ctx.data::<Store>()?;
    let ids: Vec<OrderId> = orders.iter().map(|o| OrderId(o.id)).collect();
    let mut customer_ids: Vec<CustomerId> =
        orders.iter().map(|o| CustomerId(o.customer_id)).collect();
    customer_ids.sort_unstable_by_key(|c| c.0);
    customer_ids.dedup();

    let (customers, lines, payments) = futures_util::future::join3(
        async {
            match want_customers {
                true => store.customers_by_ids(&customer_ids).await.map(Some),
                false => Ok(None),
            }
        },
        async {
            match want_lines {
                true => store.lines_by_orders(&ids).await.map(Some),
                false => Ok(None),
            }
        },
        async {
            match want_payments {
                true => store.payments_by_orders(&ids).await.map(Some),
                false => Ok(None),
            }
        },
    )
    .await;
    if let Some(customers) = customers.map_err(|e| internal(&e))? {
        stash.put(customers);
    }
    if let Some(mut lines) = lines.map_err(|e| internal(&e))? {
        if want_skus {
            let mut sku_ids: Vec<SkuId> = lines.values().flatten().map(|l| SkuId(l.sku_id)).collect();
            sku_ids.sort_unstable_by_key(|s| s.0);
            sku_ids.dedup();
            stash.put(store.skus_by_ids(&sku_ids).await.map_err(|e| internal(&e))?);
        }
        // Every order gets an entry: one without lines has an empty list, not a miss.
        stash.put(ids.iter().map(|&id| (LinesOf(id), lines.remove(&id).unwrap_or_default())));
    }
    if let Some(mut payments) = payments.map_err(|e| internal(&e))? {
        stash.put(
            ids.iter()
                .map(|&id| (PaymentsOf(id), payments.remove(&id).unwrap_or_default())),
        );
    }
    Ok(())
}
