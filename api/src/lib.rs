//! Orderly: an order management system served as a GraphQL API.
//!
//! Layers (see DESIGN.md): `domain` (pure rules) ← `service` (use cases, transactions) ←
//! `graphql` (transport) ← `startup` (HTTP server). `config` is read once at start-up.

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
