//! `customer`, `customers`, `me`.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object, Result};

use crate::domain::ids::CustomerId;
use crate::gid::{self, Kind};
use crate::graphql::error::{invalid_argument, query_error};
use crate::graphql::guard::{can_read_customer, principal};
use crate::graphql::loaders::load;
use crate::graphql::types::connection;
use crate::graphql::types::customer::Customer;
use crate::service::Store;
use crate::service::page::PageRequest;

#[derive(Default)]
pub struct CustomerQuery;

#[Object]
impl CustomerQuery {
    /// A customer by global ID; null when not found or not yours to see.
    async fn customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer's global ID.")] id: ID,
    ) -> Result<Option<Customer>> {
        let Some(key) = gid::decode_as(Kind::Customer, &id) else {
            return Ok(None);
        };
        if !can_read_customer(principal(ctx), CustomerId(key)) {
            return Ok(None);
        }
        Ok(load(ctx, CustomerId(key)).await?.map(Customer))
    }

    /// Customers, oldest first; `query` matches part of the name or e-mail.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn customers(
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
        #[graphql(desc = "Text to match against name and e-mail (case-insensitive).")]
        query: Option<String>,
    ) -> Result<Connection<String, Customer>> {
        let request = PageRequest::parse(first, after.as_deref(), last, before.as_deref())
            .map_err(invalid_argument)?;
        let query = query.map(|q| q.chars().take(200).collect::<String>());
        let page = ctx
            .data::<Store>()?
            .customers_page(query.as_deref(), &request)
            .await
            .map_err(query_error)?;
        Ok(connection(page, Customer))
    }

    /// The signed-in customer; null for staff and partners.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        match principal(ctx).customer_id() {
            Some(id) => Ok(load(ctx, id).await?.map(Customer)),
            None => Ok(None),
        }
    }
}
