//! `addOrderNote`: staff and partners write INTERNAL or CUSTOMER notes; customers write
//! CUSTOMER notes on their own orders.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::Checks;
use crate::auth::Principal;
use crate::domain::ValidationError;
use crate::domain::ids::{CustomerId, OrderId};
use crate::gid::{self, Kind};
use crate::graphql::enums::NoteVisibility;
use crate::graphql::error::{UserError, payload};
use crate::graphql::guard::{order_visibility, principal};
use crate::graphql::types::order::OrderNote;
use crate::service::Store;
use crate::service::notes::{MAX_NOTE_CHARS, NewNote};
use crate::service::ordering::Actor;
use crate::service::orders::Visibility;

/// A note to add to an order.
#[derive(InputObject)]
pub struct AddOrderNoteInput {
    /// The order.
    pub order_id: ID,
    /// The text (1 to 5,000 characters).
    pub body: String,
    /// Who may read it. Customers' notes are always CUSTOMER.
    #[graphql(default_with = "NoteVisibility::Internal")]
    pub visibility: NoteVisibility,
}

/// Result of `addOrderNote`.
#[derive(SimpleObject)]
pub struct OrderNotePayload {
    /// The note added.
    pub note: Option<OrderNote>,
    /// Why nothing was added; empty on success.
    pub user_errors: Vec<UserError>,
}

fn parse_body(body: &str) -> Result<String, ValidationError> {
    let body = body.trim();
    if body.is_empty() {
        return Err(ValidationError::new("body", "must not be blank"));
    }
    if body.chars().count() > MAX_NOTE_CHARS {
        return Err(ValidationError::new(
            "body",
            format!("must be at most {MAX_NOTE_CHARS} characters"),
        ));
    }
    Ok(body.to_owned())
}

/// How a note's author is shown.
fn author_of(who: &Principal) -> String {
    match who {
        Principal::Customer(_) => "customer".to_owned(),
        Principal::Staff { subject } | Principal::Partner { subject, .. } => subject.clone(),
        Principal::Anonymous => "anonymous".to_owned(),
    }
}

#[derive(Default)]
pub struct NotesMutation;

#[Object]
impl NotesMutation {
    /// Adds a note to an order: INTERNAL (staff and partners only) or CUSTOMER (shown to
    /// the customer). Customers add CUSTOMER notes to their own orders.
    async fn add_order_note(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `AddOrderNoteInput`.")] input: AddOrderNoteInput,
    ) -> Result<OrderNotePayload> {
        let who = principal(ctx);
        let mut checks = Checks::default();
        let order = checks.take(
            None,
            gid::decode_as(Kind::Order, &input.order_id)
                .map(OrderId)
                .ok_or_else(|| ValidationError::new("orderId", "is not an order ID")),
        );
        let body = checks.take(None, parse_body(&input.body));
        let (Some(order), Some(body)) = (order, body) else {
            return Ok(OrderNotePayload {
                note: None,
                user_errors: checks.into_errors(),
            });
        };
        let visibility = if who.customer_id().is_some() {
            crate::domain::status::NoteVisibility::Customer
        } else {
            input.visibility.into()
        };
        let note = NewNote {
            order,
            body,
            visibility,
            author: author_of(who),
        };
        let scope = order_visibility(who).unwrap_or(Visibility::OwnedBy(CustomerId(0)));
        let actor = Actor { name: who.actor() };
        let (note, user_errors) = payload(
            ctx.data::<Store>()?
                .add_order_note(note, &actor, scope)
                .await,
            OrderNote,
        )?;
        Ok(OrderNotePayload { note, user_errors })
    }
}
