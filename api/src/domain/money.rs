//! Money as integer minor units plus an ISO 4217 currency, parsed from and printed as
//! decimal strings ("12.50"). No floating point ever touches an amount.

use super::ValidationError;

/// How many parsed currencies each thread remembers.
const RECENT_CAPACITY: usize = 8;

thread_local! {
    /// Currencies this thread parsed lately, by code.
    static RECENT: std::cell::RefCell<Vec<([u8; 3], Currency)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// A validated ISO 4217 currency code such as `USD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// Parses an upper-case ISO 4217 code; funds and special codes (XAU, XTS…) are refused.
    pub fn parse(code: &str) -> Result<Self, ValidationError> {
        let invalid = || {
            ValidationError::new(
                "currencyCode",
                format!("'{code}' is not an ISO 4217 currency code"),
            )
        };
        let Ok(key) = <[u8; 3]>::try_from(code.as_bytes()) else {
            return Err(invalid());
        };
        if !key.iter().all(u8::is_ascii_uppercase) {
            return Err(invalid());
        }
        // Every amount an answer prints parses its order's currency; the crate's look-up
        // walks its whole table, so the few codes a shop uses are remembered per thread.
        if let Some(known) =
            RECENT.with_borrow(|recent| recent.iter().find(|(k, _)| *k == key).map(|&(_, c)| c))
        {
            return Ok(known);
        }
        let currency = iso_currency::Currency::from_code(code).ok_or_else(invalid)?;
        if currency.is_fund() || currency.is_special() || currency.exponent().is_none() {
            return Err(invalid());
        }
        let currency = Self(currency);
        RECENT.with_borrow_mut(|recent| {
            if recent.len() == RECENT_CAPACITY {
                recent.remove(0);
            }
            recent.push((key, currency));
        });
        Ok(currency)
    }

    /// The three-letter code.
    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point (2 for USD, 0 for JPY, 3 for KWD).
    pub fn exponent(self) -> u32 {
        u32::from(self.0.exponent().unwrap_or(0))
    }
}

/// An amount in minor units of a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    /// Minor units (cents for USD).
    pub minor: i64,
    /// The currency.
    pub currency: Currency,
}

/// The largest amount accepted from a client, in major units (a trillion).
const MAX_MAJOR: i64 = 1_000_000_000_000;

impl Money {
    /// Parses a non-negative decimal string such as `"4999.00"` or `"12.5"` in `currency`.
    /// More decimals than the currency has, signs, exponents and blanks are refused.
    pub fn parse(amount: &str, currency: Currency) -> Result<Self, ValidationError> {
        let invalid = |why: &str| {
            ValidationError::new("amount", format!("'{amount}' is not a valid amount: {why}"))
        };
        let (whole, frac) = match amount.split_once('.') {
            Some((w, f)) => (w, f),
            None => (amount, ""),
        };
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("expected digits such as 12.50"));
        }
        if amount.contains('.') && frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("expected digits after the decimal point"));
        }
        let exponent = currency.exponent();
        if frac.len() > exponent as usize {
            return Err(invalid(&format!(
                "{} allows {exponent} decimal places",
                currency.code()
            )));
        }
        if whole.len() > 13 {
            return Err(invalid("too large"));
        }
        let major: i64 = whole.parse().map_err(|_| invalid("too large"))?;
        if major > MAX_MAJOR {
            return Err(invalid("too large"));
        }
        let scale = 10_i64.pow(exponent);
        let mut frac_minor: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| invalid("bad fraction"))?
        };
        frac_minor *= 10_i64.pow(exponent - frac.len() as u32);
        Ok(Self {
            minor: major * scale + frac_minor,
            currency,
        })
    }

    /// The amount as a decimal string with exactly the currency's number of decimals.
    pub fn to_decimal_string(self) -> String {
        let exponent = self.currency.exponent();
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if exponent == 0 {
            return format!("{sign}{abs}");
        }
        let scale = 10_u64.pow(exponent);
        format!(
            "{sign}{}.{:0width$}",
            abs / scale,
            abs % scale,
            width = exponent as usize
        )
    }
}

/// `minor` units of the currency `code` as a decimal string ("12.50"); the bare number
/// when the code is not a currency.
pub fn format_minor(minor: i64, code: &str) -> String {
    match Currency::parse(code) {
        Ok(currency) => Money { minor, currency }.to_decimal_string(),
        Err(_) => minor.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    #[test]
    fn parses_amounts_into_minor_units() {
        assert_eq!(Money::parse("12.50", usd()).unwrap().minor, 1250);
        assert_eq!(Money::parse("12.5", usd()).unwrap().minor, 1250);
        assert_eq!(Money::parse("7", usd()).unwrap().minor, 700);
        assert_eq!(Money::parse("0.01", usd()).unwrap().minor, 1);
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(Money::parse("500", jpy).unwrap().minor, 500);
    }

    #[test]
    fn refuses_malformed_amounts() {
        for bad in [
            "",
            "-1",
            "1.234",
            "1e3",
            " 1",
            "1.",
            ".5",
            "1,00",
            "abc",
            "99999999999999999",
        ] {
            assert!(
                Money::parse(bad, usd()).is_err(),
                "{bad:?} should be refused"
            );
        }
        let jpy = Currency::parse("JPY").unwrap();
        assert!(Money::parse("1.5", jpy).is_err());
    }

    #[test]
    fn refuses_unknown_and_special_currencies() {
        for bad in ["usd", "US", "USDD", "ZZZ", "XAU", "XTS", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn prints_with_the_currency_exponent() {
        assert_eq!(
            Money {
                minor: 499_900,
                currency: usd()
            }
            .to_decimal_string(),
            "4999.00"
        );
        assert_eq!(
            Money {
                minor: 5,
                currency: usd()
            }
            .to_decimal_string(),
            "0.05"
        );
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(
            Money {
                minor: 1_234,
                currency: kwd
            }
            .to_decimal_string(),
            "1.234"
        );
    }

    proptest! {
        #[test]
        fn printing_then_parsing_is_identity(minor in 0_i64..100_000_000_000_000) {
            let money = Money { minor, currency: usd() };
            prop_assert_eq!(Money::parse(&money.to_decimal_string(), usd()).unwrap(), money);
        }
    }
}
