//! Customers.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object, Result};
use entity::customer;

use super::order::Order;
use super::{connection, global_id};
use crate::domain::ids::CustomerId;
use crate::gid::Kind;
use crate::graphql::error::{invalid_argument, query_error, top_level};
use crate::graphql::guard::{can_read_order, principal};
use crate::service::Store;
use crate::service::orders::{OrderQuery, OrderSort, Visibility};
use crate::service::page::PageRequest;

/// A buyer.
pub struct Customer(pub customer::Model);

/// A buyer.
#[Object]
impl Customer {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(Kind::Customer, self.0.id)
    }
    /// E-mail address (unique, lower case).
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// Full name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Phone number.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// IANA time zone; delivery labels ("Arriving tomorrow") are computed in it.
    async fn time_zone(&self) -> &str {
        &self.0.time_zone
    }
    /// When the customer was created.
    async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.created_at
    }
    /// The customer's orders, newest first.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
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
    ) -> Result<Connection<String, Order>> {
        let owner = CustomerId(self.0.id);
        if !can_read_order(principal(ctx), owner) {
            return Err(top_level(
                "FORBIDDEN",
                "you may not read this customer's orders",
            ));
        }
        let request = PageRequest::parse(first, after.as_deref(), last, before.as_deref())
            .map_err(invalid_argument)?;
        let query = OrderQuery {
            customer: Some(owner),
            ..OrderQuery::default()
        };
        let page = ctx
            .data::<Store>()?
            .orders_page(
                &query,
                OrderSort::PlacedAt,
                false,
                Visibility::OwnedBy(owner),
                &request,
            )
            .await
            .map_err(query_error)?;
        Ok(connection(page, Order))
    }
}
