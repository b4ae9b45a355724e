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
use std::sync::Arc;

use entity::payment_attempt;
use sea_orm::EntityTrait;
use tokio::sync::oneshot;

use super::Store;

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

struct Waiting {
    row: payment_attempt::Model,
    answer: oneshot::Sender<Option<i64>>,
}

/// The attempts waiting to be written, and the turns to write them.
pub(crate) struct AttemptStarts {
    waiting: std::sync::Mutex<Vec<Waiting>>,
    turns: Arc<tokio::sync::Semaphore>,
}

impl Default for AttemptStarts {
    fn default() -> Self {
        Self {
            waiting: std::sync::Mutex::default(),
            turns: Arc::new(tokio::sync::Semaphore::new(WRITERS)),
        }
    }
}

impl AttemptStarts {
    /// Writes `row` (its id unset) in the next group and answers its id; `None` when the
    /// group failed: write it alone.
    pub(crate) async fn start(&self, store: &Store, row: payment_attempt::Model) -> Option<i64> {
        let (answer, answered) = oneshot::channel();
        self.lock_waiting().push(Waiting { row, answer });
        // Queued before the turn was asked for: a turn taken after now writes it, if an
        // earlier one has not.
        let turn = self.turns.clone().acquire_owned().await.ok()?;
        let group: Vec<Waiting> = {
            let mut waiting = self.lock_waiting();
            let n = waiting.len().min(MOST);
            waiting.drain(..n).collect()
        };
        if group.is_empty() {
            drop(turn);
        } else {
            // In a task of its own: the group is other callers' attempts too, and must be
            // answered even if this caller goes away.
            let store = store.clone();
            tokio::spawn(async move {
                write_group(&store, group).await;
                drop(turn);
            });
        }
        answered.await.ok().flatten()
    }

    fn lock_waiting(&self) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
        // Pushing and draining cannot leave the queue half-changed.
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One insert, one commit (the insert's own), every caller answered.
async fn write_group(store: &Store, group: Vec<Waiting>) {
    let rows = group.iter().map(|w| {
        let mut row: payment_attempt::ActiveModel = w.row.clone().into();
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
    for waiting in group {
        let id = ids.get_mut(&key_of(&waiting.row)).and_then(Vec::pop);
        // A caller that went away has nobody to answer; its attempt is STARTED and the
        // sweeper releases it.
        let _ = waiting.answer.send(id);
    }
}
