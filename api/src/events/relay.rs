//! The outbox relay: wakes when a service commits events (and on a slow timer, as a
//! safety net), publishes what is unpublished in order, marks it published. If the bus is
//! down the events wait in the database and go out, in order, when it is back.

use std::sync::Arc;
use std::time::Duration;

use super::{Backoff, EventBus, idle};
use crate::service::Store;

/// Events published per transaction.
const BATCH: u64 = 500;
/// Events taken off the outbox between two vacuums of it (see `Store::vacuum_outbox`);
/// the relay also vacuums it once when it starts.
const VACUUM_EVERY: usize = 10_000;

/// Runs the relay until the runtime stops.
pub fn spawn(store: Store, bus: Arc<dyn EventBus>, poll: Duration) -> tokio::task::JoinHandle<()> {
    let wake = store.commit_signal();
    tokio::spawn(async move {
        let mut backoff =
            Backoff::new("outbox relay could not publish; events wait in the database");
        // Vacuumed first on start: a restart follows any number of events taken.
        let mut taken_since_vacuum = VACUUM_EVERY;
        loop {
            let published = store.publish_pending(bus.as_ref(), BATCH).await;
            if let Ok(n) = published {
                taken_since_vacuum += n;
                if taken_since_vacuum >= VACUUM_EVERY {
                    taken_since_vacuum = 0;
                    if let Err(err) = store.vacuum_outbox().await {
                        tracing::warn!(error = %err, "outbox not vacuumed; the relay's claims read its dead rows until autovacuum does");
                    }
                }
            }
            match published {
                Ok(n) if n as u64 == BATCH => continue,
                Ok(_) => backoff.succeeded(),
                Err(err) => {
                    backoff.failed(&err).await;
                    continue;
                }
            }
            idle(&wake, poll).await;
        }
    })
}

/// Forwards "stock changed" notices from this instance's commits to the bus.
pub fn spawn_stock(store: &Store, bus: Arc<dyn EventBus>) -> tokio::task::JoinHandle<()> {
    let mut changes = store.stock_signal();
    tokio::spawn(async move {
        loop {
            match changes.recv().await {
                Ok(skus) => {
                    if let Err(err) = bus.publish_stock(&skus).await {
                        tracing::debug!(error = %err, "stock notice not published; watchers catch up on their next signal");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    })
}
