//! Customers.

use crate::graphql::scalars::Timestamp;
use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object, Result};
use entity::customer;

use super::order::Order;
use super::{connection, global_id};
use crate::domain::ids::CustomerId;
use crate::gid::Kind;
use crate::graphql::error::{invalid_argument, query_error, top_level};
use crate::graphql::guard::{can_read_order, principal};
use crate::graphql::loaders::{AddressesOf, load_list};
use crate::graphql::scalars::Address;
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
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    /// Optimistic-concurrency version of the profile.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Whether they want e-mail notifications.
    async fn notify_by_email(&self) -> bool {
        self.0.notify_by_email
    }
    /// Whether they want SMS notifications.
    async fn notify_by_sms(&self) -> bool {
        self.0.notify_by_sms
    }
    /// Saved shipping addresses, oldest first.
    async fn addresses(&self, ctx: &Context<'_>) -> Result<Vec<CustomerAddress>> {
        Ok(load_list(ctx, AddressesOf(CustomerId(self.0.id)))
            .await?
            .into_iter()
            .map(CustomerAddress)
            .collect())
    }
    /// The saved address orders go to unless another is given.
    async fn default_address(&self, ctx: &Context<'_>) -> Result<Option<CustomerAddress>> {
        let saved: Vec<entity::customer_address::Model> =
            load_list(ctx, AddressesOf(CustomerId(self.0.id))).await?;
        Ok(saved
            .into_iter()
            .find(|a| a.is_default)
            .map(CustomerAddress))
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
        // One customer's orders (`me`, `customer(id)`): read ahead like `orders`.
        if !crate::graphql::prefetch::inside_a_list(ctx) {
            let orders: Vec<_> = page.items.iter().map(|(_, o)| o).collect();
            let nodes = crate::graphql::prefetch::connection_nodes(&ctx.look_ahead());
            crate::graphql::prefetch::orders(ctx, &orders, &nodes).await?;
        }
        Ok(connection(page, Order))
    }
}

/// A saved shipping address.
pub struct CustomerAddress(pub entity::customer_address::Model);

/// A customer's saved shipping address.
#[Object]
impl CustomerAddress {
    /// Opaque global ID (pass it as `shippingAddressId` when placing an order).
    async fn id(&self) -> ID {
        global_id(Kind::CustomerAddress, self.0.id)
    }
    /// "Home", "Office".
    async fn label(&self) -> Option<&str> {
        self.0.label.as_deref()
    }
    /// The address.
    async fn address(&self) -> Address {
        let a = &self.0;
        Address {
            name: a.name.clone(),
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            city: a.city.clone(),
            region: a.region.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.clone(),
            latitude: a.latitude,
            longitude: a.longitude,
        }
    }
    /// The customer's default.
    async fn is_default(&self) -> bool {
        self.0.is_default
    }
}
