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
    /// A note was added.
    NoteAdded,
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
