//! Whether the database answers, as a probe on a connection of its own last found it.
//!
//! While Postgres is stopped or hung, a request would wait for the pool's acquire
//! timeout (10 s) before failing, and so would `/ready`. The probe pings every second
//! (every 250 ms while the database is down) with a 1 s deadline; once it fails,
//! requests are refused at once with `UNAVAILABLE` (503, `Retry-After`), and when a
//! ping succeeds again they are served again — no restart. Its connection is not the
//! pool's, so a busy pool never looks like a dead database. SQLite is a file: always up.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sea_orm::DbErr;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::{self, ConnectOptions, Connection};

/// Longest a probe (connecting included) may take before the database counts as down.
pub const PROBE_DEADLINE: Duration = Duration::from_secs(1);
const PROBE_EVERY: Duration = Duration::from_secs(1);
const PROBE_EVERY_WHILE_DOWN: Duration = Duration::from_millis(250);

/// Shared verdict of the probe; cheap to clone and to read.
#[derive(Debug, Clone, Default)]
pub struct DbHealth {
    down: Arc<AtomicBool>,
}

impl DbHealth {
    /// Whether the last probe failed.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    fn set_down(&self, down: bool) {
        let was = self.down.swap(down, Ordering::Relaxed);
        match (was, down) {
            (false, true) => tracing::warn!("database unreachable: requests get UNAVAILABLE"),
            (true, false) => tracing::info!("database reachable again"),
            _ => {}
        }
    }

    /// Starts probing the database at `url` (Postgres; SQLite needs no probe and gets
    /// `None`). The probe stops with the runtime.
    pub fn watch(url: &str) -> anyhow::Result<(Self, Option<tokio::task::JoinHandle<()>>)> {
        let health = Self::default();
        if url.starts_with("sqlite:") {
            return Ok((health, None));
        }
        let options = PgConnectOptions::from_str(url)?
            .disable_statement_logging()
            .application_name("orderly-health-probe");
        let options = super::db::plain_tcp_where_local(url, options);
        let probe = health.clone();
        let task = tokio::spawn(async move {
            let mut connection: Option<PgConnection> = None;
            loop {
                let answered = tokio::time::timeout(PROBE_DEADLINE, async {
                    let live = match connection.as_mut() {
                        Some(live) => live,
                        None => connection.insert(PgConnection::connect_with(&options).await?),
                    };
                    live.ping().await
                })
                .await;
                let up = matches!(answered, Ok(Ok(())));
                if !up {
                    // A broken or hung connection is dropped; the next probe dials again.
                    connection = None;
                }
                probe.set_down(!up);
                let wait = if up {
                    PROBE_EVERY
                } else {
                    PROBE_EVERY_WHILE_DOWN
                };
                tokio::time::sleep(wait).await;
            }
        });
        Ok((health, Some(task)))
    }
}

/// True for a failure that says the database cannot be reached (a refused or broken
/// connection, a pool that timed out, a server shutting down), not that a statement was
/// wrong: clients are told `UNAVAILABLE` and to retry.
pub fn is_unreachable(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    match err {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => match &**e {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            // Class 08: connection exception; 57P01-03: admin or crash shutdown, cannot
            // connect now.
            sqlx::Error::Database(db) => db
                .code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
            _ => false,
        },
        _ => false,
    }
}

/// Whether `err` or one of its causes is a [`DbErr`] for which [`is_unreachable`] holds.
pub fn is_unreachable_error(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(cause) = next {
        if cause.downcast_ref::<DbErr>().is_some_and(is_unreachable) {
            return true;
        }
        next = cause.source();
    }
    false
}
