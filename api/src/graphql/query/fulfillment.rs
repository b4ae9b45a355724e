//! `fulfillmentOrders`: a warehouse's pick list.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object, Result};

use crate::domain::ValidationError;
use crate::domain::ids::LocationId;
use crate::gid::{self, Kind};
use crate::graphql::enums::FulfillmentStatus;
use crate::graphql::error::{invalid_argument, query_error};
use crate::graphql::types::connection;
use crate::graphql::types::fulfillment::FulfillmentOrder;
use crate::service::Store;
use crate::service::page::PageRequest;

#[derive(Default)]
pub struct FulfillmentQuery;

#[Object]
impl FulfillmentQuery {
    /// Fulfilment orders, oldest first — by location and status, e.g. a warehouse's
    /// `OPEN` pick list.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, None, child_complexity)")]
    async fn fulfillment_orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only fulfilment orders shipping from this location.")]
        location_id: Option<ID>,
        #[graphql(desc = "Only fulfilment orders in one of these statuses.")] status: Option<
            Vec<FulfillmentStatus>,
        >,
        #[graphql(
            desc = "Return at most this many items from the start (at most 100; default 20)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor (an edge's `cursor`).")] after: Option<
            String,
        >,
    ) -> Result<Connection<String, FulfillmentOrder>> {
        let location = match location_id {
            Some(id) => Some(LocationId(gid::decode_as(Kind::Location, &id).ok_or_else(
                || invalid_argument(ValidationError::new("locationId", "is not a location ID")),
            )?)),
            None => None,
        };
        let statuses: Vec<_> = status
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect();
        let request =
            PageRequest::parse(first, after.as_deref(), None, None).map_err(invalid_argument)?;
        let page = ctx
            .data::<Store>()?
            .fulfillment_orders_page(location, &statuses, &request)
            .await
            .map_err(query_error)?;
        Ok(connection(page, FulfillmentOrder))
    }
}
