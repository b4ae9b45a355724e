//! Routes what the bus delivers to the streams that asked for it, by order and by
//! customer: each key has its own channel, so a subscriber never filters other people's
//! events, and one dispatcher per instance does the routing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use super::{BusMessage, EventBus};

/// Events a stream may have missed are re-read from the database when it sees this.
#[derive(Debug, Clone)]
pub enum Signal {
    Event(Arc<super::BusEvent>),
    Resync,
}

/// What a stream is interested in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    Order(i64),
    Customer(i64),
    Location(i64),
    Sku(i64),
}

/// Per-key channels plus the dispatcher feeding them.
#[derive(Default)]
pub struct Hub {
    topics: Mutex<HashMap<Topic, broadcast::Sender<Signal>>>,
    watches: AtomicUsize,
}

/// Every this many new watches, abandoned topics are swept.
const SWEEP_EVERY: usize = 1024;

impl Topic {
    /// Signals a topic's channel holds; a stream further behind than this resynchronises
    /// from the database, so a small buffer costs a re-read, never an event. Each slot is
    /// allocated up front (about 40 bytes), and an order's or a SKU's topic is often
    /// watched by one portal alone, so those hold what one order's burst needs (placing
    /// writes 3–4 events at once); a location's queue hears every order routed there.
    fn buffer(self) -> usize {
        match self {
            Topic::Order(_) | Topic::Sku(_) => 16,
            Topic::Customer(_) => 64,
            Topic::Location(_) => 256,
        }
    }
}

impl Hub {
    /// A hub fed by `bus`, with its dispatcher running on the current runtime.
    pub fn start(bus: &Arc<dyn EventBus>) -> Arc<Self> {
        let hub = Arc::new(Self::default());
        let mut messages = bus.subscribe();
        let weak = Arc::downgrade(&hub);
        tokio::spawn(async move {
            loop {
                let message = messages.recv().await;
                let Some(hub) = weak.upgrade() else { return };
                match message {
                    Ok(BusMessage::Event(event)) => hub.dispatch(&event),
                    Ok(BusMessage::Stock(skus)) => hub.stock(&skus),
                    Ok(BusMessage::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        hub.resync_all()
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        hub
    }

    /// A receiver of everything about `topic` from now on.
    pub fn watch(&self, topic: Topic) -> broadcast::Receiver<Signal> {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        // Now and then, drop the channels of topics nobody watches any more (a topic
        // whose watchers left and that gets no more events would otherwise stay).
        if self.watches.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            topics.retain(|_, sender| sender.receiver_count() > 0);
        }
        topics
            .entry(topic)
            .or_insert_with(|| broadcast::channel(topic.buffer()).0)
            .subscribe()
    }

    /// Topics with at least one watcher (for metrics and tests).
    pub fn watched(&self) -> usize {
        self.topics
            .lock()
            .map(|t| t.values().filter(|s| s.receiver_count() > 0).count())
            .unwrap_or(0)
    }

    fn dispatch(&self, event: &Arc<super::BusEvent>) {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        let location = event.location_id.map(Topic::Location);
        for topic in [
            Some(Topic::Order(event.order_id)),
            Some(Topic::Customer(event.customer_id)),
            location,
        ]
        .into_iter()
        .flatten()
        {
            if let Some(sender) = topics.get(&topic)
                && sender.send(Signal::Event(event.clone())).is_err()
            {
                // Nobody listens any more.
                topics.remove(&topic);
            }
        }
    }

    fn stock(&self, skus: &[i64]) {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        for sku in skus {
            let topic = Topic::Sku(*sku);
            if let Some(sender) = topics.get(&topic)
                && sender.send(Signal::Resync).is_err()
            {
                topics.remove(&topic);
            }
        }
    }

    fn resync_all(&self) {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        topics.retain(|_, sender| sender.send(Signal::Resync).is_ok());
    }
}
