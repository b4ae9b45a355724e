//! Sales channels are real: every order names one that exists. The built-in ones are
//! written here, so a fresh database takes orders from the web, stores (`pos`),
//! marketplaces and the phone; staff add more with `createChannel`.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261129_000005_channels"
    }
}

#[derive(DeriveIden)]
enum Channels {
    Table,
    Code,
    Name,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut insert = Query::insert();
        insert.into_table(Channels::Table).columns([
            Channels::Code,
            Channels::Name,
            Channels::CreatedAt,
        ]);
        for (code, name) in [
            ("web", "Web store"),
            ("pos", "Stores (point of sale)"),
            ("marketplace", "Marketplaces"),
            ("phone", "Phone orders"),
        ] {
            insert.values_panic([code.into(), name.into(), Expr::current_timestamp()]);
        }
        insert.on_conflict(OnConflict::column(Channels::Code).do_nothing().to_owned());
        m.exec_stmt(insert).await
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        // Orders may name the built-in channels; they stay.
        Ok(())
    }
}
