//! `sku`, `skus`, `locations`.

use async_graphql::connection::Connection;
use async_graphql::{Context, Object, Result};

use crate::graphql::error::{invalid_argument, query_error};
use crate::graphql::types::catalog::{Location, Sku};
use crate::graphql::types::connection;
use crate::service::Store;
use crate::service::page::PageRequest;

#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// A SKU by code; null when there is none.
    async fn sku(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The SKU code, e.g. `SOLAR-6KW` (case-sensitive).")] code: String,
    ) -> Result<Option<Sku>> {
        if code.len() > 64 {
            return Ok(None);
        }
        Ok(ctx
            .data::<Store>()?
            .sku_by_code(code.trim())
            .await
            .map_err(query_error)?
            .map(Sku))
    }

    /// The catalogue, oldest SKU first; `query` matches part of the code or name. What a
    /// console lists to show stock (`inventoryLevels`, live through `inventoryChanged`).
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn skus(
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
        #[graphql(desc = "Text to match against code and name (case-insensitive).")] query: Option<
            String,
        >,
    ) -> Result<Connection<String, Sku>> {
        let request = PageRequest::parse(first, after.as_deref(), last, before.as_deref())
            .map_err(invalid_argument)?;
        let query = query.map(|q| q.chars().take(200).collect::<String>());
        let page = ctx
            .data::<Store>()?
            .skus_page(query.as_deref(), &request)
            .await
            .map_err(query_error)?;
        Ok(connection(page, Sku))
    }

    /// Every active location, highest priority first.
    async fn locations(&self, ctx: &Context<'_>) -> Result<Vec<Location>> {
        Ok(ctx
            .data::<Store>()?
            .locations()
            .await
            .map_err(query_error)?
            .into_iter()
            .map(Location)
            .collect())
    }
}
