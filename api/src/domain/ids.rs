//! Typed identifiers, so an order id can never be passed where a SKU id is expected.

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// Primary key of a customer.
    CustomerId,
    /// Primary key of a location (warehouse or store).
    LocationId,
    /// Primary key of a SKU.
    SkuId,
    /// Primary key of an inventory level (location × SKU).
    InventoryLevelId,
    /// Primary key of an order.
    OrderId,
    /// Primary key of an order line.
    OrderLineId,
    /// Primary key of a fulfilment order.
    FulfillmentOrderId,
    /// Primary key of a payment.
    PaymentId,
    /// Primary key of an order event.
    OrderEventId,
    /// Primary key of a return.
    ReturnId,
    /// Primary key of a return line.
    ReturnLineId,
    /// Primary key of a refund.
    RefundId,
    /// Primary key of a webhook subscription.
    WebhookSubscriptionId,
    /// Primary key of a webhook delivery.
    WebhookDeliveryId,
);
