//! Sales channels (web, stores, marketplaces, phone…) and what each sells per day.

use std::collections::BTreeMap;

use chrono::{NaiveDate, TimeZone, Utc};
use entity::{channel, order};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{Error, Result, Store};
use crate::domain::catalog::Code;
use crate::domain::status::OrderStatus;

/// Most days one summary covers.
pub const MAX_SUMMARY_DAYS: i64 = 366;

/// Orders and revenue of one channel on one (UTC) day, per currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelDay {
    pub channel: String,
    pub date: NaiveDate,
    pub currency: String,
    /// Orders placed (cancelled ones included).
    pub orders: i64,
    /// Orders cancelled outright.
    pub cancelled: i64,
    /// Totals of the orders not cancelled outright, in minor units.
    pub revenue: i64,
}

impl Store {
    /// Whether channel `code` exists: answered from memory once seen (channels are never
    /// deleted), else read once.
    pub(crate) async fn channel_exists(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        code: &str,
    ) -> Result<bool> {
        if self
            .known_channels
            .read()
            .is_ok_and(|known| known.contains(code))
        {
            return Ok(true);
        }
        let found = channel::Entity::find()
            .filter(channel::Column::Code.eq(code))
            .one(db)
            .await?
            .is_some();
        if found && let Ok(mut known) = self.known_channels.write() {
            known.insert(code.to_owned());
        }
        Ok(found)
    }

    /// Every channel, by code.
    pub async fn channels(&self) -> Result<Vec<channel::Model>> {
        Ok(channel::Entity::find()
            .order_by_asc(channel::Column::Code)
            .all(self.db())
            .await?)
    }

    /// Creates a channel; its code must be unused (`TAKEN` on `code`).
    #[tracing::instrument(skip(self))]
    pub async fn create_channel(&self, code: &Code, name: &str) -> Result<channel::Model> {
        channel::Entity::insert(channel::ActiveModel {
            code: Set(code.as_str().to_owned()),
            name: Set(name.to_owned()),
            created_at: Set(self.clock().now()),
            ..Default::default()
        })
        .exec_with_returning(self.db())
        .await
        .map_err(|e| Error::taken_on(e, "code", "a channel with this code already exists"))
    }

    /// Orders and revenue per channel per UTC day, for days `from` to `to` inclusive.
    pub async fn channel_summary(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<ChannelDay>> {
        let start = Utc.from_utc_datetime(&from.and_hms_opt(0, 0, 0).unwrap_or_default());
        let end = Utc.from_utc_datetime(
            &to.succ_opt()
                .unwrap_or(to)
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default(),
        );
        let rows: Vec<(String, chrono::DateTime<Utc>, String, i64, OrderStatus)> =
            order::Entity::find()
                .filter(order::Column::PlacedAt.gte(start))
                .filter(order::Column::PlacedAt.lt(end))
                .select_only()
                .column(order::Column::Channel)
                .column(order::Column::PlacedAt)
                .column(order::Column::Currency)
                .column(order::Column::Total)
                .column(order::Column::Status)
                .into_tuple()
                .all(self.db())
                .await?;
        let mut days: BTreeMap<(String, NaiveDate, String), ChannelDay> = BTreeMap::new();
        for (channel, placed, currency, total, status) in rows {
            let date = placed.date_naive();
            let day = days
                .entry((channel.clone(), date, currency.clone()))
                .or_insert_with(|| ChannelDay {
                    channel,
                    date,
                    currency,
                    orders: 0,
                    cancelled: 0,
                    revenue: 0,
                });
            day.orders += 1;
            if status == OrderStatus::Cancelled {
                day.cancelled += 1;
            } else {
                day.revenue += total;
            }
        }
        Ok(days.into_values().collect())
    }
}
