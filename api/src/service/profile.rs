//! The customer's profile: name, phone, time zone and notification preferences, and
//! saved addresses with one default. Customers change only themselves (the caller
//! passes the customer it may act on).

use std::collections::HashMap;

use entity::{customer, customer_address};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{Error, Result, Store, group, retrying};
use crate::domain::address::{Address, AddressFields};
use crate::domain::ids::CustomerId;

/// Most addresses one customer may save.
pub const MAX_ADDRESSES: usize = 20;

/// Changes to a profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    pub name: Option<String>,
    /// `Some(None)` clears the phone number.
    pub phone: Option<Option<String>>,
    pub time_zone: Option<chrono_tz::Tz>,
    pub notify_by_email: Option<bool>,
    pub notify_by_sms: Option<bool>,
}

/// An address to save.
#[derive(Debug, Clone)]
pub struct NewAddress {
    pub customer: CustomerId,
    pub address: Address,
    pub label: Option<String>,
    pub make_default: bool,
}

/// A saved address as the domain's `Address`.
pub fn address_of(row: &customer_address::Model) -> Result<Address> {
    Address::parse(AddressFields {
        name: row.name.clone(),
        line1: row.line1.clone(),
        line2: row.line2.clone(),
        city: row.city.clone(),
        region: row.region.clone(),
        postal_code: row.postal_code.clone(),
        country: row.country.clone(),
        latitude: row.latitude,
        longitude: row.longitude,
    })
    .map_err(|e| Error::Corrupt(format!("saved address {}: {}", row.id, e.message)))
}

impl Store {
    /// Applies `change` to customer `id`.
    #[tracing::instrument(skip(self, change))]
    pub async fn update_customer(
        &self,
        id: CustomerId,
        change: ProfileChange,
    ) -> Result<customer::Model> {
        let now = self.clock().now();
        let mut row = customer::ActiveModel {
            updated_at: Set(now),
            ..Default::default()
        };
        if let Some(name) = change.name {
            row.name = Set(name);
        }
        if let Some(phone) = change.phone {
            row.phone = Set(phone);
        }
        if let Some(zone) = change.time_zone {
            row.time_zone = Set(zone.name().to_owned());
        }
        if let Some(email) = change.notify_by_email {
            row.notify_by_email = Set(email);
        }
        if let Some(sms) = change.notify_by_sms {
            row.notify_by_sms = Set(sms);
        }
        let updated = customer::Entity::update_many()
            .set(row)
            .col_expr(
                customer::Column::Version,
                Expr::col(customer::Column::Version).add(1),
            )
            .filter(customer::Column::Id.eq(id.0))
            .exec(self.db())
            .await?;
        if updated.rows_affected != 1 {
            return Err(Error::not_found("customerId", "no such customer"));
        }
        customer::Entity::find_by_id(id.0)
            .one(self.db())
            .await?
            .ok_or_else(|| Error::not_found("customerId", "no such customer"))
    }

    /// Saves an address; the first one, or one saved with `make_default`, becomes the
    /// default (the others stop being it, in the same transaction).
    #[tracing::instrument(skip_all, fields(customer = %input.customer))]
    pub async fn add_customer_address(&self, input: NewAddress) -> Result<customer_address::Model> {
        retrying!(self.add_address_once(&input))
    }

    async fn add_address_once(&self, input: &NewAddress) -> Result<customer_address::Model> {
        let now = self.clock().now();
        let (_writer, txn) = self.begin_write().await?;
        // The customer row is the lock that orders concurrent changes to their addresses.
        let owner = customer::Entity::find_by_id(input.customer.0)
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(|| Error::not_found("customerId", "no such customer"))?;
        let saved = addresses_of(&txn, owner.id).await?;
        if saved.len() >= MAX_ADDRESSES {
            return Err(crate::domain::ValidationError::new(
                "address",
                format!("at most {MAX_ADDRESSES} saved addresses; delete one first"),
            )
            .into());
        }
        let default = input.make_default || saved.is_empty();
        if default {
            clear_default(&txn, owner.id).await?;
        }
        let a = &input.address;
        let row = customer_address::Entity::insert(customer_address::ActiveModel {
            customer_id: Set(owner.id),
            label: Set(input.label.clone()),
            name: Set(a.name.clone()),
            line1: Set(a.line1.clone()),
            line2: Set(a.line2.clone()),
            city: Set(a.city.clone()),
            region: Set(a.region.clone()),
            postal_code: Set(a.postal_code.clone()),
            country: Set(a.country.as_str().to_owned()),
            latitude: Set(a.latitude),
            longitude: Set(a.longitude),
            is_default: Set(default),
            created_at: Set(now),
            ..Default::default()
        })
        .exec_with_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(row)
    }

    /// Deletes a saved address of a customer `owner` allows (`None`: any); when it was
    /// the default, the newest remaining one becomes the default. Returns the customer.
    #[tracing::instrument(skip(self))]
    pub async fn delete_customer_address(
        &self,
        id: i64,
        owner: Option<CustomerId>,
    ) -> Result<customer::Model> {
        retrying!(self.delete_address_once(id, owner))
    }

    async fn delete_address_once(
        &self,
        id: i64,
        owner: Option<CustomerId>,
    ) -> Result<customer::Model> {
        let (_writer, txn) = self.begin_write().await?;
        let missing = || Error::not_found("addressId", "no such address");
        let address = customer_address::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .filter(|a| owner.is_none_or(|o| o.0 == a.customer_id))
            .ok_or_else(missing)?;
        let customer = customer::Entity::find_by_id(address.customer_id)
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(missing)?;
        customer_address::Entity::delete_by_id(id)
            .exec(&txn)
            .await?;
        if address.is_default
            && let Some(next) = addresses_of(&txn, customer.id).await?.into_iter().last()
        {
            customer_address::Entity::update_many()
                .col_expr(customer_address::Column::IsDefault, Expr::value(true))
                .filter(customer_address::Column::Id.eq(next.id))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(customer)
    }

    /// Saved addresses of each customer, oldest first.
    pub async fn addresses_by_customers(
        &self,
        ids: &[CustomerId],
    ) -> Result<HashMap<CustomerId, Vec<customer_address::Model>>> {
        let rows = customer_address::Entity::find()
            .filter(customer_address::Column::CustomerId.is_in(ids.iter().map(|i| i.0)))
            .order_by_asc(customer_address::Column::Id)
            .all(self.db())
            .await?;
        Ok(group(rows, |a| CustomerId(a.customer_id)))
    }

    /// A saved address of `customer`, as the domain's `Address` (`NOT_FOUND` on `field`
    /// when it is not theirs).
    pub async fn saved_address(
        &self,
        customer: CustomerId,
        id: i64,
        field: &str,
    ) -> Result<Address> {
        let row = customer_address::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .filter(|a| a.customer_id == customer.0)
            .ok_or_else(|| Error::not_found(field, "no such saved address for this customer"))?;
        address_of(&row)
    }
}

async fn addresses_of(
    db: &impl ConnectionTrait,
    customer: i64,
) -> Result<Vec<customer_address::Model>> {
    Ok(customer_address::Entity::find()
        .filter(customer_address::Column::CustomerId.eq(customer))
        .order_by_asc(customer_address::Column::Id)
        .all(db)
        .await?)
}

async fn clear_default(db: &impl ConnectionTrait, customer: i64) -> Result<()> {
    customer_address::Entity::update_many()
        .col_expr(customer_address::Column::IsDefault, Expr::value(false))
        .filter(customer_address::Column::CustomerId.eq(customer))
        .filter(customer_address::Column::IsDefault.eq(true))
        .exec(db)
        .await?;
    Ok(())
}
