//! Group commit for payment attempts on Postgres. Every placement writes and commits a
//! STARTED attempt before it asks the provider (`payment_attempts.rs`): a statement and
//! a commit, with its WAL flush, of its own for every order. Here attempts that arrive
//! while another group is being written wait for the next group, written as one
//! multi-row insert and one commit. A group forms from what is waiting, never from a
//! timer: an attempt arriving at an idle server is written at once, alone.
//!
//! Rows that come back are matched to their callers by what the caller wrote: rows alike
//! in every column a caller can tell apart are the same attempt of the same request, so
//! which of them a caller gets changes nothing. A group that fails answers `None`, and
//! each caller writes its attempt alone, which has the exact error.

use std::collections::HashMap;

use entity::payment_attempt;
use sea_orm::EntityTrait;

use super::Store;
use super::group_commit::GroupCommit;

/// Most attempts in one insert.
const MOST: usize = 16;
/// Groups written at once (as placement's batches: one alone would queue every commit
/// behind the previous one's WAL flush).
const WRITERS: usize = 2;

/// What tells two waiting attempts apart.
type Key = (String, Option<String>, String, String, i64, String);

fn key_of(row: &payment_attempt::Model) -> Key {
    (
        row.principal.clone(),
        row.client_key.clone(),
        row.request_hash.clone(),
        row.provider.clone(),
        row.amount,
        row.currency.clone(),
    )
}

/// The attempts waiting to be written, and the turns to write them.
pub(crate) struct AttemptStarts {
    queue: GroupCommit<payment_attempt::Model, i64>,
}

impl Default for AttemptStarts {
    fn default() -> Self {
        Self {
            queue: GroupCommit::new(WRITERS, MOST),
        }
    }
}

impl AttemptStarts {
    /// Writes `row` (its id unset) in the next group and answers its id; `None` when the
    /// group failed: write it alone.
    pub(crate) async fn start(&self, store: &Store, row: payment_attempt::Model) -> Option<i64> {
        self.queue
            .submit(row, |rows| {
                let store = store.clone();
                async move { write_group(&store, rows).await }
            })
            .await
    }
}

/// One insert, one commit (the insert's own): each row's id, matched by content, or
/// `None` for each when the insert failed. A caller whose id comes back `None` writes
/// its attempt alone, and one that went away leaves it STARTED for the sweeper.
async fn write_group(store: &Store, group: Vec<payment_attempt::Model>) -> Vec<Option<i64>> {
    let rows = group.iter().map(|row| {
        let mut row: payment_attempt::ActiveModel = row.clone().into();
        row.id = sea_orm::ActiveValue::NotSet;
        row
    });
    let written = payment_attempt::Entity::insert_many(rows)
        .exec_with_returning(store.db())
        .await;
    let mut ids: HashMap<Key, Vec<i64>> = HashMap::new();
    match written {
        Ok(rows) => {
            for row in rows.iter().rev() {
                ids.entry(key_of(row)).or_default().push(row.id);
            }
        }
        Err(err) => {
            tracing::debug!(error = %err, attempts = group.len(), "attempt group not written; writing each alone");
        }
    }
    group
        .iter()
        .map(|row| ids.get_mut(&key_of(row)).and_then(Vec::pop))
        .collect()
}
