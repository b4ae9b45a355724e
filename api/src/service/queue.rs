//! What the outbox-fed queues (webhook deliveries, notifications) share: writing a
//! batch of rows once, however often the relay gets to the same events.

use sea_orm::sea_query::{IntoIden, OnConflict};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait};

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
    let mut inserted = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(INSERT_CHUNK).collect();
        inserted += <A::Entity as EntityTrait>::insert_many(chunk)
            .on_conflict(unique.clone())
            .exec_without_returning(db)
            .await?;
    }
    Ok(inserted)
}
