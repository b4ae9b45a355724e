//! Demo data for the embedded default and for trying the API: three locations, a solar
//! catalogue, customers (among them Steven Boyle of San Francisco), stock, and orders in
//! every state — Steven's delivered solar array and a battery arriving tomorrow among them.
//! Dates are relative to the store's clock so the promise labels read right on any day.

use chrono::{DateTime, Days, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use entity::{
    channel, customer, fulfillment_order, fulfillment_order_line, inventory_level, location, order,
    order_event, order_line, payment, sku,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
};

use super::{Result, Store};
use crate::domain::delivery::estimate_window;
use crate::domain::pricing::totals;
use crate::domain::status::{
    FulfillmentStatus, LocationKind, OrderEventType, OrderStatus, PaymentStatus, RoutingStrategy,
    ShippingMethod,
};

/// What `seed_demo` wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeedSummary {
    pub locations: usize,
    pub skus: usize,
    pub customers: usize,
    pub orders: usize,
}

/// (code, name, kind, line1, city, region, postal code, lat, lon, ships to, priority)
type LocationRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    f64,
    f64,
    &'static str,
    i32,
);
/// (name, email, time zone, line1, city, region, postal code, lat, lon)
type CustomerRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    f64,
    f64,
);

const LOCATIONS: &[LocationRow] = &[
    (
        "SF-STORE",
        "San Francisco Store",
        "STORE",
        "845 Market St",
        "San Francisco",
        "CA",
        "94103",
        37.7841,
        -122.4075,
        "US",
        20,
    ),
    (
        "RNO-WH",
        "Reno Warehouse",
        "WAREHOUSE",
        "1200 Terminal Way",
        "Reno",
        "NV",
        "89502",
        39.5089,
        -119.7829,
        "US,CA",
        10,
    ),
    (
        "EWR-WH",
        "Newark Warehouse",
        "WAREHOUSE",
        "400 Delancy St",
        "Newark",
        "NJ",
        "07105",
        40.7195,
        -74.1446,
        "US,CA",
        10,
    ),
];

const SKUS: &[(&str, &str, i64, i32)] = &[
    ("SOLAR-6KW", "6 kW Solar Array Kit", 899_900, 310_000),
    ("BATT-13KWH", "13.5 kWh Home Battery", 649_900, 114_000),
    ("INV-7600", "7.6 kW Hybrid Inverter", 219_900, 24_000),
    ("RAIL-KIT", "Roof Mounting Rail Kit", 34_900, 18_000),
    ("EV-48A", "48 A Level 2 EV Charger", 59_900, 7_000),
    ("MC4-PAIR", "MC4 Connector Pair", 1_299, 100),
    ("MON-HUB", "Energy Monitoring Hub", 24_900, 600),
];

/// (location code, sku code, on hand)
const STOCK: &[(&str, &str, i32)] = &[
    ("SF-STORE", "SOLAR-6KW", 2),
    ("SF-STORE", "EV-48A", 6),
    ("SF-STORE", "MC4-PAIR", 120),
    ("SF-STORE", "MON-HUB", 15),
    ("RNO-WH", "SOLAR-6KW", 40),
    ("RNO-WH", "BATT-13KWH", 25),
    ("RNO-WH", "INV-7600", 30),
    ("RNO-WH", "RAIL-KIT", 80),
    ("RNO-WH", "MC4-PAIR", 2_000),
    ("EWR-WH", "SOLAR-6KW", 12),
    ("EWR-WH", "BATT-13KWH", 8),
    ("EWR-WH", "EV-48A", 40),
    ("EWR-WH", "MON-HUB", 60),
];

const CUSTOMERS: &[CustomerRow] = &[
    (
        "Steven Boyle",
        "steven.boyle@example.com",
        "America/Los_Angeles",
        "2150 Lombard St",
        "San Francisco",
        "CA",
        "94123",
        37.7996,
        -122.4368,
    ),
    (
        "Maria Garcia",
        "maria.garcia@example.com",
        "America/Chicago",
        "1100 Congress Ave",
        "Austin",
        "TX",
        "78701",
        30.2747,
        -97.7404,
    ),
    (
        "Aiko Tanaka",
        "aiko.tanaka@example.com",
        "America/New_York",
        "200 Bedford Ave",
        "Brooklyn",
        "NY",
        "11249",
        40.7173,
        -73.9569,
    ),
    (
        "Daniel Okafor",
        "daniel.okafor@example.com",
        "America/Denver",
        "1600 Champa St",
        "Denver",
        "CO",
        "80202",
        39.7475,
        -104.9929,
    ),
    (
        "Priya Nair",
        "priya.nair@example.com",
        "America/Los_Angeles",
        "500 S Grand Ave",
        "Los Angeles",
        "CA",
        "90071",
        34.0504,
        -118.2541,
    ),
];

/// Where an order's one fulfilment order stands.
#[derive(Clone, Copy)]
enum Stage {
    /// Paid with the manual provider, not yet confirmed.
    PendingPayment,
    /// Authorised and allocated; waiting for the warehouse.
    Open,
    Picking,
    /// Packed, waiting for the carrier.
    Packed,
    /// Shipped `days` business days ago, now with the carrier.
    InTransit {
        arriving: NaiveDate,
    },
    /// Delivered on that day.
    Delivered {
        on: NaiveDate,
    },
    Cancelled,
    /// The carrier reported a delay; the estimate has passed.
    Delayed,
}

struct DemoOrder {
    customer: usize,
    location: &'static str,
    lines: &'static [(&'static str, i32)],
    method: ShippingMethod,
    placed: DateTime<Utc>,
    stage: Stage,
}

impl Store {
    /// Writes the demo data unless it is there already; one transaction.
    #[tracing::instrument(skip(self))]
    pub async fn seed_demo(&self) -> Result<Option<SeedSummary>> {
        let (_writer, txn) = self.begin_write().await?;
        if location::Entity::find()
            .filter(location::Column::Code.eq("SF-STORE"))
            .count(&txn)
            .await?
            > 0
        {
            return Ok(None);
        }
        let now = self.clock().now();

        channel::Entity::insert_many(["web", "pos", "marketplace"].map(|code| {
            channel::ActiveModel {
                code: Set(code.to_owned()),
                name: Set(code.to_uppercase()),
                created_at: Set(now),
                ..Default::default()
            }
        }))
        .exec_without_returning(&txn)
        .await?;

        let mut location_ids = std::collections::HashMap::new();
        for &(code, name, kind, line1, city, region, postal, lat, lon, ships_to, priority) in
            LOCATIONS
        {
            let row = location::Entity::insert(location::ActiveModel {
                code: Set(code.to_owned()),
                name: Set(name.to_owned()),
                kind: Set(kind.parse().unwrap_or(LocationKind::Warehouse)),
                address_name: Set(Some(name.to_owned())),
                line1: Set(line1.to_owned()),
                line2: Set(None),
                city: Set(city.to_owned()),
                region: Set(Some(region.to_owned())),
                postal_code: Set(postal.to_owned()),
                country: Set("US".to_owned()),
                latitude: Set(Some(lat)),
                longitude: Set(Some(lon)),
                ships_to: Set(ships_to.to_owned()),
                priority: Set(priority),
                active: Set(true),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .exec_with_returning(&txn)
            .await?;
            location_ids.insert(code, row.id);
        }

        let mut skus = std::collections::HashMap::new();
        for &(code, name, price, grams) in SKUS {
            let row = sku::Entity::insert(sku::ActiveModel {
                code: Set(code.to_owned()),
                name: Set(name.to_owned()),
                price_amount: Set(price),
                currency: Set("USD".to_owned()),
                weight_grams: Set(Some(grams)),
                active: Set(true),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .exec_with_returning(&txn)
            .await?;
            skus.insert(code, row);
        }

        let mut customer_ids = Vec::new();
        for &(name, email, tz, ..) in CUSTOMERS {
            let row = customer::Entity::insert(customer::ActiveModel {
                email: Set(email.to_owned()),
                name: Set(name.to_owned()),
                phone: Set(None),
                time_zone: Set(tz.to_owned()),
                version: Set(1),
                created_at: Set(now - Duration::days(120)),
                updated_at: Set(now - Duration::days(120)),
                ..Default::default()
            })
            .exec_with_returning(&txn)
            .await?;
            customer_ids.push(row.id);
        }

        let orders = demo_orders(now);
        // Units still reserved (allocated, not shipped) per level; STOCK is what is left
        // on hand after the demo history shipped.
        let mut reserved: std::collections::HashMap<(&str, &str), i32> =
            std::collections::HashMap::new();
        for (i, demo) in orders.iter().enumerate() {
            let number = format!("#{}", 1001 + i);
            let ctx = SeedContext {
                txn: &txn,
                skus: &skus,
                location_ids: &location_ids,
                customer_ids: &customer_ids,
            };
            insert_order(&ctx, &number, demo, now).await?;
            for &(code, qty) in demo.lines {
                let key = (demo.location, code);
                if matches!(
                    demo.stage,
                    Stage::PendingPayment | Stage::Open | Stage::Picking | Stage::Packed
                ) {
                    *reserved.entry(key).or_default() += qty;
                }
            }
        }

        for &(loc, code, on_hand) in STOCK {
            let key = (loc, code);
            let held = reserved.get(&key).copied().unwrap_or(0);
            inventory_level::Entity::insert(inventory_level::ActiveModel {
                location_id: Set(location_ids[loc]),
                sku_id: Set(skus[code].id),
                on_hand: Set(on_hand.max(held)),
                reserved: Set(held),
                version: Set(1),
                updated_at: Set(now),
                ..Default::default()
            })
            .exec_without_returning(&txn)
            .await?;
        }
        txn.commit().await?;
        Ok(Some(SeedSummary {
            locations: LOCATIONS.len(),
            skus: SKUS.len(),
            customers: CUSTOMERS.len(),
            orders: orders.len(),
        }))
    }
}

/// The time zone of demo customer `customer`.
fn zone_of(customer: usize) -> Tz {
    CUSTOMERS[customer].2.parse().unwrap_or(chrono_tz::UTC)
}

/// Today in demo customer `customer`'s time zone: demo dates are the customer's local
/// dates, so "arriving tomorrow" reads right in San Francisco on a Sunday evening too.
fn local_today(now: DateTime<Utc>, customer: usize) -> NaiveDate {
    now.with_timezone(&zone_of(customer)).date_naive()
}

fn demo_orders(now: DateTime<Utc>) -> Vec<DemoOrder> {
    let days_ago = |d: i64| now - Duration::days(d);
    let date_ago = |customer: usize, d: u64| {
        let today = local_today(now, customer);
        today.checked_sub_days(Days::new(d)).unwrap_or(today)
    };
    let tomorrow = |customer: usize| {
        let today = local_today(now, customer);
        today.checked_add_days(Days::new(1)).unwrap_or(today)
    };
    let mut orders = Vec::new();
    // History: two months of delivered orders across every customer, oldest first.
    const HISTORY: &[&[(&str, i32)]] = &[
        &[("MC4-PAIR", 4)],
        &[("MON-HUB", 1)],
        &[("RAIL-KIT", 2), ("MC4-PAIR", 10)],
        &[("INV-7600", 1)],
        &[("EV-48A", 1)],
    ];
    for i in 0..56_usize {
        let placed_days_ago = 70 - i as i64;
        orders.push(DemoOrder {
            customer: i % CUSTOMERS.len(),
            location: if i % 3 == 0 { "EWR-WH" } else { "RNO-WH" },
            lines: HISTORY[i % HISTORY.len()],
            method: if i % 4 == 0 {
                ShippingMethod::Express
            } else {
                ShippingMethod::Standard
            },
            placed: days_ago(placed_days_ago),
            stage: Stage::Delivered {
                on: date_ago(i % CUSTOMERS.len(), (placed_days_ago - 6).max(1) as u64),
            },
        });
    }
    // The orders a portal demo is about.
    orders.push(DemoOrder {
        customer: 0,
        location: "RNO-WH",
        lines: &[("SOLAR-6KW", 1), ("RAIL-KIT", 1)],
        method: ShippingMethod::Standard,
        placed: days_ago(9),
        stage: Stage::Delivered { on: date_ago(0, 2) },
    });
    orders.push(DemoOrder {
        customer: 0,
        location: "RNO-WH",
        lines: &[("BATT-13KWH", 1)],
        method: ShippingMethod::Express,
        placed: days_ago(2),
        stage: Stage::InTransit {
            arriving: tomorrow(0),
        },
    });
    orders.push(DemoOrder {
        customer: 2,
        location: "EWR-WH",
        lines: &[("EV-48A", 1), ("MON-HUB", 1)],
        method: ShippingMethod::Standard,
        placed: days_ago(1),
        stage: Stage::Open,
    });
    orders.push(DemoOrder {
        customer: 1,
        location: "RNO-WH",
        lines: &[("INV-7600", 1), ("MC4-PAIR", 8)],
        method: ShippingMethod::Overnight,
        placed: now - Duration::hours(5),
        stage: Stage::Picking,
    });
    orders.push(DemoOrder {
        customer: 3,
        location: "RNO-WH",
        lines: &[("SOLAR-6KW", 1)],
        method: ShippingMethod::Standard,
        placed: days_ago(4),
        stage: Stage::Cancelled,
    });
    orders.push(DemoOrder {
        customer: 4,
        location: "SF-STORE",
        lines: &[("EV-48A", 1)],
        method: ShippingMethod::Standard,
        placed: now - Duration::hours(1),
        stage: Stage::PendingPayment,
    });
    orders.push(DemoOrder {
        customer: 3,
        location: "EWR-WH",
        lines: &[("MON-HUB", 2)],
        method: ShippingMethod::Standard,
        placed: days_ago(3) - Duration::hours(12),
        stage: Stage::Packed,
    });
    orders.push(DemoOrder {
        customer: 1,
        location: "RNO-WH",
        lines: &[("RAIL-KIT", 1)],
        method: ShippingMethod::Express,
        placed: days_ago(8),
        stage: Stage::Delayed,
    });
    orders
}

struct SeedContext<'a> {
    txn: &'a DatabaseTransaction,
    skus: &'a std::collections::HashMap<&'static str, sku::Model>,
    location_ids: &'a std::collections::HashMap<&'static str, i64>,
    customer_ids: &'a [i64],
}

async fn insert_order(
    ctx: &SeedContext<'_>,
    number: &str,
    demo: &DemoOrder,
    now: DateTime<Utc>,
) -> Result<()> {
    let (_, _, _, line1, city, region, postal, lat, lon) = CUSTOMERS[demo.customer];
    let customer_id = ctx.customer_ids[demo.customer];
    let priced: Vec<(i64, i32)> = demo
        .lines
        .iter()
        .map(|(code, qty)| (ctx.skus[code].price_amount, *qty))
        .collect();
    let t = totals(&priced, demo.method, 0).unwrap_or(crate::domain::pricing::Totals {
        subtotal: 0,
        shipping: 0,
        tax: 0,
        total: 0,
    });
    let ship_date = demo
        .placed
        .date_naive()
        .checked_add_days(Days::new(1))
        .unwrap_or(demo.placed.date_naive());
    let (fo_status, order_status, payment_status) = match demo.stage {
        Stage::PendingPayment => (
            FulfillmentStatus::Open,
            OrderStatus::PendingPayment,
            PaymentStatus::Pending,
        ),
        Stage::Open => (
            FulfillmentStatus::Open,
            OrderStatus::Confirmed,
            PaymentStatus::Authorized,
        ),
        Stage::Picking => (
            FulfillmentStatus::Picking,
            OrderStatus::InProgress,
            PaymentStatus::Authorized,
        ),
        Stage::Packed => (
            FulfillmentStatus::Packed,
            OrderStatus::InProgress,
            PaymentStatus::Authorized,
        ),
        Stage::Delayed => (
            FulfillmentStatus::DeliveryException,
            OrderStatus::Shipped,
            PaymentStatus::Captured,
        ),
        Stage::InTransit { .. } => (
            FulfillmentStatus::InTransit,
            OrderStatus::Shipped,
            PaymentStatus::Captured,
        ),
        Stage::Delivered { .. } => (
            FulfillmentStatus::Delivered,
            OrderStatus::Delivered,
            PaymentStatus::Captured,
        ),
        Stage::Cancelled => (
            FulfillmentStatus::Cancelled,
            OrderStatus::Cancelled,
            PaymentStatus::Voided,
        ),
    };
    let mut events: Vec<(OrderEventType, DateTime<Utc>, Option<String>)> = vec![(
        OrderEventType::Placed,
        demo.placed,
        Some(format!("Order {number} placed")),
    )];
    if !matches!(demo.stage, Stage::PendingPayment) {
        events.push((OrderEventType::PaymentAuthorized, demo.placed, None));
    }
    events.push((
        OrderEventType::Allocated,
        demo.placed,
        Some("single location".to_owned()),
    ));
    let shipped_at = demo.placed + Duration::days(1);
    let (window, delivered_at) = match demo.stage {
        Stage::InTransit { arriving } => {
            let w = estimate_window(ship_date, demo.method);
            (Some((arriving, w.latest.max(arriving))), None)
        }
        Stage::Delayed => {
            let w = estimate_window(ship_date, demo.method);
            (Some((w.earliest, w.latest)), None)
        }
        Stage::Delivered { on } => {
            let w = estimate_window(ship_date, demo.method);
            (
                Some((w.earliest, w.latest)),
                // Mid-afternoon, the customer's time.
                Some(
                    on.and_hms_opt(15, 30, 0)
                        .and_then(|t| t.and_local_timezone(zone_of(demo.customer)).earliest())
                        .map_or(now, |t| t.with_timezone(&Utc)),
                ),
            )
        }
        _ => (None, None),
    };
    match demo.stage {
        Stage::Picking => events.push((
            OrderEventType::PickingStarted,
            demo.placed + Duration::hours(2),
            None,
        )),
        Stage::Packed => {
            events.push((
                OrderEventType::PickingStarted,
                demo.placed + Duration::hours(2),
                None,
            ));
            events.push((
                OrderEventType::Packed,
                demo.placed + Duration::hours(4),
                None,
            ));
        }
        Stage::Delayed => {
            events.push((
                OrderEventType::PickingStarted,
                demo.placed + Duration::hours(3),
                None,
            ));
            events.push((
                OrderEventType::Packed,
                demo.placed + Duration::hours(6),
                None,
            ));
            events.push((
                OrderEventType::Shipped,
                shipped_at,
                Some("UPS 1Z999AA10123456785".to_owned()),
            ));
            events.push((OrderEventType::PaymentCaptured, shipped_at, None));
            events.push((
                OrderEventType::DeliveryException,
                shipped_at + Duration::days(3),
                Some("Weather delay at the hub".to_owned()),
            ));
        }
        Stage::InTransit { .. } | Stage::Delivered { .. } => {
            events.push((
                OrderEventType::PickingStarted,
                demo.placed + Duration::hours(3),
                None,
            ));
            events.push((
                OrderEventType::Packed,
                demo.placed + Duration::hours(6),
                None,
            ));
            events.push((
                OrderEventType::Shipped,
                shipped_at,
                Some("UPS 1Z999AA10123456784".to_owned()),
            ));
            events.push((OrderEventType::PaymentCaptured, shipped_at, None));
            events.push((
                OrderEventType::InTransit,
                shipped_at + Duration::hours(8),
                None,
            ));
            if let Some(at) = delivered_at {
                events.push((OrderEventType::Delivered, at.min(now), None));
            }
            if let Stage::InTransit { arriving } = demo.stage {
                let message = format!("Arriving tomorrow, {}", arriving.format("%A %b %-d"));
                events.push((
                    OrderEventType::ArrivingTomorrow,
                    now - Duration::minutes(30),
                    Some(message),
                ));
            }
        }
        Stage::Cancelled => events.push((
            OrderEventType::Cancelled,
            demo.placed + Duration::hours(3),
            Some("Customer changed their mind".to_owned()),
        )),
        Stage::PendingPayment | Stage::Open => {}
    }
    let updated_at = events.iter().map(|e| e.1).max().unwrap_or(demo.placed);
    let has_shipped = fo_status.has_shipped();

    let order = order::Entity::insert(order::ActiveModel {
        number: Set(number.to_owned()),
        customer_id: Set(customer_id),
        channel: Set("web".to_owned()),
        status: Set(order_status),
        payment_status: Set(payment_status),
        return_status: Set(None),
        currency: Set("USD".to_owned()),
        subtotal: Set(t.subtotal),
        shipping_total: Set(t.shipping),
        tax_total: Set(t.tax),
        total: Set(t.total),
        ship_name: Set(Some(CUSTOMERS[demo.customer].0.to_owned())),
        ship_line1: Set(line1.to_owned()),
        ship_line2: Set(None),
        ship_city: Set(city.to_owned()),
        ship_region: Set(Some(region.to_owned())),
        ship_postal_code: Set(postal.to_owned()),
        ship_country: Set("US".to_owned()),
        ship_latitude: Set(Some(lat)),
        ship_longitude: Set(Some(lon)),
        shipping_method: Set(demo.method),
        routing_strategy: Set(RoutingStrategy::Single),
        routing_reason: Set(format!("single location: {}", demo.location)),
        note: Set(None),
        cancel_reason: Set(matches!(demo.stage, Stage::Cancelled)
            .then(|| "Customer changed their mind".to_owned())),
        placed_at: Set(demo.placed),
        updated_at: Set(updated_at),
        cancelled_at: Set(
            matches!(demo.stage, Stage::Cancelled).then_some(demo.placed + Duration::hours(3))
        ),
        last_sequence: Set(events.len() as i32),
        version: Set(events.len() as i32),
        ..Default::default()
    })
    .exec_with_returning(ctx.txn)
    .await?;

    let fo = fulfillment_order::Entity::insert(fulfillment_order::ActiveModel {
        order_id: Set(order.id),
        location_id: Set(ctx.location_ids[demo.location]),
        status: Set(fo_status),
        shipping_method: Set(demo.method),
        carrier: Set(has_shipped.then(|| "UPS".to_owned())),
        tracking_number: Set(has_shipped.then(|| format!("1Z999AA1{:010}", order.id))),
        tracking_url: Set(has_shipped.then(|| {
            format!(
                "https://www.ups.com/track?tracknum=1Z999AA1{:010}",
                order.id
            )
        })),
        shipped_at: Set(has_shipped.then_some(shipped_at)),
        delivered_at: Set(delivered_at),
        estimated_earliest: Set(window.map(|w| w.0)),
        estimated_latest: Set(window.map(|w| w.1)),
        // The demo's "arriving tomorrow" was already announced (it is in the history).
        arriving_tomorrow_notified_on: Set(match demo.stage {
            Stage::InTransit { arriving } => Some(arriving),
            _ => None,
        }),
        version: Set(1),
        created_at: Set(demo.placed),
        updated_at: Set(updated_at),
        ..Default::default()
    })
    .exec_with_returning(ctx.txn)
    .await?;

    for (n, &(code, qty)) in demo.lines.iter().enumerate() {
        let sku = &ctx.skus[code];
        let line = order_line::Entity::insert(order_line::ActiveModel {
            order_id: Set(order.id),
            line_number: Set(n as i32 + 1),
            sku_id: Set(sku.id),
            quantity: Set(qty),
            unit_price: Set(sku.price_amount),
            quantity_fulfilled: Set(if has_shipped { qty } else { 0 }),
            quantity_cancelled: Set(if matches!(demo.stage, Stage::Cancelled) {
                qty
            } else {
                0
            }),
            ..Default::default()
        })
        .exec_with_returning(ctx.txn)
        .await?;
        fulfillment_order_line::Entity::insert(fulfillment_order_line::ActiveModel {
            fulfillment_order_id: Set(fo.id),
            order_line_id: Set(line.id),
            sku_id: Set(sku.id),
            quantity: Set(qty),
            ..Default::default()
        })
        .exec_without_returning(ctx.txn)
        .await?;
    }

    let captured = if has_shipped { t.total } else { 0 };
    payment::Entity::insert(payment::ActiveModel {
        order_id: Set(order.id),
        provider: Set(if matches!(demo.stage, Stage::PendingPayment) {
            "manual"
        } else {
            "test"
        }
        .to_owned()),
        provider_reference: Set(Some(format!("demo_{}", order.id))),
        status: Set(payment_status),
        currency: Set("USD".to_owned()),
        amount_authorized: Set(if matches!(demo.stage, Stage::PendingPayment) {
            0
        } else {
            t.total
        }),
        amount_captured: Set(captured),
        amount_refunded: Set(0),
        version: Set(1),
        created_at: Set(demo.placed),
        updated_at: Set(updated_at),
        ..Default::default()
    })
    .exec_without_returning(ctx.txn)
    .await?;

    let fo_events = [
        OrderEventType::PickingStarted,
        OrderEventType::Packed,
        OrderEventType::Shipped,
        OrderEventType::InTransit,
        OrderEventType::Delivered,
        OrderEventType::DeliveryException,
        OrderEventType::ArrivingTomorrow,
        OrderEventType::Allocated,
    ];
    order_event::Entity::insert_many(events.into_iter().enumerate().map(
        |(i, (kind, at, message))| {
            order_event::ActiveModel {
                order_id: Set(order.id),
                sequence: Set(i as i32 + 1),
                event_type: Set(kind),
                fulfillment_order_id: Set(fo_events.contains(&kind).then_some(fo.id)),
                customer_id: Set(customer_id),
                message: Set(message),
                payload: Set("{}".to_owned()),
                actor: Set("seed".to_owned()),
                occurred_at: Set(at),
                // Demo history is not news: mark it published so no relay replays it.
                published_at: Set(Some(now)),
                location_id: Set(fo_events
                    .contains(&kind)
                    .then_some(ctx.location_ids[demo.location])),
                ..Default::default()
            }
        },
    ))
    .exec_without_returning(ctx.txn)
    .await?;
    Ok(())
}
