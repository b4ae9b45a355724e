//! What every HTTP and WebSocket handler shares, built once by `startup` and handed to
//! both transports (`routes/` and `ws.rs`), which therefore need not know each other.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::jwt::JwtKeys;
use crate::events::EventBus;
use crate::events::hub::Hub;
use crate::graphql::OrderlySchema;
use crate::metrics::Metrics;
use crate::service::Store;
use crate::service::db_health::DbHealth;

/// Largest request body (and WebSocket message) accepted, also after decompression.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// What every request handler shares.
pub struct AppState {
    /// The schema with the request checks (WebSocket operations, and the first pass of
    /// every HTTP request).
    pub schema: OrderlySchema,
    /// The same schema without them: executes HTTP requests whose checks passed.
    pub plain_schema: OrderlySchema,
    /// Parsed documents by their text, for HTTP requests.
    pub documents: crate::graphql::checks::Documents,
    /// Automatic persisted queries: query texts by their SHA-256.
    pub persisted: crate::graphql::persisted::PersistedQueries,
    pub store: Store,
    pub keys: JwtKeys,
    pub metrics: Metrics,
    pub bus: Arc<dyn EventBus>,
    pub hub: Arc<Hub>,
    pub loader_delay: Duration,
    /// Longest a GraphQL request may run.
    pub request_timeout: Duration,
    /// How often an open WebSocket's API key is checked for revocation.
    pub api_key_recheck: Duration,
    /// Whether the database answers (requests are refused at once while it does not).
    pub db_health: DbHealth,
    /// Whether `POST /demo/sign-in` mints tokens: only on the embedded default (SQLite)
    /// with demo data, bound to a loopback address.
    pub demo_sign_in: bool,
}
