//! The delivery calendar and the customer-facing promise: transit business days per
//! shipping method (weekends skipped), the estimated window, and the label a portal shows
//! ("Arriving tomorrow", "Delivered Nov 24", "Delayed") in the customer's own time zone.

use chrono::{Datelike, Days, NaiveDate, Weekday};

use super::status::{FulfillmentStatus, ShippingMethod};

/// An estimated delivery window, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryWindow {
    /// First day the parcel may arrive.
    pub earliest: NaiveDate,
    /// Last day the parcel should arrive.
    pub latest: NaiveDate,
}

/// Business days in transit for a shipping method: standard 5, express 2, overnight 1.
pub fn transit_business_days(method: ShippingMethod) -> u32 {
    match method {
        ShippingMethod::Standard => 5,
        ShippingMethod::Express => 2,
        ShippingMethod::Overnight => 1,
    }
}

fn is_weekend(day: NaiveDate) -> bool {
    matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The date `n` business days after `from` (weekends skipped; `n = 0` rolls a weekend
/// forward to Monday).
pub fn add_business_days(from: NaiveDate, n: u32) -> NaiveDate {
    let mut day = from;
    let mut left = n;
    while left > 0 || is_weekend(day) {
        day = day.checked_add_days(Days::new(1)).unwrap_or(day);
        if !is_weekend(day) {
            left = left.saturating_sub(1);
        }
        if day == NaiveDate::MAX {
            break;
        }
    }
    day
}

/// The window promised when a parcel ships on `ship_date`: the method's transit days for
/// the earliest day, with a business day of slack for standard and express.
pub fn estimate_window(ship_date: NaiveDate, method: ShippingMethod) -> DeliveryWindow {
    let days = transit_business_days(method);
    let slack = match method {
        ShippingMethod::Standard => 2,
        ShippingMethod::Express => 1,
        ShippingMethod::Overnight => 0,
    };
    let earliest = add_business_days(ship_date, days);
    DeliveryWindow {
        earliest,
        latest: add_business_days(earliest, slack),
    }
}

/// What a customer portal shows for a fulfilment order, given today's date in the
/// customer's time zone and, once delivered, the delivery date in that zone.
pub fn label(
    status: FulfillmentStatus,
    window: Option<DeliveryWindow>,
    delivered_on: Option<NaiveDate>,
    today: NaiveDate,
) -> String {
    match status {
        FulfillmentStatus::Delivered => match delivered_on {
            Some(day) => format!("Delivered {}", day.format("%b %-d")),
            None => "Delivered".to_owned(),
        },
        FulfillmentStatus::Cancelled => "Cancelled".to_owned(),
        FulfillmentStatus::DeliveryException => "Delayed".to_owned(),
        FulfillmentStatus::OutForDelivery => "Arriving today".to_owned(),
        _ => match window {
            None => "Preparing to ship".to_owned(),
            Some(w) if today > w.latest => "Delayed".to_owned(),
            Some(w) => arriving(w.earliest.max(today), today),
        },
    }
}

fn arriving(day: NaiveDate, today: NaiveDate) -> String {
    let ahead = (day - today).num_days();
    match ahead {
        0 => "Arriving today".to_owned(),
        1 => "Arriving tomorrow".to_owned(),
        2..=6 => format!("Arriving {}", day.format("%A")),
        _ => format!("Arriving {}", day.format("%b %-d")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn business_days_skip_weekends() {
        // 2026-11-26 is a Thursday.
        assert_eq!(add_business_days(d(2026, 11, 26), 1), d(2026, 11, 27));
        assert_eq!(add_business_days(d(2026, 11, 26), 2), d(2026, 11, 30));
        assert_eq!(add_business_days(d(2026, 11, 28), 0), d(2026, 11, 30));
        assert_eq!(
            estimate_window(d(2026, 11, 26), ShippingMethod::Standard).earliest,
            d(2026, 12, 3)
        );
        assert_eq!(
            estimate_window(d(2026, 11, 27), ShippingMethod::Overnight).earliest,
            d(2026, 11, 30)
        );
    }

    #[test]
    fn labels_read_like_a_portal() {
        let today = d(2026, 11, 26);
        let window = |a, b| {
            Some(DeliveryWindow {
                earliest: a,
                latest: b,
            })
        };
        let shipped = FulfillmentStatus::InTransit;
        assert_eq!(
            label(shipped, window(today, today), None, today),
            "Arriving today"
        );
        assert_eq!(
            label(
                shipped,
                window(d(2026, 11, 27), d(2026, 11, 30)),
                None,
                today
            ),
            "Arriving tomorrow"
        );
        assert_eq!(
            label(
                shipped,
                window(d(2026, 11, 30), d(2026, 12, 1)),
                None,
                today
            ),
            "Arriving Monday"
        );
        assert_eq!(
            label(
                shipped,
                window(d(2026, 12, 10), d(2026, 12, 11)),
                None,
                today
            ),
            "Arriving Dec 10"
        );
        assert_eq!(
            label(
                shipped,
                window(d(2026, 11, 20), d(2026, 11, 25)),
                None,
                today
            ),
            "Delayed"
        );
        assert_eq!(
            label(
                FulfillmentStatus::Delivered,
                None,
                Some(d(2026, 11, 24)),
                today
            ),
            "Delivered Nov 24"
        );
        assert_eq!(
            label(
                FulfillmentStatus::DeliveryException,
                window(today, today),
                None,
                today
            ),
            "Delayed"
        );
        assert_eq!(
            label(FulfillmentStatus::Open, None, None, today),
            "Preparing to ship"
        );
    }

    proptest! {
        #[test]
        fn estimates_never_land_on_a_weekend(offset in 0_u64..3650, method in 0_usize..3) {
            let method = [ShippingMethod::Standard, ShippingMethod::Express, ShippingMethod::Overnight][method];
            let ship = d(2024, 1, 1).checked_add_days(Days::new(offset)).unwrap();
            let w = estimate_window(ship, method);
            prop_assert!(!is_weekend(w.earliest) && !is_weekend(w.latest));
            prop_assert!(w.earliest > ship && w.earliest <= w.latest);
        }
    }
}
