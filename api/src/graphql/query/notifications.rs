//! `notifications`: customers read their own; staff and partners with `customers:read`
//! anyone's.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object, Result};

use crate::domain::ValidationError;
use crate::domain::ids::CustomerId;
use crate::gid::{self, Kind};
use crate::graphql::error::{invalid_argument, query_error, top_level};
use crate::graphql::guard::principal;
use crate::graphql::types::connection;
use crate::graphql::types::notifications::Notification;
use crate::service::Store;
use crate::service::page::PageRequest;

#[derive(Default)]
pub struct NotificationsQuery;

#[Object]
impl NotificationsQuery {
    /// Notifications, newest first: a customer's own (customers omit `customerId`), or
    /// anyone's for staff and partners with `customers:read`.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, None, child_complexity)")]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this customer's notifications (staff and partners).")]
        customer_id: Option<ID>,
        #[graphql(
            desc = "Return at most this many items from the start (at most 100; default 20)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor (an edge's `cursor`).")] after: Option<
            String,
        >,
    ) -> Result<Connection<String, Notification>> {
        let given = customer_id
            .map(|id| {
                gid::decode_as(Kind::Customer, &id)
                    .map(CustomerId)
                    .ok_or_else(|| {
                        invalid_argument(ValidationError::new("customerId", "is not a customer ID"))
                    })
            })
            .transpose()?;
        let who = principal(ctx);
        let customer = match (who.customer_id(), given) {
            (Some(me), None) => Some(me),
            (Some(me), Some(id)) if id == me => Some(me),
            // Someone else's notifications look like none at all.
            (Some(_), Some(_)) => return Ok(Connection::new(false, false)),
            (None, given) if who.has_scope(crate::auth::Scope::CustomersRead) => given,
            (None, _) => {
                return Err(top_level(
                    "FORBIDDEN",
                    "this needs the customers:read scope",
                ));
            }
        };
        let request =
            PageRequest::parse(first, after.as_deref(), None, None).map_err(invalid_argument)?;
        let page = ctx
            .data::<Store>()?
            .notifications_page(customer, &request)
            .await
            .map_err(query_error)?;
        Ok(connection(page, Notification))
    }
}
