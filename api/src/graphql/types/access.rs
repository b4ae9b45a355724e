//! Partner API keys as partners' administrators see them: never the key itself.

use crate::graphql::scalars::Timestamp;
use async_graphql::{ID, Object};
use entity::api_key;

use super::global_id;
use crate::gid::Kind;
use crate::service::api_keys;

/// A partner API key. The key itself is shown once, by `createApiKey`.
pub struct ApiKey(pub api_key::Model);

/// A partner API key: who it is for, what it may do, and whether it still works. Send
/// the key as `X-Api-Key`.
#[Object]
impl ApiKey {
    /// Opaque global ID.
    async fn id(&self) -> ID {
        global_id(Kind::ApiKey, self.0.id)
    }

    /// What the key is for, e.g. the partner's name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The first characters of the key, to tell keys apart.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }

    /// Scopes granted, e.g. `orders:read`.
    async fn scopes(&self) -> Vec<String> {
        api_keys::scopes_of(&self.0)
            .into_iter()
            .map(|s| s.as_ref().to_owned())
            .collect()
    }

    /// When the key was issued.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }

    /// When the key last authenticated a request (kept to the minute: at most one write
    /// per key per minute); null if it never has.
    async fn last_used_at(&self) -> Option<Timestamp> {
        self.0.last_used_at.map(Timestamp)
    }

    /// When the key was revoked; null while it works.
    async fn revoked_at(&self) -> Option<Timestamp> {
        self.0.revoked_at.map(Timestamp)
    }
}
