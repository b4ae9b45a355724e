//! The GraphQL transport: types, resolvers, DataLoaders and guards. It calls services and
//! never the database; `build_schema` only attaches dependencies, it connects to nothing.

pub mod enums;
pub mod error;
pub mod guard;
pub mod loaders;
pub mod mutation;
pub mod policy;
pub mod query;
pub mod rate_limit;
pub mod scalars;
pub mod subscription;
pub mod types;

use std::sync::Arc;

use async_graphql::{SDLExportOptions, Schema};

use crate::auth::Principal;
use crate::events::hub::Hub;
use crate::service::Store;

/// Orderly's schema.
pub type OrderlySchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

/// Builds the schema over `store`, with `hub` feeding the subscriptions and `limits`
/// bounding every request (see `policy`).
pub fn build_schema(store: Store, hub: Arc<Hub>, limits: policy::Limits) -> OrderlySchema {
    build_schema_with(store, hub, policy::Policy::new(limits))
}

/// As `build_schema`, with a policy built by the caller (e.g. with buckets in Redis).
pub fn build_schema_with(store: Store, hub: Arc<Hub>, policy: policy::Policy) -> OrderlySchema {
    Schema::build(
        query::Query::default(),
        mutation::Mutation::default(),
        subscription::Subscription,
    )
    .data(store)
    .data(hub)
    .extension(policy)
    .finish()
}

/// The schema in SDL, as `schema.graphql` must hold it.
pub fn sdl(schema: &OrderlySchema) -> String {
    schema.sdl_with_options(SDLExportOptions::new().sorted_fields().sorted_enum_items())
}

/// Attaches what every execution needs: who is asking and fresh per-request loaders.
pub fn prepare(
    request: async_graphql::Request,
    store: &Store,
    principal: Principal,
    loader_delay: std::time::Duration,
) -> async_graphql::Request {
    request
        .data(principal)
        .data(loaders::new_loaders(store.clone(), loader_delay))
}
