//! The reads a placement (and an edit) prices and routes on, outside any transaction:
//! the customer with the SKUs of the lines, and the active locations with their stock of
//! those SKUs; one statement each, decoded by position.

use std::collections::{BTreeMap, HashMap};

use entity::{customer, inventory_level, location, sku};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};

use super::rows::{self, ByIndex};
use super::{Error, Result};
use crate::domain::ids::{CustomerId, LocationId, SkuId};
use crate::domain::routing::Candidate;

/// Whether `customer` exists, and the SKU rows for the order's lines in line order; one
/// statement (the customer left-joined with the SKUs of those codes: no row means no
/// customer, a row without a SKU means none of the codes is known). Unknown codes are
/// `NOT_FOUND` on `lines.<i>.sku`.
pub(crate) async fn customer_and_priced_lines(
    db: &impl ConnectionTrait,
    customer: CustomerId,
    lines: &[(String, i32)],
) -> Result<Option<Vec<(sku::Model, i32)>>> {
    let codes: Vec<&str> = lines.iter().map(|(c, _)| c.as_str()).collect();
    let mut select = Query::select();
    select.column((customer::Entity, customer::Column::Id));
    rows::select_columns::<sku::Entity>(&mut select, "s_");
    select
        .from(customer::Entity)
        .left_join(
            sku::Entity,
            Expr::col((sku::Entity, sku::Column::Code)).is_in(codes),
        )
        .and_where(Expr::col((customer::Entity, customer::Column::Id)).eq(customer.0));
    let found = rows::query(db, &select, |row| sku::Model::decode_optional(row, 1)).await?;
    if found.is_empty() {
        return Ok(None);
    }
    let found: HashMap<String, sku::Model> = found
        .into_iter()
        .flatten()
        .map(|s| (s.code.clone(), s))
        .collect();
    lines
        .iter()
        .enumerate()
        .map(|(i, (code, qty))| match found.get(code) {
            Some(s) if s.active => Ok((s.clone(), *qty)),
            _ => Err(Error::not_found(
                &format!("lines.{i}.sku"),
                format!("no SKU with code '{code}'"),
            )),
        })
        .collect::<Result<_>>()
        .map(Some)
}

/// Every active location, with what it has available of `skus` (a location without a
/// level of some SKU has none of it); one statement, the locations left-joined with
/// their levels of those SKUs, in location order.
pub(crate) async fn candidates(
    db: &impl ConnectionTrait,
    skus: &[SkuId],
) -> Result<Vec<Candidate>> {
    let mut select = Query::select();
    rows::select_columns::<location::Entity>(&mut select, "l_");
    select
        .column((inventory_level::Entity, inventory_level::Column::SkuId))
        .expr(
            Expr::col((inventory_level::Entity, inventory_level::Column::OnHand)).sub(Expr::col((
                inventory_level::Entity,
                inventory_level::Column::Reserved,
            ))),
        )
        .from(location::Entity)
        .left_join(
            inventory_level::Entity,
            Expr::col((inventory_level::Entity, inventory_level::Column::LocationId))
                .equals((location::Entity, location::Column::Id))
                .and(
                    Expr::col((inventory_level::Entity, inventory_level::Column::SkuId))
                        .is_in(skus.iter().map(|s| s.0)),
                ),
        )
        .and_where(Expr::col((location::Entity, location::Column::Active)).eq(true))
        .order_by((location::Entity, location::Column::Id), Order::Asc);
    let at_level = location::Model::FIELDS.len();
    let found = rows::query(db, &select, |row| {
        let level = match row.try_get_by_index::<Option<i64>>(at_level)? {
            Some(sku) => Some((SkuId(sku), row.try_get_by_index::<i32>(at_level + 1)?)),
            None => None,
        };
        Ok((location::Model::decode(row, 0)?, level))
    })
    .await?;
    let mut candidates: Vec<Candidate> = Vec::new();
    for (l, level) in found {
        if candidates.last().is_none_or(|c| c.id.0 != l.id) {
            candidates.push(Candidate {
                id: LocationId(l.id),
                name: l.name.clone(),
                active: l.active,
                ships_to: super::catalog::ships_to(&l),
                region: l.region.clone(),
                coordinates: l.latitude.zip(l.longitude),
                priority: l.priority,
                available: BTreeMap::new(),
            });
        }
        if let (Some((sku, available)), Some(candidate)) = (level, candidates.last_mut()) {
            candidate.available.insert(sku, available);
        }
    }
    Ok(candidates)
}
