//! Opening the database: pool sizing, SQLite pragmas (WAL, busy timeout, foreign keys),
//! the statement-count hook for `/metrics`, and migrations.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use migration::MigratorTrait;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::{DatabaseConnection, SqlxPostgresConnector, SqlxSqliteConnector};

use crate::metrics::Metrics;

/// Opens a pool for `url` (SQLite or Postgres) and hooks statement metrics into it. On
/// Postgres every session gets `statement_timeout` (0: none), so no runaway statement
/// holds a connection or its locks for long.
pub async fn connect(
    url: &str,
    pool_size: u32,
    statement_timeout_ms: u64,
    metrics: &Metrics,
) -> anyhow::Result<DatabaseConnection> {
    let mut db = if url.starts_with("sqlite:") {
        // WAL lets readers run beside the one writer; the busy timeout makes writers queue
        // instead of failing with "database is locked".
        let options = SqliteConnectOptions::from_str(url)
            .context("Failed to parse the SQLite DATABASE_URL")?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("cache_size", "-16000");
        let pool = SqlitePoolOptions::new()
            .max_connections(pool_size.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .context("Failed to open the SQLite database")?;
        SqlxSqliteConnector::from_sqlx_sqlite_pool(pool)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let options = PgConnectOptions::from_str(url)
            .context("Failed to parse the Postgres DATABASE_URL")?
            .options([("statement_timeout", statement_timeout_ms.to_string())]);
        let options = plain_tcp_where_local(url, options);
        // No ping before every checkout (a round trip per statement); a connection that
        // died is found by the statement that uses it, and the pool replaces it.
        let pool = PgPoolOptions::new()
            .max_connections(pool_size.max(1))
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .context("Failed to connect to Postgres")?;
        SqlxPostgresConnector::from_sqlx_postgres_pool(pool)
    } else {
        anyhow::bail!("DATABASE_URL must start with sqlite: or postgres:");
    };
    let metrics = metrics.clone();
    db.set_metric_callback(move |info| metrics.db_statement(info.elapsed, info.failed));
    Ok(db)
}

/// `options` without TLS when [`plain_tcp_is_enough`].
pub(crate) fn plain_tcp_where_local(url: &str, options: PgConnectOptions) -> PgConnectOptions {
    if plain_tcp_is_enough(url, &options) {
        options.ssl_mode(PgSslMode::Disable)
    } else {
        options
    }
}

/// True when the URL names no `sslmode` and the server is on this machine (loopback or a
/// Unix socket): TLS there protects nothing and costs a handshake per connection and an
/// encryption pass per round trip. Anywhere else sqlx's default (`prefer`) stands.
fn plain_tcp_is_enough(url: &str, options: &PgConnectOptions) -> bool {
    if url.contains("sslmode=") {
        return false;
    }
    let host = options.get_host();
    host.starts_with('/')
        || host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    migration::Migrator::up(db, None)
        .await
        .context("Failed to run database migrations")
}
