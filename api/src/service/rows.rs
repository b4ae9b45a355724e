//! Rows decoded by position. A SeaORM model decodes each column by name: it formats
//! `prefix + column` into a new string and looks the name up in the row, for every
//! column of every row — a quarter of the CPU of a 50-order page with its lines and
//! SKUs. The hot reads (orders, their lines, SKUs and customers, and every paged list)
//! select an entity's columns in their declared order, as SeaORM's `find()` does, and
//! read them by index instead.
//!
//! `ByIndex` is implemented by `by_index!` from the model's field list; a test checks
//! each list against the entity's columns, name by name and in order, so a column added
//! to an entity and not here fails the build (the struct literal) or that test.
//!
//! Each value is read through `Column`. On Postgres that skips sqlx's check of the
//! column's type against the Rust type, which `Row::try_get` repeats for every value
//! (for a `String`, six type comparisons; with it, decoding was ~18% of a 50-order
//! page's instructions): these columns are ours, created by our migrations with the
//! types the entities declare, and a test reads every model both ways and requires the
//! same rows. A value that does not decode (bad UTF-8, a NULL in a non-null field) is
//! still an error; a column whose type drifted from its entity's would not be caught
//! here, which is why that test compares against SeaORM's checked decoding.

use sea_orm::sqlx::Row;
use sea_orm::{
    ActiveEnum, ConnectionTrait, DbErr, EntityTrait, QueryResult, QueryTrait, Select, SelectTwo,
    prelude::{Date, DateTimeUtc},
    sea_query::SelectStatement,
};

use entity::status::{
    FulfillmentStatus, LocationKind, NotificationChannel, NotificationKind, NotificationStatus,
    OrderReturnStatus, OrderStatus, PaymentStatus, ReturnStatus, RoutingStrategy, ShippingMethod,
    WebhookDeliveryStatus, WebhookTopic,
};
use entity::{
    customer, fulfillment_order, location, notification, order, order_line, return_request, sku,
    webhook_delivery, webhook_subscription,
};

/// A value read from the column at a position of a row.
pub trait Column: Sized {
    /// The value of column `at`.
    fn read(row: &QueryResult, at: usize) -> Result<Self, DbErr>;
}

/// A NULL where the model has no room for one.
fn null_at(at: usize) -> DbErr {
    DbErr::Type(format!(
        "a null value was encountered while decoding column {at}"
    ))
}

macro_rules! plain_columns {
    ($($t:ty),+ $(,)?) => {$(
        impl Column for Option<$t> {
            fn read(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
                match row.try_as_pg_row() {
                    Some(pg) => pg
                        .try_get_unchecked::<Option<$t>, _>(at)
                        .map_err(|e| DbErr::Type(format!("column {at}: {e}"))),
                    None => row.try_get_by_index(at),
                }
            }
        }

        impl Column for $t {
            fn read(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
                <Option<$t>>::read(row, at)?.ok_or_else(|| null_at(at))
            }
        }
    )+};
}
plain_columns!(i64, i32, f64, bool, String, DateTimeUtc, Date);

/// Stored enums: their text, read as a `String` is, then parsed.
macro_rules! enum_columns {
    ($($t:ty),+ $(,)?) => {$(
        impl Column for Option<$t> {
            fn read(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
                <Option<String>>::read(row, at)?
                    .map(|text| <$t as ActiveEnum>::try_from_value(&text))
                    .transpose()
            }
        }

        impl Column for $t {
            fn read(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
                <$t as ActiveEnum>::try_from_value(&String::read(row, at)?)
            }
        }
    )+};
}
enum_columns!(
    OrderStatus,
    PaymentStatus,
    OrderReturnStatus,
    ShippingMethod,
    RoutingStrategy,
    LocationKind,
    FulfillmentStatus,
    NotificationKind,
    NotificationChannel,
    NotificationStatus,
    ReturnStatus,
    WebhookTopic,
    WebhookDeliveryStatus,
);

/// A model read from consecutive columns of a row.
pub trait ByIndex: Sized {
    /// The model's fields, in column order; the first is the `id` primary key.
    const FIELDS: &'static [&'static str];

    /// The model from the columns starting at `start`.
    fn decode(row: &QueryResult, start: usize) -> Result<Self, DbErr>;

    /// The model from the columns starting at `start`, `None` when its key is NULL (the
    /// missing side of an outer join).
    fn decode_optional(row: &QueryResult, start: usize) -> Result<Option<Self>, DbErr> {
        match <Option<i64>>::read(row, start)? {
            Some(_) => Self::decode(row, start).map(Some),
            None => Ok(None),
        }
    }
}

macro_rules! by_index {
    ($model:path { $($field:ident),+ $(,)? }) => {
        impl ByIndex for $model {
            const FIELDS: &'static [&'static str] = &[$(stringify!($field)),+];

            #[allow(unused_assignments)]
            fn decode(row: &QueryResult, start: usize) -> Result<Self, DbErr> {
                let mut at = start;
                Ok(Self {
                    $($field: {
                        let value = Column::read(row, at)?;
                        at += 1;
                        value
                    },)+
                })
            }
        }
    };
}

by_index! {
    order::Model {
        id, number, customer_id, channel, status, payment_status, return_status,
        currency, subtotal, shipping_total, tax_total, total, ship_name, ship_line1,
        ship_line2, ship_city, ship_region, ship_postal_code, ship_country,
        ship_latitude, ship_longitude, shipping_method, routing_strategy,
        routing_reason, note, cancel_reason, placed_at, updated_at, cancelled_at,
        last_sequence, version,
    }
}
by_index! {
    order_line::Model {
        id, order_id, line_number, sku_id, quantity, unit_price, quantity_fulfilled,
        quantity_cancelled,
    }
}
by_index! {
    sku::Model {
        id, code, name, price_amount, currency, weight_grams, active, version,
        created_at, updated_at,
    }
}
by_index! {
    customer::Model {
        id, email, name, phone, time_zone, version, notify_by_email, notify_by_sms,
        created_at, updated_at,
    }
}
by_index! {
    location::Model {
        id, code, name, kind, address_name, line1, line2, city, region, postal_code,
        country, latitude, longitude, ships_to, priority, active, version, created_at,
        updated_at,
    }
}
by_index! {
    fulfillment_order::Model {
        id, order_id, location_id, status, shipping_method, carrier, tracking_number,
        tracking_url, shipped_at, delivered_at, estimated_earliest, estimated_latest,
        arriving_tomorrow_notified_on, version, created_at, updated_at,
    }
}
by_index! {
    notification::Model {
        id, customer_id, order_id, event_id, kind, channel, recipient, subject, body,
        status, attempts, last_error, next_attempt_at, locked_until, created_at,
        sent_at,
    }
}
by_index! {
    return_request::Model {
        id, order_id, customer_id, number, status, customer_note, decline_reason,
        carrier, tracking_number, return_location_id, version, requested_at, updated_at,
    }
}
by_index! {
    webhook_subscription::Model {
        id, url, topics, secret, owner, created_by, active, failing_since,
        deactivated_reason, created_at, deleted_at,
    }
}
by_index! {
    webhook_delivery::Model {
        id, subscription_id, event_id, order_id, sequence, topic, body, status,
        attempts, attempts_allowed, last_response_status, last_error, next_attempt_at,
        locked_until, occurred_at, created_at, delivered_at,
    }
}

/// Selects every column of `E`, in their declared order, as `<prefix><column>` (several
/// entities in one row: decoded by position, named for whoever reads the SQL).
pub fn select_columns<E: EntityTrait>(select: &mut SelectStatement, prefix: &str) {
    use sea_orm::sea_query::{Alias, Expr};
    use sea_orm::{ColumnTrait, IdenStatic, Iterable};
    for column in E::Column::iter() {
        select.expr_as(
            column.select_as(Expr::col((E::default(), column))),
            Alias::new(format!("{prefix}{}", column.as_str())),
        );
    }
}

/// Runs `statement` and decodes each row with `decode`.
pub async fn query<C, T>(
    db: &C,
    statement: &SelectStatement,
    decode: impl Fn(&QueryResult) -> Result<T, DbErr>,
) -> Result<Vec<T>, DbErr>
where
    C: ConnectionTrait,
{
    db.query_all(statement).await?.iter().map(decode).collect()
}

/// `select.all(db)`, decoded by index.
pub async fn all<E, C>(db: &C, select: Select<E>) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
    E::Model: ByIndex,
    C: ConnectionTrait,
{
    query(db, &select.into_query(), |row| E::Model::decode(row, 0)).await
}

/// `select.all(db)` of a `select_also`, decoded by index.
pub async fn all_two<E, F, C>(
    db: &C,
    select: SelectTwo<E, F>,
) -> Result<Vec<(E::Model, Option<F::Model>)>, DbErr>
where
    E: EntityTrait,
    F: EntityTrait,
    E::Model: ByIndex,
    F::Model: ByIndex,
    C: ConnectionTrait,
{
    let second = E::Model::FIELDS.len();
    query(db, &select.into_query(), |row| {
        Ok((
            E::Model::decode(row, 0)?,
            F::Model::decode_optional(row, second)?,
        ))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{IdenStatic, Iterable};

    /// `E`'s field list equals its columns, in order.
    fn follows<E: EntityTrait>()
    where
        E::Model: ByIndex,
    {
        let columns: Vec<&str> = E::Column::iter().map(|c| c.as_str()).collect();
        assert_eq!(E::Model::FIELDS, columns, "{}", std::any::type_name::<E>());
    }

    #[test]
    fn field_lists_follow_the_entities_columns() {
        follows::<order::Entity>();
        follows::<order_line::Entity>();
        follows::<sku::Entity>();
        follows::<customer::Entity>();
        follows::<location::Entity>();
        follows::<fulfillment_order::Entity>();
        follows::<notification::Entity>();
        follows::<return_request::Entity>();
        follows::<webhook_subscription::Entity>();
        follows::<webhook_delivery::Entity>();
    }
}
