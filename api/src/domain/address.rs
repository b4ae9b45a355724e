//! Postal addresses and country codes, validated once at the edge.

use super::ValidationError;

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Parses an assigned alpha-2 code such as `US`; lower case and unknown codes are refused.
    pub fn parse(code: &str) -> Result<Self, ValidationError> {
        let invalid = || {
            ValidationError::new(
                "country",
                format!("'{code}' is not an ISO 3166-1 alpha-2 country code"),
            )
        };
        let bytes: [u8; 2] = code.as_bytes().try_into().map_err(|_| invalid())?;
        if !bytes.iter().all(u8::is_ascii_uppercase) || celes::Country::from_alpha2(code).is_err() {
            return Err(invalid());
        }
        Ok(Self(bytes))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII upper-case letters (checked in `parse`).
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

/// A postal address with optional coordinates (used for routing by distance).
#[derive(Debug, Clone, PartialEq)]
pub struct Address {
    /// Recipient or site name.
    pub name: Option<String>,
    /// Street line.
    pub line1: String,
    /// Second street line.
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// State, province or region.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: String,
    /// Country.
    pub country: CountryCode,
    /// Latitude in degrees, −90..=90.
    pub latitude: Option<f64>,
    /// Longitude in degrees, −180..=180.
    pub longitude: Option<f64>,
}

/// Raw address fields as a client sent them.
#[derive(Debug, Clone, Default)]
pub struct AddressFields {
    pub name: Option<String>,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

fn required(field: &str, value: String, max: usize) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ValidationError::new(field, "must not be blank"));
    }
    if trimmed.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

fn optional(
    field: &str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, ValidationError> {
    match value {
        Some(v) if !v.trim().is_empty() => required(field, v, max).map(Some),
        _ => Ok(None),
    }
}

impl Address {
    /// Validates every field; the error's field path is relative to the address.
    pub fn parse(raw: AddressFields) -> Result<Self, ValidationError> {
        let coordinate = |field: &str, v: Option<f64>, limit: f64| match v {
            Some(x) if !x.is_finite() || x.abs() > limit => Err(ValidationError::new(
                field,
                format!("must be between -{limit} and {limit}"),
            )),
            other => Ok(other),
        };
        let latitude = coordinate("latitude", raw.latitude, 90.0)?;
        let longitude = coordinate("longitude", raw.longitude, 180.0)?;
        if latitude.is_some() != longitude.is_some() {
            return Err(ValidationError::new(
                "latitude",
                "latitude and longitude go together",
            ));
        }
        Ok(Self {
            name: optional("name", raw.name, 200)?,
            line1: required("line1", raw.line1, 200)?,
            line2: optional("line2", raw.line2, 200)?,
            city: required("city", raw.city, 100)?,
            region: optional("region", raw.region, 100)?,
            postal_code: required("postalCode", raw.postal_code, 20)?,
            country: CountryCode::parse(raw.country.trim())?,
            latitude,
            longitude,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> AddressFields {
        AddressFields {
            line1: "1 Market St".into(),
            city: "San Francisco".into(),
            postal_code: "94105".into(),
            country: "US".into(),
            latitude: Some(37.79),
            longitude: Some(-122.39),
            ..AddressFields::default()
        }
    }

    #[test]
    fn accepts_a_complete_address() {
        let address = Address::parse(fields()).unwrap();
        assert_eq!(address.country.as_str(), "US");
    }

    #[test]
    fn refuses_unknown_countries_and_bad_coordinates() {
        for country in ["us", "XX", "USA", ""] {
            let err = Address::parse(AddressFields {
                country: country.into(),
                ..fields()
            })
            .unwrap_err();
            assert_eq!(err.field, "country");
        }
        let err = Address::parse(AddressFields {
            latitude: Some(91.0),
            ..fields()
        })
        .unwrap_err();
        assert_eq!(err.field, "latitude");
        let err = Address::parse(AddressFields {
            longitude: None,
            ..fields()
        })
        .unwrap_err();
        assert_eq!(err.field, "latitude");
        let err = Address::parse(AddressFields {
            city: "  ".into(),
            ..fields()
        })
        .unwrap_err();
        assert_eq!(err.field, "city");
    }
}
