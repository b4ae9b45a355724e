//! Orderly: an order management system served as a GraphQL API.
//!
//! Layers (see DESIGN.md): `domain` (pure rules) ← `service` (use cases, transactions) ←
//! `graphql` (transport) ← `startup` (HTTP server). `config` is read once at start-up.

// Tests may unwrap: a panic there is a failed assertion, not a crash a client can cause.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod events;
pub mod gid;
pub mod graphql;
pub mod metrics;
pub mod service;
pub mod startup;
pub mod telemetry;
pub mod ws;
