//! Locations, SKUs and inventory levels.

use async_graphql::{Context, ID, Object, Result};
use entity::{inventory_level, location, sku};

use super::global_id;
use crate::domain::ids::{LocationId, SkuId};
use crate::gid::Kind;
use crate::graphql::enums::LocationKind;
use crate::graphql::loaders::{LevelsOf, load_list, load_required};
use crate::graphql::scalars::{Address, Money, Timestamp};
use crate::service::catalog::ships_to;

/// A warehouse or store that holds stock and ships orders.
pub struct Location(pub location::Model);

/// A warehouse or store that holds stock and ships orders.
#[Object]
impl Location {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(Kind::Location, self.0.id)
    }
    /// Unique short code, e.g. `RNO-WH`.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Warehouse or store.
    async fn kind(&self) -> Result<LocationKind> {
        Ok(self.0.kind.into())
    }
    /// Where the location is.
    async fn address(&self) -> Address {
        let m = &self.0;
        Address {
            name: m.address_name.clone(),
            line1: m.line1.clone(),
            line2: m.line2.clone(),
            city: m.city.clone(),
            region: m.region.clone(),
            postal_code: m.postal_code.clone(),
            country: m.country.clone(),
            latitude: m.latitude,
            longitude: m.longitude,
        }
    }
    /// Countries this location ships to (ISO 3166-1 alpha-2).
    async fn ships_to(&self) -> Vec<String> {
        ships_to(&self.0)
    }
    /// Routing preference: higher is preferred when distances tie.
    async fn priority(&self) -> i32 {
        self.0.priority
    }
    /// Whether the location takes new orders.
    async fn active(&self) -> bool {
        self.0.active
    }
}

/// A sellable item.
pub struct Sku(pub sku::Model);

/// A sellable item (stock-keeping unit).
#[Object]
impl Sku {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(Kind::Sku, self.0.id)
    }
    /// Unique code, e.g. `SOLAR-6KW`.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Current unit price.
    async fn price(&self) -> Money {
        Money::from_minor(self.0.price_amount, &self.0.currency)
    }
    /// Shipping weight in grams.
    async fn weight_grams(&self) -> Option<i32> {
        self.0.weight_grams
    }
    /// Stock at each location that has held this SKU.
    #[graphql(guard = "crate::graphql::guard::Access::StaffOr(crate::auth::Scope::InventoryRead)")]
    async fn inventory_levels(&self, ctx: &Context<'_>) -> Result<Vec<InventoryLevel>> {
        Ok(load_list(ctx, LevelsOf(SkuId(self.0.id)))
            .await?
            .into_iter()
            .map(InventoryLevel)
            .collect())
    }
    /// Units available to sell, summed over all locations.
    async fn available(&self, ctx: &Context<'_>) -> Result<i32> {
        let levels: Vec<inventory_level::Model> =
            load_list(ctx, LevelsOf(SkuId(self.0.id))).await?;
        Ok(levels.iter().map(|l| l.on_hand - l.reserved).sum())
    }
}

/// Stock of one SKU at one location.
pub struct InventoryLevel(pub inventory_level::Model);

/// Stock of one SKU at one location. `available = onHand - reserved`.
#[Object]
impl InventoryLevel {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(Kind::InventoryLevel, self.0.id)
    }
    /// The location.
    async fn location(&self, ctx: &Context<'_>) -> Result<Location> {
        Ok(Location(
            load_required(ctx, LocationId(self.0.location_id)).await?,
        ))
    }
    /// The SKU.
    async fn sku(&self, ctx: &Context<'_>) -> Result<Sku> {
        Ok(Sku(load_required(ctx, SkuId(self.0.sku_id)).await?))
    }
    /// Units physically on hand.
    async fn on_hand(&self) -> i32 {
        self.0.on_hand
    }
    /// Units reserved for open orders.
    async fn reserved(&self) -> i32 {
        self.0.reserved
    }
    /// Units that can still be sold.
    async fn available(&self) -> i32 {
        self.0.on_hand - self.0.reserved
    }
    /// When the level last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.updated_at)
    }
}
