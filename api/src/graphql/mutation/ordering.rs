//! `placeOrder` (customers for themselves; staff or partners with `orders:write` for a
//! customer) and `cancelOrder`.

use std::collections::HashMap;

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::Checks;
use super::catalog::AddressInput;
use crate::auth::Principal;
use crate::domain::ValidationError;
use crate::domain::catalog::Code;
use crate::domain::ids::{CustomerId, OrderId, OrderLineId};
use crate::gid::{self, Kind};
use crate::graphql::enums::ShippingMethod;
use crate::graphql::error::{UserError, payload};
use crate::graphql::guard::{order_visibility, principal};
use crate::graphql::types::order::Order;
use crate::service::Store;
use crate::service::cancelling::CancelOrder;
use crate::service::editing::{EditOrder, Editor};
use crate::service::ordering::{Actor, PlaceOrder};
use crate::service::reorder::Reorder;

/// Most lines one order may have.
const MAX_LINES: usize = 100;
/// Most units of one SKU on one order.
const MAX_QUANTITY: i32 = 10_000;

/// One SKU and how many.
#[derive(InputObject, Clone)]
pub struct OrderLineInput {
    /// SKU code.
    pub sku: String,
    /// Units, 1 to 10,000.
    pub quantity: i32,
}

/// How the order is paid.
#[derive(InputObject, Clone)]
pub struct PaymentInput {
    /// Provider name: `test` or `manual` built in.
    pub provider: String,
    /// The provider's payment token (`tok_visa`, `tok_declined` for `test`).
    pub token: Option<String>,
}

/// An order to place.
#[derive(InputObject)]
pub struct PlaceOrderInput {
    /// The customer to order for (staff and partners); customers omit it.
    pub customer_id: Option<ID>,
    /// Sales channel code.
    #[graphql(default_with = "String::from(\"web\")")]
    pub channel: String,
    /// What to buy; a SKU listed twice is merged.
    pub lines: Vec<OrderLineInput>,
    /// Where to ship; or give `shippingAddressId`.
    pub shipping_address: Option<AddressInput>,
    /// One of the customer's saved addresses to ship to, instead of `shippingAddress`.
    pub shipping_address_id: Option<ID>,
    /// How fast.
    #[graphql(default_with = "ShippingMethod::Standard")]
    pub shipping_method: ShippingMethod,
    /// How it is paid.
    pub payment: PaymentInput,
    /// Retry-safe key, scoped to the caller: for 24 hours the same key with the same
    /// input returns the same order (even when sent concurrently), and with other input
    /// `IDEMPOTENCY_CONFLICT`.
    pub idempotency_key: Option<String>,
    /// A note from the customer.
    pub note: Option<String>,
}

/// Result of `placeOrder`.
#[derive(SimpleObject)]
pub struct PlaceOrderPayload {
    /// The placed (or, for a repeated idempotency key, the earlier) order.
    pub order: Option<Order>,
    /// Why nothing was placed; empty on success.
    pub user_errors: Vec<UserError>,
}

/// Cancels what has not shipped yet.
#[derive(InputObject)]
pub struct CancelOrderInput {
    /// The order.
    pub order_id: ID,
    /// Why (shown in the order history).
    pub reason: Option<String>,
    /// Refuse with `VERSION_CONFLICT` unless the order is still at this version.
    pub expected_version: Option<i32>,
}

/// An earlier order to place again.
#[derive(InputObject)]
pub struct ReorderInput {
    /// The earlier order.
    pub order_id: ID,
    /// Retry-safe key, as on `placeOrder`.
    pub idempotency_key: Option<String>,
    /// How to pay; may be left out only when the earlier order was paid `manual`.
    pub payment: Option<PaymentInput>,
    /// Where to ship; default: where the earlier order went.
    pub shipping_address: Option<AddressInput>,
}

/// A new quantity for one line of an order.
#[derive(InputObject)]
pub struct SetLineQuantityInput {
    /// The order line.
    pub order_line_id: ID,
    /// Units, 0 (removes the line) to 10,000.
    pub quantity: i32,
}

/// Changes to an order that nothing of has been picked.
#[derive(InputObject)]
pub struct EditOrderInput {
    /// The order.
    pub order_id: ID,
    /// The order's `version` as you last read it (required: an edit is never blind).
    pub expected_version: i32,
    /// New quantities of existing lines (0 removes a line).
    pub set_quantities: Option<Vec<SetLineQuantityInput>>,
    /// SKUs to add (merged into a line of the same SKU), at today's prices.
    pub add_lines: Option<Vec<OrderLineInput>>,
    /// A new shipping address (the order may move to another location).
    pub shipping_address: Option<AddressInput>,
    /// A new shipping speed.
    pub shipping_method: Option<ShippingMethod>,
}

/// New quantities by line, and SKU codes with quantities to add.
type EditLines = (Vec<(OrderLineId, i32)>, Vec<(String, i32)>);

fn parse_edit_lines(
    set: &[SetLineQuantityInput],
    add: &[OrderLineInput],
) -> Result<EditLines, ValidationError> {
    if set.len() > MAX_LINES || add.len() > MAX_LINES {
        return Err(ValidationError::new(
            "addLines",
            format!("at most {MAX_LINES} lines"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    let mut quantities = Vec::new();
    for (i, line) in set.iter().enumerate() {
        let id = gid::decode_as(Kind::OrderLine, &line.order_line_id).ok_or_else(|| {
            ValidationError::new(
                format!("setQuantities.{i}.orderLineId"),
                "is not an order line ID",
            )
        })?;
        if !seen.insert(id) {
            return Err(ValidationError::new(
                format!("setQuantities.{i}.orderLineId"),
                "this line is listed twice",
            ));
        }
        if !(0..=MAX_QUANTITY).contains(&line.quantity) {
            return Err(ValidationError::new(
                format!("setQuantities.{i}.quantity"),
                format!("must be between 0 (removes the line) and {MAX_QUANTITY}"),
            ));
        }
        quantities.push((OrderLineId(id), line.quantity));
    }
    let added = if add.is_empty() {
        Vec::new()
    } else {
        parse_lines(add).map_err(|e| {
            ValidationError::new(e.field.replacen("lines", "addLines", 1), e.message)
        })?
    };
    Ok((quantities, added))
}

/// Result of order mutations.
#[derive(SimpleObject)]
pub struct OrderPayload {
    /// The changed order.
    pub order: Option<Order>,
    /// Why nothing changed; empty on success.
    pub user_errors: Vec<UserError>,
}

fn customer_for(who: &Principal, given: Option<&ID>) -> Result<CustomerId, ValidationError> {
    let given = match given {
        Some(id) => Some(
            gid::decode_as(Kind::Customer, id)
                .map(CustomerId)
                .ok_or_else(|| ValidationError::new("customerId", "is not a customer ID"))?,
        ),
        None => None,
    };
    match (who.customer_id(), given) {
        (Some(me), None) => Ok(me),
        (Some(me), Some(id)) if id == me => Ok(me),
        (Some(_), Some(_)) => Err(ValidationError::new(
            "customerId",
            "customers order for themselves: omit customerId",
        )),
        (None, Some(id)) => Ok(id),
        (None, None) => Err(ValidationError::new(
            "customerId",
            "say which customer the order is for",
        )),
    }
}

fn parse_lines(lines: &[OrderLineInput]) -> Result<Vec<(String, i32)>, ValidationError> {
    if lines.is_empty() || lines.len() > MAX_LINES {
        return Err(ValidationError::new(
            "lines",
            format!("an order has 1 to {MAX_LINES} lines"),
        ));
    }
    let mut merged: Vec<(String, i32)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, line) in lines.iter().enumerate() {
        let code = Code::parse(&format!("lines.{i}.sku"), &line.sku)?;
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            return Err(ValidationError::new(
                format!("lines.{i}.quantity"),
                format!("must be between 1 and {MAX_QUANTITY}"),
            ));
        }
        match index.get(code.as_str()) {
            Some(&at) => {
                merged[at].1 += line.quantity;
                if merged[at].1 > MAX_QUANTITY {
                    return Err(ValidationError::new(
                        format!("lines.{i}.quantity"),
                        format!("at most {MAX_QUANTITY} units of one SKU"),
                    ));
                }
            }
            None => {
                index.insert(code.as_str().to_owned(), merged.len());
                merged.push((code.as_str().to_owned(), line.quantity));
            }
        }
    }
    Ok(merged)
}

pub(crate) fn bounded(
    field: &str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, ValidationError> {
    match value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > max => Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        )),
        other => Ok(other),
    }
}

#[derive(Default)]
pub struct OrderingMutation;

#[Object]
impl OrderingMutation {
    /// Places an order: prices it, routes it to locations, reserves stock and authorises
    /// payment — all or nothing. Customers order for themselves.
    async fn place_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `PlaceOrderInput`.")] input: PlaceOrderInput,
    ) -> Result<PlaceOrderPayload> {
        let who = principal(ctx);
        let mut checks = Checks::default();
        let customer = checks.take(None, customer_for(who, input.customer_id.as_ref()));
        let channel = checks.take(None, Code::parse("channel", &input.channel));
        let lines = checks.take(None, parse_lines(&input.lines));
        let address = match (input.shipping_address, &input.shipping_address_id) {
            (Some(address), None) => checks.take(Some("shippingAddress"), address.parse()),
            (None, Some(id)) => match (gid::decode_as(Kind::CustomerAddress, id), customer) {
                (Some(id), Some(owner)) => {
                    match ctx
                        .data::<Store>()?
                        .saved_address(owner, id, "shippingAddressId")
                        .await
                    {
                        Ok(address) => Some(address),
                        Err(err) => {
                            return Ok(PlaceOrderPayload {
                                order: None,
                                user_errors: crate::graphql::error::user_errors(err)?,
                            });
                        }
                    }
                }
                (None, _) => checks.take(
                    None,
                    Err(ValidationError::new(
                        "shippingAddressId",
                        "is not a saved address ID",
                    )),
                ),
                (Some(_), None) => None,
            },
            _ => checks.take(
                None,
                Err(ValidationError::new(
                    "shippingAddress",
                    "give either shippingAddress or shippingAddressId",
                )),
            ),
        };
        let provider = checks.take(
            None,
            bounded("payment.provider", Some(input.payment.provider.clone()), 64).and_then(|p| {
                p.ok_or_else(|| ValidationError::new("payment.provider", "must not be blank"))
            }),
        );
        let token = checks.take(
            None,
            bounded("payment.token", input.payment.token.clone(), 256),
        );
        let key = checks.take(
            None,
            bounded("idempotencyKey", input.idempotency_key.clone(), 200),
        );
        let note = checks.take(None, bounded("note", input.note.clone(), 2000));
        let (
            Some(customer),
            Some(channel),
            Some(lines),
            Some(address),
            Some(provider),
            Some(token),
            Some(key),
            Some(note),
        ) = (
            customer, channel, lines, address, provider, token, key, note,
        )
        else {
            return Ok(PlaceOrderPayload {
                order: None,
                user_errors: checks.into_errors(),
            });
        };
        let order = PlaceOrder {
            customer,
            channel: channel.as_str().to_owned(),
            lines,
            address,
            method: input.shipping_method.into(),
            provider,
            token,
            idempotency_key: key,
            note,
        };
        let actor = Actor { name: who.actor() };
        let (order, user_errors) =
            payload(ctx.data::<Store>()?.place_order(order, &actor).await, |p| {
                Order(p.order)
            })?;
        Ok(PlaceOrderPayload { order, user_errors })
    }

    /// "Buy it again": places a new order with the same SKUs and quantities as an
    /// earlier one, at today's prices, through the same path as `placeOrder`. Lines that
    /// cannot be had come back as one `UNAVAILABLE` error each (`field`: the line's
    /// index) and nothing is placed. Customers reorder their own orders.
    async fn reorder(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `ReorderInput`.")] input: ReorderInput,
    ) -> Result<PlaceOrderPayload> {
        let who = principal(ctx);
        let mut checks = Checks::default();
        let order = checks.take(
            None,
            gid::decode_as(Kind::Order, &input.order_id)
                .map(OrderId)
                .ok_or_else(|| ValidationError::new("orderId", "is not an order ID")),
        );
        let key = checks.take(
            None,
            bounded("idempotencyKey", input.idempotency_key.clone(), 200),
        );
        let address = checks.take(
            Some("shippingAddress"),
            input.shipping_address.map(AddressInput::parse).transpose(),
        );
        let payment = checks.take(
            None,
            input
                .payment
                .map(|p| {
                    let provider =
                        bounded("payment.provider", Some(p.provider), 64)?.ok_or_else(|| {
                            ValidationError::new("payment.provider", "must not be blank")
                        })?;
                    Ok((provider, bounded("payment.token", p.token, 256)?))
                })
                .transpose(),
        );
        let (Some(order), Some(idempotency_key), Some(address), Some(payment)) =
            (order, key, address, payment)
        else {
            return Ok(PlaceOrderPayload {
                order: None,
                user_errors: checks.into_errors(),
            });
        };
        let scope = order_visibility(who)
            .unwrap_or(crate::service::orders::Visibility::OwnedBy(CustomerId(0)));
        let actor = Actor { name: who.actor() };
        let request = Reorder {
            order,
            idempotency_key,
            payment,
            address,
        };
        let (order, user_errors) = payload(
            ctx.data::<Store>()?.reorder(request, &actor, scope).await,
            |p| Order(p.order),
        )?;
        Ok(PlaceOrderPayload { order, user_errors })
    }

    /// Changes an order before it is picked: quantities (0 removes a line), new lines,
    /// the shipping address or method — re-priced, re-routed and re-reserved in one
    /// transaction, all or nothing. A higher total is authorised first
    /// (`PAYMENT_DECLINED`: nothing changes); a lower one releases the difference.
    /// Staff until picking starts; customers their own orders within
    /// `ORDERLY_CUSTOMER_EDIT_WINDOW` of placing (`NOT_EDITABLE` otherwise).
    async fn edit_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `EditOrderInput`.")] input: EditOrderInput,
    ) -> Result<OrderPayload> {
        let who = principal(ctx);
        let mut checks = Checks::default();
        let order = checks.take(
            None,
            gid::decode_as(Kind::Order, &input.order_id)
                .map(OrderId)
                .ok_or_else(|| ValidationError::new("orderId", "is not an order ID")),
        );
        let lines = checks.take(
            None,
            parse_edit_lines(
                input.set_quantities.as_deref().unwrap_or_default(),
                input.add_lines.as_deref().unwrap_or_default(),
            ),
        );
        let address = checks.take(
            Some("shippingAddress"),
            input.shipping_address.map(AddressInput::parse).transpose(),
        );
        let (Some(order), Some((set_quantities, add_lines)), Some(address)) =
            (order, lines, address)
        else {
            return Ok(OrderPayload {
                order: None,
                user_errors: checks.into_errors(),
            });
        };
        let scope = order_visibility(who)
            .unwrap_or(crate::service::orders::Visibility::OwnedBy(CustomerId(0)));
        let editor = if who.customer_id().is_some() {
            Editor::Customer
        } else {
            Editor::Staff
        };
        let actor = Actor { name: who.actor() };
        let edit = EditOrder {
            order,
            expected_version: input.expected_version,
            set_quantities,
            add_lines,
            address,
            method: input.shipping_method.map(Into::into),
        };
        let (order, user_errors) = payload(
            ctx.data::<Store>()?
                .edit_order(edit, editor, &actor, scope)
                .await,
            Order,
        )?;
        Ok(OrderPayload { order, user_errors })
    }

    /// Cancels everything that has not shipped: releases its stock and voids the rest of
    /// the payment. Shipped parts stay. Customers may cancel their own orders.
    async fn cancel_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `CancelOrderInput`.")] input: CancelOrderInput,
    ) -> Result<OrderPayload> {
        let who = principal(ctx);
        let mut checks = Checks::default();
        let order = checks.take(
            None,
            gid::decode_as(Kind::Order, &input.order_id)
                .map(OrderId)
                .ok_or_else(|| ValidationError::new("orderId", "is not an order ID")),
        );
        let reason = checks.take(None, bounded("reason", input.reason, 500));
        let (Some(order), Some(reason)) = (order, reason) else {
            return Ok(OrderPayload {
                order: None,
                user_errors: checks.into_errors(),
            });
        };
        let scope = order_visibility(who)
            .unwrap_or(crate::service::orders::Visibility::OwnedBy(CustomerId(0)));
        let actor = Actor { name: who.actor() };
        let request = CancelOrder {
            order,
            reason,
            expected_version: input.expected_version,
        };
        let (order, user_errors) = payload(
            ctx.data::<Store>()?
                .cancel_order(request, &actor, scope)
                .await,
            Order,
        )?;
        Ok(OrderPayload { order, user_errors })
    }
}
