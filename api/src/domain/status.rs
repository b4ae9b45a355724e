//! The status enums of every state machine and the other closed vocabularies. They are
//! defined beside the models that store them (`entity::status`, plain enums with their
//! stored spelling, `SCREAMING_SNAKE_CASE`); their rules live here, in `lifecycle`.

pub use entity::status::{
    FulfillmentStatus, LocationKind, NoteVisibility, NotificationChannel, NotificationKind,
    NotificationStatus, OrderEventType, OrderReturnStatus, OrderStatus, PaymentAttemptStatus,
    PaymentOperationKind, PaymentStatus, ProviderCallStatus, RefundStatus, ReturnDisposition,
    ReturnReason, ReturnStatus, RoutingStrategy, ShippingMethod, WebhookDeliveryStatus,
    WebhookTopic,
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use strum::IntoEnumIterator;

    #[test]
    fn stored_spelling_round_trips() {
        for status in FulfillmentStatus::iter() {
            assert_eq!(FulfillmentStatus::from_str(status.as_ref()), Ok(status));
        }
        assert_eq!(OrderStatus::PartiallyShipped.as_ref(), "PARTIALLY_SHIPPED");
        assert_eq!(
            OrderEventType::from_str("ARRIVING_TOMORROW"),
            Ok(OrderEventType::ArrivingTomorrow)
        );
    }
}
