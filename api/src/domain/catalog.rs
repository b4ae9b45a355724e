//! Catalogue and customer values parsed at the edge: codes, names, e-mail, time zones,
//! stock quantities.

use super::ValidationError;

/// A SKU or location code: 1–64 characters of `A–Z a–z 0–9 - _ .`, kept as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Code(String);

impl Code {
    /// Parses a code for the input field `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let code = raw.trim();
        if code.is_empty() || code.len() > 64 {
            return Err(ValidationError::new(field, "must be 1 to 64 characters"));
        }
        if !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(ValidationError::new(
                field,
                "may contain only letters, digits, '-', '_' and '.'",
            ));
        }
        Ok(Self(code.to_owned()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: trimmed, 1–200 characters, no control characters.
pub fn parse_name(field: &str, raw: &str) -> Result<String, ValidationError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(ValidationError::new(field, "must not be blank"));
    }
    if name.chars().count() > 200 {
        return Err(ValidationError::new(
            field,
            "must be at most 200 characters",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

/// An e-mail address, lower-cased so that uniqueness ignores case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Accepts `local@domain.tld` shapes of at most 254 characters.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let email = raw.trim().to_lowercase();
        let invalid = || {
            ValidationError::new(
                "email",
                format!("'{}' is not an e-mail address", raw.trim()),
            )
        };
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !domain.contains("..");
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(email))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IANA time zone name such as `America/Los_Angeles`.
pub fn parse_time_zone(raw: &str) -> Result<chrono_tz::Tz, ValidationError> {
    raw.trim().parse::<chrono_tz::Tz>().map_err(|_| {
        ValidationError::new(
            "timeZone",
            format!("'{raw}' is not an IANA time zone such as America/New_York"),
        )
    })
}

/// The most units one inventory level may hold; keeps arithmetic far from `i32::MAX`.
pub const MAX_STOCK: i32 = 100_000_000;

/// An absolute on-hand quantity: 0..=MAX_STOCK.
pub fn parse_on_hand(field: &str, value: i32) -> Result<i32, ValidationError> {
    if !(0..=MAX_STOCK).contains(&value) {
        return Err(ValidationError::new(
            field,
            format!("must be between 0 and {MAX_STOCK}"),
        ));
    }
    Ok(value)
}

/// A non-zero stock adjustment within ±MAX_STOCK.
pub fn parse_delta(field: &str, value: i32) -> Result<i32, ValidationError> {
    if value == 0 || value.unsigned_abs() > MAX_STOCK.unsigned_abs() {
        return Err(ValidationError::new(
            field,
            format!("must be non-zero and within ±{MAX_STOCK}"),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_allow_a_safe_alphabet_only() {
        assert!(Code::parse("code", "SOLAR-6KW_v2.1").is_ok());
        for bad in ["", " ", "a b", "x;drop", &"x".repeat(65)] {
            assert!(Code::parse("code", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Steven@Example.COM ").unwrap().as_str(),
            "steven@example.com"
        );
        for bad in [
            "",
            "steven",
            "@example.com",
            "a@b",
            "a@.com",
            "a@b..com",
            "a b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn time_zones_must_be_iana_names() {
        assert!(parse_time_zone("America/Los_Angeles").is_ok());
        assert!(parse_time_zone("Mars/Olympus").is_err());
    }

    #[test]
    fn stock_quantities_are_bounded() {
        assert!(parse_on_hand("onHand", -1).is_err());
        assert!(parse_on_hand("onHand", MAX_STOCK + 1).is_err());
        assert_eq!(parse_on_hand("onHand", 0), Ok(0));
        assert!(parse_delta("delta", 0).is_err());
        assert!(parse_delta("delta", i32::MIN).is_err());
        assert_eq!(parse_delta("delta", -5), Ok(-5));
    }
}
