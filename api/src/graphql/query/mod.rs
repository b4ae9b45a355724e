//! Root query fields, one capability per file, merged into `Query`.

mod catalog;
pub(crate) mod channels;
mod customer;
mod fulfillment;
mod node;
mod notifications;
mod order;
mod returns;
mod webhooks;

/// What can be read: orders, customers, the catalogue and stock, fulfilment work and
/// partner keys. Every field's rule of access is in `ROOT_RULES`.
#[derive(async_graphql::MergedObject, Default)]
pub struct Query(
    node::NodeQuery,
    order::OrderQuery,
    customer::CustomerQuery,
    catalog::CatalogQuery,
    fulfillment::FulfillmentQuery,
    returns::ReturnsQuery,
    channels::ChannelsQuery,
    webhooks::WebhooksQuery,
    notifications::NotificationsQuery,
    crate::graphql::mutation::access::AccessQuery,
);
