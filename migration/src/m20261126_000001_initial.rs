//! The whole data model of DESIGN.md in one migration: catalogue and stock, orders and
//! their fulfilment, payments, returns, the event outbox, idempotency and API keys.
//! CHECK and UNIQUE constraints make the invariants hold even if a service has a bug.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000001_initial"
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
    table: impl IntoTableRef,
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Customers::Table)
                .col(big_pk_auto(Customers::Id))
                .col(string_len_uniq(Customers::Email, 254))
                .col(string_len(Customers::Name, 200))
                .col(string_len_null(Customers::Phone, 40))
                .col(string_len(Customers::TimeZone, 64))
                .col(integer(Customers::Version).default(1))
                .col(timestamp_with_time_zone(Customers::CreatedAt))
                .col(timestamp_with_time_zone(Customers::UpdatedAt))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Channels::Table)
                .col(big_pk_auto(Channels::Id))
                .col(string_len_uniq(Channels::Code, 64))
                .col(string_len(Channels::Name, 200))
                .col(timestamp_with_time_zone(Channels::CreatedAt))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Locations::Table)
                .col(big_pk_auto(Locations::Id))
                .col(string_len_uniq(Locations::Code, 64))
                .col(string_len(Locations::Name, 200))
                .col(string_len(Locations::Kind, 16))
                .col(string_len_null(Locations::AddressName, 200))
                .col(string_len(Locations::Line1, 200))
                .col(string_len_null(Locations::Line2, 200))
                .col(string_len(Locations::City, 100))
                .col(string_len_null(Locations::Region, 100))
                .col(string_len(Locations::PostalCode, 20))
                .col(string_len(Locations::Country, 2))
                .col(double_null(Locations::Latitude))
                .col(double_null(Locations::Longitude))
                .col(text(Locations::ShipsTo))
                .col(integer(Locations::Priority).default(0))
                .col(boolean(Locations::Active).default(true))
                .col(integer(Locations::Version).default(1))
                .col(timestamp_with_time_zone(Locations::CreatedAt))
                .col(timestamp_with_time_zone(Locations::UpdatedAt))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Skus::Table)
                .col(big_pk_auto(Skus::Id))
                .col(string_len_uniq(Skus::Code, 64))
                .col(string_len(Skus::Name, 200))
                .col(big_integer(Skus::PriceAmount))
                .col(string_len(Skus::Currency, 3))
                .col(integer_null(Skus::WeightGrams))
                .col(boolean(Skus::Active).default(true))
                .col(integer(Skus::Version).default(1))
                .col(timestamp_with_time_zone(Skus::CreatedAt))
                .col(timestamp_with_time_zone(Skus::UpdatedAt))
                .check(("ck_skus_price", Expr::col(Skus::PriceAmount).gte(0)))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(InventoryLevels::Table)
                .col(big_pk_auto(InventoryLevels::Id))
                .col(big_integer(InventoryLevels::LocationId))
                .col(big_integer(InventoryLevels::SkuId))
                .col(integer(InventoryLevels::OnHand).default(0))
                .col(integer(InventoryLevels::Reserved).default(0))
                .col(integer(InventoryLevels::Version).default(1))
                .col(timestamp_with_time_zone(InventoryLevels::UpdatedAt))
                .foreign_key(&mut fk(
                    (InventoryLevels::Table, InventoryLevels::LocationId),
                    (Locations::Table, Locations::Id),
                ))
                .foreign_key(&mut fk(
                    (InventoryLevels::Table, InventoryLevels::SkuId),
                    (Skus::Table, Skus::Id),
                ))
                .check((
                    "ck_inventory_on_hand",
                    Expr::col(InventoryLevels::OnHand).gte(0),
                ))
                .check((
                    "ck_inventory_reserved",
                    Expr::col(InventoryLevels::Reserved).gte(0),
                ))
                .check((
                    "ck_inventory_reserved_le_on_hand",
                    Expr::col(InventoryLevels::Reserved).lte(Expr::col(InventoryLevels::OnHand)),
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            InventoryLevels::Table,
            "ux_inventory_location_sku",
            &["location_id", "sku_id"],
            true,
        ))
        .await?;
        m.create_index(index(
            InventoryLevels::Table,
            "ix_inventory_sku",
            &["sku_id"],
            false,
        ))
        .await?;

        // The stock ledger: every manual change of on-hand stock, with who and why.
        m.create_table(
            Table::create()
                .table(InventoryAdjustments::Table)
                .col(big_pk_auto(InventoryAdjustments::Id))
                .col(big_integer(InventoryAdjustments::InventoryLevelId))
                .col(integer(InventoryAdjustments::Delta))
                .col(integer(InventoryAdjustments::OnHandAfter))
                .col(string_len(InventoryAdjustments::Reason, 500))
                .col(string_len(InventoryAdjustments::Actor, 200))
                .col(timestamp_with_time_zone(InventoryAdjustments::CreatedAt))
                .foreign_key(&mut fk(
                    (
                        InventoryAdjustments::Table,
                        InventoryAdjustments::InventoryLevelId,
                    ),
                    (InventoryLevels::Table, InventoryLevels::Id),
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            InventoryAdjustments::Table,
            "ix_inventory_adjustments_level",
            &["inventory_level_id", "id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Orders::Table)
                .col(big_pk_auto(Orders::Id))
                .col(string_len_uniq(Orders::Number, 32))
                .col(big_integer(Orders::CustomerId))
                .col(string_len(Orders::Channel, 64))
                .col(string_len(Orders::Status, 32))
                .col(string_len(Orders::PaymentStatus, 32))
                .col(string_len_null(Orders::ReturnStatus, 32))
                .col(string_len(Orders::Currency, 3))
                .col(big_integer(Orders::Subtotal))
                .col(big_integer(Orders::ShippingTotal))
                .col(big_integer(Orders::TaxTotal))
                .col(big_integer(Orders::Total))
                .col(string_len_null(Orders::ShipName, 200))
                .col(string_len(Orders::ShipLine1, 200))
                .col(string_len_null(Orders::ShipLine2, 200))
                .col(string_len(Orders::ShipCity, 100))
                .col(string_len_null(Orders::ShipRegion, 100))
                .col(string_len(Orders::ShipPostalCode, 20))
                .col(string_len(Orders::ShipCountry, 2))
                .col(double_null(Orders::ShipLatitude))
                .col(double_null(Orders::ShipLongitude))
                .col(string_len(Orders::ShippingMethod, 16))
                .col(string_len(Orders::RoutingStrategy, 16))
                .col(text(Orders::RoutingReason))
                .col(text_null(Orders::Note))
                .col(text_null(Orders::CancelReason))
                .col(timestamp_with_time_zone(Orders::PlacedAt))
                .col(timestamp_with_time_zone(Orders::UpdatedAt))
                .col(timestamp_with_time_zone_null(Orders::CancelledAt))
                .col(integer(Orders::LastSequence).default(0))
                .col(integer(Orders::Version).default(1))
                .foreign_key(&mut fk(
                    (Orders::Table, Orders::CustomerId),
                    (Customers::Table, Customers::Id),
                ))
                .check(("ck_orders_totals", Expr::col(Orders::Total).gte(0)))
                .take(),
        )
        .await?;
        m.create_index(index(
            Orders::Table,
            "ix_orders_customer",
            &["customer_id", "placed_at", "id"],
            false,
        ))
        .await?;
        m.create_index(index(
            Orders::Table,
            "ix_orders_placed_at",
            &["placed_at", "id"],
            false,
        ))
        .await?;
        m.create_index(index(
            Orders::Table,
            "ix_orders_updated_at",
            &["updated_at", "id"],
            false,
        ))
        .await?;
        m.create_index(index(
            Orders::Table,
            "ix_orders_status",
            &["status", "placed_at"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(OrderLines::Table)
                .col(big_pk_auto(OrderLines::Id))
                .col(big_integer(OrderLines::OrderId))
                .col(integer(OrderLines::LineNumber))
                .col(big_integer(OrderLines::SkuId))
                .col(integer(OrderLines::Quantity))
                .col(big_integer(OrderLines::UnitPrice))
                .col(integer(OrderLines::QuantityFulfilled).default(0))
                .col(integer(OrderLines::QuantityCancelled).default(0))
                .foreign_key(&mut fk(
                    (OrderLines::Table, OrderLines::OrderId),
                    (Orders::Table, Orders::Id),
                ))
                .foreign_key(&mut fk(
                    (OrderLines::Table, OrderLines::SkuId),
                    (Skus::Table, Skus::Id),
                ))
                .check((
                    "ck_order_lines_quantity",
                    Expr::col(OrderLines::Quantity).gt(0),
                ))
                .check((
                    "ck_order_lines_accounted",
                    Expr::col(OrderLines::QuantityFulfilled)
                        .add(Expr::col(OrderLines::QuantityCancelled))
                        .lte(Expr::col(OrderLines::Quantity)),
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            OrderLines::Table,
            "ux_order_lines_number",
            &["order_id", "line_number"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(FulfillmentOrders::Table)
                .col(big_pk_auto(FulfillmentOrders::Id))
                .col(big_integer(FulfillmentOrders::OrderId))
                .col(big_integer(FulfillmentOrders::LocationId))
                .col(string_len(FulfillmentOrders::Status, 32))
                .col(string_len(FulfillmentOrders::ShippingMethod, 16))
                .col(string_len_null(FulfillmentOrders::Carrier, 64))
                .col(string_len_null(FulfillmentOrders::TrackingNumber, 128))
                .col(string_len_null(FulfillmentOrders::TrackingUrl, 512))
                .col(timestamp_with_time_zone_null(FulfillmentOrders::ShippedAt))
                .col(timestamp_with_time_zone_null(
                    FulfillmentOrders::DeliveredAt,
                ))
                .col(date_null(FulfillmentOrders::EstimatedEarliest))
                .col(date_null(FulfillmentOrders::EstimatedLatest))
                .col(date_null(FulfillmentOrders::ArrivingTomorrowNotifiedOn))
                .col(integer(FulfillmentOrders::Version).default(1))
                .col(timestamp_with_time_zone(FulfillmentOrders::CreatedAt))
                .col(timestamp_with_time_zone(FulfillmentOrders::UpdatedAt))
                .foreign_key(&mut fk(
                    (FulfillmentOrders::Table, FulfillmentOrders::OrderId),
                    (Orders::Table, Orders::Id),
                ))
                .foreign_key(&mut fk(
                    (FulfillmentOrders::Table, FulfillmentOrders::LocationId),
                    (Locations::Table, Locations::Id),
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            FulfillmentOrders::Table,
            "ix_fulfillment_orders_order",
            &["order_id"],
            false,
        ))
        .await?;
        m.create_index(index(
            FulfillmentOrders::Table,
            "ix_fulfillment_orders_queue",
            &["location_id", "status", "id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(FulfillmentOrderLines::Table)
                .col(big_pk_auto(FulfillmentOrderLines::Id))
                .col(big_integer(FulfillmentOrderLines::FulfillmentOrderId))
                .col(big_integer(FulfillmentOrderLines::OrderLineId))
                .col(big_integer(FulfillmentOrderLines::SkuId))
                .col(integer(FulfillmentOrderLines::Quantity))
                .foreign_key(&mut fk(
                    (
                        FulfillmentOrderLines::Table,
                        FulfillmentOrderLines::FulfillmentOrderId,
                    ),
                    (FulfillmentOrders::Table, FulfillmentOrders::Id),
                ))
                .foreign_key(&mut fk(
                    (
                        FulfillmentOrderLines::Table,
                        FulfillmentOrderLines::OrderLineId,
                    ),
                    (OrderLines::Table, OrderLines::Id),
                ))
                .foreign_key(&mut fk(
                    (FulfillmentOrderLines::Table, FulfillmentOrderLines::SkuId),
                    (Skus::Table, Skus::Id),
                ))
                .check((
                    "ck_fulfillment_order_lines_quantity",
                    Expr::col(FulfillmentOrderLines::Quantity).gt(0),
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            FulfillmentOrderLines::Table,
            "ix_fulfillment_order_lines_fo",
            &["fulfillment_order_id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Payments::Table)
                .col(big_pk_auto(Payments::Id))
                .col(big_integer(Payments::OrderId))
                .col(string_len(Payments::Provider, 64))
                .col(string_len_null(Payments::ProviderReference, 128))
                .col(string_len(Payments::Status, 32))
                .col(string_len(Payments::Currency, 3))
                .col(big_integer(Payments::AmountAuthorized).default(0))
                .col(big_integer(Payments::AmountCaptured).default(0))
                .col(big_integer(Payments::AmountRefunded).default(0))
                .col(integer(Payments::Version).default(1))
                .col(timestamp_with_time_zone(Payments::CreatedAt))
                .col(timestamp_with_time_zone(Payments::UpdatedAt))
                .foreign_key(&mut fk(
                    (Payments::Table, Payments::OrderId),
                    (Orders::Table, Orders::Id),
                ))
                .check((
                    "ck_payments_captured",
                    Expr::col(Payments::AmountCaptured).gte(0),
                ))
                .check((
                    "ck_payments_refunded",
                    Expr::col(Payments::AmountRefunded).lte(Expr::col(Payments::AmountCaptured)),
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            Payments::Table,
            "ix_payments_order",
            &["order_id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Returns::Table)
                .col(big_pk_auto(Returns::Id))
                .col(big_integer(Returns::OrderId))
                .col(string_len_uniq(Returns::Number, 32))
                .col(string_len(Returns::Status, 32))
                .col(text_null(Returns::Reason))
                .col(integer(Returns::Version).default(1))
                .col(timestamp_with_time_zone(Returns::CreatedAt))
                .col(timestamp_with_time_zone(Returns::UpdatedAt))
                .foreign_key(&mut fk(
                    (Returns::Table, Returns::OrderId),
                    (Orders::Table, Orders::Id),
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            Returns::Table,
            "ix_returns_order",
            &["order_id"],
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
                .col(integer(ReturnLines::QuantityReceived).default(0))
                .col(boolean(ReturnLines::Restock).default(true))
                .col(text_null(ReturnLines::Reason))
                .foreign_key(&mut fk(
                    (ReturnLines::Table, ReturnLines::ReturnId),
                    (Returns::Table, Returns::Id),
                ))
                .foreign_key(&mut fk(
                    (ReturnLines::Table, ReturnLines::OrderLineId),
                    (OrderLines::Table, OrderLines::Id),
                ))
                .check((
                    "ck_return_lines_quantity",
                    Expr::col(ReturnLines::Quantity).gt(0),
                ))
                .check((
                    "ck_return_lines_received",
                    Expr::col(ReturnLines::QuantityReceived).lte(Expr::col(ReturnLines::Quantity)),
                ))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Refunds::Table)
                .col(big_pk_auto(Refunds::Id))
                .col(big_integer(Refunds::OrderId))
                .col(big_integer(Refunds::PaymentId))
                .col(big_integer_null(Refunds::ReturnId))
                .col(big_integer(Refunds::Amount))
                .col(string_len(Refunds::Currency, 3))
                .col(text_null(Refunds::Reason))
                .col(string_len(Refunds::Status, 32))
                .col(string_len_null(Refunds::ProviderReference, 128))
                .col(timestamp_with_time_zone(Refunds::CreatedAt))
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
                .check(("ck_refunds_amount", Expr::col(Refunds::Amount).gt(0)))
                .take(),
        )
        .await?;
        m.create_index(index(
            Refunds::Table,
            "ix_refunds_order",
            &["order_id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(OrderNotes::Table)
                .col(big_pk_auto(OrderNotes::Id))
                .col(big_integer(OrderNotes::OrderId))
                .col(string_len(OrderNotes::Author, 200))
                .col(text(OrderNotes::Body))
                .col(timestamp_with_time_zone(OrderNotes::CreatedAt))
                .foreign_key(&mut fk(
                    (OrderNotes::Table, OrderNotes::OrderId),
                    (Orders::Table, Orders::Id),
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            OrderNotes::Table,
            "ix_order_notes_order",
            &["order_id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(OrderEvents::Table)
                .col(big_pk_auto(OrderEvents::Id))
                .col(big_integer(OrderEvents::OrderId))
                .col(integer(OrderEvents::Sequence))
                .col(string_len(OrderEvents::EventType, 32))
                .col(big_integer_null(OrderEvents::FulfillmentOrderId))
                .col(big_integer(OrderEvents::CustomerId))
                .col(text_null(OrderEvents::Message))
                .col(text(OrderEvents::Payload))
                .col(string_len(OrderEvents::Actor, 200))
                .col(timestamp_with_time_zone(OrderEvents::OccurredAt))
                .col(timestamp_with_time_zone_null(OrderEvents::PublishedAt))
                .foreign_key(&mut fk(
                    (OrderEvents::Table, OrderEvents::OrderId),
                    (Orders::Table, Orders::Id),
                ))
                .check((
                    "ck_order_events_sequence",
                    Expr::col(OrderEvents::Sequence).gt(0),
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            OrderEvents::Table,
            "ux_order_events_sequence",
            &["order_id", "sequence"],
            true,
        ))
        .await?;
        m.create_index(index(
            OrderEvents::Table,
            "ix_order_events_unpublished",
            &["published_at", "id"],
            false,
        ))
        .await?;
        m.create_index(index(
            OrderEvents::Table,
            "ix_order_events_customer",
            &["customer_id", "id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(big_pk_auto(IdempotencyKeys::Id))
                .col(string_len(IdempotencyKeys::Principal, 200))
                .col(string_len(IdempotencyKeys::Key, 200))
                .col(string_len(IdempotencyKeys::RequestHash, 64))
                .col(big_integer_null(IdempotencyKeys::OrderId))
                .col(text_null(IdempotencyKeys::Response))
                .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                .take(),
        )
        .await?;
        m.create_index(index(
            IdempotencyKeys::Table,
            "ux_idempotency_principal_key",
            &["principal", "key"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(ApiKeys::Table)
                .col(big_pk_auto(ApiKeys::Id))
                .col(string_len(ApiKeys::Name, 200))
                .col(string_len(ApiKeys::Prefix, 16))
                .col(string_len_uniq(ApiKeys::KeyHash, 64))
                .col(text(ApiKeys::Scopes))
                .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "api_keys",
            "idempotency_keys",
            "order_events",
            "order_notes",
            "refunds",
            "return_lines",
            "returns",
            "payments",
            "fulfillment_order_lines",
            "fulfillment_orders",
            "order_lines",
            "orders",
            "inventory_adjustments",
            "inventory_levels",
            "skus",
            "locations",
            "channels",
            "customers",
        ] {
            m.drop_table(Table::drop().table(Alias::new(table)).take())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
    Email,
    Name,
    Phone,
    TimeZone,
    Version,
    CreatedAt,
    UpdatedAt,
}
#[derive(DeriveIden)]
enum Channels {
    Table,
    Id,
    Code,
    Name,
    CreatedAt,
}
#[derive(DeriveIden)]
enum Locations {
    Table,
    Id,
    Code,
    Name,
    Kind,
    AddressName,
    Line1,
    Line2,
    City,
    Region,
    PostalCode,
    Country,
    Latitude,
    Longitude,
    ShipsTo,
    Priority,
    Active,
    Version,
    CreatedAt,
    UpdatedAt,
}
#[derive(DeriveIden)]
enum Skus {
    Table,
    Id,
    Code,
    Name,
    PriceAmount,
    Currency,
    WeightGrams,
    Active,
    Version,
    CreatedAt,
    UpdatedAt,
}
#[derive(DeriveIden)]
enum InventoryLevels {
    Table,
    Id,
    LocationId,
    SkuId,
    OnHand,
    Reserved,
    Version,
    UpdatedAt,
}
#[derive(DeriveIden)]
enum InventoryAdjustments {
    Table,
    Id,
    InventoryLevelId,
    Delta,
    OnHandAfter,
    Reason,
    Actor,
    CreatedAt,
}
#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    Number,
    CustomerId,
    Channel,
    Status,
    PaymentStatus,
    ReturnStatus,
    Currency,
    Subtotal,
    ShippingTotal,
    TaxTotal,
    Total,
    ShipName,
    ShipLine1,
    ShipLine2,
    ShipCity,
    ShipRegion,
    ShipPostalCode,
    ShipCountry,
    ShipLatitude,
    ShipLongitude,
    ShippingMethod,
    RoutingStrategy,
    RoutingReason,
    Note,
    CancelReason,
    PlacedAt,
    UpdatedAt,
    CancelledAt,
    LastSequence,
    Version,
}
#[derive(DeriveIden)]
enum OrderLines {
    Table,
    Id,
    OrderId,
    LineNumber,
    SkuId,
    Quantity,
    UnitPrice,
    QuantityFulfilled,
    QuantityCancelled,
}
#[derive(DeriveIden)]
enum FulfillmentOrders {
    Table,
    Id,
    OrderId,
    LocationId,
    Status,
    ShippingMethod,
    Carrier,
    TrackingNumber,
    TrackingUrl,
    ShippedAt,
    DeliveredAt,
    EstimatedEarliest,
    EstimatedLatest,
    ArrivingTomorrowNotifiedOn,
    Version,
    CreatedAt,
    UpdatedAt,
}
#[derive(DeriveIden)]
enum FulfillmentOrderLines {
    Table,
    Id,
    FulfillmentOrderId,
    OrderLineId,
    SkuId,
    Quantity,
}
#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    OrderId,
    Provider,
    ProviderReference,
    Status,
    Currency,
    AmountAuthorized,
    AmountCaptured,
    AmountRefunded,
    Version,
    CreatedAt,
    UpdatedAt,
}
#[derive(DeriveIden)]
enum Refunds {
    Table,
    Id,
    OrderId,
    PaymentId,
    ReturnId,
    Amount,
    Currency,
    Reason,
    Status,
    ProviderReference,
    CreatedAt,
}
#[derive(DeriveIden)]
enum Returns {
    Table,
    Id,
    OrderId,
    Number,
    Status,
    Reason,
    Version,
    CreatedAt,
    UpdatedAt,
}
#[derive(DeriveIden)]
enum ReturnLines {
    Table,
    Id,
    ReturnId,
    OrderLineId,
    Quantity,
    QuantityReceived,
    Restock,
    Reason,
}
#[derive(DeriveIden)]
enum OrderNotes {
    Table,
    Id,
    OrderId,
    Author,
    Body,
    CreatedAt,
}
#[derive(DeriveIden)]
enum OrderEvents {
    Table,
    Id,
    OrderId,
    Sequence,
    EventType,
    FulfillmentOrderId,
    CustomerId,
    Message,
    Payload,
    Actor,
    OccurredAt,
    PublishedAt,
}
#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    Principal,
    Key,
    RequestHash,
    OrderId,
    Response,
    CreatedAt,
}
#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    Name,
    Prefix,
    KeyHash,
    Scopes,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}
