//! GraphQL output types: their own structs over entity models, so the database schema is
//! never the API contract.

pub mod access;
pub mod catalog;
pub mod customer;
pub mod fulfillment;
pub mod node;
pub mod notifications;
pub mod order;
pub mod returns;
pub mod webhooks;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{ID, OutputType};

use crate::gid::{self, Kind};
use crate::service::page::Page;

/// The global ID of `kind` number `key`.
pub fn global_id(kind: Kind, key: i64) -> ID {
    ID(gid::encode(kind, key))
}

/// A Relay connection over a page of rows.
pub fn connection<M, N: OutputType>(page: Page<M>, wrap: impl Fn(M) -> N) -> Connection<String, N> {
    let mut out = Connection::new(page.has_previous_page, page.has_next_page);
    out.edges.extend(
        page.items
            .into_iter()
            .map(|(cursor, m)| Edge::new(cursor.encode(), wrap(m))),
    );
    out
}
