//! Who is calling: principals, scopes and bearer tokens. Every request resolves to a
//! `Principal` before any resolver runs; the GraphQL guards decide what it may do.

pub mod jwt;

use std::collections::BTreeSet;

use rand::Rng;

use crate::domain::ids::CustomerId;

/// A permission a partner can be granted. Staff hold them all; each `write` scope
/// includes its `read` scope.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    strum::AsRefStr,
    strum::EnumString,
    strum::EnumIter,
)]
pub enum Scope {
    #[strum(serialize = "orders:read")]
    OrdersRead,
    #[strum(serialize = "orders:write")]
    OrdersWrite,
    #[strum(serialize = "fulfillment:write")]
    FulfillmentWrite,
    #[strum(serialize = "inventory:read")]
    InventoryRead,
    #[strum(serialize = "inventory:write")]
    InventoryWrite,
    #[strum(serialize = "customers:read")]
    CustomersRead,
    #[strum(serialize = "customers:write")]
    CustomersWrite,
    /// Manage the partner's own webhook subscriptions and read their deliveries.
    #[strum(serialize = "webhooks:write")]
    WebhooksWrite,
}

impl Scope {
    /// The `write` scope that includes this `read` scope.
    pub fn implied_by(self) -> Option<Scope> {
        match self {
            Self::OrdersRead => Some(Self::OrdersWrite),
            Self::InventoryRead => Some(Self::InventoryWrite),
            Self::CustomersRead => Some(Self::CustomersWrite),
            _ => None,
        }
    }
}

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No credentials were sent.
    Anonymous,
    /// A shopper: sees and acts on their own orders only.
    Customer(CustomerId),
    /// An employee: sees and does everything.
    Staff { subject: String },
    /// A partner system with explicit scopes.
    Partner {
        subject: String,
        scopes: BTreeSet<Scope>,
    },
}

impl Principal {
    /// True when `scope` is granted (staff hold every scope; customers none).
    pub fn has_scope(&self, scope: Scope) -> bool {
        match self {
            Self::Staff { .. } => true,
            Self::Partner { scopes, .. } => {
                scopes.contains(&scope) || scope.implied_by().is_some_and(|w| scopes.contains(&w))
            }
            Self::Anonymous | Self::Customer(_) => false,
        }
    }

    /// The signed-in customer, if the caller is one.
    pub fn customer_id(&self) -> Option<CustomerId> {
        match self {
            Self::Customer(id) => Some(*id),
            _ => None,
        }
    }

    /// A stable name for audit trails and idempotency scoping.
    pub fn actor(&self) -> String {
        match self {
            Self::Anonymous => "anonymous".to_owned(),
            Self::Customer(id) => format!("customer:{id}"),
            Self::Staff { subject } => format!("staff:{subject}"),
            Self::Partner { subject, .. } => format!("partner:{subject}"),
        }
    }
}

/// What a request presented to say who it is.
#[derive(Debug, Default, Clone, Copy)]
pub struct Credentials<'a> {
    /// `Authorization: Bearer <JWT>` (or `authorization` in a WebSocket init payload).
    pub bearer: Option<&'a str>,
    /// `X-Api-Key: <key>`.
    pub api_key: Option<&'a str>,
}

/// Who a request is, and until when (seconds since the Unix epoch; keys do not expire).
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub principal: Principal,
    pub expires_at: Option<u64>,
}

/// Why credentials were refused. Clients see `UNAUTHENTICATED` and nothing more.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid or expired token")]
    Token(#[from] jwt::TokenError),
    #[error("unknown or revoked API key")]
    ApiKey,
    #[error("could not check the API key")]
    Lookup(#[source] LookupError),
}

/// Why an API key could not be checked (the store did not answer).
pub type LookupError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Where API keys are kept: a port that the service layer implements, so that
/// authentication depends on no storage.
#[async_trait::async_trait]
pub trait ApiKeys: Send + Sync {
    /// The principal of a known, unrevoked key; `None` for any other.
    async fn principal_for_api_key(&self, secret: &str) -> Result<Option<Principal>, LookupError>;
}

/// Turns credentials into a principal: no credentials → anonymous; a bearer token must
/// verify; an API key must be known and not revoked.
pub async fn authenticate(
    keys: &jwt::JwtKeys,
    store: &dyn ApiKeys,
    credentials: Credentials<'_>,
) -> Result<Authenticated, AuthError> {
    if let Some(token) = credentials.bearer {
        let (principal, expires_at) = keys.verify_until(token)?;
        return Ok(Authenticated {
            principal,
            expires_at: Some(expires_at),
        });
    }
    if let Some(key) = credentials.api_key {
        let principal = store
            .principal_for_api_key(key.trim())
            .await
            .map_err(AuthError::Lookup)?
            .ok_or(AuthError::ApiKey)?;
        return Ok(Authenticated {
            principal,
            expires_at: None,
        });
    }
    Ok(Authenticated {
        principal: Principal::Anonymous,
        expires_at: None,
    })
}

/// The token of an `Authorization` value: `Bearer <token>` (any case), or a bare token.
pub fn bearer_token(value: &str) -> &str {
    let value = value.trim();
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => value,
    }
}

/// A random URL-safe token of `len` characters (secrets, API keys).
pub fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}
