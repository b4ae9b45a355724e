//! Returns (RMAs): the return state machine, what of an order can still be returned, the
//! order's derived return status, and what a received return refunds. Pure rules; the
//! use cases in `service/` apply them.

use chrono::{Days, NaiveDate};

use super::status::{OrderReturnStatus, ReturnStatus};

/// Whether a return may move from `from` to `to`: REQUESTED → APPROVED | DECLINED;
/// APPROVED → IN_TRANSIT → RECEIVED → REFUNDED (APPROVED → RECEIVED when it comes back
/// without tracking); CANCELLED from any state before receipt.
pub fn return_can_transition(from: ReturnStatus, to: ReturnStatus) -> bool {
    use ReturnStatus::*;
    matches!(
        (from, to),
        (Requested, Approved | Declined | Cancelled)
            | (Approved, InTransit | Received | Cancelled)
            | (InTransit, Received | Cancelled)
            | (Received, Refunded)
    )
}

/// True while the return still holds units (they count against what can be returned).
pub fn return_holds_units(status: ReturnStatus) -> bool {
    !matches!(status, ReturnStatus::Declined | ReturnStatus::Cancelled)
}

/// The last day (in the customer's time zone) a line delivered on `delivered_on` may be
/// asked back, with a window of `window_days`.
pub fn returnable_until(delivered_on: NaiveDate, window_days: u32) -> NaiveDate {
    delivered_on
        .checked_add_days(Days::new(u64::from(window_days)))
        .unwrap_or(NaiveDate::MAX)
}

/// Units of a return line that count as asked back: all of them while the return is
/// open, those that arrived once it is received, none when declined or cancelled.
pub fn units_held(status: ReturnStatus, quantity: i32, received: i32) -> i32 {
    use ReturnStatus::*;
    match status {
        Requested | Approved | InTransit => quantity,
        Received | Refunded => received,
        Declined | Cancelled => 0,
    }
}

/// Units of one order line delivered in one parcel, and the last day they may be asked back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// Units delivered.
    pub units: i32,
    /// The last day of their return window (customer's time zone).
    pub until: NaiveDate,
}

/// What of an order line may still be asked back on `today`: units delivered in parcels
/// whose window is open, less those held by returns (which count against everything
/// delivered), and the last day of the latest open window. `None` when nothing is left.
pub fn returnable(
    deliveries: &[Delivery],
    held: i32,
    today: NaiveDate,
) -> Option<(i32, NaiveDate)> {
    let delivered: i32 = deliveries.iter().map(|d| d.units).sum();
    let open: Vec<&Delivery> = deliveries.iter().filter(|d| today <= d.until).collect();
    let in_window: i32 = open.iter().map(|d| d.units).sum();
    let until = open.iter().map(|d| d.until).max()?;
    let left = in_window.min(delivered - held);
    (left > 0).then_some((left, until))
}

/// An order's return status, from its returns (status and units asked back) and the
/// units delivered: `None` when nothing was ever asked back (declined and cancelled
/// returns included: they leave no trace on the summary).
pub fn derive_return_status(
    returns: &[(ReturnStatus, i32)],
    delivered_units: i32,
) -> Option<OrderReturnStatus> {
    use ReturnStatus::*;
    let live: Vec<(ReturnStatus, i32)> = returns
        .iter()
        .copied()
        .filter(|(s, _)| return_holds_units(*s))
        .collect();
    if live.is_empty() {
        return None;
    }
    if live.iter().any(|(s, _)| matches!(s, Requested)) && live.iter().all(|(s, _)| *s == Requested)
    {
        return Some(OrderReturnStatus::ReturnRequested);
    }
    if live
        .iter()
        .any(|(s, _)| matches!(s, Requested | Approved | InTransit | Received))
    {
        return Some(OrderReturnStatus::ReturnInProgress);
    }
    let returned: i32 = live.iter().map(|(_, units)| units).sum();
    if returned >= delivered_units {
        Some(OrderReturnStatus::Returned)
    } else {
        Some(OrderReturnStatus::PartiallyReturned)
    }
}

/// One order line as a refund sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundLine {
    /// Price of one unit, in minor units.
    pub unit_price: i64,
    /// Units ordered.
    pub ordered: i32,
    /// Units refunded before this refund.
    pub refunded_before: i32,
    /// Units this refund pays back.
    pub units: i32,
}

/// The tax each line carries: the order's tax spread over its lines by value, largest
/// remainders first, so the lines' shares add up to the order's tax exactly.
pub fn tax_by_line(lines: &[(i64, i32)], tax_total: i64) -> Vec<i64> {
    let values: Vec<i128> = lines
        .iter()
        .map(|(price, qty)| i128::from(*price) * i128::from(*qty))
        .collect();
    let subtotal: i128 = values.iter().sum();
    if subtotal <= 0 || tax_total <= 0 {
        return vec![0; lines.len()];
    }
    let tax = i128::from(tax_total);
    let mut shares: Vec<i128> = values.iter().map(|v| tax * v / subtotal).collect();
    let mut order: Vec<usize> = (0..lines.len()).collect();
    // Largest remainder first; ties to the earlier line.
    order.sort_by_key(|&i| std::cmp::Reverse(tax * values[i] % subtotal));
    let mut left = tax - shares.iter().sum::<i128>();
    for i in order {
        if left <= 0 {
            break;
        }
        shares[i] += 1;
        left -= 1;
    }
    shares
        .into_iter()
        .map(|s| i64::try_from(s).unwrap_or(i64::MAX))
        .collect()
}

/// What refunding `line.units` more units of a line pays: their price plus their part of
/// the line's tax. The tax refunded after k of n units is ⌊tax × k / n⌋, so each refund
/// takes the difference: never a cent too much, and exactly the line's tax once every
/// unit is back.
pub fn line_refund(line: RefundLine, line_tax: i64) -> i64 {
    let ordered = i128::from(line.ordered.max(1));
    let after = i128::from((line.refunded_before + line.units).clamp(0, line.ordered));
    let before = i128::from(line.refunded_before.clamp(0, line.ordered));
    let tax = i128::from(line_tax);
    let tax_part = tax * after / ordered - tax * before / ordered;
    let goods = i128::from(line.unit_price) * (after - before);
    i64::try_from(goods + tax_part).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use strum::IntoEnumIterator;

    #[test]
    fn the_happy_path_and_the_exits_are_allowed() {
        use ReturnStatus::*;
        for pair in [Requested, Approved, InTransit, Received, Refunded].windows(2) {
            assert!(return_can_transition(pair[0], pair[1]), "{pair:?}");
        }
        assert!(return_can_transition(Requested, Declined));
        assert!(return_can_transition(Approved, Received));
        for from in [Requested, Approved, InTransit] {
            assert!(return_can_transition(from, Cancelled), "{from:?}");
        }
        assert!(
            !return_can_transition(Received, Cancelled),
            "after receipt it is ours"
        );
        assert!(!return_can_transition(Requested, Refunded));
    }

    #[test]
    fn final_states_go_nowhere() {
        for from in [
            ReturnStatus::Declined,
            ReturnStatus::Cancelled,
            ReturnStatus::Refunded,
        ] {
            for to in ReturnStatus::iter() {
                assert!(!return_can_transition(from, to), "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn the_window_closes_after_its_last_day() {
        let delivered = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let until = returnable_until(delivered, 30);
        assert_eq!(until, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
        let parcel = [Delivery { units: 3, until }];
        assert_eq!(returnable(&parcel, 1, until), Some((2, until)));
        assert_eq!(returnable(&parcel, 1, until.succ_opt().unwrap()), None);
        assert_eq!(returnable(&parcel, 5, delivered), None);
    }

    #[test]
    fn what_is_left_to_return_counts_open_windows_and_held_units() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let parcels = [
            Delivery {
                units: 2,
                until: day(10),
            },
            Delivery {
                units: 3,
                until: day(20),
            },
        ];
        assert_eq!(returnable(&parcels, 0, day(5)), Some((5, day(20))));
        assert_eq!(returnable(&parcels, 0, day(15)), Some((3, day(20))));
        assert_eq!(returnable(&parcels, 4, day(15)), Some((1, day(20))));
        assert_eq!(returnable(&parcels, 5, day(5)), None);
        assert_eq!(returnable(&parcels, 0, day(21)), None);
        assert_eq!(returnable(&[], 0, day(1)), None);
        assert_eq!(units_held(ReturnStatus::Requested, 3, 0), 3);
        assert_eq!(units_held(ReturnStatus::Refunded, 3, 2), 2);
        assert_eq!(units_held(ReturnStatus::Declined, 3, 0), 0);
    }

    #[test]
    fn the_order_summary_follows_its_returns() {
        use ReturnStatus::*;
        assert_eq!(derive_return_status(&[], 3), None);
        assert_eq!(
            derive_return_status(&[(Declined, 1), (Cancelled, 2)], 3),
            None
        );
        assert_eq!(
            derive_return_status(&[(Requested, 1)], 3),
            Some(OrderReturnStatus::ReturnRequested)
        );
        assert_eq!(
            derive_return_status(&[(Refunded, 1), (InTransit, 1)], 3),
            Some(OrderReturnStatus::ReturnInProgress)
        );
        assert_eq!(
            derive_return_status(&[(Refunded, 1)], 3),
            Some(OrderReturnStatus::PartiallyReturned)
        );
        assert_eq!(
            derive_return_status(&[(Refunded, 1), (Refunded, 2), (Declined, 1)], 3),
            Some(OrderReturnStatus::Returned)
        );
    }

    #[test]
    fn tax_is_spread_exactly() {
        assert_eq!(
            tax_by_line(&[(1_000, 1), (1_000, 1), (1_000, 1)], 100),
            vec![34, 33, 33]
        );
        assert_eq!(tax_by_line(&[(999, 3)], 0), vec![0]);
    }

    fn lines() -> impl Strategy<Value = Vec<(i64, i32)>> {
        prop::collection::vec((1_i64..1_000_000, 1_i32..20), 1..6)
    }

    fn any_return_status() -> impl Strategy<Value = ReturnStatus> {
        prop::sample::select(ReturnStatus::iter().collect::<Vec<_>>())
    }

    proptest! {
        /// Walking the machine by its own table from REQUESTED never leaves a final state,
        /// never cancels what was received, and every path that refunds went through
        /// approval and receipt.
        #[test]
        fn no_sequence_of_allowed_steps_escapes_the_table(steps in prop::collection::vec(any_return_status(), 0..30)) {
            use ReturnStatus::*;
            let mut path = vec![Requested];
            for to in steps {
                let state = *path.last().unwrap();
                if return_can_transition(state, to) {
                    path.push(to);
                }
            }
            for pair in path.windows(2) {
                prop_assert!(!matches!(pair[0], Declined | Cancelled | Refunded), "{:?}", path);
            }
            if path.contains(&Received) {
                prop_assert!(!path.contains(&Cancelled), "received goods were cancelled: {:?}", path);
            }
            if path.contains(&Refunded) {
                prop_assert!(path.contains(&Approved) && path.contains(&Received), "{:?}", path);
            }
        }

        /// Returning every unit of every line, in any number of refunds, refunds exactly
        /// the goods and the tax captured for them: not a cent more, not a cent less.
        #[test]
        fn a_fully_returned_order_refunds_exactly_what_was_captured(
            lines in lines(),
            tax_rate in 0_i64..3_000,
            splits in prop::collection::vec(1_i32..5, 6),
        ) {
            let subtotal: i64 = lines.iter().map(|(p, q)| p * i64::from(*q)).sum();
            let tax = subtotal * tax_rate / 10_000;
            let taxes = tax_by_line(&lines, tax);
            prop_assert_eq!(taxes.iter().sum::<i64>(), tax);
            let mut refunded = 0_i64;
            for (i, (price, qty)) in lines.iter().enumerate() {
                let mut back = 0;
                while back < *qty {
                    let units = splits[i % splits.len()].min(qty - back);
                    refunded += line_refund(
                        RefundLine { unit_price: *price, ordered: *qty, refunded_before: back, units },
                        taxes[i],
                    );
                    back += units;
                }
            }
            prop_assert_eq!(refunded, subtotal + tax);
        }

        /// A partial return never refunds more than its share of goods and tax.
        #[test]
        fn a_partial_return_never_refunds_more_than_its_share(
            price in 1_i64..1_000_000,
            ordered in 1_i32..50,
            units in 1_i32..50,
            line_tax in 0_i64..100_000,
        ) {
            let units = units.min(ordered);
            let refund = line_refund(
                RefundLine { unit_price: price, ordered, refunded_before: 0, units },
                line_tax,
            );
            let exact = f64::from(units) / f64::from(ordered) * line_tax as f64;
            prop_assert!(refund as f64 <= price as f64 * f64::from(units) + exact + 1e-6);
        }

        /// Every path through the machine ends in a final state within five steps.
        #[test]
        fn every_path_ends(steps in prop::collection::vec(0_usize..7, 0..10)) {
            let mut state = ReturnStatus::Requested;
            let mut moves = 0;
            for pick in steps {
                let next: Vec<ReturnStatus> = ReturnStatus::iter()
                    .filter(|to| return_can_transition(state, *to))
                    .collect();
                if next.is_empty() { break; }
                state = next[pick % next.len()];
                moves += 1;
            }
            prop_assert!(moves <= 4);
        }
    }
}
