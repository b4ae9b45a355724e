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
}
