//! SeaORM models of Orderly's tables. Plain data: no API types, no business rules.
//! Statuses are stored as strings and parsed into the enums of `orderly::domain`.

pub mod api_key;
pub mod channel;
pub mod customer;
pub mod fulfillment_order;
pub mod fulfillment_order_line;
pub mod idempotency_key;
pub mod inventory_adjustment;
pub mod inventory_level;
pub mod location;
pub mod order;
pub mod order_event;
pub mod order_line;
pub mod order_note;
pub mod payment;
pub mod refund;
pub mod return_line;
pub mod return_request;
pub mod sku;
