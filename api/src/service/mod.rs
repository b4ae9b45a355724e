//! Use cases. This layer owns every SeaORM call and every transaction; a state change and
//! the `order_events` row recording it are written in the same transaction. Callers get
//! entity models back and typed errors that say what the client should see.

pub mod api_keys;
mod attempt_starts;
pub mod bus;
pub mod cancelling;
pub mod catalog;
mod changes;
pub mod channels;
pub mod customers;
pub mod db;
pub mod db_health;
pub mod editing;
pub mod fulfillment;
mod group_commit;
pub mod handoff;
mod idempotency;
pub mod notes;
pub mod notifications;
pub mod ordering;
pub mod orders;
pub mod outbox;
pub mod page;
pub mod payment_attempts;
pub mod payments;
pub mod profile;
pub mod provider_calls;
mod queue;
mod quoting;
pub mod refunds;
pub mod reorder;
pub mod returns;
pub mod rows;
pub mod seed;
mod statements;
pub mod webhooks;

use std::sync::Arc;

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqlErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
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
    /// `NOT_RETURNABLE` on the named field: not delivered, outside the return window, or
    /// more than is left to return.
    #[error("{message}")]
    NotReturnable { field: String, message: String },
    /// `NOT_EDITABLE` on the named field: picking has started, the order is cancelled,
    /// or the customer's edit window is over.
    #[error("{message}")]
    NotEditable { field: String, message: String },
    /// `REFUND_EXCEEDS_CAPTURED` on the named field: more than was captured and not yet
    /// refunded.
    #[error("{message}")]
    RefundExceedsCaptured { field: String, message: String },
    /// `INVALID_TRANSITION`: the object's state does not allow this change.
    #[error("{message}")]
    InvalidTransition { field: String, message: String },
    /// `UNAVAILABLE`, one per line (field, message): what cannot be had.
    #[error("some lines cannot be had")]
    Unavailable(Vec<(String, String)>),
    /// `PAYMENT_DECLINED`: the provider refused the payment.
    #[error("{0}")]
    PaymentDeclined(String),
    /// `IDEMPOTENCY_CONFLICT`: the key was used before with different input.
    #[error("this idempotency key was already used with different input")]
    IdempotencyConflict,
    /// Internal: a concurrent change won a race; the use case runs again.
    #[error("concurrent change, retrying")]
    Retry,
    /// Internal: the event bus failed (the events stay unpublished and are retried).
    #[error("event bus failed: {0}")]
    Bus(String),
    /// Internal: the payment provider failed.
    #[error("payment provider failed")]
    Provider(#[source] payments::PaymentError),
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
    /// True for failures that running the same use case again can cure: a lost race,
    /// a Postgres serialisation failure or deadlock, a busy SQLite database.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Retry => true,
            Self::Database(err) => {
                let code = match err {
                    DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
                    | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e)) => e
                        .as_database_error()
                        .and_then(|d| d.code().map(|c| c.into_owned())),
                    _ => None,
                };
                // 40001 serialization_failure, 40P01 deadlock_detected; SQLite 5 BUSY,
                // 6 LOCKED, 517 BUSY_SNAPSHOT.
                matches!(code.as_deref(), Some("40001" | "40P01" | "5" | "6" | "517"))
            }
            _ => false,
        }
    }

    pub(crate) fn invalid_transition(field: &str, message: impl Into<String>) -> Self {
        Self::InvalidTransition {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn not_found(field: &str, message: impl Into<String>) -> Self {
        Self::NotFound {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// Maps a unique-constraint violation to `Taken` on `field`, passing other errors on.
    pub(crate) fn taken_on(err: DbErr, field: &str, message: impl Into<String>) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::Taken {
                field: field.to_owned(),
                message: message.into(),
            },
            _ => Self::Database(err),
        }
    }
}

/// Shorthand for service results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Groups rows by a key, keeping their order.
pub(crate) fn group<K: std::hash::Hash + Eq, T>(
    rows: Vec<T>,
    key: impl Fn(&T) -> K,
) -> std::collections::HashMap<K, Vec<T>> {
    let mut out: std::collections::HashMap<K, Vec<T>> = std::collections::HashMap::new();
    for row in rows {
        out.entry(key(&row)).or_default().push(row);
    }
    out
}

/// Runs a use case again (a few times, with a short pause) while it fails with a
/// retryable error.
macro_rules! retrying {
    ($op:expr) => {{
        let mut attempt: u32 = 0;
        loop {
            match $op.await {
                Err(err) if err.is_retryable() && attempt < $crate::service::MAX_RETRIES => {
                    attempt += 1;
                    tracing::debug!(attempt, error = %err, "retrying after a concurrent change");
                    tokio::time::sleep(std::time::Duration::from_millis(u64::from(attempt) * 3)).await;
                }
                other => break other,
            }
        }
    }};
}
pub(crate) use retrying;

/// How often a use case is retried after a lost race.
pub const MAX_RETRIES: u32 = 8;

/// Tax rates in basis points (1/100 %) by destination country.
#[derive(Debug, Clone, Default)]
pub struct TaxRates(std::collections::HashMap<String, u32>);

impl TaxRates {
    /// Parses `US:725,CA:1300` (country:basis points).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut rates = std::collections::HashMap::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (country, rate) = part
                .split_once(':')
                .ok_or_else(|| format!("'{part}' is not COUNTRY:BASIS_POINTS"))?;
            let rate: u32 = rate
                .trim()
                .parse()
                .map_err(|_| format!("'{rate}' is not a number of basis points"))?;
            if rate > 10_000 {
                return Err(format!("{rate} basis points is more than 100 %"));
            }
            rates.insert(country.trim().to_uppercase(), rate);
        }
        Ok(Self(rates))
    }

    /// The rate for `country` (0 when none is configured).
    pub fn for_country(&self, country: &str) -> u32 {
        self.0.get(country).copied().unwrap_or(0)
    }
}

/// The return window when none is configured (`ORDERLY_RETURN_WINDOW_DAYS`).
pub const DEFAULT_RETURN_WINDOW_DAYS: u32 = 30;

/// The database, the clock, payment providers and tax rates: everything a use case needs.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    payments: Arc<payments::Payments>,
    tax: Arc<TaxRates>,
    /// Days after delivery within which units may be asked back.
    return_window_days: u32,
    /// How long after placing a customer may edit their order.
    customer_edit_window: chrono::TimeDelta,
    /// SQLite has one writer at a time; writers queue here, first come first served,
    /// instead of polling the file lock (whose back-off gave second-long tails).
    write_gate: Option<Arc<tokio::sync::Mutex<()>>>,
    /// Woken after every commit that wrote events, so the relay publishes at once.
    committed: Arc<tokio::sync::Notify>,
    /// Channel codes known to exist (channels are never deleted, so a hit needs no query).
    known_channels: Arc<std::sync::RwLock<std::collections::HashSet<String>>>,
    /// SKUs whose stock a commit changed, for stock badges (state, so at-most-once is fine).
    stock_changes: tokio::sync::broadcast::Sender<Vec<i64>>,
    /// How webhook deliveries are retried.
    webhooks: webhooks::WebhookPolicy,
    /// Woken when webhook deliveries were queued, so the worker sends them at once.
    webhooks_queued: Arc<tokio::sync::Notify>,
    /// The notification templates.
    templates: Arc<crate::domain::notifications::Templates>,
    /// Woken when notifications were queued, so the sender sends them at once.
    notifications_queued: Arc<tokio::sync::Notify>,
    /// Notifications the relay leased to this process's sender, for it to send.
    handoff: Arc<handoff::HandOff>,
    /// Placements waiting to share a transaction (Postgres; SQLite has one writer).
    placements: Option<Arc<ordering::Batcher>>,
    /// Payment attempts waiting to share an insert (Postgres).
    attempt_starts: Option<Arc<attempt_starts::AttemptStarts>>,
}

/// Held for as long as a write transaction runs (a no-op on Postgres).
pub(crate) type WriteGate = Option<tokio::sync::OwnedMutexGuard<()>>;

impl Store {
    /// A store over an open, migrated connection, with the built-in payment providers
    /// and no tax. (The connection must not be the disconnected placeholder.)
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>) -> Self {
        let write_gate = matches!(db.get_database_backend(), sea_orm::DatabaseBackend::Sqlite)
            .then(|| Arc::new(tokio::sync::Mutex::new(())));
        let placements = matches!(
            db.get_database_backend(),
            sea_orm::DatabaseBackend::Postgres
        )
        .then(Arc::default);
        Self {
            db,
            clock,
            payments: Arc::default(),
            tax: Arc::default(),
            return_window_days: DEFAULT_RETURN_WINDOW_DAYS,
            customer_edit_window: chrono::TimeDelta::hours(1),
            write_gate,
            committed: Arc::default(),
            known_channels: Arc::default(),
            stock_changes: tokio::sync::broadcast::channel(1024).0,
            webhooks: webhooks::WebhookPolicy::default(),
            webhooks_queued: Arc::default(),
            templates: Arc::default(),
            notifications_queued: Arc::default(),
            handoff: Arc::default(),
            attempt_starts: placements.is_some().then(Arc::default),
            placements,
        }
    }

    /// How placements were written so far (`None` on SQLite, which never batches).
    pub fn placement_counts(&self) -> Option<ordering::PlacementCounts> {
        self.placements.as_ref().map(|b| b.counts())
    }

    /// The same store charging `tax`.
    pub fn with_tax_rates(mut self, tax: TaxRates) -> Self {
        self.tax = Arc::new(tax);
        self
    }

    /// The same store with a return window of `days` after delivery.
    pub fn with_return_window(mut self, days: u32) -> Self {
        self.return_window_days = days;
        self
    }

    /// The same store letting customers edit orders for `window` after placing them.
    pub fn with_customer_edit_window(mut self, window: std::time::Duration) -> Self {
        self.customer_edit_window =
            chrono::TimeDelta::from_std(window).unwrap_or(chrono::TimeDelta::hours(1));
        self
    }

    /// The same store reading time from `clock` (the demo writes its history with a
    /// clock it moves).
    pub fn with_clock(&self, clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            ..self.clone()
        }
    }

    /// The same store retrying webhook deliveries by `policy`.
    pub fn with_webhook_policy(mut self, policy: webhooks::WebhookPolicy) -> Self {
        self.webhooks = policy;
        self
    }

    /// The same store rendering notifications with `templates`.
    pub fn with_templates(mut self, templates: crate::domain::notifications::Templates) -> Self {
        self.templates = Arc::new(templates);
        self
    }

    /// Tells the notification sender that notifications were queued.
    pub(crate) fn notifications_queued(&self) {
        self.notifications_queued.notify_one();
    }

    /// What the notification sender waits on between rounds.
    pub fn notification_signal(&self) -> Arc<tokio::sync::Notify> {
        self.notifications_queued.clone()
    }

    /// Makes the caller this process's notification sender, until the guard is dropped:
    /// the relay hands it the notifications it writes (see `handoff.rs`).
    pub fn take_notifications(&self) -> handoff::Taking {
        self.handoff.start_taking()
    }

    /// Up to `most` notifications the relay handed over, leased to the caller.
    pub fn handed_notifications(&self, most: usize) -> Vec<entity::notification::Model> {
        self.handoff.take(most)
    }

    /// The same store with `payments` as its providers.
    pub fn with_payments(mut self, payments: payments::Payments) -> Self {
        self.payments = Arc::new(payments);
        self
    }

    /// The payment providers this store calls.
    pub fn payments(&self) -> &payments::Payments {
        &self.payments
    }

    /// A store with no database behind it: enough to build the schema (`orderly schema`).
    pub fn disconnected() -> Self {
        Self {
            db: DatabaseConnection::default(),
            clock: Arc::new(crate::clock::SystemClock),
            payments: Arc::default(),
            tax: Arc::default(),
            return_window_days: DEFAULT_RETURN_WINDOW_DAYS,
            customer_edit_window: chrono::TimeDelta::hours(1),
            write_gate: None,
            committed: Arc::default(),
            known_channels: Arc::default(),
            stock_changes: tokio::sync::broadcast::channel(1).0,
            webhooks: webhooks::WebhookPolicy::default(),
            webhooks_queued: Arc::default(),
            templates: Arc::default(),
            notifications_queued: Arc::default(),
            handoff: Arc::default(),
            placements: None,
            attempt_starts: None,
        }
    }

    /// Tells stock watchers that `skus` changed.
    pub(crate) fn stock_changed(&self, mut skus: Vec<i64>) {
        skus.sort_unstable();
        skus.dedup();
        let _ = self.stock_changes.send(skus);
    }

    /// SKUs whose stock changed, as commits happen.
    pub fn stock_signal(&self) -> tokio::sync::broadcast::Receiver<Vec<i64>> {
        self.stock_changes.subscribe()
    }

    /// Tells the relay that events were committed.
    pub(crate) fn events_committed(&self) {
        self.committed.notify_one();
    }

    /// What the relay waits on between batches.
    pub fn commit_signal(&self) -> Arc<tokio::sync::Notify> {
        self.committed.clone()
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

    /// On SQLite, waits for the one writer's turn (hold the gate while the write runs);
    /// on Postgres, nothing to wait for. For single-statement writes outside a
    /// transaction.
    pub(crate) async fn write_turn(&self) -> WriteGate {
        match &self.write_gate {
            Some(gate) => Some(gate.clone().lock_owned().await),
            None => None,
        }
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so a read-then-write transaction queues on the busy timeout
    /// instead of failing with "database is locked" when it upgrades.
    /// Keep the returned gate alive until the transaction has ended.
    pub(crate) async fn begin_write(&self) -> Result<(WriteGate, DatabaseTransaction)> {
        let gate = self.write_turn().await;
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        Ok((gate, self.db.begin_with_options(options).await?))
    }
}
