//! Returns, their lines, refunds, and what of an order can still be returned.

use async_graphql::{Context, ID, Object, Result};
use entity::{refund, return_line, return_request};

use super::catalog::Location;
use super::global_id;
use super::order::{Order, OrderLine};
use crate::domain::ids::{LocationId, OrderId, OrderLineId, ReturnId};
use crate::gid::Kind;
use crate::graphql::enums::{RefundStatus, ReturnDisposition, ReturnReason, ReturnStatus};
use crate::graphql::loaders::{LinesOfReturn, RefundOfReturn, load, load_list, load_required};
use crate::graphql::scalars::{Date, Money, Timestamp};
use crate::service::returns::ReturnableLine as Returnable;

/// A return (RMA).
pub struct Return(pub return_request::Model);

/// A return (RMA): units of a delivered order on their way back, and where they stand.
#[Object]
impl Return {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(Kind::Return, self.0.id)
    }
    /// `#1058-R1`: the order's number and the return's place among its returns.
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// The order the units came from.
    async fn order(&self, ctx: &Context<'_>) -> Result<Order> {
        Ok(Order(load_required(ctx, OrderId(self.0.order_id)).await?))
    }
    /// Where the return stands.
    async fn status(&self) -> ReturnStatus {
        self.0.status.into()
    }
    /// Optimistic-concurrency version; pass it as `expectedVersion` to guard a change.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// What is coming back.
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<ReturnLine>> {
        let order: entity::order::Model = load_required(ctx, OrderId(self.0.order_id)).await?;
        Ok(load_list(ctx, LinesOfReturn(ReturnId(self.0.id)))
            .await?
            .into_iter()
            .map(|l| ReturnLine(l, order.currency.clone()))
            .collect())
    }
    /// What the customer wrote when asking.
    async fn customer_note(&self) -> Option<&str> {
        self.0.customer_note.as_deref()
    }
    /// Why staff declined it.
    async fn decline_reason(&self) -> Option<&str> {
        self.0.decline_reason.as_deref()
    }
    /// The return parcel's carrier.
    async fn carrier(&self) -> Option<&str> {
        self.0.carrier.as_deref()
    }
    /// The return parcel's tracking number.
    async fn tracking_number(&self) -> Option<&str> {
        self.0.tracking_number.as_deref()
    }
    /// Where the units go back to (set on approval).
    async fn return_location(&self, ctx: &Context<'_>) -> Result<Option<Location>> {
        match self.0.return_location_id {
            Some(id) => Ok(load(ctx, LocationId(id)).await?.map(Location)),
            None => Ok(None),
        }
    }
    /// The refund paying for it, once received.
    async fn refund(&self, ctx: &Context<'_>) -> Result<Option<Refund>> {
        Ok(load(ctx, RefundOfReturn(ReturnId(self.0.id)))
            .await?
            .map(Refund))
    }
    /// When it was asked for.
    async fn requested_at(&self) -> Timestamp {
        Timestamp(self.0.requested_at)
    }
    /// When it last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.updated_at)
    }
}

/// Units of one order line on a return, with the order's currency.
pub struct ReturnLine(pub return_line::Model, pub String);

/// Units of one order line on a return.
#[Object]
impl ReturnLine {
    /// Opaque global ID (pass it to `receiveReturn`).
    async fn id(&self) -> ID {
        global_id(Kind::ReturnLine, self.0.id)
    }
    /// The order line the units belong to.
    async fn order_line(&self, ctx: &Context<'_>) -> Result<OrderLine> {
        Ok(OrderLine(
            load_required(ctx, OrderLineId(self.0.order_line_id)).await?,
            self.1.clone(),
        ))
    }
    /// Units asked back.
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }
    /// Why.
    async fn reason(&self) -> ReturnReason {
        self.0.reason.into()
    }
    /// The customer's words about this line.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// Units that arrived (0 until received).
    async fn quantity_received(&self) -> i32 {
        self.0.quantity_received
    }
    /// What became of the units that arrived.
    async fn disposition(&self) -> Option<ReturnDisposition> {
        self.0.disposition.map(Into::into)
    }
}

/// Money given back on an order's payment.
pub struct Refund(pub refund::Model);

/// Money given back to the original payment: for a return, or as goodwill.
#[Object]
impl Refund {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(Kind::Refund, self.0.id)
    }
    /// The order refunded.
    async fn order(&self, ctx: &Context<'_>) -> Result<Order> {
        Ok(Order(load_required(ctx, OrderId(self.0.order_id)).await?))
    }
    /// How much, shipping included.
    async fn amount(&self) -> Money {
        Money::from_minor(self.0.amount, &self.0.currency)
    }
    /// Why (a return's number, or the reason staff gave).
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// Where it stands with the payment provider.
    async fn status(&self) -> RefundStatus {
        self.0.status.into()
    }
    /// The return it pays for, if any.
    async fn r#return(&self, ctx: &Context<'_>) -> Result<Option<Return>> {
        match self.0.return_id {
            Some(id) => Ok(load(ctx, ReturnId(id)).await?.map(Return)),
            None => Ok(None),
        }
    }
    /// When it was decided.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
}

/// What of an order line may still be asked back, with the order's currency.
pub struct ReturnableLine(pub Returnable, pub String);

/// Delivered units of one order line that may still be asked back, and until when.
#[Object]
impl ReturnableLine {
    /// The order line.
    async fn order_line(&self, ctx: &Context<'_>) -> Result<OrderLine> {
        Ok(OrderLine(
            load_required(ctx, self.0.order_line).await?,
            self.1.clone(),
        ))
    }
    /// Units that may still be asked back.
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }
    /// The last day (in the customer's time zone) they may be asked back.
    async fn returnable_until(&self) -> Date {
        Date(self.0.until)
    }
}
