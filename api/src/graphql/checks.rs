//! HTTP requests run in two passes. The first runs every request check (NUL text,
//! aliases, depth and cost, root-field rules, the principal's budget, error codes) on the
//! schema with the extensions, and stops before execution (`StopAfterChecks`). The second
//! executes on the same schema built without extensions (`build_plain_schema`), reusing
//! the parsed document.
//!
//! Why: async-graphql sends every field of every response through each extension's
//! `resolve` hook — a boxed future per field per extension, plus a registry lookup per
//! field — when a schema has any extension at all. A 50-order page resolves ~1,700
//! fields; the checks need none of them. The checks are exactly as strict: nothing
//! executes unless the first pass passed. WebSocket operations run on the checked schema
//! in one pass.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute};
use async_graphql::{Request, Response, Value};

use super::OrderlySchema;

/// Marks a request that runs the checks only.
pub struct ChecksOnly;

/// The innermost extension: a `ChecksOnly` request stops here, before execution.
pub struct StopAfterChecks;

impl ExtensionFactory for StopAfterChecks {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(StopAfterChecks)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for StopAfterChecks {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        match ctx.data_opt::<ChecksOnly>() {
            Some(_) => Response::new(Value::Null),
            None => next.run(ctx, operation_name).await,
        }
    }
}

/// Runs `request` in two passes: the checks on `checked` with `check_data` (what the
/// checks read: the principal, the client's address), then, if they passed, execution
/// on `plain`. The first pass's response extensions (the cost and throttle status) are
/// carried over; its errors, if any, are the answer.
pub async fn execute(
    checked: &OrderlySchema,
    plain: &OrderlySchema,
    mut request: Request,
    check_data: impl FnOnce(Request) -> Request,
) -> Response {
    let mut check = Request::new(request.query.clone()).variables(request.variables.clone());
    check.operation_name = request.operation_name.clone();
    check.extensions = request.extensions.clone();
    // Parse once; a document that does not parse is the first pass's to report (with
    // its error code).
    if let Ok(document) = request.parsed_query() {
        check.set_parsed_query(document.clone());
    }
    let verdict = checked.execute(check_data(check).data(ChecksOnly)).await;
    if !verdict.errors.is_empty() {
        return verdict;
    }
    let mut response = plain.execute(request).await;
    for (key, value) in verdict.extensions {
        response.extensions.entry(key).or_insert(value);
    }
    response
}
