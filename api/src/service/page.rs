//! Relay-style keyset pagination: pages are cut by `(sort key, id)` so that they stay
//! stable while rows are added, and cost the same on page 1 and page 1,000.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, SimpleExpr};
use sea_orm::{
    ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Select, Value,
};
use serde::{Deserialize, Serialize};

use crate::domain::ValidationError;

/// Most items one page may hold.
pub const MAX_PAGE_SIZE: i32 = 100;
/// Items in a page when the client asks for neither `first` nor `last`.
pub const DEFAULT_PAGE_SIZE: i32 = 20;

/// The sort-key part of a cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CursorKey {
    Int(i64),
    Time(DateTime<Utc>),
}

impl From<CursorKey> for Value {
    fn from(key: CursorKey) -> Self {
        match key {
            CursorKey::Int(i) => i.into(),
            CursorKey::Time(t) => t.into(),
        }
    }
}

/// A position in a sorted list: the row's sort key and id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    k: CursorKey,
    i: i64,
}

impl Cursor {
    /// The cursor of a row.
    pub fn new(key: CursorKey, id: i64) -> Self {
        Self { k: key, i: id }
    }

    /// The opaque text handed to clients.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(field: &str, text: &str) -> Result<Self, ValidationError> {
        let invalid = || ValidationError::new(field, "is not a cursor returned by this list");
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        serde_json::from_slice(&bytes).map_err(|_| invalid())
    }
}

/// A validated page request.
#[derive(Debug, Clone)]
pub struct PageRequest {
    size: u64,
    after: Option<Cursor>,
    before: Option<Cursor>,
    backward: bool,
}

impl PageRequest {
    /// Validates Relay arguments: `first`/`after` page forward, `last`/`before` backward;
    /// sizes are 0..=100; neither size means the first 20.
    pub fn parse(
        first: Option<i32>,
        after: Option<&str>,
        last: Option<i32>,
        before: Option<&str>,
    ) -> Result<Self, ValidationError> {
        let check = |field: &str, n: i32| {
            if (0..=MAX_PAGE_SIZE).contains(&n) {
                Ok(n as u64)
            } else {
                Err(ValidationError::new(
                    field,
                    format!("must be between 0 and {MAX_PAGE_SIZE}"),
                ))
            }
        };
        if first.is_some() && last.is_some() {
            return Err(ValidationError::new(
                "last",
                "pass either first or last, not both",
            ));
        }
        let after = after.map(|c| Cursor::decode("after", c)).transpose()?;
        let before = before.map(|c| Cursor::decode("before", c)).transpose()?;
        let (size, backward) = match (first, last) {
            (_, Some(n)) => (check("last", n)?, true),
            (Some(n), None) => (check("first", n)?, false),
            (None, None) => (
                DEFAULT_PAGE_SIZE as u64,
                before.is_some() && after.is_none(),
            ),
        };
        Ok(Self {
            size,
            after,
            before,
            backward,
        })
    }

    /// The first `n` items.
    pub fn first(n: u64) -> Self {
        Self {
            size: Ord::min(n, MAX_PAGE_SIZE as u64),
            after: None,
            before: None,
            backward: false,
        }
    }
}

/// One page of rows with their cursors.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// Rows in list order, each with its cursor.
    pub items: Vec<(Cursor, T)>,
    /// More rows follow the last one.
    pub has_next_page: bool,
    /// More rows precede the first one.
    pub has_previous_page: bool,
}

/// How a list is sorted: a key column (or expression), the id column as tie-breaker,
/// and the direction.
pub(crate) struct Keyset<M> {
    pub key: SimpleExpr,
    pub id: SimpleExpr,
    pub descending: bool,
    /// The key is a timestamp (else an integer); cursors of the other kind are refused.
    pub time_key: bool,
    pub cursor_of: fn(&M) -> Cursor,
}

fn beyond(key: &SimpleExpr, id: &SimpleExpr, cursor: &Cursor, greater: bool) -> Condition {
    let k: Value = cursor.k.clone().into();
    let (key_cmp, id_cmp) = if greater {
        (key.clone().gt(k.clone()), id.clone().gt(cursor.i))
    } else {
        (key.clone().lt(k.clone()), id.clone().lt(cursor.i))
    };
    Condition::any()
        .add(key_cmp)
        .add(Condition::all().add(key.clone().eq(k)).add(id_cmp))
}

/// Runs `select` as one page of `request`, sorted by `keyset`: one SQL statement.
pub(crate) async fn fetch<E, C>(
    db: &C,
    select: Select<E>,
    keyset: &Keyset<E::Model>,
    request: &PageRequest,
) -> super::Result<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: super::rows::ByIndex,
    C: ConnectionTrait,
{
    let Keyset {
        key,
        id,
        descending,
        time_key,
        cursor_of,
    } = keyset;
    for (field, cursor) in [("after", &request.after), ("before", &request.before)] {
        if let Some(cursor) = cursor
            && matches!(cursor.k, CursorKey::Time(_)) != *time_key
        {
            return Err(
                ValidationError::new(field, "is not a cursor returned by this list").into(),
            );
        }
    }
    let mut select = select;
    // "After" means further along the list's own direction.
    if let Some(after) = &request.after {
        select = select.filter(beyond(key, id, after, !descending));
    }
    if let Some(before) = &request.before {
        select = select.filter(beyond(key, id, before, *descending));
    }
    let forward_order = if *descending { Order::Desc } else { Order::Asc };
    let reverse_order = if *descending { Order::Asc } else { Order::Desc };
    let order = if request.backward {
        reverse_order
    } else {
        forward_order
    };
    let select = select
        .order_by(Expr::expr(key.clone()), order.clone())
        .order_by(Expr::expr(id.clone()), order)
        .limit(request.size + 1);
    let rows = super::rows::all(db, select).await?;
    let more = rows.len() as u64 > request.size;
    let mut rows: Vec<E::Model> = rows.into_iter().take(request.size as usize).collect();
    if request.backward {
        rows.reverse();
    }
    let (has_next_page, has_previous_page) = if request.backward {
        (request.before.is_some(), more)
    } else {
        (more, request.after.is_some())
    };
    Ok(Page {
        items: rows.into_iter().map(|m| (cursor_of(&m), m)).collect(),
        has_next_page,
        has_previous_page,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_relay_arguments() {
        assert!(PageRequest::parse(Some(101), None, None, None).is_err());
        assert!(PageRequest::parse(Some(-1), None, None, None).is_err());
        assert!(PageRequest::parse(Some(1), None, Some(1), None).is_err());
        assert!(PageRequest::parse(Some(1), Some("garbage"), None, None).is_err());
        let cursor = Cursor::new(CursorKey::Int(5), 5).encode();
        let request = PageRequest::parse(None, None, Some(10), Some(&cursor)).unwrap();
        assert!(request.backward && request.size == 10);
    }

    #[test]
    fn cursors_round_trip() {
        let cursor = Cursor::new(CursorKey::Time(Utc::now()), 9);
        assert_eq!(Cursor::decode("after", &cursor.encode()).unwrap(), cursor);
    }
}
