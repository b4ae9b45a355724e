//! Orderly: an order management system served as a GraphQL API.
//!
//! Layers, bottom up (see `docs/design.md`; `tests/tests/api/layers.rs` checks them): a
//! module uses only those below it. `domain` (pure rules) ← `gid`, `clock`, `metrics` ←
//! `auth` ← `config` ← `telemetry` ← `broker` (Redis) ← `service` (use cases,
//! transactions, ports) ← `events` (bus adapters, relay) ← `graphql` (schema) ← `state`
//! ← `ws` ← `routes` ← `startup` ← `cli` ← `main`.

// Tests may unwrap: a panic there is a failed assertion, not a crash a client can cause.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod auth;
pub mod broker;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod events;
pub mod gid;
pub mod graphql;
pub mod metrics;
pub mod routes;
pub mod service;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod ws;
