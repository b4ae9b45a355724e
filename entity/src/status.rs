//! The closed vocabularies stored in status columns, as `DeriveActiveEnum`s: a model's
//! `status` is an enum, never a string to decode. Stored (and sent on the event bus) in
//! `SCREAMING_SNAKE_CASE`, the same spelling as the GraphQL enums. The state machines
//! over them live in `orderly::domain`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

macro_rules! stored_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, DeriveActiveEnum,
            Serialize, Deserialize, strum::AsRefStr, strum::Display, strum::EnumString,
        )]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)", rename_all = "SCREAMING_SNAKE_CASE")]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        #[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name { $($(#[$vdoc])* $variant),* }
    };
}

stored_enum!(
    /// Derived summary of an order, from its payments, fulfilment orders and returns.
    OrderStatus { PendingPayment, Confirmed, InProgress, PartiallyShipped, Shipped, PartiallyDelivered, Delivered, Cancelled }
);
stored_enum!(
    /// State of one payment.
    PaymentStatus { Pending, Authorized, PartiallyCaptured, Captured, PartiallyRefunded, Refunded, Failed, Voided }
);
stored_enum!(
    /// State of one fulfilment order (the part of an order one location ships).
    FulfillmentStatus { Open, Picking, Packed, Shipped, InTransit, OutForDelivery, Delivered, DeliveryException, Cancelled }
);
stored_enum!(
    /// State of a return (RMA).
    ReturnStatus { Requested, Approved, Declined, InTransit, Received, Refunded, Cancelled }
);
stored_enum!(
    /// Where an order stands with returns, derived from its returns (none: never asked).
    OrderReturnStatus { ReturnRequested, ReturnInProgress, PartiallyReturned, Returned }
);
stored_enum!(
    /// How fast an order ships; sets transit business days and the shipping charge.
    ShippingMethod { Standard, Express, Overnight }
);
stored_enum!(
    /// What kind of site a location is.
    LocationKind { Warehouse, Store }
);
stored_enum!(
    /// How an order was routed to locations.
    RoutingStrategy { Single, Split }
);
stored_enum!(
    /// What an order event records.
    OrderEventType {
        Placed, PaymentAuthorized, PaymentCaptured, PaymentFailed, Allocated, PickingStarted, Packed,
        Shipped, InTransit, OutForDelivery, Delivered, DeliveryException, ArrivingTomorrow, Cancelled,
        NoteAdded, PaymentRecorded, Refunded, OrderEdited, AddressChanged, ReturnRequested,
        ReturnApproved, ReturnDeclined, ReturnInTransit, ReturnReceived, InternalNoteAdded,
    }
);
stored_enum!(
    /// What a webhook subscription listens to; every order event maps to one topic.
    WebhookTopic {
        OrderPlaced, OrderUpdated, OrderCancelled, FulfillmentShipped, FulfillmentDelivered,
        DeliveryArrivingTomorrow, ReturnUpdated, RefundCreated,
    }
);
stored_enum!(
    /// Where one webhook delivery stands.
    WebhookDeliveryStatus { Pending, Delivered, Retrying, Failed }
);
stored_enum!(
    /// What a customer is told about.
    NotificationKind {
        OrderConfirmed, OrderShipped, ArrivingTomorrow, OutForDelivery, Delivered,
        DeliveryDelayed, OrderCancelled, ReturnApproved, RefundIssued,
    }
);
stored_enum!(
    /// How a customer is told.
    NotificationChannel { Email, Sms }
);
stored_enum!(
    /// Where one notification stands.
    NotificationStatus { Queued, Sent, Failed, Skipped }
);
stored_enum!(
    /// Who may read an order note.
    NoteVisibility { Internal, Customer }
);
stored_enum!(
    /// Why a customer sends something back.
    ReturnReason { Damaged, Defective, WrongItem, NotAsDescribed, SizeOrFit, ChangedMind, Other }
);
stored_enum!(
    /// What becomes of returned units.
    ReturnDisposition { Restock, Dispose }
);
stored_enum!(
    /// Where a refund stands with the payment provider.
    RefundStatus { Pending, Succeeded, Failed }
);
stored_enum!(
    /// What a payment operation asks of the provider.
    PaymentOperationKind { Capture, Void, Release }
);
stored_enum!(
    /// Where a call to the payment provider stands.
    ProviderCallStatus { Pending, Succeeded, Failed }
);
stored_enum!(
    /// Where an authorisation asked while placing stands: STARTED (the provider may hold
    /// money, no order has it yet), ORDERED (a committed order owns it), DECLINED,
    /// VOIDING (no order will take it; the void is being sent), VOIDED.
    PaymentAttemptStatus { Started, Ordered, Declined, Voiding, Voided }
);

impl FulfillmentStatus {
    /// True once the parcel has left the building (shipped or any later carrier state).
    pub fn has_shipped(self) -> bool {
        matches!(
            self,
            Self::Shipped
                | Self::InTransit
                | Self::OutForDelivery
                | Self::Delivered
                | Self::DeliveryException
        )
    }
}
