//! Post-purchase: returns with their lines, refunds that remember how the provider call
//! went, payment operations (captures and voids sent to the provider after the commit),
//! and events that name the return they concern. The first migration's `returns`,
//! `return_lines` and `refunds` were never written to; they are replaced.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261129_000003_post_purchase"
    }
}

fn fk(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Restrict)
        .take()
}

fn index(
    table: impl IntoIden,
    name: &str,
    cols: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    if unique {
        stmt.unique();
    }
    stmt.take()
}

#[derive(DeriveIden)]
enum Returns {
    Table,
    Id,
    OrderId,
    CustomerId,
    Number,
    Status,
    CustomerNote,
    DeclineReason,
    Carrier,
    TrackingNumber,
    ReturnLocationId,
    Version,
    RequestedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ReturnLines {
    Table,
    Id,
    ReturnId,
    OrderLineId,
    Quantity,
    Reason,
    Note,
    QuantityReceived,
    Disposition,
}

#[derive(DeriveIden)]
enum Refunds {
    Table,
    Id,
    OrderId,
    PaymentId,
    ReturnId,
    Amount,
    ShippingAmount,
    Currency,
    Reason,
    Status,
    ProviderReference,
    Attempts,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PaymentOperations {
    Table,
    Id,
    PaymentId,
    OrderId,
    Kind,
    Amount,
    Currency,
    Status,
    Attempts,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrderEvents {
    Table,
    ReturnId,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum OrderLines {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Locations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["refunds", "return_lines", "returns"] {
            m.drop_table(Table::drop().table(Alias::new(table)).if_exists().take())
                .await?;
        }
        m.create_table(
            Table::create()
                .table(Returns::Table)
                .col(big_pk_auto(Returns::Id))
                .col(big_integer(Returns::OrderId))
                .col(big_integer(Returns::CustomerId))
                .col(string_len_uniq(Returns::Number, 48))
                .col(string_len(Returns::Status, 32))
                .col(text_null(Returns::CustomerNote))
                .col(text_null(Returns::DeclineReason))
                .col(string_len_null(Returns::Carrier, 100))
                .col(string_len_null(Returns::TrackingNumber, 100))
                .col(big_integer_null(Returns::ReturnLocationId))
                .col(integer(Returns::Version).default(1))
                .col(timestamp_with_time_zone(Returns::RequestedAt))
                .col(timestamp_with_time_zone(Returns::UpdatedAt))
                .foreign_key(&mut fk(
                    (Returns::Table, Returns::OrderId),
                    (Orders::Table, Orders::Id),
                ))
                .foreign_key(&mut fk(
                    (Returns::Table, Returns::CustomerId),
                    (Customers::Table, Customers::Id),
                ))
                .foreign_key(&mut fk(
                    (Returns::Table, Returns::ReturnLocationId),
                    (Locations::Table, Locations::Id),
                ))
                .check((
                    "ck_returns_version_positive",
                    Expr::col(Returns::Version).gte(1),
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            Returns::Table,
            "ix_returns_by_order",
            &["order_id", "id"],
            false,
        ))
        .await?;
        m.create_index(index(
            Returns::Table,
            "ix_returns_by_customer",
            &["customer_id", "id"],
            false,
        ))
        .await?;
        m.create_index(index(
            Returns::Table,
            "ix_returns_by_status",
            &["status", "id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(ReturnLines::Table)
                .col(big_pk_auto(ReturnLines::Id))
                .col(big_integer(ReturnLines::ReturnId))
                .col(big_integer(ReturnLines::OrderLineId))
                .col(integer(ReturnLines::Quantity))
                .col(string_len(ReturnLines::Reason, 32))
                .col(text_null(ReturnLines::Note))
                .col(integer(ReturnLines::QuantityReceived).default(0))
                .col(string_len_null(ReturnLines::Disposition, 16))
                .foreign_key(&mut fk(
                    (ReturnLines::Table, ReturnLines::ReturnId),
                    (Returns::Table, Returns::Id),
                ))
                .foreign_key(&mut fk(
                    (ReturnLines::Table, ReturnLines::OrderLineId),
                    (OrderLines::Table, OrderLines::Id),
                ))
                .check((
                    "ck_return_lines_quantity_positive",
                    Expr::col(ReturnLines::Quantity).gt(0),
                ))
                .check((
                    "ck_return_lines_received_range",
                    Expr::col(ReturnLines::QuantityReceived).gte(0).and(
                        Expr::col(ReturnLines::QuantityReceived)
                            .lte(Expr::col(ReturnLines::Quantity)),
                    ),
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            ReturnLines::Table,
            "ix_return_lines_by_return",
            &["return_id"],
            false,
        ))
        .await?;
        m.create_index(index(
            ReturnLines::Table,
            "ux_return_lines_line",
            &["return_id", "order_line_id"],
            true,
        ))
        .await?;
        m.create_index(index(
            ReturnLines::Table,
            "ix_return_lines_order_line",
            &["order_line_id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Refunds::Table)
                .col(big_pk_auto(Refunds::Id))
                .col(big_integer(Refunds::OrderId))
                .col(big_integer(Refunds::PaymentId))
                .col(big_integer_null(Refunds::ReturnId))
                .col(big_integer(Refunds::Amount))
                .col(big_integer(Refunds::ShippingAmount).default(0))
                .col(string_len(Refunds::Currency, 3))
                .col(text_null(Refunds::Reason))
                .col(string_len(Refunds::Status, 16))
                .col(string_len_null(Refunds::ProviderReference, 128))
                .col(integer(Refunds::Attempts).default(0))
                .col(text_null(Refunds::LastError))
                .col(timestamp_with_time_zone(Refunds::CreatedAt))
                .col(timestamp_with_time_zone(Refunds::UpdatedAt))
                .foreign_key(&mut fk(
                    (Refunds::Table, Refunds::OrderId),
                    (Orders::Table, Orders::Id),
                ))
                .foreign_key(&mut fk(
                    (Refunds::Table, Refunds::PaymentId),
                    (Payments::Table, Payments::Id),
                ))
                .foreign_key(&mut fk(
                    (Refunds::Table, Refunds::ReturnId),
                    (Returns::Table, Returns::Id),
                ))
                .check((
                    "ck_refunds_amount_positive",
                    Expr::col(Refunds::Amount).gt(0),
                ))
                .check((
                    "ck_refunds_shipping",
                    Expr::col(Refunds::ShippingAmount)
                        .gte(0)
                        .and(Expr::col(Refunds::ShippingAmount).lte(Expr::col(Refunds::Amount))),
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            Refunds::Table,
            "ix_refunds_by_order",
            &["order_id", "id"],
            false,
        ))
        .await?;
        // One refund per return: two receipts racing cannot both pay.
        m.create_index(index(
            Refunds::Table,
            "ux_refunds_return",
            &["return_id"],
            true,
        ))
        .await?;
        m.create_index(index(
            Refunds::Table,
            "ix_refunds_status",
            &["status", "id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(PaymentOperations::Table)
                .col(big_pk_auto(PaymentOperations::Id))
                .col(big_integer(PaymentOperations::PaymentId))
                .col(big_integer(PaymentOperations::OrderId))
                .col(string_len(PaymentOperations::Kind, 16))
                .col(big_integer(PaymentOperations::Amount))
                .col(string_len(PaymentOperations::Currency, 3))
                .col(string_len(PaymentOperations::Status, 16))
                .col(integer(PaymentOperations::Attempts).default(0))
                .col(text_null(PaymentOperations::LastError))
                .col(timestamp_with_time_zone(PaymentOperations::CreatedAt))
                .col(timestamp_with_time_zone(PaymentOperations::UpdatedAt))
                .foreign_key(&mut fk(
                    (PaymentOperations::Table, PaymentOperations::PaymentId),
                    (Payments::Table, Payments::Id),
                ))
                .foreign_key(&mut fk(
                    (PaymentOperations::Table, PaymentOperations::OrderId),
                    (Orders::Table, Orders::Id),
                ))
                .check((
                    "ck_payment_operations_amount",
                    Expr::col(PaymentOperations::Amount).gte(0),
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            PaymentOperations::Table,
            "ix_payment_operations_status",
            &["status", "id"],
            false,
        ))
        .await?;

        m.alter_table(
            Table::alter()
                .table(OrderEvents::Table)
                .add_column(ColumnDef::new(OrderEvents::ReturnId).big_integer().null())
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(OrderEvents::Table)
                .drop_column(OrderEvents::ReturnId)
                .take(),
        )
        .await?;
        // `returns`, `return_lines` and `refunds` stay: the first migration's `down` drops
        // them (their old shape was never used).
        m.drop_table(Table::drop().table(PaymentOperations::Table).take())
            .await
    }
}
