//! Root query fields, one capability per file, merged into `Query`.

mod catalog;
mod customer;
mod fulfillment;
mod node;
mod order;

/// Every root query field.
#[derive(async_graphql::MergedObject, Default)]
pub struct Query(
    node::NodeQuery,
    order::OrderQuery,
    customer::CustomerQuery,
    catalog::CatalogQuery,
    fulfillment::FulfillmentQuery,
    crate::graphql::mutation::access::AccessQuery,
);
