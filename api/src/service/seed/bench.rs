//! The benchmark data set (`orderly seed --bench --orders N`): five warehouses, 500 SKUs,
//! 10,000 customers and `N` delivered orders of one to five lines, 1,000 of the customers
//! "heavy" with 35–79 orders each. Deterministic: the same `N` writes the same rows.
//!
//! Locations, SKUs, stock and the channel go through the use cases. Customers and the
//! orders' history are written in bulk (multi-row `INSERT`s, one transaction per chunk):
//! 100,000 orders through `placeOrder` would take minutes and measure placement, not the
//! reads. Each order carries what the read benchmarks read and what a delivered order
//! holds: its lines, a captured payment and its `PLACED` event (already published).

use chrono::{Duration, TimeZone, Utc};
use entity::status::{OrderEventType, OrderStatus, PaymentStatus, RoutingStrategy, ShippingMethod};
use entity::{customer, event_outbox, location, order, order_event, order_line, payment};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, TransactionTrait,
};

use super::super::catalog::{NewLocation, SkuUpsert, StockChange};
use super::super::{Result, Store};
use crate::domain::address::CountryCode;
use crate::domain::catalog::Code;
use crate::domain::ids::LocationId;
use crate::domain::money::{Currency, Money};
use crate::domain::status::LocationKind;

/// Customers in the bench set.
const CUSTOMERS: usize = 10_000;
/// Of them, the ones with many orders (35–79 each).
const HEAVY_CUSTOMERS: usize = 1_000;
/// SKUs in the catalogue.
const SKUS: usize = 500;
/// Rows per multi-row `INSERT` (Postgres allows 65,535 parameters a statement).
const CHUNK: usize = 1_000;
/// Stock each SKU starts with at each location: enough for any placement benchmark.
const OPENING_STOCK: i32 = 1_000_000;

/// (code, city, region, postal code, latitude, longitude)
const WAREHOUSES: [(&str, &str, &str, &str, f64, f64); 5] = [
    ("BENCH-WEST", "Reno", "NV", "89502", 39.53, -119.81),
    ("BENCH-SOUTH", "Dallas", "TX", "75201", 32.78, -96.80),
    ("BENCH-MIDWEST", "Columbus", "OH", "43215", 39.96, -83.00),
    ("BENCH-EAST", "Allentown", "PA", "18101", 40.60, -75.47),
    ("BENCH-SOUTHEAST", "Atlanta", "GA", "30303", 33.75, -84.39),
];

/// What `seed_bench` wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BenchSummary {
    pub locations: usize,
    pub skus: usize,
    pub customers: usize,
    pub orders: usize,
    pub lines: usize,
}

/// The customer of each order, heavy customers first: customer `i` (0-based) of the first
/// 1,000 has 35–79 orders, the rest spread over the others.
fn order_owners(rng: &mut StdRng, orders: usize) -> Vec<usize> {
    let mut owners = Vec::with_capacity(orders);
    'heavy: for customer in 0..HEAVY_CUSTOMERS {
        for _ in 0..rng.random_range(35..=79) {
            if owners.len() == orders {
                break 'heavy;
            }
            owners.push(customer);
        }
    }
    while owners.len() < orders {
        owners.push(rng.random_range(HEAVY_CUSTOMERS..CUSTOMERS));
    }
    owners
}

impl Store {
    /// Writes the benchmark data set with `orders` orders; `None` when it is already there.
    pub async fn seed_bench(&self, orders: usize) -> Result<Option<BenchSummary>> {
        if location::Entity::find()
            .filter(location::Column::Code.eq(WAREHOUSES[0].0))
            .count(self.db())
            .await?
            > 0
        {
            return Ok(None);
        }
        let mut rng = StdRng::seed_from_u64(20_261_129);
        let now = Utc
            .with_ymd_and_hms(2026, 11, 1, 12, 0, 0)
            .single()
            .unwrap_or_else(Utc::now);
        self.register_channel("web", "WEB").await?;

        let mut locations = Vec::new();
        for (i, &(code, city, region, postal, lat, lon)) in WAREHOUSES.iter().enumerate() {
            let row = self
                .create_location(NewLocation {
                    code: Code::parse("code", code)?,
                    name: format!("{city} Warehouse"),
                    kind: LocationKind::Warehouse,
                    address: super::us_address(
                        code,
                        "1 Logistics Way",
                        city,
                        region,
                        postal,
                        (lat, lon),
                    )?,
                    ships_to: vec![CountryCode::parse("US")?],
                    priority: i as i32 + 1,
                })
                .await?;
            locations.push(LocationId(row.id));
        }

        let usd = Currency::parse("USD")?;
        let mut skus = Vec::with_capacity(SKUS);
        for i in 0..SKUS {
            let code = format!("BENCH-{i:04}");
            let row = self
                .upsert_sku(SkuUpsert {
                    code: Code::parse("code", &code)?,
                    name: format!("Bench item {i}"),
                    price: Money {
                        minor: rng.random_range(5..500) * 100 + 99,
                        currency: usd,
                    },
                    weight_grams: Some(rng.random_range(100..20_000)),
                })
                .await?;
            for &location in &locations {
                self.change_stock(
                    &code,
                    location,
                    StockChange::Set(OPENING_STOCK),
                    "bench opening stock",
                    "seed",
                )
                .await?;
            }
            skus.push((row.id, row.price_amount));
        }

        let customer_ids = self.bench_customers(now).await?;
        let owners = order_owners(&mut rng, orders);
        let first_order = order::Entity::find()
            .select_only()
            .column_as(order::Column::Id.max(), "max")
            .into_tuple::<Option<i64>>()
            .one(self.db())
            .await?
            .flatten()
            .unwrap_or(0)
            + 1;
        let mut lines_written = 0;
        for (chunk_index, chunk) in owners.chunks(CHUNK).enumerate() {
            let mut orders = Vec::with_capacity(chunk.len());
            let mut lines = Vec::new();
            let mut payments = Vec::with_capacity(chunk.len());
            let mut events = Vec::with_capacity(chunk.len());
            for (offset, &owner) in chunk.iter().enumerate() {
                let id = first_order + (chunk_index * CHUNK + offset) as i64;
                let customer_id = customer_ids[owner];
                let placed_at = now - Duration::minutes(rng.random_range(60..525_600));
                let mut subtotal = 0;
                let line_count = rng.random_range(1..=5);
                let mut picked: Vec<usize> = Vec::with_capacity(line_count);
                while picked.len() < line_count {
                    let s = rng.random_range(0..SKUS);
                    if !picked.contains(&s) {
                        picked.push(s);
                    }
                }
                for (n, &s) in picked.iter().enumerate() {
                    let (sku_id, price) = skus[s];
                    let quantity = rng.random_range(1..=3);
                    subtotal += price * i64::from(quantity);
                    lines.push(order_line::ActiveModel {
                        order_id: Set(id),
                        line_number: Set(n as i32 + 1),
                        sku_id: Set(sku_id),
                        quantity: Set(quantity),
                        unit_price: Set(price),
                        quantity_fulfilled: Set(quantity),
                        quantity_cancelled: Set(0),
                        ..Default::default()
                    });
                }
                let shipping = 995;
                let tax = subtotal * 8 / 100;
                let total = subtotal + shipping + tax;
                let (_, city, region, postal, lat, lon) = WAREHOUSES[owner % WAREHOUSES.len()];
                orders.push(order::ActiveModel {
                    id: Set(id),
                    number: Set(format!("#{}", 1000 + id)),
                    customer_id: Set(customer_id),
                    channel: Set("web".to_owned()),
                    status: Set(OrderStatus::Delivered),
                    payment_status: Set(PaymentStatus::Captured),
                    return_status: Set(None),
                    currency: Set("USD".to_owned()),
                    subtotal: Set(subtotal),
                    shipping_total: Set(shipping),
                    tax_total: Set(tax),
                    total: Set(total),
                    ship_name: Set(Some(format!("Bench Customer {owner}"))),
                    ship_line1: Set(format!("{} Main St", 100 + owner)),
                    ship_line2: Set(None),
                    ship_city: Set(city.to_owned()),
                    ship_region: Set(Some(region.to_owned())),
                    ship_postal_code: Set(postal.to_owned()),
                    ship_country: Set("US".to_owned()),
                    ship_latitude: Set(Some(lat)),
                    ship_longitude: Set(Some(lon)),
                    shipping_method: Set(ShippingMethod::Standard),
                    routing_strategy: Set(RoutingStrategy::Single),
                    routing_reason: Set("bench data".to_owned()),
                    note: Set(None),
                    cancel_reason: Set(None),
                    placed_at: Set(placed_at),
                    updated_at: Set(placed_at),
                    cancelled_at: Set(None),
                    last_sequence: Set(1),
                    version: Set(1),
                });
                payments.push(payment::ActiveModel {
                    order_id: Set(id),
                    provider: Set("test".to_owned()),
                    provider_reference: Set(Some(format!("bench_{id}"))),
                    status: Set(PaymentStatus::Captured),
                    currency: Set("USD".to_owned()),
                    amount_authorized: Set(total),
                    amount_captured: Set(total),
                    amount_refunded: Set(0),
                    version: Set(1),
                    created_at: Set(placed_at),
                    updated_at: Set(placed_at),
                    ..Default::default()
                });
                events.push(order_event::ActiveModel {
                    order_id: Set(id),
                    sequence: Set(1),
                    event_type: Set(OrderEventType::Placed),
                    fulfillment_order_id: Set(None),
                    customer_id: Set(customer_id),
                    message: Set(Some(format!("Order #{} placed via web", 1000 + id))),
                    payload: Set("{}".to_owned()),
                    actor: Set("seed".to_owned()),
                    occurred_at: Set(placed_at),
                    location_id: Set(None),
                    return_id: Set(None),
                    ..Default::default()
                });
            }
            lines_written += lines.len();
            let txn = self.db().begin().await?;
            order::Entity::insert_many(orders).exec(&txn).await?;
            for part in lines.chunks(CHUNK * 2) {
                order_line::Entity::insert_many(part.to_vec())
                    .exec(&txn)
                    .await?;
            }
            payment::Entity::insert_many(payments).exec(&txn).await?;
            order_event::Entity::insert_many(events).exec(&txn).await?;
            // History, published long ago: off the outbox its trigger put it in.
            let (from, to) = (
                first_order + (chunk_index * CHUNK) as i64,
                first_order + (chunk_index * CHUNK + chunk.len()) as i64,
            );
            event_outbox::Entity::delete_many()
                .filter(
                    event_outbox::Column::EventId.in_subquery(
                        order_event::Entity::find()
                            .select_only()
                            .column(order_event::Column::Id)
                            .filter(order_event::Column::OrderId.gte(from))
                            .filter(order_event::Column::OrderId.lt(to))
                            .into_query(),
                    ),
                )
                .exec(&txn)
                .await?;
            txn.commit().await?;
        }
        // Explicit ids leave Postgres's sequence behind: the next placed order takes the
        // id after the last bench order.
        if self.db().get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            self.db()
                .execute_unprepared(
                    "SELECT setval(pg_get_serial_sequence('orders', 'id'), \
                     (SELECT MAX(id) FROM orders))",
                )
                .await?;
            // Planner statistics now, not whenever autovacuum gets round to it: without
            // them a prepared `IN (...)` can get a generic plan that scans every line.
            self.db().execute_unprepared("ANALYZE").await?;
        }
        Ok(Some(BenchSummary {
            locations: locations.len(),
            skus: SKUS,
            customers: CUSTOMERS,
            orders,
            lines: lines_written,
        }))
    }

    /// The bench customers, in bulk; their ids in order.
    async fn bench_customers(&self, now: chrono::DateTime<Utc>) -> Result<Vec<i64>> {
        const ZONES: [&str; 4] = [
            "America/Los_Angeles",
            "America/Chicago",
            "America/New_York",
            "America/Denver",
        ];
        for start in (0..CUSTOMERS).step_by(CHUNK) {
            let rows = (start..(start + CHUNK).min(CUSTOMERS)).map(|i| customer::ActiveModel {
                email: Set(format!("bench.customer.{i}@example.com")),
                name: Set(format!("Bench Customer {i}")),
                phone: Set(None),
                time_zone: Set(ZONES[i % ZONES.len()].to_owned()),
                version: Set(1),
                notify_by_email: Set(true),
                notify_by_sms: Set(false),
                created_at: Set(now - Duration::days(400)),
                updated_at: Set(now - Duration::days(400)),
                ..Default::default()
            });
            customer::Entity::insert_many(rows).exec(self.db()).await?;
        }
        Ok(customer::Entity::find()
            .select_only()
            .column(customer::Column::Id)
            .filter(customer::Column::Email.like("bench.customer.%@example.com"))
            .order_by_asc(customer::Column::Id)
            .into_tuple::<i64>()
            .all(self.db())
            .await?)
    }
}
