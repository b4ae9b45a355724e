//! `createLocation`, `upsertSku`, `setInventory`, `adjustInventory` — staff, or partners
//! with `inventory:write`.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::Checks;
use crate::domain::ValidationError;
use crate::domain::address::{Address, AddressFields, CountryCode};
use crate::domain::catalog::{Code, parse_delta, parse_name, parse_on_hand};
use crate::domain::ids::LocationId;
use crate::domain::money::{Currency, Money};
use crate::gid::{self, Kind};
use crate::graphql::enums::LocationKind;
use crate::graphql::error::{UserError, payload};
use crate::graphql::guard::principal;
use crate::graphql::types::catalog::{InventoryLevel, Location, Sku};
use crate::service::Store;
use crate::service::catalog::{NewLocation, SkuUpsert, StockChange};

/// A postal address.
#[derive(InputObject, Clone)]
pub struct AddressInput {
    /// Recipient or site name.
    pub name: Option<String>,
    /// Street line.
    pub line1: String,
    /// Second street line.
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// State, province or region.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code, upper case (`US`).
    pub country: String,
    /// Latitude in degrees (with longitude: enables routing by distance).
    pub latitude: Option<f64>,
    /// Longitude in degrees.
    pub longitude: Option<f64>,
}

impl AddressInput {
    /// Validates into a domain address.
    pub fn parse(self) -> Result<Address, ValidationError> {
        Address::parse(AddressFields {
            name: self.name,
            line1: self.line1,
            line2: self.line2,
            city: self.city,
            region: self.region,
            postal_code: self.postal_code,
            country: self.country,
            latitude: self.latitude,
            longitude: self.longitude,
        })
    }
}

/// An amount of money.
#[derive(InputObject, Clone)]
pub struct MoneyInput {
    /// Decimal string, e.g. `"8999.00"`; at most the currency's decimals.
    pub amount: String,
    /// ISO 4217 code, e.g. `USD`.
    pub currency_code: String,
}

impl MoneyInput {
    pub(crate) fn parse(&self) -> Result<Money, ValidationError> {
        let currency = Currency::parse(&self.currency_code)?;
        Money::parse(&self.amount, currency)
    }
}

/// A new warehouse or store.
#[derive(InputObject)]
pub struct CreateLocationInput {
    /// Unique short code (letters, digits, `-`, `_`, `.`).
    pub code: String,
    /// Display name.
    pub name: String,
    /// Warehouse or store.
    #[graphql(default_with = "LocationKind::Warehouse")]
    pub kind: LocationKind,
    /// Where it is.
    pub address: AddressInput,
    /// Countries it ships to (ISO 3166-1 alpha-2).
    pub ships_to: Vec<String>,
    /// Routing preference when distances tie (higher first).
    #[graphql(default)]
    pub priority: i32,
}

/// Creates a SKU, or updates the one with the same code.
#[derive(InputObject)]
pub struct UpsertSkuInput {
    /// Unique code (letters, digits, `-`, `_`, `.`).
    pub code: String,
    /// Display name.
    pub name: String,
    /// Unit price.
    pub price: MoneyInput,
    /// Shipping weight in grams.
    pub weight_grams: Option<i32>,
}

/// Sets on-hand stock to an absolute count (a stock take).
#[derive(InputObject)]
pub struct SetInventoryInput {
    /// SKU code.
    pub sku_code: String,
    /// Location global ID.
    pub location_id: ID,
    /// Units on hand; at least what is reserved for open orders.
    pub on_hand: i32,
}

/// Adds or removes on-hand stock, with a reason for the ledger.
#[derive(InputObject)]
pub struct AdjustInventoryInput {
    /// SKU code.
    pub sku_code: String,
    /// Location global ID.
    pub location_id: ID,
    /// Units to add (negative to remove); not zero.
    pub delta: i32,
    /// Why, e.g. "received PO 1234" or "damaged".
    pub reason: String,
}

/// Result of `createLocation`.
#[derive(SimpleObject)]
pub struct LocationPayload {
    /// The new location; null when `userErrors` is not empty.
    pub location: Option<Location>,
    /// What was wrong with the input; empty on success.
    pub user_errors: Vec<UserError>,
}

/// Result of `upsertSku`.
#[derive(SimpleObject)]
pub struct SkuPayload {
    /// The created or updated SKU; null when `userErrors` is not empty.
    pub sku: Option<Sku>,
    /// What was wrong with the input; empty on success.
    pub user_errors: Vec<UserError>,
}

/// Result of `setInventory` and `adjustInventory`.
#[derive(SimpleObject)]
pub struct InventoryPayload {
    /// The changed level; null when `userErrors` is not empty.
    pub inventory_level: Option<InventoryLevel>,
    /// What was wrong with the input; empty on success.
    pub user_errors: Vec<UserError>,
}

macro_rules! errors_only {
    ($($t:ident { $field:ident }),*) => {$(
        impl $t {
            /// A payload that carries only user errors.
            fn errors(user_errors: Vec<UserError>) -> Self {
                Self { $field: None, user_errors }
            }
        }
    )*};
}
errors_only!(
    LocationPayload { location },
    SkuPayload { sku },
    InventoryPayload { inventory_level }
);

fn location_id(field: &str, id: &ID) -> Result<LocationId, ValidationError> {
    gid::decode_as(Kind::Location, id)
        .map(LocationId)
        .ok_or_else(|| ValidationError::new(field, "is not a location ID"))
}

#[derive(Default)]
pub struct CatalogMutation;

#[Object]
impl CatalogMutation {
    /// Creates a warehouse or store.
    async fn create_location(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `CreateLocationInput`.")] input: CreateLocationInput,
    ) -> Result<LocationPayload> {
        let mut checks = Checks::default();
        let code = checks.take(None, Code::parse("code", &input.code));
        let name = checks.take(None, parse_name("name", &input.name));
        let address = checks.take(Some("address"), input.address.parse());
        let ships_to = checks.take(
            None,
            if input.ships_to.is_empty() || input.ships_to.len() > 250 {
                Err(ValidationError::new("shipsTo", "list 1 to 250 countries"))
            } else {
                input
                    .ships_to
                    .iter()
                    .map(|c| {
                        CountryCode::parse(c)
                            .map_err(|e| ValidationError::new("shipsTo", e.message))
                    })
                    .collect()
            },
        );
        let priority = checks.take(
            None,
            if (-1000..=1000).contains(&input.priority) {
                Ok(input.priority)
            } else {
                Err(ValidationError::new(
                    "priority",
                    "must be between -1000 and 1000",
                ))
            },
        );
        let (Some(code), Some(name), Some(address), Some(ships_to), Some(priority)) =
            (code, name, address, ships_to, priority)
        else {
            return Ok(LocationPayload::errors(checks.into_errors()));
        };
        let new = NewLocation {
            code,
            name,
            kind: input.kind.into(),
            address,
            ships_to,
            priority,
        };
        let (location, user_errors) =
            payload(ctx.data::<Store>()?.create_location(new).await, Location)?;
        Ok(LocationPayload {
            location,
            user_errors,
        })
    }

    /// Creates a SKU, or updates name, price and weight of the SKU with that code.
    async fn upsert_sku(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `UpsertSkuInput`.")] input: UpsertSkuInput,
    ) -> Result<SkuPayload> {
        let mut checks = Checks::default();
        let code = checks.take(None, Code::parse("code", &input.code));
        let name = checks.take(None, parse_name("name", &input.name));
        let price = checks.take(Some("price"), input.price.parse());
        let weight = checks.take(
            None,
            match input.weight_grams {
                Some(w) if !(0..=10_000_000).contains(&w) => Err(ValidationError::new(
                    "weightGrams",
                    "must be between 0 and 10000000",
                )),
                other => Ok(other),
            },
        );
        let (Some(code), Some(name), Some(price), Some(weight_grams)) = (code, name, price, weight)
        else {
            return Ok(SkuPayload::errors(checks.into_errors()));
        };
        let upsert = SkuUpsert {
            code,
            name,
            price,
            weight_grams,
        };
        let (sku, user_errors) = payload(ctx.data::<Store>()?.upsert_sku(upsert).await, Sku)?;
        Ok(SkuPayload { sku, user_errors })
    }

    /// Sets on-hand stock of a SKU at a location (a stock take); recorded in the ledger.
    async fn set_inventory(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `SetInventoryInput`.")] input: SetInventoryInput,
    ) -> Result<InventoryPayload> {
        let mut checks = Checks::default();
        let location = checks.take(None, location_id("locationId", &input.location_id));
        let on_hand = checks.take(None, parse_on_hand("onHand", input.on_hand));
        let (Some(location), Some(on_hand)) = (location, on_hand) else {
            return Ok(InventoryPayload::errors(checks.into_errors()));
        };
        let actor = principal(ctx).actor();
        let outcome = ctx
            .data::<Store>()?
            .change_stock(
                &input.sku_code,
                location,
                StockChange::Set(on_hand),
                "stock take",
                &actor,
            )
            .await;
        let (inventory_level, user_errors) = payload(outcome, InventoryLevel)?;
        Ok(InventoryPayload {
            inventory_level,
            user_errors,
        })
    }

    /// Adds or removes on-hand stock with a reason; recorded in the ledger. Stock can
    /// never drop below what open orders have reserved.
    async fn adjust_inventory(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `AdjustInventoryInput`.")] input: AdjustInventoryInput,
    ) -> Result<InventoryPayload> {
        let mut checks = Checks::default();
        let location = checks.take(None, location_id("locationId", &input.location_id));
        let delta = checks.take(None, parse_delta("delta", input.delta));
        let reason = checks.take(None, parse_name("reason", &input.reason));
        let (Some(location), Some(delta), Some(reason)) = (location, delta, reason) else {
            return Ok(InventoryPayload::errors(checks.into_errors()));
        };
        let actor = principal(ctx).actor();
        let outcome = ctx
            .data::<Store>()?
            .change_stock(
                &input.sku_code,
                location,
                StockChange::Adjust(delta),
                &reason,
                &actor,
            )
            .await;
        let (inventory_level, user_errors) = payload(outcome, InventoryLevel)?;
        Ok(InventoryPayload {
            inventory_level,
            user_errors,
        })
    }
}
