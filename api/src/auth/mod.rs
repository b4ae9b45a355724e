//! Who is calling: principals, scopes and bearer tokens. Every request resolves to a
//! `Principal` before any resolver runs; the GraphQL guards decide what it may do.

pub mod jwt;

use std::collections::BTreeSet;

use rand::Rng;

use crate::domain::ids::CustomerId;

/// A permission a partner can be granted. Staff hold them all.
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
    #[strum(serialize = "inventory:write")]
    InventoryWrite,
    #[strum(serialize = "customers:read")]
    CustomersRead,
    #[strum(serialize = "customers:write")]
    CustomersWrite,
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
            Self::Partner { scopes, .. } => scopes.contains(&scope),
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

/// A random URL-safe token of `len` characters (secrets, API keys).
pub fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}
