//! No text Orderly stores or searches may hold a NUL character: Postgres cannot store one,
//! and no legitimate name, code or note needs one. Documents and variables holding one are
//! refused with `INVALID_INPUT` before anything runs.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ServerResult, Variables};

use super::document::each_field;
use super::error_codes::coded;

/// The extension that refuses NUL characters; one per schema.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNulText;

impl ExtensionFactory for NoNulText {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(NoNulText)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for NoNulText {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        if document_has_nul(&doc) || variables.values().any(const_has_nul) {
            return Err(coded(
                "INVALID_INPUT",
                "text may not contain NUL (\\u0000) characters",
            ));
        }
        Ok(doc)
    }
}

/// Whether any argument literal or variable default of `doc` holds a NUL character.
fn document_has_nul(doc: &ExecutableDocument) -> bool {
    let defaults = doc.operations.iter().any(|(_, operation)| {
        operation.node.variable_definitions.iter().any(|d| {
            d.node
                .default_value
                .as_ref()
                .is_some_and(|v| const_has_nul(&v.node))
        })
    });
    let mut arguments = false;
    each_field(doc, &mut |_, field, _| {
        arguments |= field
            .arguments
            .iter()
            .any(|(_, value)| literal_has_nul(&value.node));
    });
    defaults || arguments
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_in_arguments_and_defaults() {
        let doc =
            async_graphql::parser::parse_query(r#"{ sku(code: "a\u0000b") { code } }"#).unwrap();
        assert!(document_has_nul(&doc), "NUL in an argument is found");
        let doc = async_graphql::parser::parse_query(
            r#"query($c: String = "x\u0000") { sku(code: $c) { code } }"#,
        )
        .unwrap();
        assert!(document_has_nul(&doc), "NUL in a default is found");
        let doc = async_graphql::parser::parse_query(r#"{ sku(code: "ab") { code } }"#).unwrap();
        assert!(!document_has_nul(&doc));
    }
}
