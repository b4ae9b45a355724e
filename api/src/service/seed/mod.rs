//! Demo data for the embedded default and for trying the API: three locations, a solar
//! catalogue, customers (among them Steven Boyle of San Francisco), stock, and orders in
//! every state — Steven's delivered solar array and a battery arriving tomorrow among them
//! — with returns in every state (`returns.rs`).
//!
//! Everything is written through the use cases, with a clock moved to when each step
//! happened (place, pick, pack, ship, carrier events, cancel): one write path for every
//! order in the system, so the demo obeys every rule a real order does. Dates are
//! relative to the store's clock and are the customers' local dates, so the promise
//! labels read right on any day, in any time zone.

mod bench;
mod history;
mod returns;

pub use bench::BenchSummary;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Days, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use entity::location;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use super::cancelling::CancelOrder;
use super::catalog::{NewLocation, SkuUpsert, StockChange};
use super::customers::NewCustomer;
use super::fulfillment::{DeliveryUpdate, Shipment};
use super::ordering::{Actor, PlaceOrder};
use super::orders::Visibility;
use super::{Result, Store};
use crate::clock::ManualClock;
use crate::domain::address::{Address, AddressFields, CountryCode};
use crate::domain::catalog::{Code, Email, parse_time_zone};
use crate::domain::ids::{CustomerId, FulfillmentOrderId, LocationId, OrderId, SkuId};
use crate::domain::money::{Currency, Money};
use crate::domain::status::{FulfillmentStatus, LocationKind, ShippingMethod};

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
    /// With the carrier, arriving on that (local) day.
    InTransit {
        arriving: NaiveDate,
    },
    /// Delivered on that (local) day.
    Delivered {
        on: NaiveDate,
    },
    Cancelled,
    /// The carrier reported a delay; the estimate has passed.
    Delayed,
}

struct DemoOrder {
    customer: usize,
    lines: &'static [(&'static str, i32)],
    method: ShippingMethod,
    placed: DateTime<Utc>,
    stage: Stage,
}

/// Stock the demo starts with on top of `STOCK`, so that the history can ship; what is
/// left is set back to `STOCK` (or what stays reserved) at the end, as a stock take.
const OPENING_EXTRA: i32 = 500;

/// The position of Steven's battery (`#1058`) among the demo's orders.
const BATTERY_ORDER: usize = 57;

/// Who the demo's history is written by.
fn actor() -> Actor {
    Actor {
        name: "seed".to_owned(),
    }
}

impl Store {
    /// Writes the demo data unless it is there already, through the use cases.
    #[tracing::instrument(skip(self))]
    pub async fn seed_demo(&self) -> Result<Option<SeedSummary>> {
        if location::Entity::find()
            .filter(location::Column::Code.eq("SF-STORE"))
            .count(self.db())
            .await?
            > 0
        {
            return Ok(None);
        }
        let now = self.clock().now();
        let clock = Arc::new(ManualClock::new(now - Duration::days(120)));
        let demo = self.with_clock(clock.clone());
        let world = demo.seed_catalogue().await?;

        let orders = demo_orders(now);
        let mut placed = Vec::new();
        for order in &orders {
            placed.push(demo.seed_order(&clock, &world, order).await?);
        }
        demo.seed_returns(&clock, &world, &placed, now).await?;
        clock.set(now - Duration::hours(2));
        demo.seed_profile(&world, &placed).await?;
        // The battery's "arriving tomorrow", as the scheduler announces it. Announced at
        // `now`, not earlier: half an hour before a customer's midnight, their tomorrow
        // is another day, and the server's own scheduler would announce it at start-up
        // while clients already read the order.
        clock.set(now);
        demo.announce_arriving_tomorrow().await?;
        demo.stock_take(&world).await?;
        demo.settle_demo_history(&placed).await?;
        Ok(Some(SeedSummary {
            locations: LOCATIONS.len(),
            skus: SKUS.len(),
            customers: CUSTOMERS.len(),
            orders: orders.len(),
        }))
    }

    /// Steven's profile: his home saved as his default address, and a note he left on
    /// the battery's order (written through the use cases).
    async fn seed_profile(&self, world: &DemoWorld, placed: &[OrderId]) -> Result<()> {
        let steven = world.customers[0];
        self.add_customer_address(super::profile::NewAddress {
            customer: steven,
            address: customer_address(0)?,
            label: Some("Home".to_owned()),
            make_default: true,
        })
        .await?;
        if let Some(&battery) = placed.get(BATTERY_ORDER) {
            self.add_order_note(
                super::notes::NewNote {
                    order: battery,
                    body: "Please leave the battery in the garage; the side gate code is 4411."
                        .to_owned(),
                    visibility: crate::domain::status::NoteVisibility::Customer,
                    author: "customer".to_owned(),
                },
                &Actor {
                    name: format!("customer:{}", steven.0),
                },
                Visibility::All,
            )
            .await?;
        }
        Ok(())
    }

    /// Channels, locations, SKUs, customers and opening stock.
    async fn seed_catalogue(&self) -> Result<DemoWorld> {
        for code in ["web", "pos", "marketplace"] {
            self.register_channel(code, &code.to_uppercase()).await?;
        }
        let mut locations = HashMap::new();
        for &(code, name, kind, line1, city, region, postal, lat, lon, ships_to, priority) in
            LOCATIONS
        {
            let row = self
                .create_location(NewLocation {
                    code: Code::parse("code", code)?,
                    name: name.to_owned(),
                    kind: kind.parse().unwrap_or(LocationKind::Warehouse),
                    address: us_address(name, line1, city, region, postal, (lat, lon))?,
                    ships_to: ships_to
                        .split(',')
                        .map(CountryCode::parse)
                        .collect::<std::result::Result<_, _>>()?,
                    priority,
                })
                .await?;
            locations.insert(code, LocationId(row.id));
        }
        let usd = Currency::parse("USD")?;
        let mut skus = HashMap::new();
        for &(code, name, price, grams) in SKUS {
            let row = self
                .upsert_sku(SkuUpsert {
                    code: Code::parse("code", code)?,
                    name: name.to_owned(),
                    price: Money {
                        minor: price,
                        currency: usd,
                    },
                    weight_grams: Some(grams),
                })
                .await?;
            skus.insert(code, SkuId(row.id));
        }
        let mut customers = Vec::new();
        for &(name, email, zone, ..) in CUSTOMERS {
            let row = self
                .create_customer(NewCustomer {
                    email: Email::parse(email)?,
                    name: name.to_owned(),
                    phone: None,
                    time_zone: parse_time_zone(zone)?,
                })
                .await?;
            customers.push(CustomerId(row.id));
        }
        for &(location, sku, on_hand) in STOCK {
            self.change_stock(
                sku,
                locations[location],
                StockChange::Set(on_hand + OPENING_EXTRA),
                "demo: opening stock",
                "seed",
            )
            .await?;
        }
        Ok(DemoWorld {
            locations,
            skus,
            customers,
        })
    }

    /// Places one demo order at its time and walks it to its stage, each step at the
    /// time it happened.
    async fn seed_order(
        &self,
        clock: &ManualClock,
        world: &DemoWorld,
        demo: &DemoOrder,
    ) -> Result<OrderId> {
        let manual = matches!(demo.stage, Stage::PendingPayment);
        clock.set(demo.placed);
        let placed = self
            .place_order(
                PlaceOrder {
                    customer: world.customers[demo.customer],
                    channel: "web".to_owned(),
                    lines: demo
                        .lines
                        .iter()
                        .map(|(code, qty)| ((*code).to_owned(), *qty))
                        .collect(),
                    address: customer_address(demo.customer)?,
                    method: demo.method,
                    provider: if manual { "manual" } else { "test" }.to_owned(),
                    token: (!manual).then(|| "tok_visa".to_owned()),
                    idempotency_key: None,
                    note: None,
                },
                &actor(),
            )
            .await?;
        let order = OrderId(placed.order.id);
        let Some(fo) = self
            .fulfillment_orders_by_orders(&[order])
            .await?
            .get(&order)
            .and_then(|fos| fos.first())
            .map(|fo| FulfillmentOrderId(fo.id))
        else {
            return Ok(order);
        };
        self.walk_to_stage(clock, order, fo, demo).await?;
        Ok(order)
    }

    /// The steps after placing that bring the order to its demo stage.
    async fn walk_to_stage(
        &self,
        clock: &ManualClock,
        order: OrderId,
        fo: FulfillmentOrderId,
        demo: &DemoOrder,
    ) -> Result<()> {
        let at = |hours: i64| demo.placed + Duration::hours(hours);
        let zone = zone_of(demo.customer);
        match demo.stage {
            Stage::PendingPayment | Stage::Open => {}
            Stage::Cancelled => {
                clock.set(at(3));
                self.cancel_order(
                    CancelOrder {
                        order,
                        reason: Some("Customer changed their mind".to_owned()),
                        expected_version: None,
                    },
                    &actor(),
                    Visibility::All,
                )
                .await?;
            }
            Stage::Picking => {
                clock.set(at(2));
                self.start_picking(fo, None, &actor()).await?;
            }
            Stage::Packed => {
                self.pick_and_pack(clock, fo, at(2), at(4)).await?;
            }
            Stage::InTransit { arriving } => {
                self.ship_demo(clock, fo, demo).await?;
                clock.set(at(32));
                let estimate = local_noon(arriving, zone).unwrap_or(demo.placed);
                self.carrier_update(fo, FulfillmentStatus::InTransit, Some(estimate), None)
                    .await?;
            }
            Stage::Delivered { on } => {
                self.ship_demo(clock, fo, demo).await?;
                clock.set(at(32));
                self.carrier_update(fo, FulfillmentStatus::InTransit, None, None)
                    .await?;
                // Mid-afternoon, the customer's time.
                let delivered = on
                    .and_hms_opt(15, 30, 0)
                    .and_then(|t| t.and_local_timezone(zone).earliest())
                    .map_or(at(48), |t| t.with_timezone(&Utc))
                    .max(at(33));
                clock.set(delivered);
                self.carrier_update(fo, FulfillmentStatus::Delivered, None, None)
                    .await?;
            }
            Stage::Delayed => {
                self.ship_demo(clock, fo, demo).await?;
                clock.set(at(24 + 72));
                self.carrier_update(
                    fo,
                    FulfillmentStatus::DeliveryException,
                    None,
                    Some("Weather delay at the hub".to_owned()),
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn pick_and_pack(
        &self,
        clock: &ManualClock,
        fo: FulfillmentOrderId,
        picked: DateTime<Utc>,
        packed: DateTime<Utc>,
    ) -> Result<()> {
        clock.set(picked);
        self.start_picking(fo, None, &actor()).await?;
        clock.set(packed);
        self.mark_packed(fo, None, &actor()).await?;
        Ok(())
    }

    /// Picks, packs and hands the parcel to UPS the day after the order was placed.
    async fn ship_demo(
        &self,
        clock: &ManualClock,
        fo: FulfillmentOrderId,
        demo: &DemoOrder,
    ) -> Result<()> {
        let at = |hours: i64| demo.placed + Duration::hours(hours);
        self.pick_and_pack(clock, fo, at(3), at(6)).await?;
        clock.set(at(24));
        let tracking = format!("1Z999AA1{:010}", fo.0);
        self.ship(
            fo,
            Shipment {
                carrier: "UPS".to_owned(),
                tracking_url: Some(format!("https://www.ups.com/track?tracknum={tracking}")),
                tracking_number: tracking,
            },
            None,
            &actor(),
        )
        .await?;
        Ok(())
    }

    async fn carrier_update(
        &self,
        fo: FulfillmentOrderId,
        status: FulfillmentStatus,
        estimated_delivery_at: Option<DateTime<Utc>>,
        message: Option<String>,
    ) -> Result<()> {
        self.record_delivery_event(
            fo,
            DeliveryUpdate {
                status,
                occurred_at: None,
                estimated_delivery_at,
                message,
            },
            None,
            &actor(),
        )
        .await?;
        Ok(())
    }

    /// Counts the shelves after the history shipped: each level back to what `STOCK`
    /// says is left (never below what open orders hold).
    async fn stock_take(&self, world: &DemoWorld) -> Result<()> {
        let ids: Vec<SkuId> = world.skus.values().copied().collect();
        let levels = self.levels_by_skus(&ids).await?;
        for &(location, sku, on_hand) in STOCK {
            let reserved = levels
                .get(&world.skus[sku])
                .into_iter()
                .flatten()
                .find(|l| l.location_id == world.locations[location].0)
                .map_or(0, |l| l.reserved);
            self.change_stock(
                sku,
                world.locations[location],
                StockChange::Set(on_hand.max(reserved)),
                "demo: stock take",
                "seed",
            )
            .await?;
        }
        Ok(())
    }
}

/// The demo's locations, SKUs and customers by their demo keys.
struct DemoWorld {
    locations: HashMap<&'static str, LocationId>,
    skus: HashMap<&'static str, SkuId>,
    customers: Vec<CustomerId>,
}

/// Demo customer `customer`'s home, where their orders go.
fn customer_address(customer: usize) -> Result<Address> {
    let (name, _, _, line1, city, region, postal, lat, lon) = CUSTOMERS[customer];
    us_address(name, line1, city, region, postal, (lat, lon))
}

/// A demo address in the United States.
fn us_address(
    name: &str,
    line1: &str,
    city: &str,
    region: &str,
    postal: &str,
    (lat, lon): (f64, f64),
) -> Result<Address> {
    Ok(Address::parse(AddressFields {
        name: Some(name.to_owned()),
        line1: line1.to_owned(),
        line2: None,
        city: city.to_owned(),
        region: Some(region.to_owned()),
        postal_code: postal.to_owned(),
        country: "US".to_owned(),
        latitude: Some(lat),
        longitude: Some(lon),
    })?)
}

/// Noon on `day` in `zone`, as an instant.
fn local_noon(day: NaiveDate, zone: Tz) -> Option<DateTime<Utc>> {
    day.and_hms_opt(12, 0, 0)?
        .and_local_timezone(zone)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
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

/// The demo's orders, oldest history first (long because it is a table of data).
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
        lines: &[("SOLAR-6KW", 1), ("RAIL-KIT", 1)],
        method: ShippingMethod::Standard,
        placed: days_ago(9),
        stage: Stage::Delivered { on: date_ago(0, 2) },
    });
    orders.push(DemoOrder {
        customer: 0,
        lines: &[("BATT-13KWH", 1)],
        method: ShippingMethod::Express,
        placed: days_ago(2),
        stage: Stage::InTransit {
            arriving: tomorrow(0),
        },
    });
    orders.push(DemoOrder {
        customer: 2,
        lines: &[("EV-48A", 1), ("MON-HUB", 1)],
        method: ShippingMethod::Standard,
        placed: days_ago(1),
        stage: Stage::Open,
    });
    orders.push(DemoOrder {
        customer: 1,
        lines: &[("INV-7600", 1), ("MC4-PAIR", 8)],
        method: ShippingMethod::Overnight,
        placed: now - Duration::hours(5),
        stage: Stage::Picking,
    });
    orders.push(DemoOrder {
        customer: 3,
        lines: &[("SOLAR-6KW", 1)],
        method: ShippingMethod::Standard,
        placed: days_ago(4),
        stage: Stage::Cancelled,
    });
    orders.push(DemoOrder {
        customer: 4,
        lines: &[("EV-48A", 1)],
        method: ShippingMethod::Standard,
        placed: now - Duration::hours(1),
        stage: Stage::PendingPayment,
    });
    orders.push(DemoOrder {
        customer: 3,
        lines: &[("MON-HUB", 2)],
        method: ShippingMethod::Standard,
        placed: days_ago(3) - Duration::hours(12),
        stage: Stage::Packed,
    });
    orders.push(DemoOrder {
        customer: 1,
        lines: &[("RAIL-KIT", 1)],
        method: ShippingMethod::Express,
        placed: days_ago(8),
        stage: Stage::Delayed,
    });
    // Steven's order of a few minutes ago: nothing picked yet, so he can still change it
    // himself (for an hour after placing, `ORDERLY_CUSTOMER_EDIT_WINDOW`).
    orders.push(DemoOrder {
        customer: 0,
        lines: &[("MC4-PAIR", 6)],
        method: ShippingMethod::Standard,
        placed: now - Duration::minutes(5),
        stage: Stage::Open,
    });
    orders
}
