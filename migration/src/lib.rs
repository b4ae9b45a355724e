//! Database migrations for Orderly. They run at start-up and by `orderly migrate`,
//! on SQLite and Postgres alike; constraints here back the invariants the services rely on.

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_initial;
mod m20261126_000002_event_location;
mod m20261129_000003_post_purchase;
mod m20261129_000004_notes_profile;
mod m20261129_000005_channels;
mod m20261203_000006_order_number;
mod m20261203_000007_webhooks_notifications;
mod m20261204_000008_waiting_queues;
mod m20261204_000009_payment_attempts;
mod m20261205_000010_event_outbox;

/// All migrations, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_initial::Migration),
            Box::new(m20261126_000002_event_location::Migration),
            Box::new(m20261129_000003_post_purchase::Migration),
            Box::new(m20261129_000004_notes_profile::Migration),
            Box::new(m20261129_000005_channels::Migration),
            Box::new(m20261203_000006_order_number::Migration),
            Box::new(m20261203_000007_webhooks_notifications::Migration),
            Box::new(m20261204_000008_waiting_queues::Migration),
            Box::new(m20261204_000009_payment_attempts::Migration),
            Box::new(m20261205_000010_event_outbox::Migration),
        ]
    }
}
