//! Rows decoded by position (`orderly::service::rows`) equal what SeaORM's own, checked
//! decoding gives, for every model read that way, on both backends: on Postgres the
//! positional reads skip sqlx's per-value type check, so this is what stands behind it.

use chrono::{Duration, Utc};
use entity::status::{WebhookDeliveryStatus, WebhookTopic};
use entity::{
    customer, fulfillment_order, location, notification, order, order_event, order_line,
    return_request, sku, webhook_delivery, webhook_subscription,
};
use orderly::service::rows::{self, ByIndex};
use orderly_tests::{Options, TestApp, backend_tests};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Database, DatabaseConnection, EntityTrait, QueryOrder, Set,
};

/// Both decodings of every `E` row, compared; returns how many rows there were.
async fn same<E, C>(db: &DatabaseConnection, id: C) -> usize
where
    E: EntityTrait,
    E::Model: ByIndex + PartialEq + std::fmt::Debug,
    C: ColumnTrait,
{
    let checked = E::find().order_by_asc(id).all(db).await.unwrap();
    let fast = rows::all(db, E::find().order_by_asc(id)).await.unwrap();
    assert_eq!(fast, checked, "{}", std::any::type_name::<E>());
    checked.len()
}

async fn positional_rows_equal_checked_ones(app: TestApp) {
    let db = Database::connect(&app.database_url).await.unwrap();
    // The demo has no webhooks: one subscription with every optional column set, one
    // without, and a delivery of each kind of nullable value.
    let event = order_event::Entity::find().one(&db).await.unwrap().unwrap();
    let now = Utc::now();
    let mut ids = Vec::new();
    for full in [true, false] {
        let subscription = webhook_subscription::ActiveModel {
            url: Set("https://partner.example/hook".into()),
            topics: Set("order.placed".into()),
            secret: Set("s3cr3t-ünïcode".into()),
            owner: Set(full.then(|| "partner-1".into())),
            created_by: Set("staff".into()),
            active: Set(full),
            failing_since: Set(full.then_some(now)),
            deactivated_reason: Set(full.then(|| "timeouts".into())),
            created_at: Set(now),
            deleted_at: Set(full.then_some(now + Duration::seconds(1))),
            ..Default::default()
        }
        .insert(&db)
        .await
        .unwrap();
        ids.push(subscription.id);
        webhook_delivery::ActiveModel {
            subscription_id: Set(subscription.id),
            event_id: Set(event.id),
            order_id: Set(event.order_id),
            sequence: Set(event.sequence),
            topic: Set(WebhookTopic::OrderPlaced),
            body: Set("{\"a\":1}".into()),
            status: Set(if full {
                WebhookDeliveryStatus::Delivered
            } else {
                WebhookDeliveryStatus::Pending
            }),
            attempts: Set(i32::MAX),
            attempts_allowed: Set(i32::MIN),
            last_response_status: Set(full.then_some(503)),
            last_error: Set(full.then(String::new)),
            next_attempt_at: Set(full.then_some(now)),
            locked_until: Set(None),
            occurred_at: Set(now),
            created_at: Set(now),
            delivered_at: Set(full.then_some(now)),
            ..Default::default()
        }
        .insert(&db)
        .await
        .unwrap();
    }
    assert!(same::<order::Entity, _>(&db, order::Column::Id).await > 0);
    assert!(same::<order_line::Entity, _>(&db, order_line::Column::Id).await > 0);
    assert!(same::<sku::Entity, _>(&db, sku::Column::Id).await > 0);
    assert!(same::<customer::Entity, _>(&db, customer::Column::Id).await > 0);
    assert!(same::<location::Entity, _>(&db, location::Column::Id).await > 0);
    assert!(same::<fulfillment_order::Entity, _>(&db, fulfillment_order::Column::Id).await > 0);
    assert!(same::<return_request::Entity, _>(&db, return_request::Column::Id).await > 0);
    assert_eq!(
        same::<webhook_subscription::Entity, _>(&db, webhook_subscription::Column::Id).await,
        2
    );
    assert_eq!(
        same::<webhook_delivery::Entity, _>(&db, webhook_delivery::Column::Id).await,
        2
    );
    same::<notification::Entity, _>(&db, notification::Column::Id).await;
    // Values of every kind and both sides of every nullable kind were there to compare.
    let orders = order::Entity::find().all(&db).await.unwrap();
    assert!(orders.iter().any(|o| o.return_status.is_some()));
    assert!(orders.iter().any(|o| o.return_status.is_none()));
    assert!(orders.iter().any(|o| o.ship_latitude.is_some()));
    assert!(orders.iter().any(|o| o.cancelled_at.is_some()));
    let fulfilment = fulfillment_order::Entity::find().all(&db).await.unwrap();
    assert!(fulfilment.iter().any(|f| f.estimated_earliest.is_some()));
    assert!(fulfilment.iter().any(|f| f.delivered_at.is_some()));
    assert!(fulfilment.iter().any(|f| f.delivered_at.is_none()));
}

backend_tests! {
    positional_rows_equal_checked_ones => Options { seed: true, ..Default::default() };
}
