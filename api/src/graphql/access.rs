//! Who may run which operation: every root field of Query, Mutation and Subscription has
//! exactly one rule in [`ROOT_RULES`], checked once per request after validation and
//! before anything executes — HTTP and WebSocket alike. A root field without a rule is
//! refused for everyone (and logged), and a test fails, so a new operation cannot ship
//! open by accident. Row rules (whose order is this?) live in `guard.rs`.

use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{ServerError, ServerResult, ValidationResult, Variables};

use super::document::root_fields;
use super::error_codes::coded;
use super::guard::Access;
use crate::auth::{Principal, Scope};

/// The rule of every root field, as `Type.field`. Keep sorted by type, then field.
pub const ROOT_RULES: &[(&str, Access)] = &[
    ("Query.channelSummary", Access::StaffOr(Scope::OrdersRead)),
    ("Query.channels", Access::Authenticated),
    ("Query.customer", Access::Authenticated),
    ("Query.customers", Access::StaffOr(Scope::CustomersRead)),
    (
        "Query.fulfillmentOrders",
        Access::StaffOr(Scope::FulfillmentWrite),
    ),
    ("Query.locations", Access::Authenticated),
    ("Query.me", Access::Authenticated),
    ("Query.node", Access::Authenticated),
    ("Query.nodes", Access::Authenticated),
    (
        "Query.notifications",
        Access::CustomerOr(Scope::CustomersRead),
    ),
    ("Query.order", Access::CustomerOr(Scope::OrdersRead)),
    ("Query.orderByNumber", Access::CustomerOr(Scope::OrdersRead)),
    ("Query.orders", Access::CustomerOr(Scope::OrdersRead)),
    ("Query.return", Access::CustomerOr(Scope::OrdersRead)),
    ("Query.returns", Access::CustomerOr(Scope::OrdersRead)),
    ("Query.sku", Access::Authenticated),
    ("Query.skus", Access::Authenticated),
    ("Query.apiKeys", Access::Staff),
    (
        "Query.webhookDeliveries",
        Access::StaffOr(Scope::WebhooksWrite),
    ),
    (
        "Query.webhookSubscriptions",
        Access::StaffOr(Scope::WebhooksWrite),
    ),
    (
        "Mutation.adjustInventory",
        Access::StaffOr(Scope::InventoryWrite),
    ),
    (
        "Mutation.cancelOrder",
        Access::CustomerOr(Scope::OrdersWrite),
    ),
    (
        "Mutation.addOrderNote",
        Access::CustomerOr(Scope::OrdersWrite),
    ),
    (
        "Mutation.addCustomerAddress",
        Access::CustomerOr(Scope::CustomersWrite),
    ),
    (
        "Mutation.approveReturn",
        Access::StaffOr(Scope::OrdersWrite),
    ),
    ("Mutation.createApiKey", Access::Staff),
    ("Mutation.createChannel", Access::Staff),
    (
        "Mutation.createWebhookSubscription",
        Access::StaffOr(Scope::WebhooksWrite),
    ),
    (
        "Mutation.deleteWebhookSubscription",
        Access::StaffOr(Scope::WebhooksWrite),
    ),
    (
        "Mutation.redeliverWebhook",
        Access::StaffOr(Scope::WebhooksWrite),
    ),
    (
        "Mutation.createCustomer",
        Access::StaffOr(Scope::CustomersWrite),
    ),
    (
        "Mutation.createLocation",
        Access::StaffOr(Scope::InventoryWrite),
    ),
    (
        "Mutation.declineReturn",
        Access::StaffOr(Scope::OrdersWrite),
    ),
    (
        "Mutation.deleteCustomerAddress",
        Access::CustomerOr(Scope::CustomersWrite),
    ),
    (
        "Mutation.updateCustomer",
        Access::CustomerOr(Scope::CustomersWrite),
    ),
    ("Mutation.editOrder", Access::CustomerOr(Scope::OrdersWrite)),
    (
        "Mutation.markPacked",
        Access::StaffOr(Scope::FulfillmentWrite),
    ),
    (
        "Mutation.placeOrder",
        Access::CustomerOr(Scope::OrdersWrite),
    ),
    (
        "Mutation.recordDeliveryEvent",
        Access::StaffOr(Scope::FulfillmentWrite),
    ),
    (
        "Mutation.receiveReturn",
        Access::StaffOr(Scope::OrdersWrite),
    ),
    (
        "Mutation.recordPayment",
        Access::StaffOr(Scope::OrdersWrite),
    ),
    (
        "Mutation.recordReturnShipment",
        Access::CustomerOr(Scope::OrdersWrite),
    ),
    ("Mutation.refundOrder", Access::StaffOr(Scope::OrdersWrite)),
    ("Mutation.reorder", Access::CustomerOr(Scope::OrdersWrite)),
    (
        "Mutation.requestReturn",
        Access::CustomerOr(Scope::OrdersWrite),
    ),
    ("Mutation.revokeApiKey", Access::Staff),
    (
        "Mutation.setInventory",
        Access::StaffOr(Scope::InventoryWrite),
    ),
    (
        "Mutation.shipFulfillmentOrder",
        Access::StaffOr(Scope::FulfillmentWrite),
    ),
    (
        "Mutation.startPicking",
        Access::StaffOr(Scope::FulfillmentWrite),
    ),
    ("Mutation.upsertSku", Access::StaffOr(Scope::InventoryWrite)),
    (
        "Subscription.customerOrderUpdates",
        Access::CustomerOr(Scope::OrdersRead),
    ),
    (
        "Subscription.deliveryUpdates",
        Access::CustomerOr(Scope::OrdersRead),
    ),
    (
        "Subscription.fulfillmentQueue",
        Access::StaffOr(Scope::FulfillmentWrite),
    ),
    ("Subscription.inventoryChanged", Access::Authenticated),
    (
        "Subscription.orderUpdated",
        Access::CustomerOr(Scope::OrdersRead),
    ),
    (
        "Subscription.returnUpdated",
        Access::CustomerOr(Scope::OrdersRead),
    ),
];

/// The rule of root field `field` of the operation type `ty`, if it has one.
pub fn root_rule(ty: OperationType, field: &str) -> Option<Access> {
    let type_name = root_type_name(ty);
    ROOT_RULES.iter().find_map(|(path, access)| {
        let (t, f) = path.split_once('.')?;
        (t == type_name && f == field).then_some(*access)
    })
}

/// `Query`, `Mutation` or `Subscription`.
pub fn root_type_name(ty: OperationType) -> &'static str {
    match ty {
        OperationType::Query => "Query",
        OperationType::Mutation => "Mutation",
        OperationType::Subscription => "Subscription",
    }
}

/// The extension that checks [`ROOT_RULES`]; one per schema.
#[derive(Debug, Clone, Copy)]
pub struct AccessCheck {
    /// Whether anonymous callers may introspect the schema.
    pub public_introspection: bool,
}

impl ExtensionFactory for AccessCheck {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AccessRun {
            public_introspection: self.public_introspection,
            roots: Mutex::new(Vec::new()),
        })
    }
}

struct AccessRun {
    public_introspection: bool,
    /// The root fields the document asks for, read when it is parsed.
    roots: Mutex<Vec<(OperationType, String)>>,
}

impl AccessRun {
    /// Checks the rule of every root field the document asks for.
    fn authorize(&self, who: &Principal) -> Result<(), ServerError> {
        let roots = std::mem::take(
            &mut *self
                .roots
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for (ty, field) in &roots {
            match field.as_str() {
                "__typename" => continue,
                "__schema" | "__type" => {
                    if self.public_introspection || !matches!(who, Principal::Anonymous) {
                        continue;
                    }
                    return Err(coded("UNAUTHENTICATED", "sign in to introspect the schema"));
                }
                _ => {}
            }
            let Some(rule) = root_rule(*ty, field) else {
                tracing::error!(
                    field = %format!("{}.{field}", root_type_name(*ty)),
                    "root field has no access rule: refused"
                );
                return Err(coded("FORBIDDEN", "you are not allowed to do this"));
            };
            if let Err((code, message)) = rule.check(who) {
                return Err(coded(code, message));
            }
        }
        Ok(())
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for AccessRun {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        *self
            .roots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = root_fields(&doc);
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let who = ctx.data_opt::<Principal>().unwrap_or(&Principal::Anonymous);
        self.authorize(who).map_err(|e| vec![e])?;
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every root field has exactly one rule, and every rule names a root field.
    #[tokio::test]
    async fn every_root_field_has_a_rule() {
        let schema = crate::graphql::build_schema(
            crate::service::Store::disconnected(),
            Arc::default(),
            crate::config::Limits::default(),
        );
        let body = schema
            .execute(
                "{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }",
            )
            .await
            .data
            .into_json()
            .unwrap();
        let mut fields = Vec::new();
        for (ty, key) in [
            ("Query", "queryType"),
            ("Mutation", "mutationType"),
            ("Subscription", "subscriptionType"),
        ] {
            for field in body["__schema"][key]["fields"].as_array().unwrap() {
                fields.push(format!("{ty}.{}", field["name"].as_str().unwrap()));
            }
        }
        let ruled: Vec<String> = ROOT_RULES.iter().map(|(p, _)| (*p).to_owned()).collect();
        let unruled: Vec<&String> = fields.iter().filter(|f| !ruled.contains(f)).collect();
        assert!(
            unruled.is_empty(),
            "root fields without a rule in ROOT_RULES: {unruled:?}"
        );
        let stale: Vec<&String> = ruled.iter().filter(|r| !fields.contains(r)).collect();
        assert!(
            stale.is_empty(),
            "rules for fields that do not exist: {stale:?}"
        );
        let mut unique = ruled.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ruled.len(), "a root field has two rules");
    }
}
