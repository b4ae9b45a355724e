//! `event_outbox`: The events not yet published, one row (the event's id) each. A trigger
//! adds the row with every insert into `order_events`; the relay deletes it when it has
//! published the event.

use sea_orm::entity::prelude::*;

/// A row of `event_outbox`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_outbox")]
pub struct Model {
    /// The unpublished event (`order_events.id`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: i64,
}

/// Joins are written in `service/` with explicit filters.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
