//! SeaORM models of Orderly's tables. Plain data: no API types, no business rules.
//! Statuses are `DeriveActiveEnum`s (`status.rs`), stored as their `SCREAMING_SNAKE_CASE`
//! names.

pub mod api_key;
pub mod channel;
pub mod customer;
pub mod customer_address;
pub mod event_outbox;
pub mod fulfillment_order;
pub mod fulfillment_order_line;
pub mod idempotency_key;
pub mod inventory_adjustment;
pub mod inventory_level;
pub mod location;
pub mod notification;
pub mod order;
pub mod order_event;
pub mod order_line;
pub mod order_note;
pub mod payment;
pub mod payment_attempt;
pub mod payment_operation;
pub mod refund;
pub mod return_line;
pub mod return_request;
pub mod sku;
pub mod status;
pub mod webhook_delivery;
pub mod webhook_subscription;
