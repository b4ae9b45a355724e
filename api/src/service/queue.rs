//! What the outbox-fed queues (webhook deliveries, notifications) share: writing a
//! batch of rows once, however often the relay gets to the same events, and claiming
//! due rows under a lease.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, IntoIden, LockBehavior, LockType, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, ModelTrait,
    QueryFilter, QueryOrder, QuerySelect, Select,
};

use super::Result;

/// Rows per insert (Postgres allows 65,535 bind parameters a statement).
const INSERT_CHUNK: usize = 1000;

/// Inserts `rows` in chunks, leaving out those whose `unique` columns match a row that
/// exists already (a relay that retries after a crash queues nothing twice); returns how
/// many were new.
pub(super) async fn insert_new<A, C>(
    db: &impl ConnectionTrait,
    rows: Vec<A>,
    unique: impl IntoIterator<Item = C>,
) -> Result<u64>
where
    A: ActiveModelTrait,
    C: IntoIden,
{
    let unique = OnConflict::columns(unique).do_nothing().to_owned();
    let counts = in_chunks(rows, |chunk| {
        <A::Entity as EntityTrait>::insert_many(chunk)
            .on_conflict(unique.clone())
            .exec_without_returning(db)
    })
    .await?;
    Ok(counts.into_iter().sum())
}

/// As `insert_new`, returning the rows that were new.
pub(super) async fn insert_new_returning<A, C>(
    db: &impl ConnectionTrait,
    rows: Vec<A>,
    unique: impl IntoIterator<Item = C>,
) -> Result<Vec<<A::Entity as EntityTrait>::Model>>
where
    A: ActiveModelTrait,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
    C: IntoIden,
{
    let unique = OnConflict::columns(unique).do_nothing().to_owned();
    let chunks = in_chunks(rows, |chunk| {
        <A::Entity as EntityTrait>::insert_many(chunk)
            .on_conflict(unique.clone())
            .exec_with_returning(db)
    })
    .await?;
    Ok(chunks.into_iter().flatten().collect())
}

/// Runs `insert` on `rows`, `INSERT_CHUNK` at a time, and answers each chunk's result.
async fn in_chunks<A, T, Fut>(rows: Vec<A>, mut insert: impl FnMut(Vec<A>) -> Fut) -> Result<Vec<T>>
where
    Fut: std::future::Future<Output = std::result::Result<T, sea_orm::DbErr>>,
{
    let mut results = Vec::with_capacity(rows.len().div_ceil(INSERT_CHUNK));
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        results.push(insert(rows.by_ref().take(INSERT_CHUNK).collect()).await?);
    }
    Ok(results)
}

/// The columns a leased queue claims by.
pub(super) struct LeaseColumns<C> {
    /// The primary key.
    pub id: C,
    /// When the row is next due.
    pub next_attempt_at: C,
    /// Until when a worker holds it.
    pub locked_until: C,
}

/// Claims up to `limit` rows of `waiting` (already narrowed to those that still wait)
/// that are due at `now` and not held by a live lease, oldest due first, and holds them
/// for `lease`. On Postgres the rows are locked `FOR UPDATE SKIP LOCKED`, so instances
/// claiming at once take different rows; SQLite's single writer (`skip_locked` false)
/// serialises the claims instead. A worker that dies leaves its rows to be claimed again
/// when the lease ends: delivery is at least once.
pub(super) async fn claim<E>(
    txn: &DatabaseTransaction,
    waiting: Select<E>,
    columns: LeaseColumns<E::Column>,
    skip_locked: bool,
    now: DateTime<Utc>,
    lease: chrono::TimeDelta,
    limit: u64,
) -> Result<Vec<E::Model>>
where
    E: EntityTrait,
{
    let due = waiting
        .filter(columns.next_attempt_at.lte(now))
        .filter(
            columns
                .locked_until
                .is_null()
                .or(columns.locked_until.lt(now)),
        )
        .order_by_asc(columns.next_attempt_at)
        .order_by_asc(columns.id)
        .limit(limit);
    let claimed = if skip_locked {
        due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .all(txn)
            .await?
    } else {
        due.all(txn).await?
    };
    if !claimed.is_empty() {
        E::update_many()
            .col_expr(columns.locked_until, Expr::value(now + lease))
            .filter(
                columns
                    .id
                    .is_in(claimed.iter().map(|row| row.get(columns.id))),
            )
            .exec(txn)
            .await?;
    }
    Ok(claimed)
}

/// Lets other rounds claim `ids` again at once (a worker claimed more than it may send).
pub(super) async fn release<E>(
    db: &impl ConnectionTrait,
    columns: LeaseColumns<E::Column>,
    ids: Vec<i64>,
) -> Result<()>
where
    E: EntityTrait,
{
    if ids.is_empty() {
        return Ok(());
    }
    E::update_many()
        .col_expr(
            columns.locked_until,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(columns.id.is_in(ids))
        .exec(db)
        .await?;
    Ok(())
}
