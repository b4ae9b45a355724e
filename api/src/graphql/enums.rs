//! The GraphQL faces of the domain's enums (same variants, converted both ways).

use async_graphql::Enum;

/// Summary status of an order, derived from its payments, fulfilment orders and returns.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::status::OrderStatus")]
pub enum OrderStatus {
    /// Placed; payment not yet authorised (e.g. the manual provider).
    PendingPayment,
    /// Paid (authorised) and allocated; nothing picked yet.
    Confirmed,
    /// A warehouse is picking or packing.
    InProgress,
    /// Some fulfilment orders have shipped.
    PartiallyShipped,
    /// Everything has shipped.
    Shipped,
    /// Some fulfilment orders are delivered.
    PartiallyDelivered,
    /// Everything is delivered.
    Delivered,
    /// Cancelled before anything shipped.
    Cancelled,
}

/// Status of a payment.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::status::PaymentStatus")]
pub enum PaymentStatus {
    /// Recorded, not yet authorised.
    Pending,
    /// Authorised; nothing captured yet.
    Authorized,
    /// Part of the authorisation has been captured (what has shipped).
    PartiallyCaptured,
    /// Fully captured.
    Captured,
    /// Part of the captured amount was refunded.
    PartiallyRefunded,
    /// Everything captured was refunded.
    Refunded,
    /// The provider declined or failed.
    Failed,
    /// The authorisation was released without capture.
    Voided,
}

/// Status of a fulfilment order (what one location ships).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::status::FulfillmentStatus")]
pub enum FulfillmentStatus {
    /// Waiting to be picked.
    Open,
    /// Being picked.
    Picking,
    /// Packed, waiting for the carrier.
    Packed,
    /// Handed to the carrier.
    Shipped,
    /// Moving through the carrier's network.
    InTransit,
    /// On the delivery vehicle.
    OutForDelivery,
    /// Delivered.
    Delivered,
    /// Delayed or a failed attempt; may return to in transit.
    DeliveryException,
    /// Cancelled before shipping.
    Cancelled,
}

/// Shipping speed.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::status::ShippingMethod")]
pub enum ShippingMethod {
    /// 5 business days in transit.
    Standard,
    /// 2 business days in transit.
    Express,
    /// 1 business day in transit.
    Overnight,
}

/// Kind of location.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::status::LocationKind")]
pub enum LocationKind {
    /// A warehouse or distribution centre.
    Warehouse,
    /// A retail store that also ships.
    Store,
}

/// How an order was split across locations.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::status::RoutingStrategy")]
pub enum RoutingStrategy {
    /// One location ships everything.
    Single,
    /// Several locations ship parts of the order.
    Split,
}

/// What an order event records.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::status::OrderEventType")]
pub enum OrderEventType {
    /// The order was placed.
    Placed,
    /// Payment was authorised.
    PaymentAuthorized,
    /// Payment was captured (on shipment).
    PaymentCaptured,
    /// Payment failed.
    PaymentFailed,
    /// Stock was reserved at the routed locations.
    Allocated,
    /// A location started picking.
    PickingStarted,
    /// A fulfilment order was packed.
    Packed,
    /// A fulfilment order shipped.
    Shipped,
    /// The carrier reports the parcel in transit.
    InTransit,
    /// The parcel is out for delivery.
    OutForDelivery,
    /// The parcel was delivered.
    Delivered,
    /// The carrier reports a delay or failed attempt.
    DeliveryException,
    /// The delivery estimate became tomorrow.
    ArrivingTomorrow,
    /// The order (or its unshipped part) was cancelled.
    Cancelled,
    /// A note the customer may read was added.
    NoteAdded,
    /// Money for a `manual` order arrived and was recorded.
    PaymentRecorded,
    /// Money went back to the customer (a return's refund or a goodwill refund).
    Refunded,
    /// The order's lines, quantities or shipping method were changed.
    OrderEdited,
    /// The shipping address was changed.
    AddressChanged,
    /// The customer (or staff for them) asked to send units back.
    ReturnRequested,
    /// Staff approved a return and said where it goes.
    ReturnApproved,
    /// Staff declined a return.
    ReturnDeclined,
    /// The return parcel is on its way back (carrier and tracking known).
    ReturnInTransit,
    /// The return arrived and was inspected (restocked or disposed).
    ReturnReceived,
    /// Staff added an internal note (never shown to customers).
    InternalNoteAdded,
}

/// Who may read an order note.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::status::NoteVisibility")]
pub enum NoteVisibility {
    /// Staff and partners only.
    Internal,
    /// The customer too (shown in their portal and streams).
    Customer,
}

/// Status of a return (RMA).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::status::ReturnStatus")]
pub enum ReturnStatus {
    /// Asked for; staff decide.
    Requested,
    /// Approved: the customer may send the units back.
    Approved,
    /// Declined (see `declineReason`); nothing goes back.
    Declined,
    /// On its way back.
    InTransit,
    /// Arrived and inspected; the refund is under way (or failed: see `refund`).
    Received,
    /// Refunded: done.
    Refunded,
    /// Withdrawn before the units arrived.
    Cancelled,
}

/// Where an order stands with returns.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::status::OrderReturnStatus")]
pub enum OrderReturnStatus {
    /// A return was asked for and waits for a decision.
    ReturnRequested,
    /// A return is approved, on its way back or being inspected.
    ReturnInProgress,
    /// Some delivered units came back and were refunded.
    PartiallyReturned,
    /// Every delivered unit came back and was refunded.
    Returned,
}

/// Why a customer sends something back.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::status::ReturnReason")]
pub enum ReturnReason {
    /// Arrived damaged.
    Damaged,
    /// Does not work.
    Defective,
    /// Not what was ordered.
    WrongItem,
    /// Not as the listing described it.
    NotAsDescribed,
    /// Wrong size or does not fit.
    SizeOrFit,
    /// The customer changed their mind.
    ChangedMind,
    /// Something else (say what in `note`).
    Other,
}

/// What becomes of returned units.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::status::ReturnDisposition")]
pub enum ReturnDisposition {
    /// Back on the shelf: on hand at the return location again.
    Restock,
    /// Written off: not sellable.
    Dispose,
}

/// Where a refund stands with the payment provider.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::status::RefundStatus")]
pub enum RefundStatus {
    /// Committed; the provider is being asked.
    Pending,
    /// The provider paid it back.
    Succeeded,
    /// The provider call failed; retrying the same request (same idempotency key, or
    /// `receiveReturn` again) asks again, never paying twice.
    Failed,
}

/// How an order list is sorted.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum OrderSortKey {
    /// When the order was placed (newest first unless `reverse`).
    #[default]
    PlacedAt,
    /// When the order last changed (newest first unless `reverse`).
    UpdatedAt,
    /// Order number (ascending unless `reverse`).
    Number,
    /// Order total (ascending unless `reverse`).
    Total,
    /// Internal id (ascending unless `reverse`).
    Id,
}

impl From<OrderSortKey> for crate::service::orders::OrderSort {
    fn from(key: OrderSortKey) -> Self {
        match key {
            OrderSortKey::PlacedAt => Self::PlacedAt,
            OrderSortKey::UpdatedAt => Self::UpdatedAt,
            OrderSortKey::Number => Self::Number,
            OrderSortKey::Total => Self::Total,
            OrderSortKey::Id => Self::Id,
        }
    }
}

/// What a webhook subscription listens to. Every order event is delivered under one topic.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::status::WebhookTopic")]
pub enum WebhookTopic {
    /// An order was placed.
    OrderPlaced,
    /// Anything else about an order changed: payment, allocation, picking, packing, carrier
    /// scans, delays, edits, address changes, customer-visible notes.
    OrderUpdated,
    /// An order was cancelled.
    OrderCancelled,
    /// A parcel left a location with its carrier and tracking number.
    FulfillmentShipped,
    /// A parcel was delivered.
    FulfillmentDelivered,
    /// A parcel's delivery is tomorrow in the customer's time zone.
    DeliveryArrivingTomorrow,
    /// A return was requested, approved, declined, shipped back or received.
    ReturnUpdated,
    /// Money went back to the customer.
    RefundCreated,
}

/// Where one webhook delivery stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::status::WebhookDeliveryStatus")]
pub enum WebhookDeliveryStatus {
    /// Queued; not yet attempted, or waiting for an earlier event of the same order.
    Pending,
    /// Answered with a 2xx.
    Delivered,
    /// An attempt failed; the next is due at `nextAttemptAt`.
    Retrying,
    /// Every allowed attempt failed; kept, and `redeliverWebhook` sends it again.
    Failed,
}

/// What a customer is told about.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::status::NotificationKind")]
pub enum NotificationKind {
    /// The order was placed and confirmed.
    OrderConfirmed,
    /// A parcel shipped, with carrier, tracking number and link.
    OrderShipped,
    /// A parcel arrives tomorrow (the customer's tomorrow).
    ArrivingTomorrow,
    /// A parcel is out for delivery.
    OutForDelivery,
    /// A parcel was delivered.
    Delivered,
    /// A parcel is delayed.
    DeliveryDelayed,
    /// The order was cancelled.
    OrderCancelled,
    /// A return was approved.
    ReturnApproved,
    /// Money went back to the customer.
    RefundIssued,
}

/// How a customer is told.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::status::NotificationChannel")]
pub enum NotificationChannel {
    /// E-mail to the customer's address.
    Email,
    /// A text message to the customer's phone (no SMS gateway yet: rendered and logged).
    Sms,
}

/// Where one notification stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::status::NotificationStatus")]
pub enum NotificationStatus {
    /// Waiting to be sent (again, after a failed attempt).
    Queued,
    /// Handed to the sender (the SMTP server accepted it, or the log took it).
    Sent,
    /// Every attempt failed; kept.
    Failed,
    /// Not sent: the customer turned the channel off, or has no phone number for SMS.
    Skipped,
}
