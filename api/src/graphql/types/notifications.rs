//! Customer notifications: what was said to whom, on which channel, and whether it went.

use crate::graphql::scalars::Timestamp;
use async_graphql::{Context, ID, Object, Result};
use entity::notification;

use super::customer::Customer;
use super::global_id;
use super::order::Order;
use crate::domain::ids::{CustomerId, OrderId};
use crate::gid::Kind;
use crate::graphql::enums::{NotificationChannel, NotificationKind, NotificationStatus};
use crate::graphql::loaders::{load, load_required};

/// A notification.
pub struct Notification(pub notification::Model);

/// One message to a customer about one order event on one channel, rendered in the
/// customer's time zone ("Arriving tomorrow", "Delivered Nov 24").
#[Object]
impl Notification {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(Kind::Notification, self.0.id)
    }
    /// Who it is for.
    async fn customer(&self, ctx: &Context<'_>) -> Result<Customer> {
        Ok(Customer(
            load_required(ctx, CustomerId(self.0.customer_id)).await?,
        ))
    }
    /// The order it is about.
    async fn order(&self, ctx: &Context<'_>) -> Result<Option<Order>> {
        let Some(id) = self.0.order_id else {
            return Ok(None);
        };
        Ok(load(ctx, OrderId(id)).await?.map(Order))
    }
    /// What it tells.
    async fn kind(&self) -> NotificationKind {
        self.0.kind.into()
    }
    /// How.
    async fn channel(&self) -> NotificationChannel {
        self.0.channel.into()
    }
    /// The e-mail address or phone number (empty when the customer has none).
    async fn to(&self) -> &str {
        &self.0.recipient
    }
    /// The e-mail's subject (null for SMS).
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }
    /// The text.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// Where it stands.
    async fn status(&self) -> NotificationStatus {
        self.0.status.into()
    }
    /// Sending attempts so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// Why it was skipped, or why the last attempt failed.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// When it was written.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    /// When the sender took it.
    async fn sent_at(&self) -> Option<Timestamp> {
        self.0.sent_at.map(Timestamp)
    }
}
