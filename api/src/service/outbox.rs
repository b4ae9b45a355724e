//! The outbox side of live updates: publishing committed events in order, and the
//! "arriving tomorrow" notices. Both are safe to run on every instance at once.

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use entity::{customer, event_outbox, fulfillment_order, order, order_event};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};

use super::bus::EventBus;
use super::changes::{NewEvent, lock_order, record_change};
use super::{Error, Result, Store};
use crate::domain::ids::OrderId;
use crate::domain::status::{FulfillmentStatus, OrderEventType};

impl Store {
    /// Publishes up to `batch` unpublished events (those in `event_outbox`), oldest
    /// first, takes them off the outbox and, in the same transaction, queues their webhook
    /// deliveries and customer notifications; returns how many. If the bus fails, nothing
    /// is taken off and the events wait. On Postgres the outbox rows are claimed with `FOR
    /// UPDATE SKIP LOCKED` inside one transaction, so several relays share the work
    /// without publishing an event twice. On SQLite the bus is called outside the write
    /// lock (a slow or absent Redis must not stall every writer) and only the taking off
    /// is a write; a second relay on the same file could then publish an event twice,
    /// which streams drop by its sequence.
    pub async fn publish_pending(&self, bus: &dyn EventBus, batch: u64) -> Result<usize> {
        let unpublished = |lock: bool| {
            let mut waiting = event_outbox::Entity::find()
                .select_only()
                .column(event_outbox::Column::EventId)
                .order_by_asc(event_outbox::Column::EventId)
                .limit(batch);
            if lock {
                waiting = waiting.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
            }
            order_event::Entity::find()
                .filter(order_event::Column::Id.in_subquery(waiting.into_query()))
                .order_by_asc(order_event::Column::Id)
        };
        let publish_all = async |rows: &[order_event::Model]| -> Result<()> {
            for row in rows {
                bus.publish(row)
                    .await
                    .map_err(|e| Error::Bus(e.to_string()))?;
            }
            Ok(())
        };
        let (txn, rows, _writer) = if self.write_gate.is_some() {
            let rows = unpublished(false).all(self.db()).await?;
            if rows.is_empty() {
                return Ok(0);
            }
            publish_all(&rows).await?;
            let (writer, txn) = self.begin_write().await?;
            (txn, rows, writer)
        } else {
            let (writer, txn) = self.begin_write().await?;
            let rows = unpublished(true).all(&txn).await?;
            if rows.is_empty() {
                return Ok(0);
            }
            publish_all(&rows).await?;
            (txn, rows, writer)
        };
        event_outbox::Entity::delete_many()
            .filter(event_outbox::Column::EventId.is_in(rows.iter().map(|r| r.id)))
            .exec(&txn)
            .await?;
        let queued = self.queue_webhooks(&txn, &rows).await?;
        let (told, leased) = self
            .queue_notifications(&txn, &rows, self.handoff.room())
            .await?;
        txn.commit().await?;
        self.handoff.give(leased);
        if queued > 0 {
            self.webhooks_queued();
        }
        if told > 0 {
            self.notifications_queued();
        }
        Ok(rows.len())
    }

    /// Vacuums `event_outbox` on Postgres (SQLite's b-tree drops deleted rows itself).
    /// Every published event leaves a dead row there, and the relay's claim reads the
    /// outbox's index from its oldest entry: until a vacuum removes them, each claim walks
    /// the entries of every event taken since the last one (121,159 dead rows, autovacuum
    /// off: 283 index pages and 1.4 ms for a claim that found nothing). Autovacuum may be
    /// off, or behind on a busy server, so the relay does not wait for it. The table holds
    /// only the few unpublished ids, so this takes milliseconds; it locks nothing that
    /// placement or the relay's claims take.
    pub async fn vacuum_outbox(&self) -> Result<()> {
        if self.write_gate.is_none() {
            self.db()
                .execute_unprepared("VACUUM (SKIP_LOCKED) event_outbox")
                .await?;
        }
        Ok(())
    }

    /// Appends one `ARRIVING_TOMORROW` event for every shipped fulfilment order whose
    /// estimate is tomorrow in its customer's time zone; returns how many. A conditional
    /// update on `arriving_tomorrow_notified_on` makes it exactly once, however many
    /// instances run this at the same moment.
    pub async fn announce_arriving_tomorrow(&self) -> Result<usize> {
        let now = self.clock().now();
        let today = now.date_naive();
        // Time zones put "tomorrow" within a day either side of UTC's.
        let (from, to) = (today, today.checked_add_days(Days::new(3)).unwrap_or(today));
        let candidates = fulfillment_order::Entity::find()
            .filter(
                fulfillment_order::Column::Status
                    .is_in([FulfillmentStatus::Shipped, FulfillmentStatus::InTransit]),
            )
            .filter(fulfillment_order::Column::EstimatedEarliest.between(from, to))
            .filter(
                Condition::any()
                    .add(fulfillment_order::Column::ArrivingTomorrowNotifiedOn.is_null())
                    .add(
                        Expr::col(fulfillment_order::Column::ArrivingTomorrowNotifiedOn)
                            .ne(Expr::col(fulfillment_order::Column::EstimatedEarliest)),
                    ),
            )
            .all(self.db())
            .await?;
        if candidates.is_empty() {
            return Ok(0);
        }
        let owners: HashMap<i64, i64> = order::Entity::find()
            .filter(order::Column::Id.is_in(candidates.iter().map(|f| f.order_id)))
            .select_only()
            .column(order::Column::Id)
            .column(order::Column::CustomerId)
            .into_tuple::<(i64, i64)>()
            .all(self.db())
            .await?
            .into_iter()
            .collect();
        let customer_zones: HashMap<i64, chrono_tz::Tz> = customer::Entity::find()
            .filter(customer::Column::Id.is_in(owners.values().copied()))
            .select_only()
            .column(customer::Column::Id)
            .column(customer::Column::TimeZone)
            .into_tuple::<(i64, String)>()
            .all(self.db())
            .await?
            .into_iter()
            .map(|(id, zone)| (id, zone.parse().unwrap_or(chrono_tz::UTC)))
            .collect();
        let zones: HashMap<i64, chrono_tz::Tz> = owners
            .iter()
            .map(|(order, owner)| {
                (
                    *order,
                    customer_zones.get(owner).copied().unwrap_or(chrono_tz::UTC),
                )
            })
            .collect();
        let mut announced = 0;
        for fo in candidates {
            let zone = zones.get(&fo.order_id).copied().unwrap_or(chrono_tz::UTC);
            let local_today = now.with_timezone(&zone).date_naive();
            let Some(day) = fo.estimated_earliest else {
                continue;
            };
            if local_today.checked_add_days(Days::new(1)) != Some(day) {
                continue;
            }
            if self.announce_one(&fo, day).await? {
                announced += 1;
            }
        }
        Ok(announced)
    }

    async fn announce_one(&self, fo: &fulfillment_order::Model, day: NaiveDate) -> Result<bool> {
        let now = self.clock().now();
        let (_writer, txn) = self.begin_write().await?;
        let Some(order) = lock_order(&txn, OrderId(fo.order_id)).await? else {
            return Ok(false);
        };
        let claimed = fulfillment_order::Entity::update_many()
            .col_expr(
                fulfillment_order::Column::ArrivingTomorrowNotifiedOn,
                Expr::value(day),
            )
            .filter(fulfillment_order::Column::Id.eq(fo.id))
            .filter(fulfillment_order::Column::EstimatedEarliest.eq(day))
            .filter(
                Condition::any()
                    .add(fulfillment_order::Column::ArrivingTomorrowNotifiedOn.is_null())
                    .add(fulfillment_order::Column::ArrivingTomorrowNotifiedOn.ne(day)),
            )
            .exec(&txn)
            .await?;
        if claimed.rows_affected != 1 {
            return Ok(false);
        }
        let event = NewEvent::new(OrderEventType::ArrivingTomorrow)
            .fulfillment(fo.id, fo.location_id)
            .message(format!("Arriving tomorrow, {}", day.format("%A %b %-d")))
            .payload(serde_json::json!({ "estimatedEarliest": day }));
        record_change(&txn, &order, vec![event], "scheduler", now, |_| {}).await?;
        txn.commit().await?;
        self.events_committed();
        Ok(true)
    }
}
