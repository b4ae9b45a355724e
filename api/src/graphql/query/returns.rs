//! `return` and `returns`: the returns desk's list, and a customer's own returns.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object, Result};

use crate::domain::ids::ReturnId;
use crate::gid::{self, Kind};
use crate::graphql::enums::ReturnStatus;
use crate::graphql::error::{invalid_argument, query_error, top_level};
use crate::graphql::guard::{can_read_order, order_visibility, principal};
use crate::graphql::loaders::load;
use crate::graphql::types::connection;
use crate::graphql::types::returns::Return;
use crate::service::Store;
use crate::service::orders::Visibility;
use crate::service::page::PageRequest;

#[derive(Default)]
pub struct ReturnsQuery;

#[Object]
impl ReturnsQuery {
    /// One return by global ID; someone else's return is null, like a missing one.
    async fn r#return(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The return's global ID.")] id: ID,
    ) -> Result<Option<Return>> {
        let Some(key) = gid::decode_as(Kind::Return, &id) else {
            return Ok(None);
        };
        let found: Option<entity::return_request::Model> = load(ctx, ReturnId(key)).await?;
        Ok(found
            .filter(|r| {
                can_read_order(
                    principal(ctx),
                    crate::domain::ids::CustomerId(r.customer_id),
                )
            })
            .map(Return))
    }

    /// Returns, newest first: the returns desk's queue (`status: [REQUESTED]`), or a
    /// customer's own (customers see only theirs and omit `customerId`).
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, None, child_complexity)")]
    async fn returns(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Return at most this many items from the start (at most 100; default 20)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor (an edge's `cursor`).")] after: Option<
            String,
        >,
        #[graphql(desc = "Only returns in one of these statuses.")] status: Option<
            Vec<ReturnStatus>,
        >,
        #[graphql(desc = "Only this customer's returns (staff and partners).")] customer_id: Option<
            ID,
        >,
    ) -> Result<Connection<String, Return>> {
        let given = match &customer_id {
            Some(id) => Some(crate::domain::ids::CustomerId(
                gid::decode_as(Kind::Customer, id).ok_or_else(|| {
                    invalid_argument(crate::domain::ValidationError::new(
                        "customerId",
                        "is not a customer ID",
                    ))
                })?,
            )),
            None => None,
        };
        let customer = match (order_visibility(principal(ctx)), given) {
            (Some(Visibility::OwnedBy(me)), None) => Some(me),
            (Some(Visibility::OwnedBy(me)), Some(id)) if id == me => Some(me),
            // Someone else's returns look like none at all.
            (Some(Visibility::OwnedBy(_)), Some(_)) => {
                return Ok(Connection::new(false, false));
            }
            (Some(Visibility::All), given) => given,
            (None, _) => return Err(top_level("FORBIDDEN", "this needs the orders:read scope")),
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
            .returns_page(&statuses, customer, &request)
            .await
            .map_err(query_error)?;
        Ok(connection(page, Return))
    }
}
