//! `createCustomer` (staff, or partners with `customers:write`) and the profile:
//! `updateCustomer`, `addCustomerAddress`, `deleteCustomerAddress` (customers: themselves).

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::Checks;
use super::catalog::AddressInput;
use super::ordering::bounded;
use crate::auth::Principal;
use crate::domain::ValidationError;
use crate::domain::catalog::{Email, parse_name, parse_time_zone};
use crate::domain::ids::CustomerId;
use crate::gid::{self, Kind};
use crate::graphql::error::{ErrorCode, UserError, payload};
use crate::graphql::guard::principal;
use crate::graphql::types::customer::{Customer, CustomerAddress};
use crate::service::Store;
use crate::service::customers::NewCustomer;
use crate::service::profile::{NewAddress, ProfileChange};

/// A new customer.
#[derive(InputObject)]
pub struct CreateCustomerInput {
    /// E-mail address; unique regardless of case.
    pub email: String,
    /// Full name.
    pub name: String,
    /// Phone number.
    pub phone: Option<String>,
    /// IANA time zone for delivery labels (default `UTC`).
    pub time_zone: Option<String>,
}

/// Result of customer mutations.
#[derive(SimpleObject)]
pub struct CustomerPayload {
    /// The customer as it now is; null when `userErrors` is not empty.
    pub customer: Option<Customer>,
    /// What was wrong with the input; empty on success.
    pub user_errors: Vec<UserError>,
}

fn parse_phone(phone: Option<String>) -> Result<Option<String>, ValidationError> {
    match phone.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()) {
        Some(p)
            if p.len() > 40
                || !p
                    .chars()
                    .all(|c| c.is_ascii_digit() || " +-().".contains(c)) =>
        {
            Err(ValidationError::new(
                "phone",
                "may contain only digits, spaces and + - ( ) ., at most 40",
            ))
        }
        other => Ok(other),
    }
}

#[derive(Default)]
pub struct CustomerMutation;

#[Object]
impl CustomerMutation {
    /// Creates a customer.
    async fn create_customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `CreateCustomerInput`.")] input: CreateCustomerInput,
    ) -> Result<CustomerPayload> {
        let mut checks = Checks::default();
        let email = checks.take(None, Email::parse(&input.email));
        let name = checks.take(None, parse_name("name", &input.name));
        let phone = checks.take(None, parse_phone(input.phone));
        let time_zone = checks.take(
            None,
            parse_time_zone(input.time_zone.as_deref().unwrap_or("UTC")),
        );
        let (Some(email), Some(name), Some(phone), Some(time_zone)) =
            (email, name, phone, time_zone)
        else {
            return Ok(CustomerPayload {
                customer: None,
                user_errors: checks.into_errors(),
            });
        };
        let outcome = ctx
            .data::<Store>()?
            .create_customer(NewCustomer {
                email,
                name,
                phone,
                time_zone,
            })
            .await;
        let (customer, user_errors) = payload(outcome, Customer)?;
        Ok(CustomerPayload {
            customer,
            user_errors,
        })
    }
}

/// Changes to a customer's profile; fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateCustomerInput {
    /// The customer (staff and partners); customers omit it and change themselves.
    pub customer_id: Option<ID>,
    /// Full name.
    pub name: Option<String>,
    /// Phone number; an empty string clears it.
    pub phone: Option<String>,
    /// IANA time zone, e.g. `America/Los_Angeles`.
    pub time_zone: Option<String>,
    /// Whether to send e-mail notifications.
    pub notify_by_email: Option<bool>,
    /// Whether to send SMS notifications.
    pub notify_by_sms: Option<bool>,
}

/// An address to save for a customer.
#[derive(InputObject)]
pub struct AddCustomerAddressInput {
    /// The customer (staff and partners); customers omit it.
    pub customer_id: Option<ID>,
    /// The address.
    pub address: AddressInput,
    /// "Home", "Office" (at most 100 characters).
    pub label: Option<String>,
    /// Make it the default (the first saved address always is).
    #[graphql(default = false)]
    pub make_default: bool,
}

/// A saved address to delete.
#[derive(InputObject)]
pub struct DeleteCustomerAddressInput {
    /// The saved address.
    pub address_id: ID,
}

/// Result of `addCustomerAddress`.
#[derive(SimpleObject)]
pub struct CustomerAddressPayload {
    /// The saved address.
    pub address: Option<CustomerAddress>,
    /// The customer, with all their addresses.
    pub customer: Option<Customer>,
    /// Why nothing was saved; empty on success.
    pub user_errors: Vec<UserError>,
}

/// The customer the caller may change: customers themselves (a foreign id looks missing),
/// staff and partners the one they name.
fn profile_owner(who: &Principal, given: Option<&ID>) -> Result<CustomerId, UserError> {
    let given = match given {
        Some(id) => Some(CustomerId(gid::decode_as(Kind::Customer, id).ok_or_else(
            || {
                UserError::new(
                    ErrorCode::InvalidInput,
                    "customerId",
                    "is not a customer ID",
                )
            },
        )?)),
        None => None,
    };
    match (who.customer_id(), given) {
        (Some(me), None) => Ok(me),
        (Some(me), Some(id)) if id == me => Ok(me),
        (Some(_), Some(_)) => Err(UserError::new(
            ErrorCode::NotFound,
            "customerId",
            "no such customer",
        )),
        (None, Some(id)) => Ok(id),
        (None, None) => Err(UserError::new(
            ErrorCode::InvalidInput,
            "customerId",
            "say which customer",
        )),
    }
}

#[derive(Default)]
pub struct ProfileMutation;

#[Object]
impl ProfileMutation {
    /// Changes a customer's name, phone, time zone or notification preferences
    /// (customers: themselves).
    async fn update_customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `UpdateCustomerInput`.")] input: UpdateCustomerInput,
    ) -> Result<CustomerPayload> {
        let refused = |user_errors| {
            Ok(CustomerPayload {
                customer: None,
                user_errors,
            })
        };
        let owner = match profile_owner(principal(ctx), input.customer_id.as_ref()) {
            Ok(owner) => owner,
            Err(err) => return refused(vec![err]),
        };
        let mut checks = Checks::default();
        let name = checks.take(
            None,
            input
                .name
                .as_deref()
                .map(|n| parse_name("name", n))
                .transpose(),
        );
        let phone = checks.take(None, input.phone.map(|p| parse_phone(Some(p))).transpose());
        let zone = checks.take(
            None,
            input.time_zone.as_deref().map(parse_time_zone).transpose(),
        );
        let (Some(name), Some(phone), Some(time_zone)) = (name, phone, zone) else {
            return refused(checks.into_errors());
        };
        let change = ProfileChange {
            name,
            phone,
            time_zone,
            notify_by_email: input.notify_by_email,
            notify_by_sms: input.notify_by_sms,
        };
        let (customer, user_errors) = payload(
            ctx.data::<Store>()?.update_customer(owner, change).await,
            Customer,
        )?;
        Ok(CustomerPayload {
            customer,
            user_errors,
        })
    }

    /// Saves a shipping address for a customer (customers: themselves), optionally as
    /// their default.
    async fn add_customer_address(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `AddCustomerAddressInput`.")]
        input: AddCustomerAddressInput,
    ) -> Result<CustomerAddressPayload> {
        let refused = |user_errors| {
            Ok(CustomerAddressPayload {
                address: None,
                customer: None,
                user_errors,
            })
        };
        let owner = match profile_owner(principal(ctx), input.customer_id.as_ref()) {
            Ok(owner) => owner,
            Err(err) => return refused(vec![err]),
        };
        let mut checks = Checks::default();
        let address = checks.take(Some("address"), input.address.parse());
        let label = checks.take(None, bounded("label", input.label, 100));
        let (Some(address), Some(label)) = (address, label) else {
            return refused(checks.into_errors());
        };
        let store = ctx.data::<Store>()?;
        let saved = store
            .add_customer_address(NewAddress {
                customer: owner,
                address,
                label,
                make_default: input.make_default,
            })
            .await;
        let (address, user_errors) = payload(saved, CustomerAddress)?;
        let customer = match &address {
            Some(_) => store
                .customers_by_ids(&[owner])
                .await
                .map_err(|e| crate::graphql::error::internal(&e))?
                .remove(&owner)
                .map(Customer),
            None => None,
        };
        Ok(CustomerAddressPayload {
            address,
            customer,
            user_errors,
        })
    }

    /// Deletes a saved address (customers: their own); if it was the default, the
    /// newest remaining address becomes the default.
    async fn delete_customer_address(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `DeleteCustomerAddressInput`.")]
        input: DeleteCustomerAddressInput,
    ) -> Result<CustomerPayload> {
        let Some(id) = gid::decode_as(Kind::CustomerAddress, &input.address_id) else {
            return Ok(CustomerPayload {
                customer: None,
                user_errors: vec![UserError::new(
                    ErrorCode::InvalidInput,
                    "addressId",
                    "is not a saved address ID",
                )],
            });
        };
        let owner = principal(ctx).customer_id();
        let (customer, user_errors) = payload(
            ctx.data::<Store>()?
                .delete_customer_address(id, owner)
                .await,
            Customer,
        )?;
        Ok(CustomerPayload {
            customer,
            user_errors,
        })
    }
}
