//! The events still to publish are kept in a table of their own, `event_outbox` (one
//! row, the event's id, per unpublished event), instead of a `published_at` on every
//! event. Marking an event published used to update its row in `order_events`: a copy of
//! the whole row (payload included) and an entry in each of its five indexes, for every
//! event, which under placement load was a fifth of Postgres' time. Now publishing
//! deletes the outbox row. A trigger adds the row with every insert into `order_events`,
//! in the same statement and transaction, whatever path writes the event.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000010_event_outbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("CREATE TABLE event_outbox (event_id bigint NOT NULL PRIMARY KEY)")
            .await?;
        db.execute_unprepared(
            "INSERT INTO event_outbox (event_id) \
             SELECT id FROM order_events WHERE published_at IS NULL",
        )
        .await?;
        if m.get_database_backend() == DbBackend::Postgres {
            // Once per statement, with the statement's new rows: a placement's events
            // (and a batch's) are one insert.
            db.execute_unprepared(
                "CREATE OR REPLACE FUNCTION orderly_event_outbox() RETURNS trigger AS $$
                 BEGIN
                   INSERT INTO event_outbox (event_id) SELECT id FROM new_events;
                   RETURN NULL;
                 END
                 $$ LANGUAGE plpgsql",
            )
            .await?;
            db.execute_unprepared(
                "CREATE TRIGGER order_events_outbox AFTER INSERT ON order_events
                 REFERENCING NEW TABLE AS new_events
                 FOR EACH STATEMENT EXECUTE FUNCTION orderly_event_outbox()",
            )
            .await?;
        } else {
            db.execute_unprepared(
                "CREATE TRIGGER order_events_outbox AFTER INSERT ON order_events
                 BEGIN INSERT INTO event_outbox (event_id) VALUES (NEW.id); END",
            )
            .await?;
        }
        db.execute_unprepared("DROP INDEX ix_order_events_unpublished")
            .await?;
        db.execute_unprepared("ALTER TABLE order_events DROP COLUMN published_at")
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let postgres = m.get_database_backend() == DbBackend::Postgres;
        db.execute_unprepared(if postgres {
            "ALTER TABLE order_events ADD COLUMN published_at timestamp with time zone NULL"
        } else {
            "ALTER TABLE order_events ADD COLUMN published_at timestamp_with_timezone_text NULL"
        })
        .await?;
        db.execute_unprepared(
            "UPDATE order_events SET published_at = occurred_at \
             WHERE id NOT IN (SELECT event_id FROM event_outbox)",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_order_events_unpublished ON order_events (published_at, id)",
        )
        .await?;
        if postgres {
            db.execute_unprepared("DROP TRIGGER IF EXISTS order_events_outbox ON order_events")
                .await?;
            db.execute_unprepared("DROP FUNCTION IF EXISTS orderly_event_outbox()")
                .await?;
        } else {
            db.execute_unprepared("DROP TRIGGER IF EXISTS order_events_outbox")
                .await?;
        }
        db.execute_unprepared("DROP TABLE event_outbox").await?;
        Ok(())
    }
}
