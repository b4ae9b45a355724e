//! The GraphQL transport: types, resolvers, DataLoaders and guards. It calls services and
//! never the database; `build_schema` only attaches dependencies, it connects to nothing.

pub mod access;
pub mod checks;
pub mod document;
pub mod enums;
pub mod error;
pub mod error_codes;
pub mod guard;
pub mod input_text;
pub mod limits;
pub mod loaders;
pub mod mutation;
pub mod persisted;
pub mod prefetch;
pub mod query;
pub mod rate_limit;
pub mod scalars;
pub mod subscription;
pub mod types;

use std::sync::Arc;

use async_graphql::connection::Connection;
use async_graphql::{SDLExportOptions, Schema};

use crate::auth::Principal;
use crate::config::Limits;
use crate::events::hub::Hub;
use crate::service::Store;

/// Orderly's schema.
pub type OrderlySchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

/// Builds the schema over `store`, with `hub` feeding the subscriptions and `limits`
/// bounding every request; rate-limit buckets live in this process.
pub fn build_schema(store: Store, hub: Arc<Hub>, limits: Limits) -> OrderlySchema {
    build_schema_with(store, hub, limits, None)
}

/// As `build_schema`, with rate-limit buckets in Redis when `shared` is given.
///
/// The request checks run in this order, each an extension with one job: NUL text
/// (`input_text`), aliases, depth and cost (`limits`), root-field rules (`access`), the
/// principal's budget (`rate_limit`); `error_codes`, outermost, gives every error a code.
pub fn build_schema_with(
    store: Store,
    hub: Arc<Hub>,
    limits: Limits,
    shared: Option<rate_limit::SharedBuckets>,
) -> OrderlySchema {
    let access = access::AccessCheck {
        public_introspection: limits.public_introspection,
    };
    let limits = Arc::new(limits);
    // Registered outermost first: the checks after validation run innermost first.
    builder(store, hub)
        .extension(error_codes::ErrorCodes)
        .extension(rate_limit::RateLimit::new(limits.clone(), shared))
        .extension(access)
        .extension(limits::RequestLimits::new(limits))
        .extension(input_text::NoNulText)
        .extension(checks::StopAfterChecks)
        .finish()
}

/// The same schema with no extensions, for `checks::execute`'s second pass: with none,
/// async-graphql resolves each field directly instead of through a chain of hooks. It
/// only ever sees documents the first pass fully validated, so it validates in
/// async-graphql's fast mode (fragment cycles only), not a second time in full.
pub fn build_plain_schema(store: Store, hub: Arc<Hub>) -> OrderlySchema {
    builder(store, hub)
        .validation_mode(async_graphql::ValidationMode::Fast)
        .finish()
}

/// Types, data and descriptions, without the request checks.
fn builder(
    store: Store,
    hub: Arc<Hub>,
) -> async_graphql::SchemaBuilder<query::Query, mutation::Mutation, subscription::Subscription> {
    Schema::build(
        query::Query::default(),
        mutation::Mutation::default(),
        subscription::Subscription,
    )
    .data(store)
    .data(hub)
    .override_output_type_description::<Connection<String, types::order::Order>>(
        "A page of orders, with cursors to page on (Relay connection).",
    )
    .override_output_type_description::<Connection<String, types::customer::Customer>>(
        "A page of customers, with cursors to page on (Relay connection).",
    )
    .override_output_type_description::<Connection<String, types::catalog::Sku>>(
        "A page of the catalogue's SKUs, with cursors to page on (Relay connection).",
    )
    .override_output_type_description::<Connection<String, types::fulfillment::FulfillmentOrder>>(
        "A page of fulfilment orders, with cursors to page on (Relay connection).",
    )
    .override_output_type_description::<Connection<String, types::returns::Return>>(
        "A page of returns, with cursors to page on (Relay connection).",
    )
    .override_output_type_description::<Connection<String, types::webhooks::WebhookSubscription>>(
        "A page of webhook subscriptions, with cursors to page on (Relay connection).",
    )
    .override_output_type_description::<Connection<String, types::webhooks::WebhookDelivery>>(
        "A page of webhook deliveries, with cursors to page on (Relay connection).",
    )
    .override_output_type_description::<Connection<String, types::notifications::Notification>>(
        "A page of notifications, with cursors to page on (Relay connection).",
    )
}

/// The schema in SDL, as `schema.graphql` must hold it.
pub fn sdl(schema: &OrderlySchema) -> String {
    schema.sdl_with_options(
        SDLExportOptions::new()
            .sorted_fields()
            .sorted_enum_items()
            .include_specified_by(),
    )
}

/// Attaches what every execution needs: who is asking, fresh per-request loaders and an
/// empty stash for rows read ahead.
pub fn prepare(
    request: async_graphql::Request,
    store: &Store,
    principal: Principal,
    loader_delay: std::time::Duration,
) -> async_graphql::Request {
    request
        .data(principal)
        .data(loaders::new_loaders(store.clone(), loader_delay))
        .data(prefetch::Prefetched::default())
}
