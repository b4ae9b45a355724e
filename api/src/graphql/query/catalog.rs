//! `sku`, `locations`.

use async_graphql::{Context, Object, Result};

use crate::graphql::error::query_error;
use crate::graphql::types::catalog::{Location, Sku};
use crate::service::Store;

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
