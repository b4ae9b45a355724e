//! `order`, `orderByNumber`, `orders`.

use crate::graphql::scalars::Timestamp;
use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object, Result};

use crate::domain::ValidationError;
use crate::domain::ids::{CustomerId, OrderId};
use crate::gid::{self, Kind};
use crate::graphql::enums::{OrderSortKey, OrderStatus};
use crate::graphql::error::{invalid_argument, query_error, top_level};
use crate::graphql::guard::{order_visibility, principal};
use crate::graphql::prefetch;
use crate::graphql::types::connection;
use crate::graphql::types::order::Order;
use crate::service::Store;
use crate::service::orders::{OrderQuery as Filter, Visibility};
use crate::service::page::PageRequest;

/// Narrows an order list. All given conditions must hold.
#[derive(InputObject, Default)]
pub struct OrderFilter {
    /// Only orders in one of these statuses.
    status: Option<Vec<OrderStatus>>,
    /// Only this customer's orders.
    customer_id: Option<ID>,
    /// Only this sales channel.
    channel: Option<String>,
    /// Placed at or after this instant.
    placed_after: Option<Timestamp>,
    /// Placed before this instant.
    placed_before: Option<Timestamp>,
    /// Free text: order number, or part of the customer's e-mail or name.
    query: Option<String>,
}

impl OrderFilter {
    fn parse(self) -> Result<Filter, ValidationError> {
        let customer = match self.customer_id {
            Some(id) => Some(CustomerId(gid::decode_as(Kind::Customer, &id).ok_or_else(
                || ValidationError::new("filter.customerId", "is not a customer ID"),
            )?)),
            None => None,
        };
        if self.query.as_ref().is_some_and(|q| q.chars().count() > 200) {
            return Err(ValidationError::new(
                "filter.query",
                "must be at most 200 characters",
            ));
        }
        Ok(Filter {
            statuses: self
                .status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            customer,
            channel: self.channel,
            placed_after: self.placed_after.map(|t| t.0),
            placed_before: self.placed_before.map(|t| t.0),
            text: self.query,
        })
    }
}

#[derive(Default)]
pub struct OrderQuery;

fn visibility(ctx: &Context<'_>) -> Result<Visibility> {
    order_visibility(principal(ctx))
        .ok_or_else(|| top_level("FORBIDDEN", "reading orders needs the orders:read scope"))
}

#[Object]
impl OrderQuery {
    /// An order by global ID; null when it does not exist or is not yours to see.
    async fn order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order's global ID.")] id: ID,
    ) -> Result<Option<Order>> {
        let visibility = visibility(ctx)?;
        let Some(key) = gid::decode_as(Kind::Order, &id) else {
            return Ok(None);
        };
        let found = prefetch::order(ctx, OrderId(key), visibility, ctx.look_ahead()).await?;
        Ok(found.map(Order))
    }

    /// An order by its number (`#1001` or `1001`); null when not found or not yours.
    async fn order_by_number(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The order number as customers see it, e.g. `#1058` (the `#` may be left out)."
        )]
        number: String,
    ) -> Result<Option<Order>> {
        let visibility = visibility(ctx)?;
        if number.len() > 32 {
            return Ok(None);
        }
        let found = ctx
            .data::<Store>()?
            .order_by_number(&number, visibility)
            .await
            .map_err(query_error)?;
        if let Some(order) = &found {
            prefetch::orders(ctx, &[order], &[ctx.look_ahead()]).await?;
        }
        Ok(found.map(Order))
    }

    /// Orders you may see, filtered and sorted, as a Relay connection (at most 100 a page).
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Return at most this many items from the start (at most 100; default 20)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor (an edge's `cursor`).")] after: Option<
            String,
        >,
        #[graphql(desc = "Return at most this many items from the end (at most 100).")]
        last: Option<i32>,
        #[graphql(desc = "Return the items before this cursor (an edge's `cursor`).")]
        before: Option<String>,
        #[graphql(desc = "Only orders matching all of these conditions.")] filter: Option<
            OrderFilter,
        >,
        #[graphql(
            default,
            desc = "What to sort by (default: when placed, newest first)."
        )]
        sort_key: OrderSortKey,
        #[graphql(default, desc = "Reverse the sort order.")] reverse: bool,
    ) -> Result<Connection<String, Order>> {
        let visibility = visibility(ctx)?;
        let request = PageRequest::parse(first, after.as_deref(), last, before.as_deref())
            .map_err(invalid_argument)?;
        let filter = filter
            .unwrap_or_default()
            .parse()
            .map_err(invalid_argument)?;
        let page = ctx
            .data::<Store>()?
            .orders_page(&filter, sort_key.into(), reverse, visibility, &request)
            .await
            .map_err(query_error)?;
        let orders: Vec<_> = page.items.iter().map(|(_, o)| o).collect();
        prefetch::orders(ctx, &orders, &prefetch::connection_nodes(&ctx.look_ahead())).await?;
        Ok(connection(page, Order))
    }
}
