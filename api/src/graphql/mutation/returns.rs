//! After the sale: `requestReturn` (customers for their own delivered lines),
//! `approveReturn`, `declineReturn`, `recordReturnShipment`, `receiveReturn`, and the
//! money — `refundOrder`, `recordPayment`.

use std::collections::HashSet;

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::Checks;
use super::catalog::MoneyInput;
use super::ordering::{OrderPayload, bounded};
use crate::domain::ValidationError;
use crate::domain::ids::{CustomerId, LocationId, OrderId, OrderLineId, ReturnId, ReturnLineId};
use crate::gid::{self, Kind};
use crate::graphql::enums::{ReturnDisposition, ReturnReason};
use crate::graphql::error::{UserError, payload};
use crate::graphql::guard::{order_visibility, principal};
use crate::graphql::types::order::Order;
use crate::graphql::types::returns::{Refund, Return};
use crate::service::Store;
use crate::service::ordering::Actor;
use crate::service::orders::Visibility;
use crate::service::refunds::{RecordPayment, RefundOrder};
use crate::service::returns::{
    Decision, Receipt, ReceivedLine, RequestReturn, ReturnChange, ReturnLineRequest, ReturnShipment,
};

/// Most lines one return may have.
const MAX_RETURN_LINES: usize = 100;

/// Money for a `manual` order arrived.
#[derive(InputObject)]
pub struct RecordPaymentInput {
    /// The order.
    pub order_id: ID,
    /// What arrived: the order total, in the order's currency.
    pub amount: MoneyInput,
    /// The bank transfer's or cheque's reference.
    pub reference: Option<String>,
    /// Refuse with `VERSION_CONFLICT` unless the order is still at this version.
    pub expected_version: Option<i32>,
}

/// A refund to the order's original payment (goodwill or partial).
#[derive(InputObject)]
pub struct RefundOrderInput {
    /// The order.
    pub order_id: ID,
    /// How much, in the order's currency; at most what was captured and not refunded.
    pub amount: MoneyInput,
    /// Why (kept on the refund and in the order's history).
    pub reason: String,
    /// Refuse with `VERSION_CONFLICT` unless the order is still at this version.
    pub expected_version: Option<i32>,
    /// Retry-safe key, scoped to the caller: for 24 hours the same key with the same
    /// input returns the first refund (asking the provider again if it failed, never
    /// paying twice), and with other input `IDEMPOTENCY_CONFLICT`.
    pub idempotency_key: Option<String>,
}

/// Units to send back.
#[derive(InputObject)]
pub struct RequestReturnInput {
    /// The delivered order.
    pub order_id: ID,
    /// What to send back, one entry per order line.
    pub lines: Vec<ReturnLineInput>,
    /// A word for the staff deciding.
    pub customer_note: Option<String>,
    /// Retry-safe key, scoped to the caller: the same key with the same input returns
    /// the same return.
    pub idempotency_key: Option<String>,
}

/// Units of one order line to send back.
#[derive(InputObject)]
pub struct ReturnLineInput {
    /// The order line.
    pub order_line_id: ID,
    /// Units, at least 1 and at most what `returnableLines` allows.
    pub quantity: i32,
    /// Why.
    pub reason: ReturnReason,
    /// More about it.
    pub note: Option<String>,
}

/// Approves a requested return.
#[derive(InputObject)]
pub struct ReturnDecisionInput {
    /// The return.
    pub return_id: ID,
    /// Refuse with `VERSION_CONFLICT` unless the return is still at this version.
    pub expected_version: Option<i32>,
    /// Where the units go back; default: the location that shipped them.
    pub return_location_id: Option<ID>,
}

/// Declines a requested return.
#[derive(InputObject)]
pub struct DeclineReturnInput {
    /// The return.
    pub return_id: ID,
    /// Refuse with `VERSION_CONFLICT` unless the return is still at this version.
    pub expected_version: Option<i32>,
    /// Why (the customer sees it).
    pub reason: String,
}

/// The return parcel is on its way.
#[derive(InputObject)]
pub struct ReturnShipmentInput {
    /// The approved return.
    pub return_id: ID,
    /// Carrier name.
    pub carrier: String,
    /// The carrier's tracking number.
    pub tracking_number: String,
    /// Refuse with `VERSION_CONFLICT` unless the return is still at this version.
    pub expected_version: Option<i32>,
}

/// What arrived of a return.
#[derive(InputObject)]
pub struct ReceiveReturnInput {
    /// The approved or in-transit return.
    pub return_id: ID,
    /// Refuse with `VERSION_CONFLICT` unless the return is still at this version.
    pub expected_version: Option<i32>,
    /// What arrived, one entry per return line; lines not listed did not arrive.
    pub lines: Vec<ReceiveReturnLineInput>,
    /// Refund the order's shipping charge too (once per order).
    #[graphql(default = false)]
    pub refund_shipping: bool,
}

/// What arrived of one return line and what becomes of it.
#[derive(InputObject)]
pub struct ReceiveReturnLineInput {
    /// The return line.
    pub return_line_id: ID,
    /// Units that arrived (0 to the units asked back).
    pub quantity: i32,
    /// Back on the shelf, or written off.
    pub disposition: ReturnDisposition,
}

/// Result of `refundOrder`.
#[derive(SimpleObject)]
pub struct RefundPayload {
    /// The refund (for a repeated idempotency key, the first one); see its `status`.
    pub refund: Option<Refund>,
    /// The order as it now is.
    pub order: Option<Order>,
    /// Why nothing was refunded; empty on success.
    pub user_errors: Vec<UserError>,
}

/// Result of return mutations.
#[derive(SimpleObject)]
pub struct ReturnPayload {
    /// The return as it now is.
    #[graphql(name = "return")]
    pub return_: Option<Return>,
    /// Why nothing changed; empty on success.
    pub user_errors: Vec<UserError>,
}

impl ReturnPayload {
    fn refused(checks: Checks) -> Self {
        Self {
            return_: None,
            user_errors: checks.into_errors(),
        }
    }
}

fn decode<T>(
    kind: Kind,
    field: &str,
    id: &ID,
    what: &str,
    wrap: fn(i64) -> T,
) -> Result<T, ValidationError> {
    gid::decode_as(kind, id)
        .map(wrap)
        .ok_or_else(|| ValidationError::new(field, format!("is not {what} ID")))
}

fn required(field: &str, value: &str, max: usize) -> Result<String, ValidationError> {
    bounded(field, Some(value.to_owned()), max)?
        .ok_or_else(|| ValidationError::new(field, "must not be blank"))
}

/// A money input in minor units and its currency code; must be more than zero.
fn positive_amount(input: &MoneyInput) -> Result<(i64, String), ValidationError> {
    let money = input.parse().map_err(|e| e.under("amount"))?;
    if money.minor <= 0 {
        return Err(ValidationError::new(
            "amount.amount",
            "must be more than zero",
        ));
    }
    Ok((money.minor, money.currency.code().to_owned()))
}

fn parse_return_lines(
    lines: &[ReturnLineInput],
) -> Result<Vec<ReturnLineRequest>, ValidationError> {
    if lines.is_empty() || lines.len() > MAX_RETURN_LINES {
        return Err(ValidationError::new(
            "lines",
            format!("a return has 1 to {MAX_RETURN_LINES} lines"),
        ));
    }
    let mut seen = HashSet::new();
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let order_line = decode(
                Kind::OrderLine,
                &format!("lines.{i}.orderLineId"),
                &line.order_line_id,
                "an order line",
                OrderLineId,
            )?;
            if !seen.insert(order_line) {
                return Err(ValidationError::new(
                    format!("lines.{i}.orderLineId"),
                    "this line is listed twice; list each line once with its total",
                ));
            }
            if !(1..=10_000).contains(&line.quantity) {
                return Err(ValidationError::new(
                    format!("lines.{i}.quantity"),
                    "must be at least 1",
                ));
            }
            Ok(ReturnLineRequest {
                order_line,
                quantity: line.quantity,
                reason: line.reason.into(),
                note: bounded(&format!("lines.{i}.note"), line.note.clone(), 1000)?,
            })
        })
        .collect()
}

fn parse_receipt_lines(
    lines: &[ReceiveReturnLineInput],
) -> Result<Vec<ReceivedLine>, ValidationError> {
    if lines.is_empty() || lines.len() > MAX_RETURN_LINES {
        return Err(ValidationError::new(
            "lines",
            format!("list 1 to {MAX_RETURN_LINES} lines"),
        ));
    }
    let mut seen = HashSet::new();
    let parsed: Vec<ReceivedLine> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let id = decode(
                Kind::ReturnLine,
                &format!("lines.{i}.returnLineId"),
                &line.return_line_id,
                "a return line",
                ReturnLineId,
            )?;
            if !seen.insert(id) {
                return Err(ValidationError::new(
                    format!("lines.{i}.returnLineId"),
                    "this line is listed twice",
                ));
            }
            if line.quantity < 0 {
                return Err(ValidationError::new(
                    format!("lines.{i}.quantity"),
                    "must not be negative",
                ));
            }
            Ok(ReceivedLine {
                line: id,
                quantity: line.quantity,
                disposition: line.disposition.into(),
            })
        })
        .collect::<Result<_, _>>()?;
    if parsed.iter().all(|l| l.quantity == 0) {
        return Err(ValidationError::new(
            "lines",
            "nothing arrived: receive at least one unit",
        ));
    }
    Ok(parsed)
}

/// The orders the caller may act on (customers: their own).
fn scope_of(ctx: &Context<'_>) -> Visibility {
    order_visibility(principal(ctx)).unwrap_or(Visibility::OwnedBy(CustomerId(0)))
}

fn actor(ctx: &Context<'_>) -> Actor {
    Actor {
        name: principal(ctx).actor(),
    }
}

#[derive(Default)]
pub struct ReturnsMutation;

#[Object]
impl ReturnsMutation {
    /// Asks to send delivered units back (customers for their own orders; staff for
    /// any). Only delivered units inside the return window that are not already on a
    /// return (`NOT_RETURNABLE` otherwise); see `Order.returnableLines`.
    async fn request_return(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `RequestReturnInput`.")] input: RequestReturnInput,
    ) -> Result<ReturnPayload> {
        let mut checks = Checks::default();
        let order = checks.take(
            None,
            decode(Kind::Order, "orderId", &input.order_id, "an order", OrderId),
        );
        let lines = checks.take(None, parse_return_lines(&input.lines));
        let note = checks.take(None, bounded("customerNote", input.customer_note, 2000));
        let key = checks.take(None, bounded("idempotencyKey", input.idempotency_key, 200));
        let (Some(order), Some(lines), Some(customer_note), Some(idempotency_key)) =
            (order, lines, note, key)
        else {
            return Ok(ReturnPayload::refused(checks));
        };
        let request = RequestReturn {
            order,
            lines,
            customer_note,
            idempotency_key,
        };
        let store = ctx.data::<Store>()?;
        let outcome = store
            .request_return(request, &actor(ctx), scope_of(ctx))
            .await;
        returned(outcome)
    }

    /// Approves a requested return and says where the units go (staff).
    async fn approve_return(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `ReturnDecisionInput`.")] input: ReturnDecisionInput,
    ) -> Result<ReturnPayload> {
        let mut checks = Checks::default();
        let id = checks.take(
            None,
            decode(
                Kind::Return,
                "returnId",
                &input.return_id,
                "a return",
                ReturnId,
            ),
        );
        let location = checks.take(
            None,
            input
                .return_location_id
                .as_ref()
                .map(|l| {
                    decode(
                        Kind::Location,
                        "returnLocationId",
                        l,
                        "a location",
                        LocationId,
                    )
                })
                .transpose(),
        );
        let (Some(return_id), Some(location)) = (id, location) else {
            return Ok(ReturnPayload::refused(checks));
        };
        let change = ReturnChange {
            return_id,
            expected_version: input.expected_version,
            change: Decision::Approve(location),
        };
        returned(
            ctx.data::<Store>()?
                .decide_return(change, &actor(ctx))
                .await,
        )
    }

    /// Declines a requested return, saying why (staff).
    async fn decline_return(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `DeclineReturnInput`.")] input: DeclineReturnInput,
    ) -> Result<ReturnPayload> {
        let mut checks = Checks::default();
        let id = checks.take(
            None,
            decode(
                Kind::Return,
                "returnId",
                &input.return_id,
                "a return",
                ReturnId,
            ),
        );
        let reason = checks.take(None, required("reason", &input.reason, 1000));
        let (Some(return_id), Some(reason)) = (id, reason) else {
            return Ok(ReturnPayload::refused(checks));
        };
        let change = ReturnChange {
            return_id,
            expected_version: input.expected_version,
            change: Decision::Decline(reason),
        };
        returned(
            ctx.data::<Store>()?
                .decide_return(change, &actor(ctx))
                .await,
        )
    }

    /// Records the return parcel's carrier and tracking number (customers for their own
    /// returns; staff for any): the return is on its way back.
    async fn record_return_shipment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `ReturnShipmentInput`.")] input: ReturnShipmentInput,
    ) -> Result<ReturnPayload> {
        let mut checks = Checks::default();
        let id = checks.take(
            None,
            decode(
                Kind::Return,
                "returnId",
                &input.return_id,
                "a return",
                ReturnId,
            ),
        );
        let carrier = checks.take(None, required("carrier", &input.carrier, 100));
        let tracking = checks.take(
            None,
            required("trackingNumber", &input.tracking_number, 100),
        );
        let (Some(return_id), Some(carrier), Some(tracking_number)) = (id, carrier, tracking)
        else {
            return Ok(ReturnPayload::refused(checks));
        };
        let change = ReturnChange {
            return_id,
            expected_version: input.expected_version,
            change: ReturnShipment {
                carrier,
                tracking_number,
            },
        };
        let store = ctx.data::<Store>()?;
        returned(
            store
                .record_return_shipment(change, &actor(ctx), scope_of(ctx))
                .await,
        )
    }

    /// Receives a return (staff): RESTOCK units go back on hand at the return location,
    /// DISPOSE units are written off, and the received lines' price with their share of
    /// tax (and shipping, with `refundShipping`) is refunded to the original payment.
    /// Sending the same receipt again returns the return and retries a failed refund.
    async fn receive_return(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `ReceiveReturnInput`.")] input: ReceiveReturnInput,
    ) -> Result<ReturnPayload> {
        let mut checks = Checks::default();
        let id = checks.take(
            None,
            decode(
                Kind::Return,
                "returnId",
                &input.return_id,
                "a return",
                ReturnId,
            ),
        );
        let lines = checks.take(None, parse_receipt_lines(&input.lines));
        let (Some(return_id), Some(lines)) = (id, lines) else {
            return Ok(ReturnPayload::refused(checks));
        };
        let change = ReturnChange {
            return_id,
            expected_version: input.expected_version,
            change: Receipt {
                lines,
                refund_shipping: input.refund_shipping,
            },
        };
        returned(
            ctx.data::<Store>()?
                .receive_return(change, &actor(ctx))
                .await,
        )
    }

    /// Refunds part or all of what was captured to the original payment (goodwill,
    /// price adjustments). Never more than captured minus refunded
    /// (`REFUND_EXCEEDS_CAPTURED`). The refund's `status` tells whether the provider has
    /// paid it.
    async fn refund_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `RefundOrderInput`.")] input: RefundOrderInput,
    ) -> Result<RefundPayload> {
        let mut checks = Checks::default();
        let order = checks.take(
            None,
            decode(Kind::Order, "orderId", &input.order_id, "an order", OrderId),
        );
        let amount = checks.take(None, positive_amount(&input.amount));
        let reason = checks.take(None, required("reason", &input.reason, 500));
        let key = checks.take(None, bounded("idempotencyKey", input.idempotency_key, 200));
        let (Some(order), Some((amount, currency)), Some(reason), Some(idempotency_key)) =
            (order, amount, reason, key)
        else {
            return Ok(RefundPayload {
                refund: None,
                order: None,
                user_errors: checks.into_errors(),
            });
        };
        let request = RefundOrder {
            order,
            amount,
            currency,
            reason,
            expected_version: input.expected_version,
            idempotency_key,
        };
        let (done, user_errors) = payload(
            ctx.data::<Store>()?
                .refund_order(request, &actor(ctx))
                .await,
            |(refund, order)| (Refund(refund), Order(order)),
        )?;
        let (refund, order) = done.unzip();
        Ok(RefundPayload {
            refund,
            order,
            user_errors,
        })
    }

    /// Records that a `manual` order's money arrived (bank transfer, cheque): the
    /// order becomes paid and can be fulfilled. The amount is the order total.
    async fn record_payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `RecordPaymentInput`.")] input: RecordPaymentInput,
    ) -> Result<OrderPayload> {
        let mut checks = Checks::default();
        let order = checks.take(
            None,
            decode(Kind::Order, "orderId", &input.order_id, "an order", OrderId),
        );
        let amount = checks.take(None, positive_amount(&input.amount));
        let reference = checks.take(None, bounded("reference", input.reference, 128));
        let (Some(order), Some((amount, currency)), Some(reference)) = (order, amount, reference)
        else {
            return Ok(OrderPayload {
                order: None,
                user_errors: checks.into_errors(),
            });
        };
        let request = RecordPayment {
            order,
            amount,
            currency,
            reference,
            expected_version: input.expected_version,
        };
        let (order, user_errors) = payload(
            ctx.data::<Store>()?
                .record_payment(request, &actor(ctx))
                .await,
            Order,
        )?;
        Ok(OrderPayload { order, user_errors })
    }
}

fn returned(
    outcome: crate::service::Result<entity::return_request::Model>,
) -> Result<ReturnPayload> {
    let (return_, user_errors) = payload(outcome, Return)?;
    Ok(ReturnPayload {
        return_,
        user_errors,
    })
}
