//! Order notes: INTERNAL ones for staff and partners, CUSTOMER ones the customer reads
//! too (and may write on their own orders). Adding one appends `NOTE_ADDED` (customer
//! notes) or `INTERNAL_NOTE_ADDED` (internal ones, which customers' views and streams
//! leave out) in the same transaction.

use std::collections::HashMap;

use entity::order_note;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::changes::{NewEvent, lock_order, record_change};
use super::ordering::Actor;
use super::orders::Visibility;
use super::{Error, Result, Store, group, retrying};
use crate::domain::ids::OrderId;
use crate::domain::status::{NoteVisibility, OrderEventType};

/// Longest note body, in characters.
pub const MAX_NOTE_CHARS: usize = 5_000;

/// A note to add.
#[derive(Debug, Clone)]
pub struct NewNote {
    pub order: OrderId,
    pub body: String,
    pub visibility: NoteVisibility,
    /// How the author is shown: a staff subject, a partner key's name, or "customer".
    pub author: String,
}

impl Store {
    /// Adds a note to an order the caller may act on.
    #[tracing::instrument(skip_all, fields(order = %input.order))]
    pub async fn add_order_note(
        &self,
        input: NewNote,
        actor: &Actor,
        scope: Visibility,
    ) -> Result<order_note::Model> {
        retrying!(self.add_note_once(&input, actor, scope))
    }

    async fn add_note_once(
        &self,
        input: &NewNote,
        actor: &Actor,
        scope: Visibility,
    ) -> Result<order_note::Model> {
        let now = self.clock().now();
        let (_writer, txn) = self.begin_write().await?;
        let order = lock_order(&txn, input.order)
            .await?
            .filter(|o| scope.allows(o.customer_id))
            .ok_or_else(|| Error::not_found("orderId", "no such order"))?;
        let note = order_note::Entity::insert(order_note::ActiveModel {
            order_id: Set(order.id),
            author: Set(input.author.clone()),
            body: Set(input.body.clone()),
            visibility: Set(input.visibility),
            created_at: Set(now),
            ..Default::default()
        })
        .exec_with_returning(&txn)
        .await?;
        let (kind, message) = match input.visibility {
            NoteVisibility::Customer => (OrderEventType::NoteAdded, Some(input.body.clone())),
            NoteVisibility::Internal => (OrderEventType::InternalNoteAdded, None),
        };
        let mut event = NewEvent::new(kind)
            .payload(serde_json::json!({ "noteId": note.id, "author": note.author }));
        if let Some(message) = message {
            event = event.message(message.chars().take(500).collect::<String>());
        }
        record_change(&txn, &order, vec![event], &actor.name, now, |_| {}).await?;
        txn.commit().await?;
        self.events_committed();
        Ok(note)
    }

    /// Notes of each order, oldest first.
    pub async fn notes_by_orders(
        &self,
        ids: &[OrderId],
    ) -> Result<HashMap<OrderId, Vec<order_note::Model>>> {
        let rows = order_note::Entity::find()
            .filter(order_note::Column::OrderId.is_in(ids.iter().map(|i| i.0)))
            .order_by_asc(order_note::Column::Id)
            .all(self.db())
            .await?;
        Ok(group(rows, |n| OrderId(n.order_id)))
    }
}
