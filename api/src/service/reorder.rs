//! Quick reorder: a new order with the same SKUs and quantities as an earlier one, at
//! today's prices, through the same placement path (routing, reservation, payment,
//! idempotency, events). Lines that cannot be had are reported one by one and nothing
//! is placed.

use std::collections::HashMap;

use entity::{inventory_level, location, order, order_line, payment, sku};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::ordering::{Actor, PlaceOrder, Placed};
use super::orders::Visibility;
use super::{Error, Result, Store};
use crate::domain::address::{Address, AddressFields};
use crate::domain::ids::{CustomerId, OrderId};

/// A reorder request.
#[derive(Debug, Clone)]
pub struct Reorder {
    pub order: OrderId,
    pub idempotency_key: Option<String>,
    /// Provider and token; `None`: the original's, allowed only for `manual`.
    pub payment: Option<(String, Option<String>)>,
    /// `None`: the original order's address.
    pub address: Option<Address>,
}

/// The address an order shipped to.
pub(crate) fn shipped_to(order: &order::Model) -> Result<Address> {
    Address::parse(AddressFields {
        name: order.ship_name.clone(),
        line1: order.ship_line1.clone(),
        line2: order.ship_line2.clone(),
        city: order.ship_city.clone(),
        region: order.ship_region.clone(),
        postal_code: order.ship_postal_code.clone(),
        country: order.ship_country.clone(),
        latitude: order.ship_latitude,
        longitude: order.ship_longitude,
    })
    .map_err(|e| Error::Corrupt(format!("order {} address: {}", order.id, e.message)))
}

impl Store {
    /// Places the order `input.order` again for its customer.
    #[tracing::instrument(skip_all, fields(order = %input.order))]
    pub async fn reorder(
        &self,
        input: Reorder,
        actor: &Actor,
        scope: Visibility,
    ) -> Result<Placed> {
        let original = order::Entity::find_by_id(input.order.0)
            .one(self.db())
            .await?
            .filter(|o| scope.allows(o.customer_id))
            .ok_or_else(|| Error::not_found("orderId", "no such order"))?;
        let lines = order_line::Entity::find()
            .filter(order_line::Column::OrderId.eq(original.id))
            .order_by_asc(order_line::Column::LineNumber)
            .all(self.db())
            .await?;
        let address = match input.address {
            Some(address) => address,
            None => shipped_to(&original)?,
        };
        let skus: HashMap<i64, sku::Model> = sku::Entity::find()
            .filter(sku::Column::Id.is_in(lines.iter().map(|l| l.sku_id)))
            .all(self.db())
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        let (provider, token) = match input.payment {
            Some(payment) => payment,
            None => self.original_payment(&original).await?,
        };
        let place = PlaceOrder {
            customer: CustomerId(original.customer_id),
            channel: original.channel.clone(),
            lines: lines
                .iter()
                .filter_map(|l| skus.get(&l.sku_id).map(|s| (s.code.clone(), l.quantity)))
                .collect(),
            address,
            method: original.shipping_method,
            provider,
            token,
            idempotency_key: input
                .idempotency_key
                .map(|k| format!("reorder:{}:{k}", original.id)),
            note: Some(format!("Reorder of {}", original.number)),
        };
        // A retry answers with the order it placed, whatever the stock is now.
        if let Some(placed) = self.replay(&place, actor, &place.fingerprint()).await? {
            return Ok(placed);
        }
        let available = self
            .available_for(place.address.country.as_str(), skus.keys().copied())
            .await?;
        let mut unavailable = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let field = format!("lines.{i}");
            match skus.get(&line.sku_id) {
                Some(s) if !s.active => {
                    unavailable.push((field, format!("'{}' is no longer sold", s.code)));
                }
                Some(s) => {
                    let left = available.get(&s.id).copied().unwrap_or(0);
                    if left < line.quantity {
                        unavailable.push((
                            field,
                            format!(
                                "only {} of '{}' available to ship there, {} wanted",
                                left.max(0),
                                s.code,
                                line.quantity
                            ),
                        ));
                    }
                }
                None => unavailable.push((field, "the SKU is gone".to_owned())),
            }
        }
        if !unavailable.is_empty() {
            return Err(Error::Unavailable(unavailable));
        }
        self.place_order(place, actor).await
    }

    /// The earlier order's payment method, when it may be used again: only `manual`
    /// (a card token is not kept).
    async fn original_payment(&self, original: &order::Model) -> Result<(String, Option<String>)> {
        let paid_with = payment::Entity::find()
            .filter(payment::Column::OrderId.eq(original.id))
            .one(self.db())
            .await?
            .map(|p| p.provider);
        match paid_with.as_deref() {
            Some("manual") => Ok(("manual".to_owned(), None)),
            _ => Err(crate::domain::ValidationError::new(
                "payment",
                "say how to pay: the original card is not kept",
            )
            .into()),
        }
    }

    /// Units of each SKU available at active locations that ship to `country`.
    async fn available_for(
        &self,
        country: &str,
        skus: impl Iterator<Item = i64>,
    ) -> Result<HashMap<i64, i32>> {
        let shipping: Vec<i64> = location::Entity::find()
            .filter(location::Column::Active.eq(true))
            .all(self.db())
            .await?
            .into_iter()
            .filter(|l| super::catalog::ships_to(l).iter().any(|c| c == country))
            .map(|l| l.id)
            .collect();
        let mut available = HashMap::new();
        for level in inventory_level::Entity::find()
            .filter(inventory_level::Column::SkuId.is_in(skus.collect::<Vec<_>>()))
            .filter(inventory_level::Column::LocationId.is_in(shipping))
            .all(self.db())
            .await?
        {
            *available.entry(level.sku_id).or_insert(0) += level.on_hand - level.reserved;
        }
        Ok(available)
    }
}
