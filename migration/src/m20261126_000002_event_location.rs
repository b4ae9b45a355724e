//! Events name the location they concern, so warehouse screens can follow one location's
//! queue without reading every event.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000002_event_location"
    }
}

#[derive(DeriveIden)]
enum OrderEvents {
    Table,
    LocationId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(OrderEvents::Table)
                .add_column(ColumnDef::new(OrderEvents::LocationId).big_integer().null())
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_order_events_location")
                .table(OrderEvents::Table)
                .col(OrderEvents::LocationId)
                .col(Alias::new("id"))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_order_events_location")
                .table(OrderEvents::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(OrderEvents::Table)
                .drop_column(OrderEvents::LocationId)
                .take(),
        )
        .await
    }
}
