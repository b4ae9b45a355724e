//! Group commit for placements on Postgres. Each order's write transaction used to pay a
//! transaction of its own: a `BEGIN`, its statements, a commit and its WAL flush, and —
//! for orders of one popular SKU — a wait on that stock level's row from its update
//! until the flush was done. Here placements that arrive while a batch is being written
//! queue up, and the next batch writes them (up to `MOST`) in one transaction:
//! ids for all of them in one statement, every row in one multi-row statement, their
//! stock locked in (location, SKU) order and reserved in one update, one commit.
//!
//! Batches form from what is waiting, never from a timer: a placement arriving at an
//! idle server is written at once, alone. A batch is all or nothing: a shortage, an
//! idempotency key taken, a payment attempt gone or any error rolls it back, and each of
//! its orders is then placed on its own (`place_once`'s single path), which has each
//! case's exact answer. So a batch never changes what an order comes to, only how many
//! orders share a commit.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use entity::{order, sku};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement, Value};

use super::write::{Claims, Part, write_orders};
use super::{Actor, OrderHead, PlaceOrder};
use crate::domain::pricing::Totals;
use crate::domain::routing::Plan;
use crate::domain::status::PaymentStatus;
use crate::service::group_commit::GroupCommit;
use crate::service::{Result, Store};

/// Most orders in one batch. Larger batches cost Postgres more per order, not less, on
/// a catalogue of many SKUs (pinned, `tests/bench/README.md`: 4 → 614–637 orders/s and
/// 1.05–1.09 ms of Postgres CPU an order, 8 → 536 and 1.29, 32 → 450 and 1.55): each
/// mix of orders, lines and fulfilment orders is a statement of its own text, which
/// Postgres parses and plans afresh and the driver's statement cache cannot keep. With
/// one SKU the texts repeat and 8 did as well as 4.
const MOST: usize = 4;

/// Batches written at once. One alone serialises every commit behind the previous one's
/// WAL flush (2 cores, batches of up to 32: 497 orders/s against 799 with two and 773
/// with eight, `tests/bench/README.md`); more only splits the queue into smaller
/// batches that contend for the same rows.
const WRITERS: usize = 2;

/// One order waiting to be written, with everything its rows are built from.
pub(super) struct Job {
    pub input: PlaceOrder,
    pub actor: Actor,
    pub fingerprint: String,
    pub priced: Vec<(sku::Model, i32)>,
    pub plan: Plan,
    pub amounts: Totals,
    pub currency: String,
    pub payment_status: PaymentStatus,
    pub now: DateTime<Utc>,
    pub attempt: i64,
    pub reference: String,
}

impl Job {
    fn part(&self) -> Part<'_> {
        Part {
            head: OrderHead {
                input: &self.input,
                plan: &self.plan,
                amounts: &self.amounts,
                currency: &self.currency,
                payment_status: self.payment_status,
                now: self.now,
            },
            priced: &self.priced,
            claims: Claims {
                actor: &self.actor,
                fingerprint: &self.fingerprint,
                attempt: self.attempt,
                reference: &self.reference,
            },
        }
    }
}

/// How placements were written, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlacementCounts {
    /// Batches committed.
    pub batches: u64,
    /// Orders written by a committed batch.
    pub batched: u64,
    /// Orders written on their own (SQLite, a retry, or a batch that was rolled back).
    pub single: u64,
}

/// The queue of placements waiting for a batch, and the turns to write one.
pub(crate) struct Batcher {
    queue: GroupCommit<Job, order::Model>,
    batches: AtomicU64,
    batched: AtomicU64,
    single: AtomicU64,
}

impl Default for Batcher {
    fn default() -> Self {
        Self {
            queue: GroupCommit::new(WRITERS, MOST),
            batches: AtomicU64::default(),
            batched: AtomicU64::default(),
            single: AtomicU64::default(),
        }
    }
}

impl Batcher {
    /// Writes the job in the next batch. `None`: the batch was rolled back, place the
    /// order alone.
    pub(super) async fn place(&self, store: &Store, job: Job) -> Option<order::Model> {
        self.queue
            .submit(job, |jobs| {
                let store = store.clone();
                async move { store.write_batch(jobs).await }
            })
            .await
    }

    /// Counts one order committed on its own.
    pub(super) fn count_single(&self) {
        self.single.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn counts(&self) -> PlacementCounts {
        PlacementCounts {
            batches: self.batches.load(Ordering::Relaxed),
            batched: self.batched.load(Ordering::Relaxed),
            single: self.single.load(Ordering::Relaxed),
        }
    }
}

impl Store {
    /// Writes a batch: each job's order, or `None` for each when it was rolled back.
    async fn write_batch(&self, jobs: Vec<Job>) -> Vec<Option<order::Model>> {
        match self.write_jobs(&jobs).await {
            Ok(Some(orders)) => {
                self.events_committed();
                self.stock_changed(
                    jobs.iter()
                        .flat_map(|j| j.priced.iter().map(|(s, _)| s.id))
                        .collect(),
                );
                if let Some(batcher) = &self.placements {
                    batcher.batches.fetch_add(1, Ordering::Relaxed);
                    batcher
                        .batched
                        .fetch_add(orders.len() as u64, Ordering::Relaxed);
                }
                for order in &orders {
                    tracing::info!(order = order.id, number = %order.number, total = order.total, batch = orders.len(), "order placed");
                }
                orders.into_iter().map(Some).collect()
            }
            Ok(None) => vec![None; jobs.len()],
            Err(err) => {
                tracing::debug!(error = %err, orders = jobs.len(), "batch rolled back; placing its orders one at a time");
                vec![None; jobs.len()]
            }
        }
    }

    /// One transaction: every job's rows, then the stock, then the commit. `None` (rolled
    /// back) when some stock was short or a payment attempt gone.
    async fn write_jobs(&self, jobs: &[Job]) -> Result<Option<Vec<order::Model>>> {
        let (_gate, txn) = self.begin_write().await?;
        let parts: Vec<Part<'_>> = jobs.iter().map(Job::part).collect();
        let Some(orders) = write_orders(&txn, &parts).await? else {
            return Ok(None);
        };
        let now = jobs.iter().map(|j| j.now).max().unwrap_or_else(Utc::now);
        if !reserve_all(&txn, jobs.iter().map(|j| &j.plan), now).await? {
            return Ok(None);
        }
        txn.commit().await?;
        Ok(Some(orders))
    }
}

/// Reserves every plan's stock, summed per level, in one conditional update that first
/// locks the levels in (location, SKU) order — its `FOR UPDATE` sub-select is the only
/// place it takes a lock, and the update changes only rows that sub-select locked — so
/// batches and single placements, which lock in the same order, never deadlock. A
/// level changed since the statement began is checked again at its newest (Postgres
/// re-evaluates an updated row's conditions under read committed). False (and the caller
/// rolls back) when any level is short.
async fn reserve_all<'a>(
    txn: &DatabaseTransaction,
    plans: impl Iterator<Item = &'a Plan>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let mut wanted: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    for plan in plans {
        for allocation in &plan.allocations {
            for (sku, qty) in &allocation.lines {
                *wanted.entry((allocation.location.0, sku.0)).or_default() += i64::from(*qty);
            }
        }
    }
    let rows: Vec<String> = (0..wanted.len())
        .map(|i| {
            format!(
                "(${}::bigint, ${}::bigint, ${}::bigint)",
                3 * i + 2,
                3 * i + 3,
                3 * i + 4
            )
        })
        .collect();
    let mut values: Vec<Value> = vec![now.into()];
    values.extend(
        wanted
            .iter()
            .flat_map(|((l, s), q)| [Value::from(*l), Value::from(*s), Value::from(*q)]),
    );
    // One level needs no order: the update locks just it.
    let (locked, only_locked) = if wanted.len() > 1 {
        (
            ", (SELECT id FROM inventory_levels \
               WHERE (location_id, sku_id) IN (SELECT location_id, sku_id FROM w) \
               ORDER BY location_id, sku_id FOR UPDATE) AS locked",
            " AND l.id = locked.id",
        )
    } else {
        ("", "")
    };
    let reserve = Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "WITH w(location_id, sku_id, qty) AS (VALUES {}) \
             UPDATE inventory_levels AS l SET reserved = l.reserved + w.qty, \
             version = l.version + 1, updated_at = $1 \
             FROM w{locked} \
             WHERE l.location_id = w.location_id AND l.sku_id = w.sku_id{only_locked} \
             AND l.on_hand - l.reserved >= w.qty",
            rows.join(", ")
        ),
        values,
    );
    let changed = txn.execute_raw(reserve).await?.rows_affected();
    Ok(usize::try_from(changed).ok() == Some(wanted.len()))
}
