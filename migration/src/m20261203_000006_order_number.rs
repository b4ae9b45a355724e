//! On Postgres an order gets its number (`#1001` for id 1) from a `BEFORE INSERT`
//! trigger when the insert leaves it out, so placing an order needs no `UPDATE` after
//! the insert to set it. SQLite cannot change the row being inserted from a trigger:
//! there the service still sets the number after the insert.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000006_order_number"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = m.get_connection();
        db.execute_unprepared(
            "CREATE OR REPLACE FUNCTION orderly_order_number() RETURNS trigger AS $$
             BEGIN
               IF NEW.number IS NULL THEN
                 NEW.number := '#' || (1000 + NEW.id);
               END IF;
               RETURN NEW;
             END
             $$ LANGUAGE plpgsql",
        )
        .await?;
        db.execute_unprepared(
            "CREATE TRIGGER orders_number BEFORE INSERT ON orders
             FOR EACH ROW EXECUTE FUNCTION orderly_order_number()",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = m.get_connection();
        db.execute_unprepared("DROP TRIGGER IF EXISTS orders_number ON orders")
            .await?;
        db.execute_unprepared("DROP FUNCTION IF EXISTS orderly_order_number()")
            .await?;
        Ok(())
    }
}
