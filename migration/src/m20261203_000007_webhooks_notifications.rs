//! Webhook subscriptions and their deliveries, and customer notifications: one delivery
//! row per (event, subscription) and one notification per (event, channel), written by
//! the outbox relay in the transaction that marks the event published, so nothing is
//! lost or queued twice.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000007_webhooks_notifications"
    }
}

#[derive(DeriveIden)]
enum WebhookSubscriptions {
    Table,
    Id,
    Url,
    Topics,
    Secret,
    Owner,
    CreatedBy,
    Active,
    FailingSince,
    DeactivatedReason,
    CreatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    SubscriptionId,
    EventId,
    OrderId,
    Sequence,
    Topic,
    Body,
    Status,
    Attempts,
    AttemptsAllowed,
    LastResponseStatus,
    LastError,
    NextAttemptAt,
    LockedUntil,
    OccurredAt,
    CreatedAt,
    DeliveredAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    CustomerId,
    OrderId,
    EventId,
    Kind,
    Channel,
    Recipient,
    Subject,
    Body,
    Status,
    Attempts,
    LastError,
    NextAttemptAt,
    LockedUntil,
    CreatedAt,
    SentAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(WebhookSubscriptions::Table)
                .col(big_pk_auto(WebhookSubscriptions::Id))
                .col(string_len(WebhookSubscriptions::Url, 2048))
                .col(string_len(WebhookSubscriptions::Topics, 400))
                .col(string_len(WebhookSubscriptions::Secret, 100))
                .col(string_len_null(WebhookSubscriptions::Owner, 300))
                .col(string_len(WebhookSubscriptions::CreatedBy, 300))
                .col(boolean(WebhookSubscriptions::Active).default(true))
                .col(timestamp_with_time_zone_null(
                    WebhookSubscriptions::FailingSince,
                ))
                .col(string_len_null(
                    WebhookSubscriptions::DeactivatedReason,
                    300,
                ))
                .col(timestamp_with_time_zone(WebhookSubscriptions::CreatedAt))
                .col(timestamp_with_time_zone_null(
                    WebhookSubscriptions::DeletedAt,
                ))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_webhook_subscriptions_owner")
                .table(WebhookSubscriptions::Table)
                .col(WebhookSubscriptions::Owner)
                .col(WebhookSubscriptions::Id)
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WebhookDeliveries::Table)
                .col(big_pk_auto(WebhookDeliveries::Id))
                .col(big_integer(WebhookDeliveries::SubscriptionId))
                .col(big_integer(WebhookDeliveries::EventId))
                .col(big_integer(WebhookDeliveries::OrderId))
                .col(integer(WebhookDeliveries::Sequence))
                .col(string_len(WebhookDeliveries::Topic, 40))
                .col(text(WebhookDeliveries::Body))
                .col(string_len(WebhookDeliveries::Status, 16))
                .col(integer(WebhookDeliveries::Attempts).default(0))
                .col(integer(WebhookDeliveries::AttemptsAllowed))
                .col(integer_null(WebhookDeliveries::LastResponseStatus))
                .col(string_len_null(WebhookDeliveries::LastError, 500))
                .col(timestamp_with_time_zone_null(
                    WebhookDeliveries::NextAttemptAt,
                ))
                .col(timestamp_with_time_zone_null(
                    WebhookDeliveries::LockedUntil,
                ))
                .col(timestamp_with_time_zone(WebhookDeliveries::OccurredAt))
                .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                .col(timestamp_with_time_zone_null(
                    WebhookDeliveries::DeliveredAt,
                ))
                .foreign_key(
                    ForeignKey::create()
                        .from(WebhookDeliveries::Table, WebhookDeliveries::SubscriptionId)
                        .to(WebhookSubscriptions::Table, WebhookSubscriptions::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .take(),
        )
        .await?;
        // Queued once per (subscription, event), however many relays race.
        m.create_index(
            Index::create()
                .name("ux_webhook_deliveries_subscription_event")
                .table(WebhookDeliveries::Table)
                .col(WebhookDeliveries::SubscriptionId)
                .col(WebhookDeliveries::EventId)
                .unique()
                .take(),
        )
        .await?;
        // The worker's look-up of what is due, and the ordering check per order.
        m.create_index(
            Index::create()
                .name("ix_webhook_deliveries_due")
                .table(WebhookDeliveries::Table)
                .col(WebhookDeliveries::Status)
                .col(WebhookDeliveries::NextAttemptAt)
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_webhook_deliveries_order")
                .table(WebhookDeliveries::Table)
                .col(WebhookDeliveries::SubscriptionId)
                .col(WebhookDeliveries::OrderId)
                .col(WebhookDeliveries::Sequence)
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Notifications::Table)
                .col(big_pk_auto(Notifications::Id))
                .col(big_integer(Notifications::CustomerId))
                .col(big_integer_null(Notifications::OrderId))
                .col(big_integer(Notifications::EventId))
                .col(string_len(Notifications::Kind, 40))
                .col(string_len(Notifications::Channel, 16))
                .col(string_len(Notifications::Recipient, 320))
                .col(string_len_null(Notifications::Subject, 300))
                .col(text(Notifications::Body))
                .col(string_len(Notifications::Status, 16))
                .col(integer(Notifications::Attempts).default(0))
                .col(string_len_null(Notifications::LastError, 500))
                .col(timestamp_with_time_zone_null(Notifications::NextAttemptAt))
                .col(timestamp_with_time_zone_null(Notifications::LockedUntil))
                .col(timestamp_with_time_zone(Notifications::CreatedAt))
                .col(timestamp_with_time_zone_null(Notifications::SentAt))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_notifications_event_channel")
                .table(Notifications::Table)
                .col(Notifications::EventId)
                .col(Notifications::Channel)
                .unique()
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_notifications_due")
                .table(Notifications::Table)
                .col(Notifications::Status)
                .col(Notifications::NextAttemptAt)
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_notifications_customer")
                .table(Notifications::Table)
                .col(Notifications::CustomerId)
                .col(Notifications::Id)
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Notifications::Table).take())
            .await?;
        m.drop_table(Table::drop().table(WebhookDeliveries::Table).take())
            .await?;
        m.drop_table(Table::drop().table(WebhookSubscriptions::Table).take())
            .await
    }
}
