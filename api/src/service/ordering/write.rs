//! The rows a placement writes, built once, and the two ways they reach the database.
//! On Postgres the ids are drawn from the sequences first, so every row is known before
//! anything is written and the order, its lines, fulfilment orders and their lines, the
//! payment, the events, the idempotency key and the taking of the payment attempt go in
//! one statement (a `WITH` of inserts): two round trips instead of seven. On SQLite,
//! which has one writer and no sequences, each insert returns the ids the next one
//! needs.

use std::collections::HashMap;

use entity::{
    fulfillment_order, fulfillment_order_line, idempotency_key, order, order_line, payment, sku,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryTrait, Statement, TryIntoModel,
};

use super::{Actor, OrderHead, placement_event_count};
use crate::domain::lifecycle::derive_order_status;
use crate::domain::status::{FulfillmentStatus, OrderEventType, PaymentStatus};
use crate::service::changes::{NewEvent, event_rows};
use crate::service::payment_attempts::take_statement;
use crate::service::statements::with_all;
use crate::service::{Error, Result};

/// What a placement writes besides the head: the authorisation's reference, the payment
/// attempt it takes, and the idempotency key it claims.
#[derive(Clone, Copy)]
pub(super) struct Claims<'a> {
    pub actor: &'a Actor,
    pub fingerprint: &'a str,
    pub attempt: i64,
    pub reference: &'a str,
}

/// How writing the order ended.
pub(super) enum Written {
    /// Written; the payment attempt was taken.
    Order(Box<order::Model>),
    /// The idempotency key was committed concurrently by another request.
    KeyTaken,
    /// The payment attempt was released before the order could take it.
    AttemptGone,
}

/// Writes the order and everything that belongs to it (not the stock reservation).
pub(super) async fn write_order(
    txn: &DatabaseTransaction,
    head: &OrderHead<'_>,
    priced: &[(sku::Model, i32)],
    claims: &Claims<'_>,
) -> Result<Written> {
    let outcome = match txn.get_database_backend() {
        DbBackend::Postgres => in_one_statement(txn, head, priced, claims).await,
        _ => one_by_one(txn, head, priced, claims).await,
    };
    match outcome {
        Err(Error::Database(err))
            if head.input.idempotency_key.is_some()
                && matches!(
                    err.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ) =>
        {
            Ok(Written::KeyTaken)
        }
        other => other,
    }
}

/// Postgres: ids first, then one statement (a batch of one).
async fn in_one_statement(
    txn: &DatabaseTransaction,
    head: &OrderHead<'_>,
    priced: &[(sku::Model, i32)],
    claims: &Claims<'_>,
) -> Result<Written> {
    let part = Part {
        head: *head,
        priced,
        claims: *claims,
    };
    Ok(
        match write_orders(txn, &[part])
            .await?
            .and_then(|mut orders| orders.pop())
        {
            Some(created) => Written::Order(Box::new(created)),
            None => Written::AttemptGone,
        },
    )
}

/// One order of a batch: what it writes and who claims it.
pub(super) struct Part<'a> {
    pub head: OrderHead<'a>,
    pub priced: &'a [(sku::Model, i32)],
    pub claims: Claims<'a>,
}

/// Postgres: several orders' rows in one statement (ids for all of them drawn first), in
/// the caller's transaction. `None` when a payment attempt was gone, a unique violation
/// (an idempotency key taken) is an error: either way the caller rolls back and places
/// the orders one at a time.
pub(super) async fn write_orders(
    txn: &DatabaseTransaction,
    parts: &[Part<'_>],
) -> Result<Option<Vec<order::Model>>> {
    let sizes: Vec<(usize, usize)> = parts
        .iter()
        .map(|p| (p.priced.len(), p.head.plan.allocations.len()))
        .collect();
    let ids = Ids::draw(txn, &sizes).await?;
    let rows = parts
        .iter()
        .zip(ids)
        .map(|(p, ids)| Rows::new(&p.head, p.priced, &p.claims, ids))
        .collect::<Result<Vec<_>>>()?;
    let created: Vec<order::Model> = rows.iter().map(|r| r.created.clone()).collect();
    let taken = insert_all(txn, rows).await?;
    Ok((usize::try_from(taken).ok() == Some(created.len())).then_some(created))
}

/// Every row one order's placement writes, built before anything is written, and the
/// statement that takes its payment attempt.
struct Rows {
    created: order::Model,
    order: order::ActiveModel,
    lines: Vec<order_line::ActiveModel>,
    fulfillments: Vec<fulfillment_order::ActiveModel>,
    fulfillment_lines: Vec<fulfillment_order_line::ActiveModel>,
    payment: payment::ActiveModel,
    events: Vec<entity::order_event::ActiveModel>,
    key: Option<idempotency_key::ActiveModel>,
    take: Statement,
}

impl Rows {
    fn new(
        head: &OrderHead<'_>,
        priced: &[(sku::Model, i32)],
        claims: &Claims<'_>,
        ids: Ids,
    ) -> Result<Self> {
        let order_id = ids.order;
        let number = format!("#{}", 1000 + order_id);
        let order = order_row(head, Set(order_id), number);
        let created = order
            .clone()
            .try_into_model()
            .map_err(|e| Error::Corrupt(format!("order row incomplete: {e}")))?;
        let lines = line_rows(order_id, priced, Some(&ids.lines));
        let line_of: HashMap<i64, i64> = priced
            .iter()
            .zip(&ids.lines)
            .map(|((s, _), id)| (s.id, *id))
            .collect();
        let fulfillments = fulfillment_rows(head, order_id, Some(&ids.fulfillments));
        let fo_at: HashMap<i64, i64> = head
            .plan
            .allocations
            .iter()
            .zip(&ids.fulfillments)
            .map(|(a, id)| (a.location.0, *id))
            .collect();
        let (fulfillment_lines, located) = fulfillment_line_rows(head, &fo_at, &line_of)?;
        let events = event_rows_of(head, &created, &located, claims.actor);
        let key = head
            .input
            .idempotency_key
            .as_ref()
            .map(|key| key_row(head, claims, key, order_id));
        let mut take = take_statement(claims.attempt, order_id, claims.reference, head.now);
        QueryTrait::query(&mut take).returning_col(entity::payment_attempt::Column::Id);
        Ok(Self {
            created,
            order,
            lines,
            fulfillments,
            fulfillment_lines,
            payment: payment_row(head, order_id, claims.reference),
            events,
            key,
            take: take.build(DbBackend::Postgres),
        })
    }
}

/// Inserts the orders' rows, one multi-row insert per table, and takes their payment
/// attempts, all in one statement. Answers how many attempts were taken.
async fn insert_all(txn: &DatabaseTransaction, rows: Vec<Rows>) -> Result<i64> {
    let mut orders = Vec::with_capacity(rows.len());
    let (mut lines, mut fulfillments, mut fulfillment_lines) = (vec![], vec![], vec![]);
    let (mut payments, mut events, mut keys, mut takes) = (vec![], vec![], vec![], vec![]);
    for r in rows {
        orders.push(r.order);
        lines.extend(r.lines);
        fulfillments.extend(r.fulfillments);
        fulfillment_lines.extend(r.fulfillment_lines);
        payments.push(r.payment);
        events.extend(r.events);
        keys.extend(r.key);
        takes.push(r.take);
    }
    let pg = DbBackend::Postgres;
    let mut parts = vec![
        order::Entity::insert_many(orders).build(pg),
        order_line::Entity::insert_many(lines).build(pg),
        fulfillment_order::Entity::insert_many(fulfillments).build(pg),
        fulfillment_order_line::Entity::insert_many(fulfillment_lines).build(pg),
        payment::Entity::insert_many(payments).build(pg),
        entity::order_event::Entity::insert_many(events).build(pg),
    ];
    if !keys.is_empty() {
        parts.push(idempotency_key::Entity::insert_many(keys).build(pg));
    }
    let taken = txn
        .query_one_raw(with_all(parts, takes))
        .await?
        .map(|row| row.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0);
    Ok(taken)
}

/// The ids one order's rows take, drawn ahead from Postgres' sequences.
struct Ids {
    order: i64,
    lines: Vec<i64>,
    fulfillments: Vec<i64>,
}

#[derive(FromQueryResult)]
struct DrawnId {
    kind: i32,
    id: i64,
}

impl Ids {
    /// Ids for orders of (lines, fulfilment orders) each, drawn in one statement.
    async fn draw(txn: &DatabaseTransaction, sizes: &[(usize, usize)]) -> Result<Vec<Self>> {
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        let lines: usize = sizes.iter().map(|s| s.0).sum();
        let fulfillments: usize = sizes.iter().map(|s| s.1).sum();
        let statement = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 0 AS kind, nextval(pg_get_serial_sequence('orders', 'id')) AS id \
               FROM generate_series(1, $1) \
             UNION ALL SELECT 1, nextval(pg_get_serial_sequence('order_lines', 'id')) \
               FROM generate_series(1, $2) \
             UNION ALL SELECT 2, nextval(pg_get_serial_sequence('fulfillment_orders', 'id')) \
               FROM generate_series(1, $3)",
            [
                count(sizes.len()).into(),
                count(lines).into(),
                count(fulfillments).into(),
            ],
        );
        let drawn = DrawnId::find_by_statement(statement).all(txn).await?;
        let of = |kind| drawn.iter().filter(move |d| d.kind == kind).map(|d| d.id);
        let (mut order_ids, mut line_ids, mut fo_ids) = (of(0), of(1), of(2));
        let mut all = Vec::with_capacity(sizes.len());
        for (lines, fulfillments) in sizes {
            let ids = Self {
                order: order_ids.next().unwrap_or_default(),
                lines: line_ids.by_ref().take(*lines).collect(),
                fulfillments: fo_ids.by_ref().take(*fulfillments).collect(),
            };
            if ids.order == 0
                || ids.lines.len() != *lines
                || ids.fulfillments.len() != *fulfillments
            {
                return Err(Error::Corrupt("the sequences did not give every id".into()));
            }
            all.push(ids);
        }
        Ok(all)
    }
}

/// SQLite: one insert per table, each returning the ids the next needs.
async fn one_by_one(
    txn: &DatabaseTransaction,
    head: &OrderHead<'_>,
    priced: &[(sku::Model, i32)],
    claims: &Claims<'_>,
) -> Result<Written> {
    // Unique until the id is known (numbers are at most 32 characters).
    let placeholder = format!("~{}", &uuid::Uuid::new_v4().simple().to_string()[..30]);
    let inserted = order::Entity::insert(order_row(head, NotSet, placeholder))
        .exec_with_returning(txn)
        .await?;
    let number = format!("#{}", 1000 + inserted.id);
    order::Entity::update_many()
        .col_expr(order::Column::Number, Expr::value(number.clone()))
        .filter(order::Column::Id.eq(inserted.id))
        .exec(txn)
        .await?;
    let created = order::Model { number, ..inserted };
    let lines = order_line::Entity::insert_many(line_rows(created.id, priced, None))
        .exec_with_returning(txn)
        .await?;
    let line_of: HashMap<i64, i64> = lines.iter().map(|l| (l.sku_id, l.id)).collect();
    // One fulfilment order per location (routing never splits a location), so the
    // returned rows are matched back by location, whatever order they come in.
    let fos = fulfillment_order::Entity::insert_many(fulfillment_rows(head, created.id, None))
        .exec_with_returning(txn)
        .await?;
    let fo_at: HashMap<i64, i64> = fos.iter().map(|f| (f.location_id, f.id)).collect();
    let (fo_lines, fulfillments) = fulfillment_line_rows(head, &fo_at, &line_of)?;
    fulfillment_order_line::Entity::insert_many(fo_lines)
        .exec_without_returning(txn)
        .await?;
    payment::Entity::insert(payment_row(head, created.id, claims.reference))
        .exec_without_returning(txn)
        .await?;
    entity::order_event::Entity::insert_many(event_rows_of(
        head,
        &created,
        &fulfillments,
        claims.actor,
    ))
    .exec_without_returning(txn)
    .await?;
    if let Some(key) = &head.input.idempotency_key {
        idempotency_key::Entity::insert(key_row(head, claims, key, created.id))
            .exec_without_returning(txn)
            .await?;
    }
    // After the key: a concurrent retry that shares the attempt replays on the key.
    let taken = take_statement(claims.attempt, created.id, claims.reference, head.now)
        .exec(txn)
        .await?;
    Ok(if taken.rows_affected == 1 {
        Written::Order(Box::new(created))
    } else {
        Written::AttemptGone
    })
}

/// The order row (`#1001` is order 1, so numbers are unique without a shared counter),
/// its version and last sequence already the count of its placement events.
fn order_row(
    head: &OrderHead<'_>,
    id: sea_orm::ActiveValue<i64>,
    number: String,
) -> order::ActiveModel {
    let (input, plan, amounts) = (head.input, head.plan, head.amounts);
    let status = derive_order_status(
        head.payment_status,
        &vec![FulfillmentStatus::Open; plan.allocations.len()],
    );
    let a = &input.address;
    let events = placement_event_count(head);
    order::ActiveModel {
        id,
        number: Set(number),
        customer_id: Set(input.customer.0),
        channel: Set(input.channel.clone()),
        status: Set(status),
        payment_status: Set(head.payment_status),
        return_status: Set(None),
        currency: Set(head.currency.to_owned()),
        subtotal: Set(amounts.subtotal),
        shipping_total: Set(amounts.shipping),
        tax_total: Set(amounts.tax),
        total: Set(amounts.total),
        ship_name: Set(a.name.clone()),
        ship_line1: Set(a.line1.clone()),
        ship_line2: Set(a.line2.clone()),
        ship_city: Set(a.city.clone()),
        ship_region: Set(a.region.clone()),
        ship_postal_code: Set(a.postal_code.clone()),
        ship_country: Set(a.country.as_str().to_owned()),
        ship_latitude: Set(a.latitude),
        ship_longitude: Set(a.longitude),
        shipping_method: Set(input.method),
        routing_strategy: Set(plan.strategy),
        routing_reason: Set(plan.reason.clone()),
        note: Set(input.note.clone()),
        cancel_reason: Set(None),
        placed_at: Set(head.now),
        updated_at: Set(head.now),
        cancelled_at: Set(None),
        last_sequence: Set(events),
        version: Set(events),
    }
}

/// The order lines, priced as quoted, with `ids` when drawn ahead.
fn line_rows(
    order_id: i64,
    priced: &[(sku::Model, i32)],
    ids: Option<&[i64]>,
) -> Vec<order_line::ActiveModel> {
    priced
        .iter()
        .enumerate()
        .map(|(i, (s, q))| order_line::ActiveModel {
            id: ids.map_or(NotSet, |ids| Set(ids[i])),
            order_id: Set(order_id),
            line_number: Set(i as i32 + 1),
            sku_id: Set(s.id),
            quantity: Set(*q),
            unit_price: Set(s.price_amount),
            quantity_fulfilled: Set(0),
            quantity_cancelled: Set(0),
        })
        .collect()
}

/// One OPEN fulfilment order per allocation, in the plan's order.
fn fulfillment_rows(
    head: &OrderHead<'_>,
    order_id: i64,
    ids: Option<&[i64]>,
) -> Vec<fulfillment_order::ActiveModel> {
    head.plan
        .allocations
        .iter()
        .enumerate()
        .map(|(i, allocation)| fulfillment_order::ActiveModel {
            id: ids.map_or(NotSet, |ids| Set(ids[i])),
            order_id: Set(order_id),
            location_id: Set(allocation.location.0),
            status: Set(FulfillmentStatus::Open),
            shipping_method: Set(head.input.method),
            carrier: Set(None),
            tracking_number: Set(None),
            tracking_url: Set(None),
            shipped_at: Set(None),
            delivered_at: Set(None),
            estimated_earliest: Set(None),
            estimated_latest: Set(None),
            arriving_tomorrow_notified_on: Set(None),
            version: Set(1),
            created_at: Set(head.now),
            updated_at: Set(head.now),
        })
        .collect()
}

/// Each fulfilment order's (id, location).
type Fulfillments = Vec<(i64, i64)>;

/// The fulfilment orders' lines, and each fulfilment order's (id, location).
fn fulfillment_line_rows(
    head: &OrderHead<'_>,
    fo_at: &HashMap<i64, i64>,
    line_of: &HashMap<i64, i64>,
) -> Result<(Vec<fulfillment_order_line::ActiveModel>, Fulfillments)> {
    let mut fulfillments = Vec::new();
    let mut rows = Vec::new();
    for allocation in &head.plan.allocations {
        let fo = *fo_at.get(&allocation.location.0).ok_or_else(|| {
            Error::Corrupt("a fulfilment order was not returned by its insert".into())
        })?;
        rows.extend(allocation.lines.iter().map(|(sku, qty)| {
            fulfillment_order_line::ActiveModel {
                fulfillment_order_id: Set(fo),
                order_line_id: Set(line_of.get(&sku.0).copied().unwrap_or_default()),
                sku_id: Set(sku.0),
                quantity: Set(*qty),
                ..Default::default()
            }
        }));
        fulfillments.push((fo, allocation.location.0));
    }
    Ok((rows, fulfillments))
}

/// The payment as the provider left it: authorised for the total, or pending.
fn payment_row(head: &OrderHead<'_>, order_id: i64, reference: &str) -> payment::ActiveModel {
    let authorized = head.payment_status == PaymentStatus::Authorized;
    payment::ActiveModel {
        order_id: Set(order_id),
        provider: Set(head.input.provider.clone()),
        provider_reference: Set(Some(reference.to_owned())),
        status: Set(head.payment_status),
        currency: Set(head.currency.to_owned()),
        amount_authorized: Set(if authorized { head.amounts.total } else { 0 }),
        amount_captured: Set(0),
        amount_refunded: Set(0),
        version: Set(1),
        created_at: Set(head.now),
        updated_at: Set(head.now),
        ..Default::default()
    }
}

/// PLACED, PAYMENT_AUTHORIZED (when authorised) and one ALLOCATED per fulfilment order,
/// so each location's queue hears of its part (`placement_event_count` of them).
fn event_rows_of(
    head: &OrderHead<'_>,
    created: &order::Model,
    fulfillments: &[(i64, i64)],
    actor: &Actor,
) -> Vec<entity::order_event::ActiveModel> {
    let (input, amounts, currency) = (head.input, head.amounts, head.currency);
    let mut events = vec![
        NewEvent::new(OrderEventType::Placed)
            .message(format!("Order {} placed via {}", created.number, input.channel))
            .payload(serde_json::json!({ "number": created.number, "total": amounts.total, "currency": currency })),
    ];
    if head.payment_status == PaymentStatus::Authorized {
        events.push(NewEvent::new(OrderEventType::PaymentAuthorized).payload(
            serde_json::json!({ "provider": input.provider, "amount": amounts.total, "currency": currency }),
        ));
    }
    for (fo, location) in fulfillments {
        events.push(
            NewEvent::new(OrderEventType::Allocated)
                .fulfillment(*fo, *location)
                .message(head.plan.reason.clone())
                .payload(serde_json::json!({ "strategy": head.plan.strategy.as_ref() })),
        );
    }
    debug_assert_eq!(
        i32::try_from(events.len()).ok(),
        Some(placement_event_count(head))
    );
    event_rows(
        created.id,
        input.customer.0,
        0,
        events,
        &actor.name,
        head.now,
    )
}

/// The idempotency key, claimed for this order; a unique violation means the same key
/// committed concurrently (the caller replays that order).
fn key_row(
    head: &OrderHead<'_>,
    claims: &Claims<'_>,
    key: &str,
    order_id: i64,
) -> idempotency_key::ActiveModel {
    idempotency_key::ActiveModel {
        principal: Set(claims.actor.name.clone()),
        key: Set(key.to_owned()),
        request_hash: Set(claims.fingerprint.to_owned()),
        order_id: Set(Some(order_id)),
        response: Set(None),
        created_at: Set(head.now),
        ..Default::default()
    }
}
