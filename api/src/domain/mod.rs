//! Pure business rules: identifiers, money, addresses, statuses, the delivery calendar.
//! Nothing here does I/O, so every rule is unit- and property-testable.

pub mod address;
pub mod catalog;
pub mod delivery;
pub mod ids;
pub mod lifecycle;
pub mod money;
pub mod notifications;
pub mod pricing;
pub mod returns;
pub mod routing;
pub mod status;
pub mod webhooks;

/// A value from outside failed validation. `field` names the input field (relative
/// to the mutation's `input`), `message` says what is wrong in words a client can show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// Input field the error is about, e.g. `price.amount`.
    pub field: String,
    /// Human-readable explanation.
    pub message: String,
}

impl ValidationError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error, nested under `parent` (`address` + `country` → `address.country`).
    #[must_use]
    pub fn under(mut self, parent: &str) -> Self {
        self.field = format!("{parent}.{}", self.field);
        self
    }
}
