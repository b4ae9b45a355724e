//! Use cases. This layer owns every SeaORM call and every transaction; a state change and
//! the `order_events` row recording it are written in the same transaction. Callers get
//! entity models back and typed errors that say what the client should see.

pub mod catalog;
pub mod customers;
pub mod db;
pub mod orders;
pub mod page;
pub mod seed;

use std::str::FromStr;
use std::sync::Arc;

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqlErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::clock::Clock;
use crate::domain::ValidationError;

/// What went wrong in a use case. Every variant but `Database` and `Corrupt` is the
/// client's to fix and becomes a `userError`; those two become "internal error".
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `INVALID_INPUT` on the named field.
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    /// `NOT_FOUND` on the named field: the referenced thing does not exist (or is not
    /// visible to the caller, which looks the same).
    #[error("{message}")]
    NotFound { field: String, message: String },
    /// `TAKEN`: a unique value (code, e-mail, number) is already used.
    #[error("{message}")]
    Taken { field: String, message: String },
    /// `VERSION_CONFLICT`: the caller's `expectedVersion` is stale.
    #[error("the record was changed by someone else (now at version {current})")]
    VersionConflict { current: i32 },
    /// `OUT_OF_STOCK` on the named field.
    #[error("{message}")]
    OutOfStock { field: String, message: String },
    /// Internal: the database failed. Never shown to clients.
    #[error("database error")]
    Database(#[source] DbErr),
    /// Internal: a stored value does not parse (a bug or a hand-edited row).
    #[error("stored data is inconsistent")]
    Corrupt(String),
}

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        Self::Database(err)
    }
}

impl Error {
    pub(crate) fn not_found(field: &str, message: impl Into<String>) -> Self {
        Self::NotFound { field: field.to_owned(), message: message.into() }
    }

    /// Maps a unique-constraint violation to `Taken` on `field`, passing other errors on.
    pub(crate) fn taken_on(err: DbErr, field: &str, message: impl Into<String>) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                Self::Taken { field: field.to_owned(), message: message.into() }
            }
            _ => Self::Database(err),
        }
    }
}

/// Shorthand for service results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Parses a stored enum spelling, reporting a corrupt row instead of panicking.
pub fn decode<T: FromStr>(column: &str, stored: &str) -> Result<T> {
    stored.parse().map_err(|_| Error::Corrupt(format!("{column} = {stored:?}")))
}

/// The database plus the clock: everything a use case needs.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
}

impl Store {
    /// A store over an open, migrated connection.
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }

    /// A store with no database behind it: enough to build the schema (`orderly schema`).
    pub fn disconnected() -> Self {
        Self::new(DatabaseConnection::default(), Arc::new(crate::clock::SystemClock))
    }

    /// The clock everything in this store reads time from.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Checks that the database answers (readiness probe).
    pub async fn ping(&self) -> Result<()> {
        self.db.ping().await.map_err(Error::from)
    }

    pub(crate) fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so a read-then-write transaction queues on the busy timeout
    /// instead of failing with "database is locked" when it upgrades.
    pub(crate) async fn begin_write(&self) -> Result<DatabaseTransaction> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        Ok(self.db.begin_with_options(options).await?)
    }
}
