//! The two streams every subscription is built on: one order's events, and every event
//! of a customer or a location. Each subscribes to its hub topic before it reads the
//! database, re-reads whenever it sees a gap, a lag or a resync, and keeps per order the
//! last sequence it delivered, so nothing is lost or repeated.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::Result;
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use crate::domain::ids::OrderId;
use crate::events::hub::{Hub, Signal, Topic};
use crate::graphql::error::query_error;
use crate::graphql::types::order::OrderEvent;
use crate::service::Store;
use crate::service::orders::EventScope;

/// Events read from the database per query while catching up.
const REPLAY_BATCH: u64 = 200;

/// One order's events after `last`, replayed then live.
pub(super) fn order_stream(
    store: Store,
    hub: Arc<Hub>,
    order: i64,
    last: i32,
) -> impl Stream<Item = Result<OrderEvent>> {
    // Subscribed before the first read: whatever commits from here on is either read or heard.
    let mut live = hub.watch(Topic::Order(order));
    async_stream::stream! {
        let mut last = last;
        let mut behind = true;
        loop {
            if behind {
                loop {
                    match Box::pin(store.order_events(OrderId(order), last, REPLAY_BATCH)).await {
                        Ok(rows) => {
                            let done = (rows.len() as u64) < REPLAY_BATCH;
                            for row in rows {
                                last = row.sequence;
                                yield Ok(OrderEvent(row));
                            }
                            if done { break; }
                        }
                        Err(err) => {
                            yield Err(query_error(err));
                            return;
                        }
                    }
                }
                behind = false;
            }
            match live.recv().await {
                Ok(Signal::Event(event)) if event.sequence <= last => {}
                Ok(Signal::Event(event)) if event.sequence == last + 1 => {
                    last = event.sequence;
                    yield Ok(OrderEvent((*event).clone()));
                }
                Ok(Signal::Event(_)) | Ok(Signal::Resync) | Err(RecvError::Lagged(_)) => behind = true,
                Err(RecvError::Closed) => return,
            }
        }
    }
}

/// Every event in `scope` from `start_id` on, each order's in sequence.
pub(super) fn scoped_stream(
    store: Store,
    hub: Arc<Hub>,
    scope: EventScope,
    start_id: i64,
) -> impl Stream<Item = Result<entity::order_event::Model>> {
    let mut live = hub.watch(match scope {
        EventScope::Customer(id) => Topic::Customer(id.0),
        EventScope::Location(id) => Topic::Location(id.0),
    });
    async_stream::stream! {
        // Per order, the last sequence delivered: the guard against gaps and repeats.
        let mut delivered: HashMap<i64, i32> = HashMap::new();
        let mut behind = true;
        loop {
            if behind {
                // Read everything of this customer since the stream started and deliver
                // what was not delivered yet, in each order's sequence.
                let mut after = start_id;
                loop {
                    match Box::pin(store.scoped_events(scope, after, REPLAY_BATCH)).await {
                        Ok(rows) => {
                            let done = (rows.len() as u64) < REPLAY_BATCH;
                            for row in rows {
                                after = row.id;
                                let seen = delivered.entry(row.order_id).or_insert(row.sequence - 1);
                                if row.sequence > *seen {
                                    *seen = row.sequence;
                                    yield Ok(row);
                                }
                            }
                            if done { break; }
                        }
                        Err(err) => {
                            yield Err(query_error(err));
                            return;
                        }
                    }
                }
                behind = false;
            }
            match live.recv().await {
                Ok(Signal::Event(event)) => {
                    let seen = delivered.get(&event.order_id).copied();
                    match seen {
                        Some(last) if event.sequence <= last => {}
                        Some(last) if event.sequence == last + 1 => {
                            delivered.insert(event.order_id, event.sequence);
                            yield Ok((*event).clone());
                        }
                        // An order new to this stream, from its first event (for a
                        // location: from its first event there, its allocation).
                        None if event.sequence == 1 || matches!(scope, EventScope::Location(_)) => {
                            delivered.insert(event.order_id, 1);
                            yield Ok((*event).clone());
                        }
                        _ => behind = true,
                    }
                }
                Ok(Signal::Resync) | Err(RecvError::Lagged(_)) => behind = true,
                Err(RecvError::Closed) => return,
            }
        }
    }
}
