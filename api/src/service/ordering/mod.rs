//! Placing orders (cancelling is in `cancelling.rs`). Placement prices the lines, routes
//! them, authorises the payment, then — in one write transaction — writes the order, its
//! lines, fulfilment orders, payment, events and idempotency key, and last reserves stock
//! with conditional updates that cannot oversell (last, so a popular SKU's row is locked
//! only for that update and the commit). A decline or a shortage writes nothing. On
//! Postgres, placements that arrive together share that transaction (`batch.rs`).

use std::collections::BTreeMap;

use chrono::{DateTime, SubsecRound, Utc};
use entity::{idempotency_key, order, sku};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};

use super::catalog::{Movement, move_stock};
use super::payment_attempts::Ask;
use super::payments::{Authorization, PaymentError};
use super::quoting::{candidates, customer_and_priced_lines};
use super::{Error, Result, Store, retrying};
use crate::domain::address::Address;
use crate::domain::ids::{CustomerId, LocationId, SkuId};
use crate::domain::pricing::totals;
use crate::domain::routing::{self, Destination, Plan};
use crate::domain::status::{PaymentStatus, ShippingMethod};

mod batch;
mod write;

pub(crate) use batch::Batcher;
pub use batch::PlacementCounts;

/// A validated order to place.
#[derive(Debug, Clone)]
pub struct PlaceOrder {
    pub customer: CustomerId,
    pub channel: String,
    /// SKU code and quantity, one entry per SKU (merged at the edge), in input order.
    pub lines: Vec<(String, i32)>,
    pub address: Address,
    pub method: ShippingMethod,
    pub provider: String,
    pub token: Option<String>,
    pub idempotency_key: Option<String>,
    pub note: Option<String>,
}

/// Who is acting, for the audit trail and idempotency scoping.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Stable principal name (`customer:7`, `staff:ops`).
    pub name: String,
}

/// A placed order, and whether it was replayed from an idempotency key.
#[derive(Debug, Clone)]
pub struct Placed {
    pub order: order::Model,
    pub replayed: bool,
}

impl PlaceOrder {
    /// A fingerprint of everything that defines the order (not the key itself).
    pub(crate) fn fingerprint(&self) -> String {
        let a = &self.address;
        let text = serde_json::json!([
            self.customer.0,
            self.channel,
            self.lines,
            a.name,
            a.line1,
            a.line2,
            a.city,
            a.region,
            a.postal_code,
            a.country.as_str(),
            a.latitude,
            a.longitude,
            self.method.as_ref(),
            self.provider,
            self.token,
            self.note,
        ]);
        format!("{:x}", Sha256::digest(text.to_string().as_bytes()))
    }
}

pub(crate) fn out_of_stock(short: &[(SkuId, i32)], priced: &[(sku::Model, i32)]) -> Error {
    let (index, (sku, wanted), found) = short
        .iter()
        .find_map(|(id, found)| {
            priced
                .iter()
                .enumerate()
                .find(|(_, (s, _))| s.id == id.0)
                .map(|(i, p)| (i, p, *found))
        })
        .unwrap_or((0, &priced[0], 0));
    Error::OutOfStock {
        field: format!("lines.{index}.quantity"),
        message: format!(
            "only {found} of {} '{}' available to ship there, {wanted} ordered",
            sku.name, sku.code
        ),
    }
}

/// How long an idempotency key answers with the order it placed; after that the key
/// may be used again.
pub const IDEMPOTENCY_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(24);

impl Store {
    /// Places an order (see the module docs). Idempotent per key and principal.
    #[tracing::instrument(skip_all, fields(customer = %input.customer, lines = input.lines.len()))]
    pub async fn place_order(&self, input: PlaceOrder, actor: &Actor) -> Result<Placed> {
        let fingerprint = input.fingerprint();
        if let Some(placed) = self.replay(&input, actor, &fingerprint).await? {
            return Ok(placed);
        }
        let provider = self.payments.get(&input.provider).ok_or_else(|| {
            crate::domain::ValidationError::new(
                "payment.provider",
                format!(
                    "unknown payment provider '{}'; built in: test, manual",
                    input.provider
                ),
            )
        })?;

        // Price and route before touching the card, so a shortage never authorises.
        let quote = self.quote(&input).await?;
        let ask = Ask {
            input: &input,
            actor,
            fingerprint: &fingerprint,
            amount: quote.amounts.total,
            currency: &quote.currency,
        };
        let (attempt, authorization) = self.authorize_placement(&provider, ask).await?;
        // The first attempt reserves along the quote's route; after a lost race the
        // route is worked out again inside the transaction.
        let mut route = Some(quote.plan.clone());
        let paid = Paid {
            attempt,
            authorization: &authorization,
        };
        let outcome =
            retrying!(self.place_once(&input, actor, &fingerprint, &quote, route.take(), &paid));
        // Not placed, or placed concurrently under the same idempotency key by another
        // request: unless that order took this very attempt, it holds money for nothing.
        if !matches!(
            outcome,
            Ok(Placed {
                replayed: false,
                ..
            })
        ) {
            self.release_attempt(&provider, attempt, &authorization)
                .await;
        }
        outcome
    }

    pub(crate) async fn replay(
        &self,
        input: &PlaceOrder,
        actor: &Actor,
        fingerprint: &str,
    ) -> Result<Option<Placed>> {
        let Some(key) = &input.idempotency_key else {
            return Ok(None);
        };
        let Some(stored) = idempotency_key::Entity::find()
            .filter(idempotency_key::Column::Principal.eq(actor.name.as_str()))
            .filter(idempotency_key::Column::Key.eq(key.as_str()))
            .one(self.db())
            .await?
        else {
            return Ok(None);
        };
        if stored.created_at + IDEMPOTENCY_WINDOW <= self.clock().now() {
            // Expired: the key is free again. A concurrent placement that deletes it first
            // is fine; the unique index still lets only one new order claim it.
            idempotency_key::Entity::delete_many()
                .filter(idempotency_key::Column::Id.eq(stored.id))
                .exec(self.db())
                .await?;
            return Ok(None);
        }
        if stored.request_hash != fingerprint {
            return Err(Error::IdempotencyConflict);
        }
        let order = match stored.order_id {
            Some(id) => order::Entity::find_by_id(id).one(self.db()).await?,
            None => None,
        };
        order
            .map(|order| {
                Some(Placed {
                    order,
                    replayed: true,
                })
            })
            .ok_or_else(|| Error::Corrupt("idempotency key without order".into()))
    }

    /// Prices and routes without writing (and without a transaction: each read stands on
    /// its own, the write transaction checks stock again): fails early with
    /// `NOT_FOUND`, `INVALID_INPUT` or `OUT_OF_STOCK`.
    async fn quote(&self, input: &PlaceOrder) -> Result<Quote> {
        let db = self.db();
        let priced = customer_and_priced_lines(db, input.customer, &input.lines).await;
        if matches!(priced, Ok(None)) {
            return Err(Error::not_found("customerId", "no such customer"));
        }
        if !self.channel_exists(db, &input.channel).await? {
            return Err(Error::not_found(
                "channel",
                format!("no sales channel '{}'; see `channels`", input.channel),
            ));
        }
        let priced = priced?.unwrap_or_default();
        let plan = self.route(db, input, &priced).await?;
        let amounts = self.amounts(input, &priced)?;
        let currency = priced[0].0.currency.clone();
        Ok(Quote {
            priced,
            plan,
            amounts,
            currency,
        })
    }

    fn amounts(
        &self,
        input: &PlaceOrder,
        priced: &[(sku::Model, i32)],
    ) -> Result<crate::domain::pricing::Totals> {
        let currency = &priced[0].0.currency;
        if let Some(i) = priced.iter().position(|(s, _)| &s.currency != currency) {
            return Err(crate::domain::ValidationError::new(
                format!("lines.{i}.sku"),
                format!("every line must be priced in the same currency ({currency})"),
            )
            .into());
        }
        let lines: Vec<(i64, i32)> = priced.iter().map(|(s, q)| (s.price_amount, *q)).collect();
        totals(
            &lines,
            input.method,
            self.tax.for_country(input.address.country.as_str()),
        )
        .ok_or_else(|| {
            crate::domain::ValidationError::new("lines", "the order total is too large").into()
        })
    }

    async fn route(
        &self,
        db: &impl ConnectionTrait,
        input: &PlaceOrder,
        priced: &[(sku::Model, i32)],
    ) -> Result<Plan> {
        let wanted: BTreeMap<SkuId, i32> = priced.iter().map(|(s, q)| (SkuId(s.id), *q)).collect();
        let skus: Vec<SkuId> = wanted.keys().copied().collect();
        let destination = Destination {
            country: input.address.country.as_str().to_owned(),
            region: input.address.region.clone(),
            coordinates: input.address.latitude.zip(input.address.longitude),
        };
        routing::route(&wanted, &candidates(db, &skus).await?, &destination)
            .map_err(|u| out_of_stock(&u.short, priced))
    }

    /// One attempt at placing, in one write transaction, as named steps: insert the
    /// order, its lines and fulfilment orders (along `route`, or a route worked out
    /// again), record the payment, append the events, claim the idempotency key and the
    /// payment attempt, and reserve the stock last. Lines are priced as quoted: that is
    /// what was authorised. `Error::Retry` (stock taken since routing) rolls it all back
    /// and re-runs it. On Postgres a first attempt goes in a batch with whatever else is
    /// being placed (`batch.rs`), and on its own only if that batch was rolled back.
    async fn place_once(
        &self,
        input: &PlaceOrder,
        actor: &Actor,
        fingerprint: &str,
        quote: &Quote,
        route: Option<Plan>,
        paid: &Paid<'_>,
    ) -> Result<Placed> {
        // To the microsecond, as the database keeps it: the order returned is built here.
        let now = self.clock().now().trunc_subsecs(6);
        let (payment_status, reference) = match paid.authorization {
            Authorization::Authorized { reference } => {
                (PaymentStatus::Authorized, reference.clone())
            }
            Authorization::Pending { reference } => (PaymentStatus::Pending, reference.clone()),
        };
        if let (Some(batcher), Some(plan)) = (&self.placements, &route) {
            let job = batch::Job {
                input: input.clone(),
                actor: actor.clone(),
                fingerprint: fingerprint.to_owned(),
                priced: quote.priced.clone(),
                plan: plan.clone(),
                amounts: quote.amounts,
                currency: quote.currency.clone(),
                payment_status,
                now,
                attempt: paid.attempt,
                reference: reference.clone(),
            };
            if let Some(order) = batcher.place(self, job).await {
                return Ok(Placed {
                    order,
                    replayed: false,
                });
            }
        }
        let (_writer, txn) = self.begin_write().await?;
        let (priced, amounts, currency) = (&quote.priced, &quote.amounts, &quote.currency);
        let plan = match route {
            Some(plan) => plan,
            None => self.route(&txn, input, priced).await?,
        };
        let head = OrderHead {
            input,
            plan: &plan,
            amounts,
            currency,
            payment_status,
            now,
        };
        let claims = write::Claims {
            actor,
            fingerprint,
            attempt: paid.attempt,
            reference: &reference,
        };
        let created = match write::write_order(&txn, &head, priced, &claims).await? {
            write::Written::Order(created) => *created,
            write::Written::KeyTaken => {
                // The same key committed concurrently: roll back and replay that order.
                drop(txn);
                return self
                    .replay(input, actor, fingerprint)
                    .await?
                    .ok_or(Error::Retry);
            }
            write::Written::AttemptGone => {
                return Err(Error::Provider(PaymentError::Unavailable(
                    "the payment authorisation was released before the order could take it; place the order again".to_owned(),
                )));
            }
        };
        // Last before the commit: the stock rows stay locked only for this statement and
        // the commit, so orders for the same SKU queue on it for as short as can be.
        reserve(&txn, &plan, now).await?;
        txn.commit().await?;
        self.events_committed();
        self.stock_changed(priced.iter().map(|(s, _)| s.id).collect());
        if let Some(batcher) = &self.placements {
            batcher.count_single();
        }
        let order = created;
        tracing::info!(order = order.id, number = %order.number, total = order.total, "order placed");
        Ok(Placed {
            order,
            replayed: false,
        })
    }
}

/// The authorisation a placement carries, and the attempt that asked for it.
struct Paid<'a> {
    attempt: i64,
    authorization: &'a Authorization,
}

/// What was quoted before the payment was authorised: the lines as priced, a route,
/// the amounts.
struct Quote {
    priced: Vec<(sku::Model, i32)>,
    plan: Plan,
    amounts: crate::domain::pricing::Totals,
    currency: String,
}

/// What every step of a placement shares.
#[derive(Clone, Copy)]
struct OrderHead<'a> {
    input: &'a PlaceOrder,
    plan: &'a Plan,
    amounts: &'a crate::domain::pricing::Totals,
    currency: &'a str,
    payment_status: PaymentStatus,
    now: DateTime<Utc>,
}

/// Reserves the plan's stock. Conditional UPDATE, never read-then-write: two checkouts
/// must not both take the last unit. Rows are locked in (location, SKU) order so
/// concurrent orders cannot deadlock each other.
pub(crate) async fn reserve(
    txn: &DatabaseTransaction,
    plan: &Plan,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut reservations: Vec<(LocationId, SkuId, i32)> = plan
        .allocations
        .iter()
        .flat_map(|a| a.lines.iter().map(move |(s, q)| (a.location, *s, *q)))
        .collect();
    reservations.sort();
    for (location, sku, qty) in &reservations {
        if !move_stock(txn, location.0, sku.0, Movement::Reserve(*qty), now).await? {
            // Someone took the stock between routing and reserving: route again.
            return Err(Error::Retry);
        }
    }
    Ok(())
}

/// How many events a placement appends: PLACED, PAYMENT_AUTHORIZED when authorised,
/// one ALLOCATED per fulfilment order. The order's version and last sequence start there.
fn placement_event_count(head: &OrderHead<'_>) -> i32 {
    let authorized = i32::from(head.payment_status == PaymentStatus::Authorized);
    1 + authorized + i32::try_from(head.plan.allocations.len()).unwrap_or(i32::MAX - 2)
}
