//! Payment attempts: every authorisation asked while placing an order is written down
//! (and committed) before the provider hears of it, so a crash between the provider's
//! answer and the order's commit leaves a row that a retry reuses and a sweeper voids.
//! The sweeper reads only the attempts still open (a partial index, as the queues in
//! `m20261204_000008` do); a retry finds its attempt by principal and key.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000009_payment_attempts"
    }
}

#[derive(DeriveIden)]
enum PaymentAttempts {
    Table,
    Id,
    Provider,
    Principal,
    ClientKey,
    RequestHash,
    Amount,
    Currency,
    Status,
    ProviderReference,
    OrderId,
    Attempts,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(PaymentAttempts::Table)
                .col(big_pk_auto(PaymentAttempts::Id))
                .col(string_len(PaymentAttempts::Provider, 64))
                .col(text(PaymentAttempts::Principal))
                .col(text_null(PaymentAttempts::ClientKey))
                .col(text(PaymentAttempts::RequestHash))
                .col(big_integer(PaymentAttempts::Amount))
                .col(string_len(PaymentAttempts::Currency, 3))
                .col(string_len(PaymentAttempts::Status, 16))
                .col(text_null(PaymentAttempts::ProviderReference))
                .col(big_integer_null(PaymentAttempts::OrderId))
                .col(integer(PaymentAttempts::Attempts).default(0))
                .col(text_null(PaymentAttempts::LastError))
                .col(timestamp_with_time_zone(PaymentAttempts::CreatedAt))
                .col(timestamp_with_time_zone(PaymentAttempts::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(PaymentAttempts::Table, PaymentAttempts::OrderId)
                        .to(Orders::Table, Orders::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .check((
                    "ck_payment_attempts_amount",
                    Expr::col(PaymentAttempts::Amount).gte(0),
                ))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_payment_attempts_client_key")
                .table(PaymentAttempts::Table)
                .col(PaymentAttempts::Principal)
                .col(PaymentAttempts::ClientKey)
                .take(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_payment_attempts_open ON payment_attempts \
                 (updated_at, id) WHERE status IN ('STARTED', 'VOIDING')",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(PaymentAttempts::Table).take())
            .await
    }
}
