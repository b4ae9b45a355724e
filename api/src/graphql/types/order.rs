//! Orders, their lines, payments, events and routing decision.

use async_graphql::{Context, ID, Object, Result};
use entity::{order, order_event, order_line, payment};

use super::catalog::{Location, Sku};
use super::customer::Customer;
use super::fulfillment::FulfillmentOrder;
use super::global_id;
use super::returns::{Refund, Return, ReturnableLine};
use crate::domain::ids::{CustomerId, FulfillmentOrderId, LocationId, OrderId, SkuId};
use crate::gid::Kind;
use crate::graphql::enums::{
    OrderEventType, OrderReturnStatus, OrderStatus, PaymentStatus, RoutingStrategy, ShippingMethod,
};
use crate::graphql::error::{invalid_argument, query_error};
use crate::graphql::guard::{can_read_note, can_see_event, principal};
use crate::graphql::loaders::{
    FulfillmentOrdersOf, LinesOf, NotesOf, PaymentsOf, RefundsOf, ReturnableOf, ReturnsOf, load,
    load_list, load_required,
};
use crate::graphql::scalars::{Address, Money, Timestamp};
use crate::service::Store;

/// Most events one `Order.events` call returns.
const MAX_EVENTS: i32 = 500;

/// An order.
pub struct Order(pub order::Model);

impl Order {
    fn money(&self, minor: i64) -> Money {
        Money::from_minor(minor, &self.0.currency)
    }
}

/// An order: what a customer bought, where it ships from, and where it stands.
#[Object]
impl Order {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(Kind::Order, self.0.id)
    }
    /// Human-facing order number, e.g. `#1001`.
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// Optimistic-concurrency version; pass it as `expectedVersion` to guard a change.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Summary status, derived from payments, fulfilment orders and returns.
    async fn status(&self) -> Result<OrderStatus> {
        Ok(self.0.status.into())
    }
    /// Summary of the order's payments.
    async fn payment_status(&self) -> Result<PaymentStatus> {
        Ok(self.0.payment_status.into())
    }
    /// Who placed the order.
    async fn customer(&self, ctx: &Context<'_>) -> Result<Customer> {
        Ok(Customer(
            load_required(ctx, CustomerId(self.0.customer_id)).await?,
        ))
    }
    /// Sales channel code, e.g. `web`.
    async fn channel(&self) -> &str {
        &self.0.channel
    }
    /// What was bought.
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<OrderLine>> {
        let currency = &self.0.currency;
        Ok(load_list(ctx, LinesOf(OrderId(self.0.id)))
            .await?
            .into_iter()
            .map(|l| OrderLine(l, currency.clone()))
            .collect())
    }
    /// One per shipping location.
    async fn fulfillment_orders(&self, ctx: &Context<'_>) -> Result<Vec<FulfillmentOrder>> {
        Ok(load_list(ctx, FulfillmentOrdersOf(OrderId(self.0.id)))
            .await?
            .into_iter()
            .map(FulfillmentOrder)
            .collect())
    }
    /// Payments, oldest first.
    async fn payments(&self, ctx: &Context<'_>) -> Result<Vec<Payment>> {
        Ok(load_list(ctx, PaymentsOf(OrderId(self.0.id)))
            .await?
            .into_iter()
            .map(Payment)
            .collect())
    }
    /// History: events with `sequence` greater than `afterSequence` (default 0), oldest
    /// first, at most `first` (default and maximum 500).
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, 500, child_complexity)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only events after this sequence.")] after_sequence: Option<i32>,
        #[graphql(desc = "At most this many events (at most 500; default all, up to 500).")] first: Option<i32>,
    ) -> Result<Vec<OrderEvent>> {
        let limit = first.unwrap_or(MAX_EVENTS);
        if !(0..=MAX_EVENTS).contains(&limit) {
            return Err(invalid_argument(crate::domain::ValidationError::new(
                "first",
                format!("must be between 0 and {MAX_EVENTS}"),
            )));
        }
        let rows = ctx
            .data::<Store>()?
            .order_events(
                OrderId(self.0.id),
                after_sequence.unwrap_or(0).max(0),
                limit as u64,
            )
            .await
            .map_err(query_error)?;
        let who = principal(ctx);
        Ok(rows
            .into_iter()
            .filter(|e| can_see_event(who, e.event_type))
            .map(OrderEvent)
            .collect())
    }
    /// Whether the caller may edit the order now (`editOrder`): nothing picked, not
    /// cancelled, and for customers within their edit window.
    async fn editable(&self, ctx: &Context<'_>) -> Result<bool> {
        let who = principal(ctx);
        let editor = match who {
            crate::auth::Principal::Customer(_) => crate::service::editing::Editor::Customer,
            _ if who.has_scope(crate::auth::Scope::OrdersWrite) => {
                crate::service::editing::Editor::Staff
            }
            _ => return Ok(false),
        };
        let fulfillments: Vec<entity::fulfillment_order::Model> =
            load_list(ctx, FulfillmentOrdersOf(OrderId(self.0.id))).await?;
        Ok(ctx
            .data::<Store>()?
            .edit_refusal(&self.0, &fulfillments, editor)
            .is_none())
    }
    /// Notes, oldest first (customers see CUSTOMER notes only).
    async fn notes(&self, ctx: &Context<'_>) -> Result<Vec<OrderNote>> {
        let who = principal(ctx);
        Ok(load_list(ctx, NotesOf(OrderId(self.0.id)))
            .await?
            .into_iter()
            .filter(|n: &entity::order_note::Model| can_read_note(who, n.visibility))
            .map(OrderNote)
            .collect())
    }
    /// Returns, oldest first.
    async fn returns(&self, ctx: &Context<'_>) -> Result<Vec<Return>> {
        Ok(load_list(ctx, ReturnsOf(OrderId(self.0.id)))
            .await?
            .into_iter()
            .map(Return)
            .collect())
    }
    /// Refunds, oldest first (for returns and goodwill), whatever their status.
    async fn refunds(&self, ctx: &Context<'_>) -> Result<Vec<Refund>> {
        Ok(load_list(ctx, RefundsOf(OrderId(self.0.id)))
            .await?
            .into_iter()
            .map(Refund)
            .collect())
    }
    /// Money the provider has paid back (refunds that SUCCEEDED).
    async fn total_refunded(&self, ctx: &Context<'_>) -> Result<Money> {
        let refunds: Vec<entity::refund::Model> =
            load_list(ctx, RefundsOf(OrderId(self.0.id))).await?;
        Ok(self.money(
            refunds
                .iter()
                .filter(|r| r.status == crate::domain::status::RefundStatus::Succeeded)
                .map(|r| r.amount)
                .sum(),
        ))
    }
    /// Where the order stands with returns; null when nothing was ever asked back (or
    /// every request was declined or withdrawn).
    async fn return_status(&self) -> Option<OrderReturnStatus> {
        self.0.return_status.map(Into::into)
    }
    /// Delivered units that may still be asked back: inside the return window (counted
    /// in the customer's time zone from delivery) and not on another return.
    async fn returnable_lines(&self, ctx: &Context<'_>) -> Result<Vec<ReturnableLine>> {
        Ok(load_list(ctx, ReturnableOf(OrderId(self.0.id)))
            .await?
            .into_iter()
            .map(|l| ReturnableLine(l, self.0.currency.clone()))
            .collect())
    }
    /// Sum of line prices.
    async fn subtotal(&self) -> Money {
        self.money(self.0.subtotal)
    }
    /// Shipping charge.
    async fn shipping_total(&self) -> Money {
        self.money(self.0.shipping_total)
    }
    /// Tax charged.
    async fn tax_total(&self) -> Money {
        self.money(self.0.tax_total)
    }
    /// What the customer pays: subtotal + shipping + tax.
    async fn total(&self) -> Money {
        self.money(self.0.total)
    }
    /// Where the order ships to.
    async fn shipping_address(&self) -> Address {
        let m = &self.0;
        Address {
            name: m.ship_name.clone(),
            line1: m.ship_line1.clone(),
            line2: m.ship_line2.clone(),
            city: m.ship_city.clone(),
            region: m.ship_region.clone(),
            postal_code: m.ship_postal_code.clone(),
            country: m.ship_country.clone(),
            latitude: m.ship_latitude,
            longitude: m.ship_longitude,
        }
    }
    /// Shipping speed.
    async fn shipping_method(&self) -> Result<ShippingMethod> {
        Ok(self.0.shipping_method.into())
    }
    /// Which locations ship the order, and why.
    async fn routing(&self) -> RoutingPlan {
        RoutingPlan(self.0.clone())
    }
    /// Customer's note at checkout.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// Why the order was cancelled, if it was.
    async fn cancel_reason(&self) -> Option<&str> {
        self.0.cancel_reason.as_deref()
    }
    /// When the order was placed.
    async fn placed_at(&self) -> Timestamp {
        Timestamp(self.0.placed_at)
    }
    /// When anything about the order last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.updated_at)
    }
    /// When the order was cancelled.
    async fn cancelled_at(&self) -> Option<Timestamp> {
        self.0.cancelled_at.map(Timestamp)
    }
}

/// One SKU and quantity on an order, with the order's currency.
pub struct OrderLine(pub order_line::Model, pub String);

/// One SKU and quantity on an order, priced when placed.
// `serial` (see `Money`): only `sku` can wait, and the lines of a list still resolve
// side by side, so the SKUs of all of them are still one batch.
#[Object(serial)]
impl OrderLine {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(Kind::OrderLine, self.0.id)
    }
    /// What was bought.
    async fn sku(&self, ctx: &Context<'_>) -> Result<Sku> {
        Ok(Sku(load_required(ctx, SkuId(self.0.sku_id)).await?))
    }
    /// Units ordered.
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }
    /// Unit price when the order was placed.
    async fn unit_price(&self) -> Money {
        Money::from_minor(self.0.unit_price, &self.1)
    }
    /// Units shipped.
    async fn quantity_fulfilled(&self) -> i32 {
        self.0.quantity_fulfilled
    }
    /// Units cancelled.
    async fn quantity_cancelled(&self) -> i32 {
        self.0.quantity_cancelled
    }
}

/// A payment of an order through a provider.
pub struct Payment(pub payment::Model);

/// A payment of an order through a provider. Capture follows shipment.
#[Object]
impl Payment {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(Kind::Payment, self.0.id)
    }
    /// Provider name, e.g. `test` or `manual`.
    async fn provider(&self) -> &str {
        &self.0.provider
    }
    /// Status.
    async fn status(&self) -> Result<PaymentStatus> {
        Ok(self.0.status.into())
    }
    /// Amount authorised.
    async fn amount_authorized(&self) -> Money {
        Money::from_minor(self.0.amount_authorized, &self.0.currency)
    }
    /// Amount captured so far.
    async fn amount_captured(&self) -> Money {
        Money::from_minor(self.0.amount_captured, &self.0.currency)
    }
    /// Amount refunded so far.
    async fn amount_refunded(&self) -> Money {
        Money::from_minor(self.0.amount_refunded, &self.0.currency)
    }
    /// When the payment was created.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
}

/// One entry in an order's history.
pub struct OrderEvent(pub order_event::Model);

/// One entry in an order's history; `sequence` counts 1, 2, 3… per order without gaps.
#[Object]
impl OrderEvent {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(Kind::OrderEvent, self.0.id)
    }
    /// Position in the order's history (1-based, gap-free). Resume subscriptions after it.
    async fn sequence(&self) -> i32 {
        self.0.sequence
    }
    /// What happened.
    #[graphql(name = "type")]
    async fn event_type(&self) -> Result<OrderEventType> {
        Ok(self.0.event_type.into())
    }
    /// When it happened.
    async fn occurred_at(&self) -> Timestamp {
        Timestamp(self.0.occurred_at)
    }
    /// The order.
    async fn order(&self, ctx: &Context<'_>) -> Result<Order> {
        Ok(Order(load_required(ctx, OrderId(self.0.order_id)).await?))
    }
    /// The fulfilment order it concerns, if any.
    async fn fulfillment_order(&self, ctx: &Context<'_>) -> Result<Option<FulfillmentOrder>> {
        match self.0.fulfillment_order_id {
            Some(id) => Ok(load(ctx, FulfillmentOrderId(id))
                .await?
                .map(FulfillmentOrder)),
            None => Ok(None),
        }
    }
    /// The return it concerns, if any.
    async fn r#return(&self, ctx: &Context<'_>) -> Result<Option<Return>> {
        match self.0.return_id {
            Some(id) => Ok(load(ctx, crate::domain::ids::ReturnId(id))
                .await?
                .map(Return)),
            None => Ok(None),
        }
    }
    /// A human-readable detail.
    async fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }
}

/// Which locations ship an order, and why.
pub struct RoutingPlan(order::Model);

/// Which locations ship an order, and why.
#[Object]
impl RoutingPlan {
    /// Single location or split.
    async fn strategy(&self) -> Result<RoutingStrategy> {
        Ok(self.0.routing_strategy.into())
    }
    /// Why, e.g. "single location, 12 km" or "split: 2 locations".
    async fn reason(&self) -> &str {
        &self.0.routing_reason
    }
    /// The chosen locations, in fulfilment-order order.
    async fn locations(&self, ctx: &Context<'_>) -> Result<Vec<Location>> {
        let fos: Vec<entity::fulfillment_order::Model> =
            load_list(ctx, FulfillmentOrdersOf(OrderId(self.0.id))).await?;
        let mut ids: Vec<i64> = fos.iter().map(|fo| fo.location_id).collect();
        let mut seen = std::collections::HashSet::new();
        ids.retain(|id| seen.insert(*id));
        let loaded = futures_util::future::try_join_all(
            ids.into_iter().map(|id| load_required(ctx, LocationId(id))),
        )
        .await?;
        Ok(loaded.into_iter().map(Location).collect())
    }
}

/// A note on an order.
pub struct OrderNote(pub entity::order_note::Model);

/// A note on an order: INTERNAL for staff and partners, CUSTOMER for the customer too.
#[Object]
impl OrderNote {
    /// Opaque ID.
    async fn id(&self) -> ID {
        global_id(Kind::OrderNote, self.0.id)
    }
    /// The text.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// Who may read it.
    async fn visibility(&self) -> crate::graphql::enums::NoteVisibility {
        self.0.visibility.into()
    }
    /// Who wrote it: a staff member, a partner, or "customer".
    async fn author(&self) -> &str {
        &self.0.author
    }
    /// When it was written.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
}
