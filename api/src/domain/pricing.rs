//! Order totals: subtotal from unit prices, a flat shipping charge per method, and tax at
//! a per-country rate (none configured means 0).

use super::status::ShippingMethod;

/// The shipping charge for `method`, in minor units of a two-decimal currency.
pub fn shipping_charge(method: ShippingMethod) -> i64 {
    match method {
        ShippingMethod::Standard => 0,
        ShippingMethod::Express => 2_500,
        ShippingMethod::Overnight => 6_000,
    }
}

/// Totals of an order, all in minor units of the order's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub subtotal: i64,
    pub shipping: i64,
    pub tax: i64,
    pub total: i64,
}

/// Totals for lines of `(unit price, quantity)`, tax at `tax_basis_points` (1/100 %) of
/// subtotal plus shipping, rounded half up. `None` on overflow.
pub fn totals(
    lines: &[(i64, i32)],
    method: ShippingMethod,
    tax_basis_points: u32,
) -> Option<Totals> {
    let subtotal = lines.iter().try_fold(0_i64, |acc, (price, qty)| {
        acc.checked_add(price.checked_mul(i64::from(*qty))?)
    })?;
    let shipping = shipping_charge(method);
    let taxable = subtotal.checked_add(shipping)?;
    let tax = (i128::from(taxable) * i128::from(tax_basis_points) + 5_000) / 10_000;
    let tax = i64::try_from(tax).ok()?;
    Some(Totals {
        subtotal,
        shipping,
        tax,
        total: taxable.checked_add(tax)?,
    })
}

/// What a shipment of goods worth `shipped_value` captures from a payment that has
/// `remaining` authorised and `captured` taken so far. The last shipment (`last`) takes
/// whatever is left, so rounding never drifts; an earlier one takes its goods, their share
/// of the tax, and the shipping charge with the first capture — never more than remains.
pub fn shipment_capture(
    order: &Totals,
    shipped_value: i64,
    captured: i64,
    remaining: i64,
    last: bool,
) -> i64 {
    if last {
        return remaining;
    }
    let tax_share = if order.subtotal > 0 {
        order.tax * shipped_value / order.subtotal
    } else {
        0
    };
    let shipping = if captured == 0 { order.shipping } else { 0 };
    Ord::min(shipped_value + tax_share + shipping, remaining)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_shipping_and_tax() {
        let t = totals(&[(899_900, 1), (4_950, 2)], ShippingMethod::Express, 725).unwrap();
        assert_eq!(t.subtotal, 909_800);
        assert_eq!(t.shipping, 2_500);
        assert_eq!(t.tax, 66_142); // 7.25 % of 9,123.00 = 661.4175
        assert_eq!(t.total, 978_442);
        assert_eq!(totals(&[(i64::MAX, 2)], ShippingMethod::Standard, 0), None);
    }

    #[test]
    fn shipments_capture_their_goods_tax_share_and_shipping_once() {
        let order = Totals {
            subtotal: 10_000,
            shipping: 1_000,
            tax: 725,
            total: 11_725,
        };
        // First of two parcels: half the goods, half the tax, all the shipping.
        let first = shipment_capture(&order, 5_000, 0, 11_725, false);
        assert_eq!(first, 5_000 + 362 + 1_000);
        // The last takes exactly what is left.
        let last = shipment_capture(&order, 5_000, first, 11_725 - first, true);
        assert_eq!(first + last, order.total);
        // Never more than remains.
        assert_eq!(shipment_capture(&order, 9_000, 0, 100, false), 100);
    }
}
