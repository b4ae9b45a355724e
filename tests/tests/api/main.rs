//! Black-box API tests: each drives the real server over HTTP/WebSocket on its own database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod browser;
mod catalog;
mod channels;
mod crash;
mod customers;
mod editing;
mod fuzz;
mod layers;
mod lifecycle;
mod live;
mod notes;
mod notifications;
mod orders;
mod payments;
mod profile;
mod returns;
mod rows;
mod schema;
mod security;
mod transport;
mod webhooks;
