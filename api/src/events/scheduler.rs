//! The "arriving tomorrow" scheduler: every tick, it asks the store to announce the
//! parcels whose estimate has become tomorrow, and to send the payment provider the
//! calls still owed (see `service::provider_calls`). Running it on every instance is safe: the
//! store claims each announcement with a conditional update.

use std::time::Duration;

use crate::service::Store;

/// Runs the scheduler until the runtime stops.
pub fn spawn(store: Store, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match store.announce_arriving_tomorrow().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(announced = n, "arriving-tomorrow events appended"),
                Err(err) => {
                    tracing::warn!(error = %err, "arriving-tomorrow scheduler failed; retrying next tick")
                }
            }
            // Payment provider calls still owed (a crash after commit, a failed call).
            match store.retry_provider_calls().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sent = n, "payment provider calls retried"),
                Err(err) => {
                    tracing::warn!(error = %err, "retrying provider calls failed; next tick")
                }
            }
            // Authorisations whose placement died before its commit.
            match store.release_abandoned_authorizations().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(released = n, "abandoned authorisations released"),
                Err(err) => {
                    tracing::warn!(error = %err, "releasing abandoned authorisations failed; next tick")
                }
            }
        }
    })
}
