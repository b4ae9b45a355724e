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
//!
//! Parsed documents are kept by their text (`Documents`): clients send the same few
//! operations over and over, and parsing one costs more than resolving a small query.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, Response, Value};
use quick_cache::Weighter;

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

/// The longest document text kept parsed; longer ones are parsed on every request.
const MAX_CACHED_TEXT: usize = 16 * 1024;
/// Document text kept parsed, in bytes (~ 10× that in parsed form).
const CACHED_TEXT_BYTES: u64 = 4 * 1024 * 1024;

/// Weighs a cached document by its text.
#[derive(Clone, Copy)]
struct TextLength;

impl Weighter<String, Arc<ExecutableDocument>> for TextLength {
    fn weight(&self, key: &String, _: &Arc<ExecutableDocument>) -> u64 {
        key.len() as u64 + 64
    }
}

/// Parsed documents by their text, least recently and least often used evicted first.
/// Only documents that parsed are kept: what a document means is its text alone, so a
/// cached one is exactly what parsing would give (the checks still run on it for every
/// request, with that request's principal and variables).
pub struct Documents {
    parsed: quick_cache::sync::Cache<String, Arc<ExecutableDocument>, TextLength>,
}

impl Default for Documents {
    fn default() -> Self {
        Self {
            parsed: quick_cache::sync::Cache::with_weighter(1024, CACHED_TEXT_BYTES, TextLength),
        }
    }
}

impl Documents {
    /// `query` parsed, from the cache or parsed now and kept; `None` if it does not
    /// parse (the checks report why).
    pub fn parse(&self, query: &str) -> Option<Arc<ExecutableDocument>> {
        if let Some(document) = self.parsed.get(query) {
            return Some(document);
        }
        let document = Arc::new(async_graphql::parser::parse_query(query).ok()?);
        if query.len() <= MAX_CACHED_TEXT {
            self.parsed.insert(query.to_owned(), document.clone());
        }
        Some(document)
    }

    /// How many documents are kept.
    pub fn len(&self) -> usize {
        self.parsed.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.parsed.is_empty()
    }
}

/// Runs `request` in two passes: the checks on `checked` with `check_data` (what the
/// checks read: the principal, the client's address), then, if they passed, execution
/// on `plain`. The first pass's response extensions (the cost and throttle status) are
/// carried over; its errors, if any, are the answer.
pub async fn execute(
    checked: &OrderlySchema,
    plain: &OrderlySchema,
    documents: &Documents,
    mut request: Request,
    check_data: impl FnOnce(Request) -> Request,
) -> Response {
    let mut check = Request::new(request.query.clone()).variables(request.variables.clone());
    check.operation_name = request.operation_name.clone();
    check.extensions = request.extensions.clone();
    // Parse once (or never); a document that does not parse is the first pass's to
    // report (with its error code).
    if let Some(document) = documents.parse(&request.query) {
        check.set_parsed_query(ExecutableDocument::clone(&document));
        request.set_parsed_query(ExecutableDocument::clone(&document));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_parsed_once_and_a_broken_one_is_not_kept() {
        let documents = Documents::default();
        let first = documents.parse("{ me { id } }").unwrap();
        let again = documents.parse("{ me { id } }").unwrap();
        assert!(Arc::ptr_eq(&first, &again), "the second request reparsed");
        assert!(documents.parse("{ me { id }").is_none());
        assert_eq!(documents.len(), 1);
        // Over the length kept, a document is parsed every time.
        let long = format!("{{ me {{ id }} }}{}", " ".repeat(MAX_CACHED_TEXT));
        let a = documents.parse(&long).unwrap();
        let b = documents.parse(&long).unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(documents.len(), 1);
    }
}
