//! The one place errors become GraphQL: business failures become `userErrors` with a
//! stable `code`; access failures and bad arguments become top-level errors with
//! `extensions.code`; anything unexpected becomes "internal error" with a correlation id,
//! and the whole cause chain goes to the log, never to the client.

use async_graphql::{Enum, ErrorExtensions, SimpleObject};

use crate::domain::ValidationError;
use crate::service;

/// Stable machine-readable codes of `UserError`. Clients switch on these, not on messages.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// An input value is malformed or out of range.
    InvalidInput,
    /// A referenced object does not exist (or is not visible to you).
    NotFound,
    /// A unique value (code, e-mail, number) is already in use.
    Taken,
    /// Not enough available stock to reserve.
    OutOfStock,
    /// The object's state does not allow this change.
    InvalidTransition,
    /// `expectedVersion` does not match: someone else changed the object first.
    VersionConflict,
    /// The idempotency key was used before with different input.
    IdempotencyConflict,
    /// The payment provider declined the payment.
    PaymentDeclined,
    /// Not returnable: not delivered, outside the return window, or more than is left.
    NotReturnable,
    /// Not editable: picking has started, or the customer's edit window is over.
    NotEditable,
    /// A refund larger than what was captured and not yet refunded.
    RefundExceedsCaptured,
    /// Cannot be had (reorder: the SKU is gone or has no stock).
    Unavailable,
}

/// A business-rule failure of a mutation: nothing was changed.
#[derive(SimpleObject, Clone, Debug)]
pub struct UserError {
    /// Path to the input field at fault, starting at `input` (e.g. `["input", "price", "amount"]`).
    pub field: Option<Vec<String>>,
    /// What went wrong, for people.
    pub message: String,
    /// What went wrong, for programs.
    pub code: ErrorCode,
}

impl UserError {
    /// A user error on the dotted input path `field` (relative to `input`).
    pub fn new(code: ErrorCode, field: &str, message: impl Into<String>) -> Self {
        let mut path = vec!["input".to_owned()];
        path.extend(
            field
                .split('.')
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
        Self {
            field: Some(path),
            message: message.into(),
            code,
        }
    }
}

impl From<ValidationError> for UserError {
    fn from(err: ValidationError) -> Self {
        Self::new(ErrorCode::InvalidInput, &err.field, err.message)
    }
}

/// A top-level error with `extensions.code`.
pub fn top_level(code: &str, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, ext| ext.set("code", code))
}

/// Logs an unexpected failure with a fresh correlation id and returns the error a client
/// may see: "internal error", code `INTERNAL`, and the id to quote to support.
pub fn internal(err: &(dyn std::error::Error + 'static)) -> async_graphql::Error {
    // The request's id when serving one (so the error, the `X-Request-Id` header and the
    // log line agree); a fresh one elsewhere (subscriptions, workers).
    let correlation_id = crate::telemetry::CorrelationId::current_or_new();
    if service::db_health::is_unreachable_error(err) {
        tracing::warn!(correlation_id = %correlation_id, error = ?err, "database unreachable");
        return async_graphql::Error::new("temporarily unavailable; retry shortly").extend_with(
            |_, ext| {
                ext.set("code", "UNAVAILABLE");
                ext.set("correlationId", correlation_id.as_str());
            },
        );
    }
    let mut chain = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        chain.push(cause.to_string());
        source = cause.source();
    }
    tracing::error!(correlation_id = %correlation_id, cause = %chain.join(": "), "internal error");
    async_graphql::Error::new("internal error").extend_with(|_, ext| {
        ext.set("code", "INTERNAL");
        ext.set("correlationId", correlation_id.as_str());
    })
}

/// Splits a service failure into the `userErrors` of a payload, or a top-level error
/// when it is not the client's to fix.
pub fn user_errors(err: service::Error) -> async_graphql::Result<Vec<UserError>> {
    use service::Error as E;
    let one = |code, field: &str, message: String| Ok(vec![UserError::new(code, field, message)]);
    match err {
        E::Invalid(v) => Ok(vec![v.into()]),
        E::NotFound { field, message } => one(ErrorCode::NotFound, &field, message),
        E::Taken { field, message } => one(ErrorCode::Taken, &field, message),
        E::OutOfStock { field, message } => one(ErrorCode::OutOfStock, &field, message),
        E::VersionConflict { .. } => one(
            ErrorCode::VersionConflict,
            "expectedVersion",
            err.to_string(),
        ),
        E::InvalidTransition { field, message } => {
            one(ErrorCode::InvalidTransition, &field, message)
        }
        E::Unavailable(lines) => Ok(lines
            .into_iter()
            .map(|(field, message)| UserError::new(ErrorCode::Unavailable, &field, message))
            .collect()),
        E::NotEditable { field, message } => one(ErrorCode::NotEditable, &field, message),
        E::NotReturnable { field, message } => one(ErrorCode::NotReturnable, &field, message),
        E::RefundExceedsCaptured { field, message } => {
            one(ErrorCode::RefundExceedsCaptured, &field, message)
        }
        E::PaymentDeclined(message) => one(ErrorCode::PaymentDeclined, "payment", message),
        E::IdempotencyConflict => one(
            ErrorCode::IdempotencyConflict,
            "idempotencyKey",
            err.to_string(),
        ),
        E::Database(_) | E::Corrupt(_) | E::Retry | E::Provider(_) | E::Bus(_) => {
            Err(internal(&err))
        }
    }
}

/// For queries: a service failure is a top-level error (validation ones keep their
/// message and get `INVALID_INPUT`; the rest are internal).
pub fn query_error(err: service::Error) -> async_graphql::Error {
    match err {
        service::Error::Invalid(v) => {
            top_level("INVALID_INPUT", format!("{}: {}", v.field, v.message))
        }
        service::Error::NotFound { message, .. } => top_level("NOT_FOUND", message),
        other => internal(&other),
    }
}

/// For queries: an argument failed validation.
pub fn invalid_argument(err: ValidationError) -> async_graphql::Error {
    top_level("INVALID_INPUT", format!("{}: {}", err.field, err.message))
}

/// Runs a mutation's use case and packs the outcome into `(object, userErrors)`.
pub fn payload<T, U>(
    outcome: service::Result<T>,
    wrap: impl FnOnce(T) -> U,
) -> async_graphql::Result<(Option<U>, Vec<UserError>)> {
    match outcome {
        Ok(value) => Ok((Some(wrap(value)), Vec::new())),
        Err(err) => Ok((None, user_errors(err)?)),
    }
}
