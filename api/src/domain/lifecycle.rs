//! The state machines of an order — payment, fulfilment order — each with one transition
//! table, and the one function that derives an order's summary status from them.

use super::status::{FulfillmentStatus, OrderStatus, PaymentStatus};

/// Whether a payment may move from `from` to `to`.
pub fn payment_can_transition(from: PaymentStatus, to: PaymentStatus) -> bool {
    use PaymentStatus::*;
    matches!(
        (from, to),
        (Pending, Authorized | Failed | Voided)
            | (Authorized, PartiallyCaptured | Captured | Voided)
            | (PartiallyCaptured, PartiallyCaptured | Captured)
            | (Captured, PartiallyRefunded | Refunded)
            | (PartiallyRefunded, PartiallyRefunded | Refunded)
    )
}

/// Whether a fulfilment order may move from `from` to `to`. Carrier states may repeat
/// (a new estimate while still in transit).
pub fn fulfillment_can_transition(from: FulfillmentStatus, to: FulfillmentStatus) -> bool {
    use FulfillmentStatus::*;
    matches!(
        (from, to),
        (Open, Picking | Cancelled)
            | (Picking, Packed | Cancelled)
            | (Packed, Shipped | Cancelled)
            | (
                Shipped,
                InTransit | OutForDelivery | Delivered | DeliveryException
            )
            | (
                InTransit,
                InTransit | OutForDelivery | Delivered | DeliveryException
            )
            | (
                OutForDelivery,
                OutForDelivery | InTransit | Delivered | DeliveryException
            )
            | (
                DeliveryException,
                DeliveryException | InTransit | OutForDelivery | Delivered
            )
    )
}

/// True once nothing can happen to a payment any more.
pub fn payment_is_final(status: PaymentStatus) -> bool {
    use strum::IntoEnumIterator;
    PaymentStatus::iter().all(|to| !payment_can_transition(status, to))
}

/// The order's summary status, derived from its payment and fulfilment orders — never
/// set by hand.
pub fn derive_order_status(
    payment: PaymentStatus,
    fulfillments: &[FulfillmentStatus],
) -> OrderStatus {
    use FulfillmentStatus as F;
    let live: Vec<F> = fulfillments
        .iter()
        .copied()
        .filter(|s| *s != F::Cancelled)
        .collect();
    if live.is_empty() {
        return OrderStatus::Cancelled;
    }
    let shipped = live.iter().filter(|s| s.has_shipped()).count();
    let delivered = live.iter().filter(|s| **s == F::Delivered).count();
    if shipped == 0 && matches!(payment, PaymentStatus::Pending | PaymentStatus::Failed) {
        return OrderStatus::PendingPayment;
    }
    if delivered == live.len() {
        OrderStatus::Delivered
    } else if delivered > 0 {
        OrderStatus::PartiallyDelivered
    } else if shipped == live.len() {
        OrderStatus::Shipped
    } else if shipped > 0 {
        OrderStatus::PartiallyShipped
    } else if live.iter().any(|s| matches!(s, F::Picking | F::Packed)) {
        OrderStatus::InProgress
    } else {
        OrderStatus::Confirmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use strum::IntoEnumIterator;

    #[test]
    fn the_happy_paths_are_allowed() {
        use FulfillmentStatus::*;
        for pair in [
            Open,
            Picking,
            Packed,
            Shipped,
            InTransit,
            OutForDelivery,
            Delivered,
        ]
        .windows(2)
        {
            assert!(fulfillment_can_transition(pair[0], pair[1]), "{pair:?}");
        }
        assert!(fulfillment_can_transition(DeliveryException, InTransit));
        use PaymentStatus as P;
        for pair in [
            P::Pending,
            P::Authorized,
            P::PartiallyCaptured,
            P::Captured,
            P::PartiallyRefunded,
            P::Refunded,
        ]
        .windows(2)
        {
            assert!(payment_can_transition(pair[0], pair[1]), "{pair:?}");
        }
    }

    #[test]
    fn shipped_goods_cannot_be_cancelled_and_final_states_stay_final() {
        use FulfillmentStatus::*;
        for from in [
            Shipped,
            InTransit,
            OutForDelivery,
            Delivered,
            DeliveryException,
            Cancelled,
        ] {
            assert!(!fulfillment_can_transition(from, Cancelled), "{from:?}");
        }
        for to in FulfillmentStatus::iter() {
            assert!(!fulfillment_can_transition(Delivered, to));
            assert!(!fulfillment_can_transition(Cancelled, to));
        }
        assert!(payment_is_final(PaymentStatus::Refunded));
        assert!(payment_is_final(PaymentStatus::Voided));
        assert!(!payment_is_final(PaymentStatus::Authorized));
    }

    #[test]
    fn order_status_is_derived() {
        use FulfillmentStatus::*;
        let p = PaymentStatus::Authorized;
        assert_eq!(derive_order_status(p, &[Open]), OrderStatus::Confirmed);
        assert_eq!(
            derive_order_status(PaymentStatus::Pending, &[Open]),
            OrderStatus::PendingPayment
        );
        assert_eq!(
            derive_order_status(p, &[Picking, Open]),
            OrderStatus::InProgress
        );
        assert_eq!(
            derive_order_status(p, &[Shipped, Open]),
            OrderStatus::PartiallyShipped
        );
        assert_eq!(
            derive_order_status(p, &[Shipped, Cancelled]),
            OrderStatus::Shipped
        );
        assert_eq!(
            derive_order_status(p, &[Delivered, InTransit]),
            OrderStatus::PartiallyDelivered
        );
        assert_eq!(
            derive_order_status(p, &[Delivered, Cancelled]),
            OrderStatus::Delivered
        );
        assert_eq!(
            derive_order_status(p, &[Cancelled, Cancelled]),
            OrderStatus::Cancelled
        );
    }

    fn any_fulfillment() -> impl Strategy<Value = FulfillmentStatus> {
        prop::sample::select(FulfillmentStatus::iter().collect::<Vec<_>>())
    }

    proptest! {
        /// Walking the machine by its own table from OPEN never reaches a state the table
        /// forbids, and nothing leaves DELIVERED or CANCELLED.
        #[test]
        fn no_sequence_of_allowed_steps_escapes_the_table(steps in prop::collection::vec(any_fulfillment(), 0..40)) {
            let mut state = FulfillmentStatus::Open;
            let mut path = vec![state];
            for to in steps {
                if fulfillment_can_transition(state, to) {
                    state = to;
                    path.push(state);
                }
            }
            for pair in path.windows(2) {
                prop_assert!(fulfillment_can_transition(pair[0], pair[1]));
                prop_assert!(!(pair[0] == FulfillmentStatus::Delivered || pair[0] == FulfillmentStatus::Cancelled));
            }
            if path.iter().any(|s| s.has_shipped()) {
                prop_assert_ne!(state, FulfillmentStatus::Cancelled, "shipped goods were cancelled: {:?}", path);
            }
        }
    }
}
