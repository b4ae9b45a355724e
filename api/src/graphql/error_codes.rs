//! Every error a client sees carries `extensions.code`: parse failures
//! `GRAPHQL_PARSE_FAILED`, validation failures `GRAPHQL_VALIDATION_FAILED`, anything else
//! that arrives without one `BAD_REQUEST`. Anonymous callers get no "Did you mean …"
//! hints: nobody unknown gets help guessing what the schema holds.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextSubscribe,
    NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Variables};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use crate::auth::Principal;

/// A top-level error with `extensions.code`.
pub fn coded(code: &str, message: impl Into<String>) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
    error
}

/// Gives an error `code` when it has none.
pub fn with_code(mut error: ServerError, code: &str) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
    error
}

fn with_codes(mut response: Response) -> Response {
    response.errors = std::mem::take(&mut response.errors)
        .into_iter()
        .map(|e| with_code(e, "BAD_REQUEST"))
        .collect();
    response
}

/// The extension that codes every error; one per schema, outermost.
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables)
            .await
            .map_err(|e| with_code(e, "GRAPHQL_PARSE_FAILED"))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            let anonymous = matches!(
                ctx.data_opt::<Principal>().unwrap_or(&Principal::Anonymous),
                Principal::Anonymous
            );
            errors
                .into_iter()
                .map(|mut error| {
                    if anonymous && let Some(at) = error.message.find(" Did you mean") {
                        error.message.truncate(at);
                    }
                    with_code(error, "GRAPHQL_VALIDATION_FAILED")
                })
                .collect()
        })
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream).map(with_codes).boxed()
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        with_codes(next.run(ctx, operation_name).await)
    }
}
