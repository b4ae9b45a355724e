//! Partner API keys. A key is shown once, when it is created; only its SHA-256 hash is
//! stored, so a leaked database does not leak usable keys. Revoking takes effect on the
//! next request.

use entity::api_key;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use sha2::{Digest, Sha256};

use super::{Error, Result, Store};
use crate::auth::{Principal, Scope, random_token};

/// What every key starts with, so scanners and people recognise one.
pub const KEY_PREFIX: &str = "ork_";

/// A new key's row and the key itself (shown once).
pub struct IssuedKey {
    pub row: api_key::Model,
    pub secret: String,
}

/// Hex SHA-256 of a key: what is stored and looked up.
fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The scopes of a stored key (unknown spellings are dropped, never widened).
pub fn scopes_of(row: &api_key::Model) -> Vec<Scope> {
    row.scopes
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// The subject an API key acts as: `key:<id>`.
pub fn subject_of(row: &api_key::Model) -> String {
    format!("key:{}", row.id)
}

impl Store {
    /// Issues a key for a partner with these scopes.
    #[tracing::instrument(skip_all)]
    pub async fn create_api_key(&self, name: String, scopes: &[Scope]) -> Result<IssuedKey> {
        let secret = format!("{KEY_PREFIX}{}", random_token(40));
        let mut names: Vec<&str> = scopes.iter().map(AsRef::as_ref).collect();
        names.sort_unstable();
        names.dedup();
        let row = api_key::ActiveModel {
            name: Set(name),
            prefix: Set(secret.chars().take(12).collect()),
            key_hash: Set(hash(&secret)),
            scopes: Set(names.join(",")),
            created_at: Set(self.clock().now()),
            last_used_at: Set(None),
            revoked_at: Set(None),
            ..Default::default()
        };
        let row = api_key::Entity::insert(row)
            .exec_with_returning(self.db())
            .await?;
        Ok(IssuedKey { row, secret })
    }

    /// Revokes a key; revoking a revoked key changes nothing.
    #[tracing::instrument(skip_all, fields(id))]
    pub async fn revoke_api_key(&self, id: i64) -> Result<api_key::Model> {
        api_key::Entity::update_many()
            .col_expr(api_key::Column::RevokedAt, Expr::value(self.clock().now()))
            .filter(api_key::Column::Id.eq(id))
            .filter(api_key::Column::RevokedAt.is_null())
            .exec(self.db())
            .await?;
        api_key::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .ok_or_else(|| Error::not_found("id", "no API key with this ID"))
    }

    /// Every key, newest first (revoked ones included, for the audit trail).
    pub async fn api_keys(&self) -> Result<Vec<api_key::Model>> {
        Ok(api_key::Entity::find()
            .order_by_desc(api_key::Column::Id)
            .all(self.db())
            .await?)
    }

    /// The partner a presented key stands for; `None` for unknown or revoked keys.
    pub async fn principal_for_api_key(&self, secret: &str) -> Result<Option<Principal>> {
        if !secret.starts_with(KEY_PREFIX) || secret.len() > 128 {
            return Ok(None);
        }
        let row = api_key::Entity::find()
            .filter(api_key::Column::KeyHash.eq(hash(secret)))
            .filter(api_key::Column::RevokedAt.is_null())
            .one(self.db())
            .await?;
        let Some(row) = row else { return Ok(None) };
        self.note_key_used(&row).await;
        Ok(Some(Principal::Partner {
            subject: subject_of(&row),
            scopes: scopes_of(&row).into_iter().collect(),
        }))
    }

    /// Keeps `last_used_at` to the minute: at most one write per key per minute (the
    /// condition holds in SQL too, so instances racing write once). A failed write is
    /// logged, never a reason to refuse the request.
    async fn note_key_used(&self, row: &api_key::Model) {
        let now = self.clock().now();
        let stale_before = now - chrono::Duration::seconds(LAST_USED_RESOLUTION_SECS);
        if row.last_used_at.is_some_and(|at| at > stale_before) {
            return;
        }
        let written = api_key::Entity::update_many()
            .col_expr(api_key::Column::LastUsedAt, Expr::value(now))
            .filter(api_key::Column::Id.eq(row.id))
            .filter(
                sea_orm::Condition::any()
                    .add(api_key::Column::LastUsedAt.is_null())
                    .add(api_key::Column::LastUsedAt.lte(stale_before)),
            )
            .exec(self.db())
            .await;
        if let Err(err) = written {
            tracing::warn!(error = %err, key = row.id, "could not note when an API key was used");
        }
    }
}

/// How stale `last_used_at` may get before it is written again.
const LAST_USED_RESOLUTION_SECS: i64 = 60;

#[async_trait::async_trait]
impl crate::auth::ApiKeys for Store {
    async fn principal_for_api_key(
        &self,
        secret: &str,
    ) -> std::result::Result<Option<Principal>, crate::auth::LookupError> {
        Store::principal_for_api_key(self, secret)
            .await
            .map_err(|e| Box::new(e) as crate::auth::LookupError)
    }
}
