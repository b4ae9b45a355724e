//! Root mutations, one capability per file, merged into `Mutation`. Every mutation takes
//! one `input` and returns a payload with the changed object and `userErrors`.

pub(crate) mod access;
mod catalog;
mod customer;
mod fulfillment;
mod notes;
mod ordering;
mod returns;
mod webhooks;

use crate::domain::ValidationError;
use crate::graphql::error::UserError;

/// What can be changed. Every mutation takes one `input` and returns a payload with the
/// changed object and `userErrors`; a mutation with user errors changed nothing.
#[derive(async_graphql::MergedObject, Default)]
pub struct Mutation(
    access::AccessMutation,
    catalog::CatalogMutation,
    customer::CustomerMutation,
    customer::ProfileMutation,
    ordering::OrderingMutation,
    fulfillment::FulfillmentMutation,
    returns::ReturnsMutation,
    notes::NotesMutation,
    webhooks::WebhooksMutation,
    crate::graphql::query::channels::ChannelsMutation,
);

/// Collects every validation failure of one input, so a client sees all of them at once.
#[derive(Default)]
pub(crate) struct Checks {
    errors: Vec<UserError>,
}

impl Checks {
    /// Keeps the value, or records the error (nested under `parent` when given).
    pub fn take<T>(
        &mut self,
        parent: Option<&str>,
        result: Result<T, ValidationError>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(err) => {
                self.errors.push(match parent {
                    Some(p) => err.under(p).into(),
                    None => err.into(),
                });
                None
            }
        }
    }

    /// The collected errors, if any.
    pub fn into_errors(self) -> Vec<UserError> {
        self.errors
    }
}
