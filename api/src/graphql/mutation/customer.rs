//! `createCustomer` — staff, or partners with `customers:write`.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};

use super::Checks;
use crate::domain::ValidationError;
use crate::domain::catalog::{Email, parse_name, parse_time_zone};
use crate::graphql::error::{UserError, payload};
use crate::graphql::types::customer::Customer;
use crate::service::Store;
use crate::service::customers::NewCustomer;

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

/// Result of `createCustomer`.
#[derive(SimpleObject)]
pub struct CustomerPayload {
    /// The new customer; null when `userErrors` is not empty.
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
