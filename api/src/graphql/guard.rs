//! Access rules. `Access` says who may call a field: root fields get theirs from
//! `access::ROOT_RULES`, sensitive nested fields carry it as a guard. The `can_*`
//! functions say which rows a principal may see, and every resolver that
//! returns an order or customer goes through them — someone else's order looks exactly
//! like a missing one.

use async_graphql::{Context, Guard};

use super::error::top_level;
use crate::auth::{Principal, Scope};
use crate::domain::ids::CustomerId;
use crate::service::orders::Visibility;

/// The principal of the current request (anonymous if the transport attached none).
pub fn principal<'a>(ctx: &Context<'a>) -> &'a Principal {
    ctx.data_opt::<Principal>().unwrap_or(&Principal::Anonymous)
}

/// An access rule: of a root field (see `access::ROOT_RULES`) or, as a field guard, of a
/// nested field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any signed-in principal.
    Authenticated,
    /// Staff only.
    Staff,
    /// Staff, or a partner holding the scope.
    StaffOr(Scope),
    /// Staff, a partner holding the scope, or a customer (acting on their own data).
    CustomerOr(Scope),
}

impl Access {
    /// Whether `who` passes, or the code and message of the refusal.
    pub fn check(&self, who: &Principal) -> Result<(), (&'static str, String)> {
        if matches!(who, Principal::Anonymous) {
            return Err((
                "UNAUTHENTICATED",
                "sign in: send Authorization: Bearer <token> or X-Api-Key".to_owned(),
            ));
        }
        let allowed = match self {
            Self::Authenticated => true,
            Self::Staff => matches!(who, Principal::Staff { .. }),
            Self::StaffOr(scope) => who.has_scope(*scope),
            Self::CustomerOr(scope) => who.has_scope(*scope) || who.customer_id().is_some(),
        };
        if allowed {
            return Ok(());
        }
        Err((
            "FORBIDDEN",
            match self {
                Self::StaffOr(scope) | Self::CustomerOr(scope) => {
                    format!("this needs the {} scope", scope.as_ref())
                }
                _ => "you are not allowed to do this".to_owned(),
            },
        ))
    }
}

impl Guard for Access {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        Access::check(self, principal(ctx)).map_err(|(code, message)| top_level(code, message))
    }
}

/// Which orders the principal may read.
pub fn order_visibility(who: &Principal) -> Option<Visibility> {
    match who {
        Principal::Customer(id) => Some(Visibility::OwnedBy(*id)),
        _ if who.has_scope(Scope::OrdersRead) => Some(Visibility::All),
        _ => None,
    }
}

/// May the principal read an order owned by `owner`?
pub fn can_read_order(who: &Principal, owner: CustomerId) -> bool {
    match order_visibility(who) {
        Some(Visibility::All) => true,
        Some(Visibility::OwnedBy(id)) => id == owner,
        None => false,
    }
}

/// May the principal read a fulfilment order of an order owned by `owner`? Those who may
/// read the order, and those who fulfil (`fulfillment:write`: warehouses, 3PLs), who see
/// every fulfilment order in `fulfillmentOrders` anyway.
pub fn can_read_fulfillment_order(who: &Principal, owner: CustomerId) -> bool {
    who.has_scope(Scope::FulfillmentWrite) || can_read_order(who, owner)
}

/// May the principal read the customer `id`?
pub fn can_read_customer(who: &Principal, id: CustomerId) -> bool {
    who.customer_id() == Some(id)
        || who.has_scope(Scope::CustomersRead)
        || who.has_scope(Scope::OrdersRead)
}

/// May the principal see an event of `kind`? Customers never see internal notes.
pub fn can_see_event(who: &Principal, kind: crate::domain::status::OrderEventType) -> bool {
    !(who.customer_id().is_some()
        && kind == crate::domain::status::OrderEventType::InternalNoteAdded)
}

/// May the principal read a note with `visibility`? Customers read CUSTOMER notes only.
pub fn can_read_note(who: &Principal, visibility: crate::domain::status::NoteVisibility) -> bool {
    who.customer_id().is_none() || visibility == crate::domain::status::NoteVisibility::Customer
}

/// Whose webhook subscriptions the caller manages: staff all, a partner with
/// `webhooks:write` its own; anyone else is refused (`FORBIDDEN`).
pub fn webhook_owner(
    ctx: &Context<'_>,
) -> async_graphql::Result<crate::service::webhooks::WebhookOwner> {
    webhook_owner_of(principal(ctx)).ok_or_else(|| {
        crate::graphql::error::top_level("FORBIDDEN", "this needs the webhooks:write scope")
    })
}

/// Whose webhook subscriptions `who` manages, if any.
pub fn webhook_owner_of(who: &Principal) -> Option<crate::service::webhooks::WebhookOwner> {
    use crate::service::webhooks::WebhookOwner;
    match who {
        Principal::Staff { .. } => Some(WebhookOwner::All),
        Principal::Partner { .. } if who.has_scope(crate::auth::Scope::WebhooksWrite) => {
            Some(WebhookOwner::Partner(who.actor()))
        }
        _ => None,
    }
}
