//! Fulfilment mutations for warehouses, stores, 3PLs and carriers: `startPicking`,
//! `markPacked`, `shipFulfillmentOrder`, `recordDeliveryEvent` — staff, or partners with
//! `fulfillment:write`.

use crate::graphql::scalars::Timestamp;
use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::Checks;
use crate::domain::ValidationError;
use crate::domain::ids::FulfillmentOrderId;
use crate::domain::status as domain;
use crate::gid::{self, Kind};
use crate::graphql::enums::FulfillmentStatus;
use crate::graphql::error::{UserError, payload};
use crate::graphql::guard::principal;
use crate::graphql::types::fulfillment::FulfillmentOrder;
use crate::service::Store;
use crate::service::fulfillment::{DeliveryUpdate, Shipment};
use crate::service::ordering::Actor;

/// Names a fulfilment order.
#[derive(InputObject)]
pub struct FulfillmentOrderInput {
    /// The fulfilment order.
    pub fulfillment_order_id: ID,
    /// The fulfillment order's `version` you last saw: the change is refused with
    /// `VERSION_CONFLICT` if it has changed since.
    pub expected_version: Option<i32>,
}

/// Hands a packed fulfilment order to a carrier.
#[derive(InputObject)]
pub struct ShipFulfillmentOrderInput {
    /// The fulfilment order (must be `PACKED`).
    pub fulfillment_order_id: ID,
    /// The fulfillment order's `version` you last saw: the change is refused with
    /// `VERSION_CONFLICT` if it has changed since.
    pub expected_version: Option<i32>,
    /// Carrier name, e.g. `UPS`.
    pub carrier: String,
    /// The carrier's tracking number.
    pub tracking_number: String,
    /// The carrier's tracking page (http or https).
    pub tracking_url: Option<String>,
}

/// A carrier or 3PL update on a shipped fulfilment order.
#[derive(InputObject)]
pub struct RecordDeliveryEventInput {
    /// The fulfilment order.
    pub fulfillment_order_id: ID,
    /// The fulfillment order's `version` you last saw: the change is refused with
    /// `VERSION_CONFLICT` if it has changed since.
    pub expected_version: Option<i32>,
    /// `IN_TRANSIT`, `OUT_FOR_DELIVERY`, `DELIVERED` or `DELIVERY_EXCEPTION`.
    pub status: FulfillmentStatus,
    /// When it happened (default: now).
    pub occurred_at: Option<Timestamp>,
    /// The carrier's new estimate, replacing the current one.
    pub estimated_delivery_at: Option<Timestamp>,
    /// Detail for the history, e.g. "Delivery attempted, no one home".
    pub message: Option<String>,
}

/// Result of fulfilment mutations.
#[derive(SimpleObject)]
pub struct FulfillmentOrderPayload {
    /// The changed fulfilment order.
    pub fulfillment_order: Option<FulfillmentOrder>,
    /// Why nothing changed; empty on success.
    pub user_errors: Vec<UserError>,
}

impl FulfillmentOrderPayload {
    fn errors(user_errors: Vec<UserError>) -> Self {
        Self {
            fulfillment_order: None,
            user_errors,
        }
    }
}

fn fulfillment_id(id: &ID) -> Result<FulfillmentOrderId, ValidationError> {
    gid::decode_as(Kind::FulfillmentOrder, id)
        .map(FulfillmentOrderId)
        .ok_or_else(|| ValidationError::new("fulfillmentOrderId", "is not a fulfillment order ID"))
}

fn text(field: &str, value: &str, max: usize) -> Result<String, ValidationError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            format!("must be 1 to {max} printable characters"),
        ));
    }
    Ok(value.to_owned())
}

fn tracking_url(value: Option<String>) -> Result<Option<String>, ValidationError> {
    match value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        Some(url)
            if url.len() > 512
                || !(url.starts_with("https://") || url.starts_with("http://"))
                || url.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Err(ValidationError::new(
                "trackingUrl",
                "must be an http(s) URL of at most 512 characters",
            ))
        }
        other => Ok(other),
    }
}

fn done(
    outcome: crate::service::Result<entity::fulfillment_order::Model>,
) -> Result<FulfillmentOrderPayload> {
    let (fulfillment_order, user_errors) = payload(outcome, FulfillmentOrder)?;
    Ok(FulfillmentOrderPayload {
        fulfillment_order,
        user_errors,
    })
}

/// The steps that need nothing but the fulfilment order.
enum SimpleStep {
    Pick,
    Pack,
}

async fn simple_step(
    ctx: &Context<'_>,
    input: &FulfillmentOrderInput,
    step: SimpleStep,
) -> Result<FulfillmentOrderPayload> {
    let id = match fulfillment_id(&input.fulfillment_order_id) {
        Ok(id) => id,
        Err(e) => return Ok(FulfillmentOrderPayload::errors(vec![e.into()])),
    };
    let actor = Actor {
        name: principal(ctx).actor(),
    };
    let store = ctx.data::<Store>()?;
    done(match step {
        SimpleStep::Pick => {
            store
                .start_picking(id, input.expected_version, &actor)
                .await
        }
        SimpleStep::Pack => store.mark_packed(id, input.expected_version, &actor).await,
    })
}

#[derive(Default)]
pub struct FulfillmentMutation;

#[Object]
impl FulfillmentMutation {
    /// OPEN → PICKING: the location starts picking.
    async fn start_picking(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `FulfillmentOrderInput`.")] input: FulfillmentOrderInput,
    ) -> Result<FulfillmentOrderPayload> {
        simple_step(ctx, &input, SimpleStep::Pick).await
    }

    /// PICKING → PACKED.
    async fn mark_packed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `FulfillmentOrderInput`.")] input: FulfillmentOrderInput,
    ) -> Result<FulfillmentOrderPayload> {
        simple_step(ctx, &input, SimpleStep::Pack).await
    }

    /// PACKED → SHIPPED: stock leaves the location, what ships is captured, and the
    /// delivery estimate is set from the shipping method.
    async fn ship_fulfillment_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `ShipFulfillmentOrderInput`.")]
        input: ShipFulfillmentOrderInput,
    ) -> Result<FulfillmentOrderPayload> {
        let mut checks = Checks::default();
        let id = checks.take(None, fulfillment_id(&input.fulfillment_order_id));
        let carrier = checks.take(None, text("carrier", &input.carrier, 64));
        let tracking_number =
            checks.take(None, text("trackingNumber", &input.tracking_number, 128));
        let tracking_url = checks.take(None, tracking_url(input.tracking_url));
        let (Some(id), Some(carrier), Some(tracking_number), Some(tracking_url)) =
            (id, carrier, tracking_number, tracking_url)
        else {
            return Ok(FulfillmentOrderPayload::errors(checks.into_errors()));
        };
        let actor = Actor {
            name: principal(ctx).actor(),
        };
        let shipment = Shipment {
            carrier,
            tracking_number,
            tracking_url,
        };
        done(
            ctx.data::<Store>()?
                .ship(id, shipment, input.expected_version, &actor)
                .await,
        )
    }

    /// A carrier update on a shipped fulfilment order, optionally with a new estimate.
    async fn record_delivery_event(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `RecordDeliveryEventInput`.")]
        input: RecordDeliveryEventInput,
    ) -> Result<FulfillmentOrderPayload> {
        let mut checks = Checks::default();
        let id = checks.take(None, fulfillment_id(&input.fulfillment_order_id));
        let status: domain::FulfillmentStatus = input.status.into();
        let status = checks.take(
            None,
            if matches!(
                status,
                domain::FulfillmentStatus::InTransit
                    | domain::FulfillmentStatus::OutForDelivery
                    | domain::FulfillmentStatus::Delivered
                    | domain::FulfillmentStatus::DeliveryException
            ) {
                Ok(status)
            } else {
                Err(ValidationError::new(
                    "status",
                    "carriers report IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERED or DELIVERY_EXCEPTION",
                ))
            },
        );
        let message = checks.take(
            None,
            match input.message {
                Some(m) if !m.trim().is_empty() => text("message", &m, 500).map(Some),
                _ => Ok(None),
            },
        );
        let (Some(id), Some(status), Some(message)) = (id, status, message) else {
            return Ok(FulfillmentOrderPayload::errors(checks.into_errors()));
        };
        let actor = Actor {
            name: principal(ctx).actor(),
        };
        let update = DeliveryUpdate {
            status,
            occurred_at: input.occurred_at.map(|t| t.0),
            estimated_delivery_at: input.estimated_delivery_at.map(|t| t.0),
            message,
        };
        done(
            ctx.data::<Store>()?
                .record_delivery_event(id, update, input.expected_version, &actor)
                .await,
        )
    }
}
