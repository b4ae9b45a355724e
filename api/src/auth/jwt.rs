//! HS256 bearer tokens. One algorithm is pinned; `iss`, `aud` and `exp` are required and
//! checked, so `alg: none`, other algorithms and forged or stale tokens are refused.

use std::collections::BTreeSet;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{Principal, Scope};
use crate::domain::ids::CustomerId;
use crate::gid;

/// Token issuer.
pub const ISSUER: &str = "orderly";
/// Token audience.
pub const AUDIENCE: &str = "orderly-api";

/// The role claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Staff,
    Partner,
}

/// The claims Orderly issues and accepts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Customer global ID for customers; a free subject name otherwise.
    pub sub: String,
    pub role: Role,
    #[serde(default)]
    pub scopes: Vec<String>,
    pub exp: u64,
    /// Issued at; optional (tokens from other issuers may leave it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Not before; honoured when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    pub iss: String,
    pub aud: String,
}

/// Why a token was refused. Clients only ever see `UNAUTHENTICATED`.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Signature, algorithm, issuer, audience or expiry check failed.
    #[error("invalid or expired token")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    /// The claims are well signed but do not describe a principal.
    #[error("token claims are not valid: {0}")]
    Claims(&'static str),
}

/// Keys and validation rules derived from the configured secret.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtKeys {
    /// Keys for an HS256 `secret`.
    pub fn new(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    /// Mints a token. For customers `subject` must be the customer's global ID.
    pub fn mint(
        &self,
        role: Role,
        subject: &str,
        scopes: &[Scope],
        ttl: Duration,
    ) -> Result<String, TokenError> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: subject.to_owned(),
            role,
            scopes: scopes.iter().map(|s| s.as_ref().to_owned()).collect(),
            exp: now.saturating_add(ttl.as_secs()),
            iat: Some(now),
            nbf: None,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// Verifies a token and turns it into the principal it names.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        self.verify_until(token).map(|(principal, _)| principal)
    }

    /// As `verify`, with the token's expiry (seconds since the Unix epoch).
    pub fn verify_until(&self, token: &str) -> Result<(Principal, u64), TokenError> {
        let claims =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)?.claims;
        let expires_at = claims.exp;
        Self::principal_of(claims).map(|p| (p, expires_at))
    }

    fn principal_of(claims: Claims) -> Result<Principal, TokenError> {
        match claims.role {
            Role::Customer => gid::decode_as(gid::Kind::Customer, &claims.sub)
                .map(|id| Principal::Customer(CustomerId(id)))
                .ok_or(TokenError::Claims(
                    "customer tokens need a customer ID as sub",
                )),
            Role::Staff => Ok(Principal::Staff {
                subject: claims.sub,
            }),
            Role::Partner => {
                let scopes: BTreeSet<Scope> = claims
                    .scopes
                    .iter()
                    .filter_map(|s| s.parse().ok())
                    .collect();
                Ok(Principal::Partner {
                    subject: claims.sub,
                    scopes,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn minted_tokens_verify_into_principals() {
        let keys = JwtKeys::new(SECRET);
        let token = keys
            .mint(Role::Staff, "ops", &[], Duration::from_secs(60))
            .unwrap();
        assert_eq!(
            keys.verify(&token).unwrap(),
            Principal::Staff {
                subject: "ops".into()
            }
        );
        let customer = gid::encode(gid::Kind::Customer, 7);
        let token = keys
            .mint(Role::Customer, &customer, &[], Duration::from_secs(60))
            .unwrap();
        assert_eq!(
            keys.verify(&token).unwrap(),
            Principal::Customer(CustomerId(7))
        );
        let token = keys
            .mint(
                Role::Partner,
                "3pl",
                &[Scope::FulfillmentWrite],
                Duration::from_secs(60),
            )
            .unwrap();
        assert!(
            keys.verify(&token)
                .unwrap()
                .has_scope(Scope::FulfillmentWrite)
        );
    }

    #[test]
    fn forged_and_foreign_tokens_are_refused() {
        let keys = JwtKeys::new(SECRET);
        let other = JwtKeys::new("another-secret-another-secret-another");
        let token = other
            .mint(Role::Staff, "ops", &[], Duration::from_secs(60))
            .unwrap();
        assert!(keys.verify(&token).is_err());
        let token = keys
            .mint(Role::Customer, "not-a-gid", &[], Duration::from_secs(60))
            .unwrap();
        assert!(keys.verify(&token).is_err());
        // alg: none
        let unsigned = format!(
            "{}.{}.",
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                r#"{"alg":"none","typ":"JWT"}"#
            ),
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                r#"{"sub":"x","role":"staff","exp":9999999999,"iat":0,"iss":"orderly","aud":"orderly-api"}"#
            )
        );
        assert!(keys.verify(&unsigned).is_err());
    }
}
