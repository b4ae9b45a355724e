//! Catalogue and stock: locations, SKUs, inventory levels and the stock ledger.
//! Stock changes are conditional updates inside one write transaction, so two callers can
//! never push `on_hand` below what open orders have reserved.

use std::collections::HashMap;

use entity::{channel, inventory_adjustment, inventory_level, location, sku};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::customers::{contains_pattern, lower_like};
use super::page::{self, Cursor, CursorKey, Keyset, Page, PageRequest};
use super::{Error, Result, Store};
use crate::domain::address::{Address, CountryCode};
use crate::domain::catalog::{Code, MAX_STOCK};
use crate::domain::ids::{InventoryLevelId, LocationId, SkuId};
use crate::domain::money::Money;
use crate::domain::status::LocationKind;

/// A location to create.
#[derive(Debug, Clone)]
pub struct NewLocation {
    pub code: Code,
    pub name: String,
    pub kind: LocationKind,
    pub address: Address,
    pub ships_to: Vec<CountryCode>,
    pub priority: i32,
}

/// A SKU to create or update by code.
#[derive(Debug, Clone)]
pub struct SkuUpsert {
    pub code: Code,
    pub name: String,
    pub price: Money,
    pub weight_grams: Option<i32>,
}

/// How to change the stock of one SKU at one location.
#[derive(Debug, Clone, Copy)]
pub enum StockChange {
    /// Set on-hand to an absolute count (a stock take).
    Set(i32),
    /// Add (or remove, when negative) units.
    Adjust(i32),
}

/// Splits stored `ships_to` text into country codes.
pub fn ships_to(model: &location::Model) -> Vec<String> {
    model
        .ships_to
        .split(',')
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Store {
    /// Registers a sales channel (`web`, `pos`, …) unless it exists.
    pub async fn register_channel(&self, code: &str, name: &str) -> Result<()> {
        let row = channel::ActiveModel {
            code: sea_orm::ActiveValue::Set(code.to_owned()),
            name: sea_orm::ActiveValue::Set(name.to_owned()),
            created_at: sea_orm::ActiveValue::Set(self.clock().now()),
            ..Default::default()
        };
        channel::Entity::insert(row)
            .on_conflict_do_nothing_on([channel::Column::Code])
            .exec_without_returning(self.db())
            .await?;
        Ok(())
    }

    /// Creates a location; its code must be unused (`TAKEN` on `code`).
    #[tracing::instrument(skip_all, fields(code = input.code.as_str()))]
    pub async fn create_location(&self, input: NewLocation) -> Result<location::Model> {
        let now = self.clock().now();
        let a = input.address;
        let mut ships_to: Vec<&str> = input.ships_to.iter().map(CountryCode::as_str).collect();
        ships_to.sort_unstable();
        ships_to.dedup();
        let row = location::ActiveModel {
            code: Set(input.code.as_str().to_owned()),
            name: Set(input.name),
            kind: Set(input.kind),
            address_name: Set(a.name),
            line1: Set(a.line1),
            line2: Set(a.line2),
            city: Set(a.city),
            region: Set(a.region),
            postal_code: Set(a.postal_code),
            country: Set(a.country.as_str().to_owned()),
            latitude: Set(a.latitude),
            longitude: Set(a.longitude),
            ships_to: Set(ships_to.join(",")),
            priority: Set(input.priority),
            active: Set(true),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        location::Entity::insert(row)
            .exec_with_returning(self.db())
            .await
            .map_err(|e| {
                Error::taken_on(
                    e,
                    "code",
                    format!(
                        "a location with code '{}' already exists",
                        input.code.as_str()
                    ),
                )
            })
    }

    /// Creates a SKU, or updates name, price and weight of the SKU with that code.
    #[tracing::instrument(skip_all, fields(code = input.code.as_str()))]
    pub async fn upsert_sku(&self, input: SkuUpsert) -> Result<sku::Model> {
        let now = self.clock().now();
        let row = sku::ActiveModel {
            code: Set(input.code.as_str().to_owned()),
            name: Set(input.name),
            price_amount: Set(input.price.minor),
            currency: Set(input.price.currency.code().to_owned()),
            weight_grams: Set(input.weight_grams),
            active: Set(true),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let on_conflict = OnConflict::column(sku::Column::Code)
            .update_columns([
                sku::Column::Name,
                sku::Column::PriceAmount,
                sku::Column::Currency,
                sku::Column::WeightGrams,
            ])
            .update_column(sku::Column::UpdatedAt)
            .value(
                sku::Column::Version,
                Expr::col((sku::Entity, sku::Column::Version)).add(1),
            )
            .to_owned();
        Ok(sku::Entity::insert(row)
            .on_conflict(on_conflict)
            .exec_with_returning(self.db())
            .await?)
    }

    /// Changes the stock of a SKU at a location and writes the ledger row, in one
    /// transaction. On-hand may never drop below the units reserved for open orders.
    #[tracing::instrument(skip(self, reason))]
    pub async fn change_stock(
        &self,
        sku_code: &str,
        location_id: LocationId,
        change: StockChange,
        reason: &str,
        actor: &str,
    ) -> Result<inventory_level::Model> {
        let (_writer, txn) = self.begin_write().await?;
        let sku = sku::Entity::find()
            .filter(sku::Column::Code.eq(sku_code))
            .one(&txn)
            .await?
            .ok_or_else(|| Error::not_found("skuCode", format!("no SKU with code '{sku_code}'")))?;
        location::Entity::find_by_id(location_id.0)
            .one(&txn)
            .await?
            .ok_or_else(|| Error::not_found("locationId", "no such location"))?;
        let level = lock_level(&txn, location_id, SkuId(sku.id), self.clock().now()).await?;
        let (on_hand, field) = match change {
            StockChange::Set(n) => (i64::from(n), "onHand"),
            StockChange::Adjust(d) => (i64::from(level.on_hand) + i64::from(d), "delta"),
        };
        if on_hand < i64::from(level.reserved) || on_hand > i64::from(MAX_STOCK) {
            let message = if on_hand > i64::from(MAX_STOCK) {
                format!("on-hand stock may not exceed {MAX_STOCK}")
            } else {
                format!(
                    "would leave {on_hand} on hand, below the {} units reserved for open orders",
                    level.reserved
                )
            };
            return Err(crate::domain::ValidationError::new(field, message).into());
        }
        let on_hand = on_hand as i32;
        let now = self.clock().now();
        // Conditional on the version read under the lock: a concurrent writer that slipped
        // past (it cannot on either database, but the check costs nothing) changes nothing.
        let result = inventory_level::Entity::update_many()
            .col_expr(inventory_level::Column::OnHand, Expr::value(on_hand))
            .col_expr(
                inventory_level::Column::Version,
                Expr::value(level.version + 1),
            )
            .col_expr(inventory_level::Column::UpdatedAt, Expr::value(now))
            .filter(inventory_level::Column::Id.eq(level.id))
            .filter(inventory_level::Column::Version.eq(level.version))
            .exec(&txn)
            .await?;
        if result.rows_affected != 1 {
            return Err(Error::VersionConflict {
                current: level.version,
            });
        }
        inventory_adjustment::Entity::insert(inventory_adjustment::ActiveModel {
            inventory_level_id: Set(level.id),
            delta: Set(on_hand - level.on_hand),
            on_hand_after: Set(on_hand),
            reason: Set(reason.chars().take(500).collect()),
            actor: Set(actor.to_owned()),
            created_at: Set(now),
            ..Default::default()
        })
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        self.stock_changed(vec![sku.id]);
        Ok(inventory_level::Model {
            on_hand,
            version: level.version + 1,
            updated_at: now,
            ..level
        })
    }

    /// Every active location, by priority then code.
    pub async fn locations(&self) -> Result<Vec<location::Model>> {
        Ok(location::Entity::find()
            .filter(location::Column::Active.eq(true))
            .order_by_desc(location::Column::Priority)
            .order_by_asc(location::Column::Code)
            .all(self.db())
            .await?)
    }

    /// Locations by id (missing ids are absent from the map).
    pub async fn locations_by_ids(
        &self,
        ids: &[LocationId],
    ) -> Result<HashMap<LocationId, location::Model>> {
        let rows = location::Entity::find()
            .filter(location::Column::Id.is_in(ids.iter().map(|i| i.0)))
            .all(self.db())
            .await?;
        Ok(rows.into_iter().map(|r| (LocationId(r.id), r)).collect())
    }

    /// The SKU with `code`.
    pub async fn sku_by_code(&self, code: &str) -> Result<Option<sku::Model>> {
        Ok(sku::Entity::find()
            .filter(sku::Column::Code.eq(code))
            .one(self.db())
            .await?)
    }

    /// A page of the catalogue, oldest SKU first; `query` matches part of the code or name.
    pub async fn skus_page(
        &self,
        query: Option<&str>,
        request: &PageRequest,
    ) -> Result<Page<sku::Model>> {
        let mut select = sku::Entity::find();
        if let Some(q) = query.filter(|q| !q.trim().is_empty()) {
            let pattern = contains_pattern(q);
            select = select.filter(
                Condition::any()
                    .add(lower_like(
                        Expr::col((sku::Entity, sku::Column::Code)),
                        &pattern,
                    ))
                    .add(lower_like(
                        Expr::col((sku::Entity, sku::Column::Name)),
                        &pattern,
                    )),
            );
        }
        let keyset = Keyset {
            key: Expr::col((sku::Entity, sku::Column::Id)),
            id: Expr::col((sku::Entity, sku::Column::Id)),
            descending: false,
            time_key: false,
            cursor_of: |m: &sku::Model| Cursor::new(CursorKey::Int(m.id), m.id),
        };
        page::fetch(self.db(), select, &keyset, request).await
    }

    /// SKUs by id.
    pub async fn skus_by_ids(&self, ids: &[SkuId]) -> Result<HashMap<SkuId, sku::Model>> {
        let rows = sku::Entity::find()
            .filter(sku::Column::Id.is_in(ids.iter().map(|i| i.0)))
            .all(self.db())
            .await?;
        Ok(rows.into_iter().map(|r| (SkuId(r.id), r)).collect())
    }

    /// Inventory levels of each SKU, by location id.
    pub async fn levels_by_skus(
        &self,
        ids: &[SkuId],
    ) -> Result<HashMap<SkuId, Vec<inventory_level::Model>>> {
        let rows = inventory_level::Entity::find()
            .filter(inventory_level::Column::SkuId.is_in(ids.iter().map(|i| i.0)))
            .order_by_asc(inventory_level::Column::LocationId)
            .all(self.db())
            .await?;
        Ok(super::group(rows, |r| SkuId(r.sku_id)))
    }

    /// Inventory levels by id.
    pub async fn levels_by_ids(
        &self,
        ids: &[InventoryLevelId],
    ) -> Result<HashMap<InventoryLevelId, inventory_level::Model>> {
        let rows = inventory_level::Entity::find()
            .filter(inventory_level::Column::Id.is_in(ids.iter().map(|i| i.0)))
            .all(self.db())
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (InventoryLevelId(r.id), r))
            .collect())
    }
}

/// The inventory level of (location, SKU), created empty if missing, locked for update.
async fn lock_level(
    txn: &DatabaseTransaction,
    location: LocationId,
    sku: SkuId,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<inventory_level::Model> {
    let empty = inventory_level::ActiveModel {
        location_id: Set(location.0),
        sku_id: Set(sku.0),
        on_hand: Set(0),
        reserved: Set(0),
        version: Set(1),
        updated_at: Set(now),
        ..Default::default()
    };
    inventory_level::Entity::insert(empty)
        .on_conflict_do_nothing_on([
            inventory_level::Column::LocationId,
            inventory_level::Column::SkuId,
        ])
        .exec_without_returning(txn)
        .await?;
    inventory_level::Entity::find()
        .filter(inventory_level::Column::LocationId.eq(location.0))
        .filter(inventory_level::Column::SkuId.eq(sku.0))
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| Error::Corrupt("inventory level vanished inside its transaction".into()))
}

/// How a stock movement changes one inventory level.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Movement {
    /// An order takes units: `reserved += n`, only while `on_hand - reserved >= n`.
    Reserve(i32),
    /// An order gives reserved units back: `reserved -= n`.
    Release(i32),
    /// Reserved units leave the building: `on_hand -= n`, `reserved -= n`.
    Ship(i32),
}

/// Applies `movement` to (location, SKU) with one conditional UPDATE — never
/// read-then-write, so two checkouts can never both take the last unit. Returns false
/// (and changes nothing) when the condition does not hold.
pub(crate) async fn move_stock(
    txn: &DatabaseTransaction,
    location: i64,
    sku: i64,
    movement: Movement,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool> {
    let (on_hand, reserved) = match movement {
        Movement::Reserve(n) => (0, n),
        Movement::Release(n) => (0, -n),
        Movement::Ship(n) => (-n, -n),
    };
    let result = inventory_level::Entity::update_many()
        .col_expr(
            inventory_level::Column::OnHand,
            Expr::col(inventory_level::Column::OnHand).add(on_hand),
        )
        .col_expr(
            inventory_level::Column::Reserved,
            Expr::col(inventory_level::Column::Reserved).add(reserved),
        )
        .col_expr(
            inventory_level::Column::Version,
            Expr::col(inventory_level::Column::Version).add(1),
        )
        .col_expr(inventory_level::Column::UpdatedAt, Expr::value(now))
        .filter(inventory_level::Column::LocationId.eq(location))
        .filter(inventory_level::Column::SkuId.eq(sku))
        // What stays available may not go negative, nor may what stays reserved.
        .filter(
            Expr::col(inventory_level::Column::OnHand)
                .sub(Expr::col(inventory_level::Column::Reserved))
                .gte(reserved - on_hand),
        )
        .filter(inventory_level::Column::Reserved.gte(-reserved))
        .exec(txn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Puts `units` returned units of `sku` back on hand at `location` (the level is created
/// if the location never stocked it) and writes the ledger row, in the caller's
/// transaction.
pub(crate) async fn restock(
    txn: &DatabaseTransaction,
    location: i64,
    sku: i64,
    units: i32,
    reason: &str,
    actor: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let on_conflict = OnConflict::columns([
        inventory_level::Column::LocationId,
        inventory_level::Column::SkuId,
    ])
    .value(
        inventory_level::Column::OnHand,
        Expr::col((inventory_level::Entity, inventory_level::Column::OnHand)).add(units),
    )
    .value(
        inventory_level::Column::Version,
        Expr::col((inventory_level::Entity, inventory_level::Column::Version)).add(1),
    )
    .update_column(inventory_level::Column::UpdatedAt)
    .to_owned();
    let level = inventory_level::Entity::insert(inventory_level::ActiveModel {
        location_id: Set(location),
        sku_id: Set(sku),
        on_hand: Set(units),
        reserved: Set(0),
        version: Set(1),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(on_conflict)
    .exec_with_returning(txn)
    .await?;
    inventory_adjustment::Entity::insert(inventory_adjustment::ActiveModel {
        inventory_level_id: Set(level.id),
        delta: Set(units),
        on_hand_after: Set(level.on_hand),
        reason: Set(reason.chars().take(500).collect()),
        actor: Set(actor.to_owned()),
        created_at: Set(now),
        ..Default::default()
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}
