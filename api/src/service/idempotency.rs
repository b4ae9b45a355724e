//! Idempotency keys of mutations other than `placeOrder` (`requestReturn`,
//! `refundOrder`): scoped to the caller and the operation, for `IDEMPOTENCY_WINDOW`. The
//! key is claimed in the same transaction as the change it names, so of concurrent
//! requests with one key exactly one commits; the others replay its result.

use chrono::{DateTime, Utc};
use entity::idempotency_key;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};

use super::ordering::IDEMPOTENCY_WINDOW;
use super::{Error, Result};

/// A key as the caller gave it, for one operation.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    principal: String,
    stored: String,
    fingerprint: String,
}

impl Key {
    /// `key` of `principal` for `operation`, over a request described by `request`.
    pub fn new(operation: &str, principal: &str, key: &str, request: &serde_json::Value) -> Self {
        Self {
            principal: principal.to_owned(),
            stored: format!("{operation}:{key}"),
            fingerprint: format!("{:x}", Sha256::digest(request.to_string().as_bytes())),
        }
    }

    /// The id of what the key made before (`None`: the key is new or has expired);
    /// `IDEMPOTENCY_CONFLICT` when it was used with other input.
    pub async fn replay(
        &self,
        db: &impl ConnectionTrait,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let Some(stored) = idempotency_key::Entity::find()
            .filter(idempotency_key::Column::Principal.eq(self.principal.as_str()))
            .filter(idempotency_key::Column::Key.eq(self.stored.as_str()))
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        if stored.created_at + IDEMPOTENCY_WINDOW <= now {
            idempotency_key::Entity::delete_many()
                .filter(idempotency_key::Column::Id.eq(stored.id))
                .exec(db)
                .await?;
            return Ok(None);
        }
        if stored.request_hash != self.fingerprint {
            return Err(Error::IdempotencyConflict);
        }
        stored
            .response
            .as_deref()
            .and_then(|r| r.parse().ok())
            .map(Some)
            .ok_or_else(|| Error::Corrupt("idempotency key without result".into()))
    }

    /// Claims the key for `made` (an id) on `order`. `Ok(false)`: the same key committed
    /// concurrently; roll back and replay.
    pub async fn claim(
        &self,
        txn: &impl ConnectionTrait,
        order: i64,
        made: i64,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
            principal: Set(self.principal.clone()),
            key: Set(self.stored.clone()),
            request_hash: Set(self.fingerprint.clone()),
            order_id: Set(Some(order)),
            response: Set(Some(made.to_string())),
            created_at: Set(now),
            ..Default::default()
        })
        .exec_without_returning(txn)
        .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(err) => match err.sql_err() {
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Ok(false),
                _ => Err(err.into()),
            },
        }
    }
}
