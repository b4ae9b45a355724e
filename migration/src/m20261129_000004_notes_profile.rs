//! Notes with a visibility (customers see CUSTOMER notes only), and the customer's
//! profile: notification preferences and saved addresses.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261129_000004_notes_profile"
    }
}

#[derive(DeriveIden)]
enum OrderNotes {
    Table,
    Visibility,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
    NotifyByEmail,
    NotifyBySms,
}

#[derive(DeriveIden)]
enum CustomerAddresses {
    Table,
    Id,
    CustomerId,
    Label,
    Name,
    Line1,
    Line2,
    City,
    Region,
    PostalCode,
    Country,
    Latitude,
    Longitude,
    IsDefault,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(OrderNotes::Table)
                .add_column(string_len(OrderNotes::Visibility, 16).default("INTERNAL"))
                .take(),
        )
        .await?;
        // SQLite adds one column per statement.
        m.alter_table(
            Table::alter()
                .table(Customers::Table)
                .add_column(boolean(Customers::NotifyByEmail).default(true))
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Customers::Table)
                .add_column(boolean(Customers::NotifyBySms).default(false))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CustomerAddresses::Table)
                .col(big_pk_auto(CustomerAddresses::Id))
                .col(big_integer(CustomerAddresses::CustomerId))
                .col(string_len_null(CustomerAddresses::Label, 100))
                .col(string_len_null(CustomerAddresses::Name, 200))
                .col(string_len(CustomerAddresses::Line1, 200))
                .col(string_len_null(CustomerAddresses::Line2, 200))
                .col(string_len(CustomerAddresses::City, 100))
                .col(string_len_null(CustomerAddresses::Region, 100))
                .col(string_len(CustomerAddresses::PostalCode, 20))
                .col(string_len(CustomerAddresses::Country, 2))
                .col(double_null(CustomerAddresses::Latitude))
                .col(double_null(CustomerAddresses::Longitude))
                .col(boolean(CustomerAddresses::IsDefault).default(false))
                .col(timestamp_with_time_zone(CustomerAddresses::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(CustomerAddresses::Table, CustomerAddresses::CustomerId)
                        .to(Customers::Table, Customers::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_customer_addresses_customer")
                .table(CustomerAddresses::Table)
                .col(CustomerAddresses::CustomerId)
                .col(CustomerAddresses::Id)
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(CustomerAddresses::Table).take())
            .await?;
        for column in [Customers::NotifyBySms, Customers::NotifyByEmail] {
            m.alter_table(
                Table::alter()
                    .table(Customers::Table)
                    .drop_column(column)
                    .take(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(OrderNotes::Table)
                .drop_column(OrderNotes::Visibility)
                .take(),
        )
        .await
    }
}
