//! Who may run which operation, and how much of the server one request may take — checked
//! once per request, before any resolver runs, for queries, mutations and subscriptions
//! alike.
//!
//! - Every root field has exactly one rule in [`ROOT_RULES`]. A root field without a rule
//!   is refused for everyone (and logged), and a test fails, so a new operation cannot
//!   ship open by accident. Row rules (whose order is this?) live in `guard.rs`.
//! - Depth, aliases and cost (complexity with page sizes counted) are bounded.
//! - Each principal has a leaky bucket of cost points, Shopify-style: every request's cost
//!   is taken from it, it refills at a steady rate, and the response's
//!   `extensions.cost` tells the client where it stands. Over budget: `RATE_LIMITED`.

use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{Positioned, Response, ServerError, ServerResult, ValidationResult, Variables};

use super::guard::Access;
pub use super::rate_limit::SharedBuckets;
use super::rate_limit::{RateLimiter, Throttle};
use crate::auth::{Principal, Scope};

/// The rule of every root field, as `Type.field`. Keep sorted by type, then field.
pub const ROOT_RULES: &[(&str, Access)] = &[
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
    ("Query.order", Access::CustomerOr(Scope::OrdersRead)),
    ("Query.orderByNumber", Access::CustomerOr(Scope::OrdersRead)),
    ("Query.orders", Access::CustomerOr(Scope::OrdersRead)),
    ("Query.sku", Access::Authenticated),
    ("Query.apiKeys", Access::Staff),
    (
        "Mutation.adjustInventory",
        Access::StaffOr(Scope::InventoryWrite),
    ),
    (
        "Mutation.cancelOrder",
        Access::CustomerOr(Scope::OrdersWrite),
    ),
    ("Mutation.createApiKey", Access::Staff),
    (
        "Mutation.createCustomer",
        Access::StaffOr(Scope::CustomersWrite),
    ),
    (
        "Mutation.createLocation",
        Access::StaffOr(Scope::InventoryWrite),
    ),
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

/// Bounds on one request.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Deepest selection.
    pub max_depth: usize,
    /// Highest cost of one request (every field 1; a page of `first: n` costs n × what
    /// one item selects).
    pub max_complexity: usize,
    /// Most aliased fields in one document.
    pub max_aliases: usize,
    /// Whether anonymous callers may introspect the schema.
    pub public_introspection: bool,
    /// Cost points a principal may hold (0 turns rate limiting off).
    pub budget: f64,
    /// Points restored per second.
    pub restore_per_second: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 12,
            max_complexity: 10_000,
            max_aliases: 30,
            public_introspection: true,
            budget: 20_000.0,
            restore_per_second: 1_000.0,
        }
    }
}

/// What a page of `first`/`last` items costs: the page size (default 20, at most 100)
/// times what one item selects, plus one for the connection itself.
pub fn page_cost(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    let size = first
        .or(last)
        .map_or(20, |n| usize::try_from(n.clamp(0, 100)).unwrap_or(0));
    size.saturating_mul(child).saturating_add(1)
}

/// What a list of at most `limit` items (default `default`) costs.
pub fn list_cost(limit: Option<i32>, default: usize, child: usize) -> usize {
    let size = limit.map_or(default, |n| usize::try_from(n.max(0)).unwrap_or(0));
    size.min(default).saturating_mul(child).saturating_add(1)
}

/// Who pays for an anonymous request: its client address (set by the transport).
#[derive(Debug, Clone)]
pub struct ClientAddress(pub String);

impl ClientAddress {
    /// The peer's IP address (forwarding headers are not trusted).
    pub fn of(req: &actix_web::HttpRequest) -> Self {
        Self(
            req.peer_addr()
                .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string()),
        )
    }
}

/// The extension that enforces all of the above; one per schema.
#[derive(Clone)]
pub struct Policy {
    limits: Arc<Limits>,
    limiter: Arc<RateLimiter>,
}

impl Policy {
    /// A policy whose buckets live in this process.
    pub fn new(limits: Limits) -> Self {
        Self::with_shared_buckets(limits, None)
    }

    /// A policy whose buckets live in Redis (when given), shared by every instance.
    pub fn with_shared_buckets(limits: Limits, shared: Option<SharedBuckets>) -> Self {
        Self {
            limits: Arc::new(limits),
            limiter: Arc::new(RateLimiter::new(shared)),
        }
    }
}

impl ExtensionFactory for Policy {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PolicyRun {
            policy: self.clone(),
            state: Mutex::new(RunState::default()),
        })
    }
}

/// What one request's checks found out, from parsing to execution.
#[derive(Default)]
struct RunState {
    roots: Vec<(OperationType, String)>,
    throttle: Option<Throttle>,
    /// Only `__schema`, `__type` and `__typename` at the root.
    introspection_only: bool,
    /// An introspection list field (`types`, `fields`, …) nested inside itself: output
    /// that grows exponentially with depth.
    introspection_fans_out: bool,
}

struct PolicyRun {
    policy: Policy,
    state: Mutex<RunState>,
}

/// A top-level error with `extensions.code`.
pub fn coded(code: &str, message: impl Into<String>) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
    error
}

/// Gives an error `code` when it has none: every error a client sees carries one.
fn with_code(mut error: ServerError, code: &str) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
    error
}

/// Visits every field of a selection set, following each fragment once.
fn walk_fields<'a>(
    doc: &'a ExecutableDocument,
    set: &'a Positioned<SelectionSet>,
    seen_fragments: &mut Vec<&'a str>,
    visit: &mut dyn FnMut(&'a async_graphql::parser::types::Field, bool),
    root: bool,
) {
    for selection in &set.node.items {
        match &selection.node {
            Selection::Field(field) => {
                visit(&field.node, root);
                walk_fields(doc, &field.node.selection_set, seen_fragments, visit, false);
            }
            Selection::InlineFragment(fragment) => {
                walk_fields(
                    doc,
                    &fragment.node.selection_set,
                    seen_fragments,
                    visit,
                    root,
                );
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                // Each fragment once: cycles are refused later, by validation.
                if !seen_fragments.contains(&name) {
                    seen_fragments.push(name);
                    if let Some(fragment) = doc.fragments.get(&spread.node.fragment_name.node) {
                        walk_fields(
                            doc,
                            &fragment.node.selection_set,
                            seen_fragments,
                            visit,
                            root,
                        );
                    }
                }
            }
        }
    }
}

/// Deepest introspection-only query (the standard one needs 13).
const MAX_INTROSPECTION_DEPTH: usize = 20;

/// Introspection fields that return lists.
const INTROSPECTION_LISTS: &[&str] = &[
    "types",
    "fields",
    "args",
    "inputFields",
    "interfaces",
    "possibleTypes",
    "enumValues",
    "directives",
];

/// Whether a list field of the introspection schema appears twice on one path (also
/// through fragments; cycles count as fanning out).
fn fans_out<'a>(
    doc: &'a ExecutableDocument,
    set: &'a Positioned<SelectionSet>,
    path: &mut Vec<&'a str>,
    depth: usize,
) -> bool {
    if depth > 64 {
        return true;
    }
    set.node
        .items
        .iter()
        .any(|selection| match &selection.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                let list = INTROSPECTION_LISTS.contains(&name);
                if list && path.contains(&name) {
                    return true;
                }
                if list {
                    path.push(name);
                }
                let nested = fans_out(doc, &field.node.selection_set, path, depth + 1);
                if list {
                    path.pop();
                }
                nested
            }
            Selection::InlineFragment(fragment) => {
                fans_out(doc, &fragment.node.selection_set, path, depth + 1)
            }
            Selection::FragmentSpread(spread) => doc
                .fragments
                .get(&spread.node.fragment_name.node)
                .is_some_and(|f| fans_out(doc, &f.node.selection_set, path, depth + 1)),
        })
}

/// The root fields of every operation in `doc`, how many aliases it holds, and whether
/// any argument or default value holds a NUL character.
fn inspect(doc: &ExecutableDocument) -> (Vec<(OperationType, String)>, usize, bool) {
    let mut roots = Vec::new();
    let mut aliases = 0;
    let mut nul = false;
    for (_, operation) in doc.operations.iter() {
        let ty = operation.node.ty;
        nul |= operation.node.variable_definitions.iter().any(|d| {
            d.node
                .default_value
                .as_ref()
                .is_some_and(|v| const_has_nul(&v.node))
        });
        let mut seen = Vec::new();
        walk_fields(
            doc,
            &operation.node.selection_set,
            &mut seen,
            &mut |field, root| {
                if field.alias.is_some() {
                    aliases += 1;
                }
                nul |= field
                    .arguments
                    .iter()
                    .any(|(_, value)| literal_has_nul(&value.node));
                if root {
                    let name = field.name.node.to_string();
                    if !roots.contains(&(ty, name.clone())) {
                        roots.push((ty, name));
                    }
                }
            },
            true,
        );
    }
    (roots, aliases, nul)
}

/// Whether an argument literal holds a NUL character anywhere (variables are checked
/// with their values).
fn literal_has_nul(value: &async_graphql_value::Value) -> bool {
    use async_graphql_value::Value as Literal;
    match value {
        Literal::String(s) => s.contains('\0'),
        Literal::List(items) => items.iter().any(literal_has_nul),
        Literal::Object(fields) => fields
            .iter()
            .any(|(k, v)| k.contains('\0') || literal_has_nul(v)),
        _ => false,
    }
}

/// Whether a variable value holds a NUL character anywhere.
fn const_has_nul(value: &async_graphql::Value) -> bool {
    match value {
        async_graphql::Value::String(s) => s.contains('\0'),
        async_graphql::Value::List(items) => items.iter().any(const_has_nul),
        async_graphql::Value::Object(fields) => fields
            .iter()
            .any(|(k, v)| k.contains('\0') || const_has_nul(v)),
        _ => false,
    }
}

impl PolicyRun {
    fn state(&self) -> std::sync::MutexGuard<'_, RunState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Checks the rule of every root field the document asks for.
    fn authorize(&self, who: &Principal) -> Result<(), ServerError> {
        let roots = std::mem::take(&mut self.state().roots);
        for (ty, field) in &roots {
            match field.as_str() {
                "__typename" => continue,
                "__schema" | "__type" => {
                    if self.policy.limits.public_introspection
                        || !matches!(who, Principal::Anonymous)
                    {
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
impl Extension for PolicyRun {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // No text Orderly stores or searches may hold NUL: Postgres cannot, and no
        // legitimate name, code or note needs one. Refused before anything runs.
        let doc = next
            .run(ctx, query, variables)
            .await
            .map_err(|e| with_code(e, "GRAPHQL_PARSE_FAILED"))?;
        let (roots, aliases, nul) = inspect(&doc);
        if nul || variables.values().any(const_has_nul) {
            return Err(coded(
                "INVALID_INPUT",
                "text may not contain NUL (\\u0000) characters",
            ));
        }
        let max = self.policy.limits.max_aliases;
        if aliases > max {
            return Err(coded(
                "QUERY_TOO_COMPLEX",
                format!("the query uses {aliases} aliases; at most {max} are allowed"),
            ));
        }
        let introspection_only =
            !roots.is_empty() && roots.iter().all(|(_, f)| f.starts_with("__"));
        let fans_out = introspection_only
            && doc
                .operations
                .iter()
                .any(|(_, op)| fans_out(&doc, &op.node.selection_set, &mut Vec::new(), 0));
        let mut state = self.state();
        state.roots = roots;
        state.introspection_only = introspection_only;
        state.introspection_fans_out = fans_out;
        drop(state);
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let who = ctx.data_opt::<Principal>().unwrap_or(&Principal::Anonymous);
        let result = match next.run(ctx).await {
            Ok(result) => result,
            Err(errors) => {
                let mut errors: Vec<ServerError> = errors
                    .into_iter()
                    .map(|e| with_code(e, "GRAPHQL_VALIDATION_FAILED"))
                    .collect();
                // Nobody unknown gets help guessing what the schema holds.
                if matches!(who, Principal::Anonymous) {
                    for error in &mut errors {
                        if let Some(at) = error.message.find(" Did you mean") {
                            error.message.truncate(at);
                        }
                    }
                }
                return Err(errors);
            }
        };
        let limits = &self.policy.limits;
        let (introspection_only, introspection_fans_out) = {
            let state = self.state();
            (state.introspection_only, state.introspection_fans_out)
        };
        // Schema tools (GraphiQL, codegen) send the standard introspection query, which
        // nests `ofType` deeper than data queries may go. It is bounded by the schema, not
        // by data — as long as no list nests inside itself.
        let max_depth = if introspection_only {
            MAX_INTROSPECTION_DEPTH
        } else {
            limits.max_depth
        };
        if introspection_fans_out {
            return Err(vec![coded(
                "QUERY_TOO_COMPLEX",
                "introspection may not nest a list field (types, fields, args, …) inside itself",
            )]);
        }
        if result.depth > max_depth {
            return Err(vec![coded(
                "QUERY_TOO_COMPLEX",
                format!(
                    "the query is nested {} deep; at most {max_depth} is allowed",
                    result.depth
                ),
            )]);
        }
        if !introspection_only && result.complexity > limits.max_complexity {
            return Err(vec![coded(
                "QUERY_TOO_COMPLEX",
                format!(
                    "the query is nested {} deep; at most {} is allowed",
                    result.depth, limits.max_depth
                ),
            )]);
        }
        if result.complexity > limits.max_complexity {
            return Err(vec![coded(
                "QUERY_TOO_COMPLEX",
                format!(
                    "the query costs {}; at most {} is allowed (a page of n items costs n times what one item selects)",
                    result.complexity, limits.max_complexity
                ),
            )]);
        }
        self.authorize(who).map_err(|e| vec![e])?;
        if limits.budget > 0.0 {
            let key = match who {
                Principal::Anonymous => format!(
                    "anonymous:{}",
                    ctx.data_opt::<ClientAddress>()
                        .map_or("unknown", |a| a.0.as_str())
                ),
                other => other.actor(),
            };
            match self
                .policy
                .limiter
                .charge(limits, &key, result.complexity)
                .await
            {
                Ok(throttle) => self.state().throttle = Some(throttle),
                Err(retry_after) => {
                    let mut error = coded(
                        "RATE_LIMITED",
                        format!(
                            "this request costs {} points and your budget is spent; retry in {:.1} s",
                            result.complexity, retry_after
                        ),
                    );
                    if let Some(ext) = error.extensions.as_mut() {
                        ext.set("retryAfter", (retry_after * 1000.0).ceil() / 1000.0);
                        ext.set("cost", result.complexity);
                    }
                    return Err(vec![error]);
                }
            }
        }
        Ok(result)
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: futures_util::stream::BoxStream<'s, Response>,
        next: async_graphql::extensions::NextSubscribe<'_>,
    ) -> futures_util::stream::BoxStream<'s, Response> {
        use futures_util::StreamExt;
        next.run(ctx, stream)
            .map(|mut response| {
                response.errors = std::mem::take(&mut response.errors)
                    .into_iter()
                    .map(|e| with_code(e, "BAD_REQUEST"))
                    .collect();
                response
            })
            .boxed()
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        response.errors = std::mem::take(&mut response.errors)
            .into_iter()
            .map(|e| with_code(e, "BAD_REQUEST"))
            .collect();
        let throttle = self.state().throttle;
        match throttle {
            Some(t) => response.extension(
                "cost",
                async_graphql::value!({
                    "requestedQueryCost": t.requested,
                    "throttleStatus": {
                        "maximumAvailable": t.maximum,
                        "currentlyAvailable": t.available.floor(),
                        "restoreRate": t.restore_rate,
                    }
                }),
            ),
            None => response,
        }
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
            Limits::default(),
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

    #[test]
    fn pages_cost_their_size() {
        assert_eq!(page_cost(Some(100), None, 5), 501);
        assert_eq!(page_cost(None, Some(10), 5), 51);
        assert_eq!(page_cost(None, None, 5), 101);
        assert_eq!(page_cost(Some(-3), None, 5), 1);
        assert_eq!(page_cost(Some(10_000), None, 5), 501);
        assert_eq!(list_cost(None, 500, 2), 1001);
        assert_eq!(list_cost(Some(10), 500, 2), 21);
    }

    #[test]
    fn aliases_and_roots_are_found_through_fragments() {
        let doc = async_graphql::parser::parse_query(
            "query { a: order(id: 1) { id } ...F } fragment F on Query { b: me { x: id } }",
        )
        .unwrap();
        let (roots, aliases, nul) = inspect(&doc);
        assert_eq!(aliases, 3);
        assert!(!nul);
        let names: Vec<_> = roots.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, ["order", "me"]);
        // A fragment cycle is validation's to refuse; inspecting it must terminate.
        let doc = async_graphql::parser::parse_query(
            "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
        )
        .unwrap();
        assert_eq!(inspect(&doc).1, 0);
        let doc =
            async_graphql::parser::parse_query(r#"{ sku(code: "a\u0000b") { code } }"#).unwrap();
        assert!(inspect(&doc).2, "NUL in an argument is found");
    }
}
