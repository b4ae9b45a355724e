//! Scalars and small value types shared by every object: `Date`, `Money`, `Address`.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Value};
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::money::{Currency, Money as DomainMoney};

/// A calendar day, ISO 8601 (`2026-11-27`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

/// A calendar day with no time of day or time zone, `YYYY-MM-DD` (RFC 3339 `full-date`,
/// ISO 8601), e.g. `2026-11-27`. Delivery estimates are days in the customer's own time
/// zone.
#[Scalar(
    name = "Date",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6"
)]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom("expected a date such as 2026-11-27")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// An instant (`createdAt`, `placedAt`…), always UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp(pub DateTime<Utc>);

/// An instant, as an RFC 3339 date-time. Orderly writes UTC with the offset spelled out
/// and fractions of a second when there are any (`2026-11-24T17:42:07.511+00:00`);
/// it reads any RFC 3339 offset (`2026-11-24T09:42:07-08:00`, `…Z`).
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339"
)]
impl ScalarType for Timestamp {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => s.parse::<DateTime<Utc>>().map(Timestamp).map_err(|_| {
                InputValueError::custom(
                    "expected an RFC 3339 date-time such as 2026-11-24T17:42:07Z",
                )
            }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339())
    }
}

/// An amount of money: a decimal string in the currency's minor-unit precision.
// `serial`: fields that never wait are resolved one after another, without the
// concurrent set async-graphql builds for every object otherwise (an allocation and a
// task per field; a 50-order page has ~350 of these).
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(serial)]
pub struct Money {
    /// Decimal amount, e.g. `"8999.00"` (a string, so no precision is lost).
    pub amount: String,
    /// ISO 4217 currency code, e.g. `USD`.
    pub currency_code: String,
}

impl Money {
    /// Money from stored minor units and currency code.
    pub fn from_minor(minor: i64, currency: &str) -> Self {
        match Currency::parse(currency) {
            Ok(c) => DomainMoney { minor, currency: c }.into(),
            // A stored currency always parses; fall back to two decimals rather than fail.
            Err(_) => Self {
                amount: format!("{}.{:02}", minor / 100, (minor % 100).abs()),
                currency_code: currency.to_owned(),
            },
        }
    }
}

impl From<DomainMoney> for Money {
    fn from(m: DomainMoney) -> Self {
        Self {
            amount: m.to_decimal_string(),
            currency_code: m.currency.code().to_owned(),
        }
    }
}

/// A postal address.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(serial)]
pub struct Address {
    /// Recipient or site name.
    pub name: Option<String>,
    /// Street line.
    pub line1: String,
    /// Second street line.
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// State, province or region.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// Latitude in degrees.
    pub latitude: Option<f64>,
    /// Longitude in degrees.
    pub longitude: Option<f64>,
}
