//! Notifications handed from the relay to this process's sender. The relay writes the
//! notifications its events bring; a sender then had to claim them from the database
//! again (a `FOR UPDATE SKIP LOCKED` select, an update of their lease and a commit) before
//! sending. When a sender runs in the same process, the relay writes them already leased
//! to it and, once its transaction commits, hands it the rows it wrote: the claim is
//! gone, and what the sender does with the rows (send, record the outcome) is unchanged.
//!
//! Nothing is lost if this process dies with rows handed over but not sent: they are in
//! the database, QUEUED, and any sender claims them when their lease ends, as it does
//! rows whose claimer died. Only as many rows are leased as the queue has room for, so a
//! slow sender (an SMTP server taking seconds) leaves the rest to be claimed as before.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use entity::notification;

/// How long a claim or a hand-off keeps other senders off a notification.
pub const LEASE: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
/// Most notifications waiting in the hand-off queue.
const ROOM: usize = 256;

/// The queue between the relay and this process's sender.
#[derive(Default)]
pub(crate) struct HandOff {
    /// Whether a sender takes from the queue (set while one runs).
    taking: AtomicBool,
    rows: Mutex<VecDeque<notification::Model>>,
}

impl HandOff {
    /// How many notifications the relay may lease to the sender now: none when no
    /// sender runs in this process.
    pub(crate) fn room(&self) -> usize {
        if self.taking.load(Ordering::Acquire) {
            ROOM.saturating_sub(self.lock().len())
        } else {
            0
        }
    }

    /// Hands over rows written leased (after their transaction committed).
    pub(crate) fn give(&self, rows: Vec<notification::Model>) {
        self.lock().extend(rows);
    }

    /// Up to `most` rows handed over, oldest first.
    pub(crate) fn take(&self, most: usize) -> Vec<notification::Model> {
        let mut rows = self.lock();
        let n = rows.len().min(most);
        rows.drain(..n).collect()
    }

    /// Marks a sender as taking until the returned guard is dropped (its task ended).
    pub(crate) fn start_taking(self: &std::sync::Arc<Self>) -> Taking {
        self.taking.store(true, Ordering::Release);
        Taking(self.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<notification::Model>> {
        // Pushing and draining cannot leave the queue half-changed.
        self.rows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A sender taking from the hand-off queue; dropped with its task.
pub struct Taking(std::sync::Arc<HandOff>);

impl Drop for Taking {
    fn drop(&mut self) {
        // What is left stays leased in the database and is claimed when the lease ends.
        self.0.taking.store(false, Ordering::Release);
        self.0.lock().clear();
    }
}
