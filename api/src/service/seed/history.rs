//! The demo's history is not news: its events are taken off the outbox so no relay replays
//! them to subscribers or webhooks, and the notifications they would have caused are on
//! record as sent when each event happened, so a customer's portal shows "Your order is
//! confirmed", "Shipped" and "Delivered" for the demo orders as it would for real ones.

use chrono::{DateTime, Utc};
use entity::{event_outbox, notification, order_event};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait};

use super::super::{Result, Store};
use crate::domain::ids::OrderId;
use crate::domain::status::NotificationStatus;

impl Store {
    /// Takes the events of `orders` off the outbox (published) and records their notifications
    /// as sent (SKIPPED where the customer turned the channel off) at the event's time.
    pub(super) async fn settle_demo_history(&self, orders: &[OrderId]) -> Result<()> {
        let ids: Vec<i64> = orders.iter().map(|o| o.0).collect();
        let (_writer, txn) = self.begin_write().await?;
        let events = order_event::Entity::find()
            .filter(order_event::Column::OrderId.is_in(ids.clone()))
            .filter(
                order_event::Column::Id.in_subquery(
                    event_outbox::Entity::find()
                        .select_only()
                        .column(event_outbox::Column::EventId)
                        .into_query(),
                ),
            )
            .order_by_asc(order_event::Column::Id)
            .all(&txn)
            .await?;
        event_outbox::Entity::delete_many()
            .filter(event_outbox::Column::EventId.is_in(events.iter().map(|e| e.id)))
            .exec(&txn)
            .await?;
        self.queue_notifications(&txn, &events, 0).await?;
        let at_the_event = || {
            Expr::cust(
                "(SELECT \"order_events\".\"occurred_at\" FROM \"order_events\" \
                 WHERE \"order_events\".\"id\" = \"notifications\".\"event_id\")",
            )
        };
        notification::Entity::update_many()
            .col_expr(
                notification::Column::Status,
                Expr::value(NotificationStatus::Sent.as_ref()),
            )
            .col_expr(notification::Column::Attempts, Expr::value(1))
            .col_expr(notification::Column::SentAt, at_the_event())
            .col_expr(
                notification::Column::NextAttemptAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(notification::Column::OrderId.is_in(ids.clone()))
            .filter(notification::Column::Status.eq(NotificationStatus::Queued.as_ref()))
            .exec(&txn)
            .await?;
        notification::Entity::update_many()
            .col_expr(notification::Column::CreatedAt, at_the_event())
            .filter(notification::Column::OrderId.is_in(ids))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }
}
