//! `node` and `nodes`.

use async_graphql::{Context, ID, Object, Result};

use crate::graphql::error::top_level;
use crate::graphql::types::node::{Node, resolve};

/// Most IDs one `nodes` call takes.
const MAX_NODES: usize = 100;

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by global ID; null when it does not exist or is not yours to see.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global ID of any type.")] id: ID,
    ) -> Result<Option<Node>> {
        resolve(ctx, &id).await
    }

    /// Several objects by global ID, in the same order; null for each that does not
    /// exist or is not yours to see. At most 100 IDs.
    #[graphql(complexity = "ids.len().clamp(1, MAX_NODES) * child_complexity")]
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Global IDs of any type (at most 100); the answer has one entry per ID, null where it is missing or not yours."
        )]
        ids: Vec<ID>,
    ) -> Result<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(top_level(
                "INVALID_INPUT",
                format!("ids: at most {MAX_NODES} per call"),
            ));
        }
        futures_util::future::try_join_all(ids.iter().map(|id| resolve(ctx, id))).await
    }
}
