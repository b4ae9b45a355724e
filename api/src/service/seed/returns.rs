//! The demo's returns, written through the return use cases at the times they happened:
//! one in every state, Steven Boyle's among them — a refunded one and a requested one.

use chrono::{DateTime, Duration, Utc};

use super::{DemoWorld, actor};
use crate::clock::ManualClock;
use crate::domain::ids::{OrderId, ReturnId, ReturnLineId};
use crate::domain::status::{ReturnDisposition, ReturnReason};
use crate::service::orders::Visibility;
use crate::service::returns::{
    Decision, Receipt, ReceivedLine, RequestReturn, ReturnChange, ReturnLineRequest, ReturnShipment,
};
use crate::service::{Result, Store};

/// How far a demo return got.
#[derive(Clone, Copy)]
enum Reached {
    Requested,
    Approved,
    InTransit,
    Declined,
    /// Received, the units restocked or disposed, and refunded.
    Refunded(ReturnDisposition),
}

/// A demo return: which of the demo's orders (by position), which SKU and how many,
/// why, how many days ago it was asked for, and how far it got.
struct DemoReturn {
    order: usize,
    sku: &'static str,
    units: i32,
    reason: ReturnReason,
    requested_days_ago: i64,
    reached: Reached,
}

/// The portal order with Steven's delivered solar array and rail kit.
const STEVENS_ARRAY: usize = 56;

const RETURNS: &[DemoReturn] = &[
    // Steven: connectors that failed, back on the shelf and refunded.
    DemoReturn {
        order: 50,
        sku: "MC4-PAIR",
        units: 2,
        reason: ReturnReason::Defective,
        requested_days_ago: 12,
        reached: Reached::Refunded(ReturnDisposition::Restock),
    },
    // Steven: the rail kit does not fit his roof; waiting for a decision.
    DemoReturn {
        order: STEVENS_ARRAY,
        sku: "RAIL-KIT",
        units: 1,
        reason: ReturnReason::SizeOrFit,
        requested_days_ago: 1,
        reached: Reached::Requested,
    },
    DemoReturn {
        order: 51,
        sku: "MON-HUB",
        units: 1,
        reason: ReturnReason::ChangedMind,
        requested_days_ago: 5,
        reached: Reached::Approved,
    },
    DemoReturn {
        order: 52,
        sku: "MC4-PAIR",
        units: 4,
        reason: ReturnReason::WrongItem,
        requested_days_ago: 6,
        reached: Reached::InTransit,
    },
    DemoReturn {
        order: 53,
        sku: "INV-7600",
        units: 1,
        reason: ReturnReason::ChangedMind,
        requested_days_ago: 7,
        reached: Reached::Declined,
    },
    DemoReturn {
        order: 54,
        sku: "EV-48A",
        units: 1,
        reason: ReturnReason::Damaged,
        requested_days_ago: 9,
        reached: Reached::Refunded(ReturnDisposition::Dispose),
    },
];

impl Store {
    /// Writes the demo's returns for the orders `placed` (in the demo's order).
    pub(super) async fn seed_returns(
        &self,
        clock: &ManualClock,
        world: &DemoWorld,
        placed: &[OrderId],
        now: DateTime<Utc>,
    ) -> Result<()> {
        for demo in RETURNS {
            let Some(&order) = placed.get(demo.order) else {
                continue;
            };
            let start = now - Duration::days(demo.requested_days_ago);
            clock.set(start);
            let lines = self.lines_by_orders(&[order]).await?;
            let Some(line) = lines
                .get(&order)
                .into_iter()
                .flatten()
                .find(|l| world.skus.get(demo.sku).is_some_and(|s| s.0 == l.sku_id))
            else {
                continue;
            };
            let ret = self
                .request_return(
                    RequestReturn {
                        order,
                        lines: vec![ReturnLineRequest {
                            order_line: crate::domain::ids::OrderLineId(line.id),
                            quantity: demo.units,
                            reason: demo.reason,
                            note: None,
                        }],
                        customer_note: None,
                        idempotency_key: None,
                    },
                    &actor(),
                    Visibility::All,
                )
                .await?;
            self.walk_return(clock, ReturnId(ret.id), start, demo.reached)
                .await?;
        }
        Ok(())
    }

    /// The staff and carrier steps that bring a demo return to where it got.
    async fn walk_return(
        &self,
        clock: &ManualClock,
        id: ReturnId,
        start: DateTime<Utc>,
        reached: Reached,
    ) -> Result<()> {
        fn on<T>(id: ReturnId, change: T) -> ReturnChange<T> {
            ReturnChange {
                return_id: id,
                expected_version: None,
                change,
            }
        }
        if matches!(reached, Reached::Requested) {
            return Ok(());
        }
        clock.set(start + Duration::hours(20));
        if matches!(reached, Reached::Declined) {
            let why =
                "Installed inverters cannot be returned; our support team will help with setup";
            self.decide_return(on(id, Decision::Decline(why.to_owned())), &actor())
                .await?;
            return Ok(());
        }
        self.decide_return(on(id, Decision::Approve(None)), &actor())
            .await?;
        if matches!(reached, Reached::Approved) {
            return Ok(());
        }
        clock.set(start + Duration::hours(44));
        self.record_return_shipment(
            on(
                id,
                ReturnShipment {
                    carrier: "UPS".to_owned(),
                    tracking_number: format!("1ZRET{:08}", id.0),
                },
            ),
            &actor(),
            Visibility::All,
        )
        .await?;
        let Reached::Refunded(disposition) = reached else {
            return Ok(());
        };
        clock.set(start + Duration::hours(92));
        let lines = self.lines_by_returns(&[id]).await?;
        let received = lines
            .get(&id)
            .into_iter()
            .flatten()
            .map(|l| ReceivedLine {
                line: ReturnLineId(l.id),
                quantity: l.quantity,
                disposition,
            })
            .collect();
        self.receive_return(
            on(
                id,
                Receipt {
                    lines: received,
                    refund_shipping: false,
                },
            ),
            &actor(),
        )
        .await?;
        Ok(())
    }
}
