//! How much of the server one request may take: at most `max_aliases` aliases, nested at
//! most `max_depth` deep, costing at most `max_complexity` (every field 1, a page its size
//! times what one item selects). A refusal names the limit that was hit, with the measured
//! value and the bound in `extensions` (`aliases`/`maxAliases`, `depth`/`maxDepth`,
//! `cost`/`maxCost`). Page sizes are bounded where the connections are built (100).

use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Positioned, ServerError, ServerResult, ValidationResult, Variables};

use super::document::{alias_count, root_fields};
use super::error_codes::coded;
use crate::config::Limits;

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

/// A refusal for going over `limit`: `QUERY_TOO_COMPLEX` with the value and the bound.
fn too_complex(message: String, key: &str, value: usize, max_key: &str, max: usize) -> ServerError {
    let mut error = coded("QUERY_TOO_COMPLEX", message);
    if let Some(extensions) = error.extensions.as_mut() {
        extensions.set(key, value);
        extensions.set(max_key, max);
    }
    error
}

/// The extension that enforces the limits; one per schema.
#[derive(Debug, Clone)]
pub struct RequestLimits {
    limits: Arc<Limits>,
}

impl RequestLimits {
    /// Enforces `limits`.
    pub fn new(limits: Arc<Limits>) -> Self {
        Self { limits }
    }
}

impl ExtensionFactory for RequestLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsRun {
            limits: self.limits.clone(),
            shape: Mutex::new(Shape::default()),
        })
    }
}

/// What parsing found out about the document.
#[derive(Debug, Default, Clone, Copy)]
struct Shape {
    /// Only `__schema`, `__type` and `__typename` at the root.
    introspection_only: bool,
    /// An introspection list field (`types`, `fields`, …) nested inside itself: output
    /// that grows exponentially with depth.
    introspection_fans_out: bool,
}

struct LimitsRun {
    limits: Arc<Limits>,
    shape: Mutex<Shape>,
}

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

impl LimitsRun {
    /// Depth and cost of a validated document against the limits, in that order.
    fn check(&self, result: &ValidationResult) -> Result<(), ServerError> {
        let shape = *self
            .shape
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if shape.introspection_fans_out {
            return Err(coded(
                "QUERY_TOO_COMPLEX",
                "introspection may not nest a list field (types, fields, args, …) inside itself",
            ));
        }
        // Schema tools (GraphiQL, codegen) send the standard introspection query, which
        // nests `ofType` deeper than data queries may go. It is bounded by the schema, not
        // by data — as long as no list nests inside itself — so its cost is not limited.
        let max_depth = if shape.introspection_only {
            MAX_INTROSPECTION_DEPTH
        } else {
            self.limits.max_depth
        };
        if result.depth > max_depth {
            return Err(too_complex(
                format!(
                    "the query is nested {} deep; at most {max_depth} is allowed",
                    result.depth
                ),
                "depth",
                result.depth,
                "maxDepth",
                max_depth,
            ));
        }
        let max_cost = self.limits.max_complexity;
        if !shape.introspection_only && result.complexity > max_cost {
            return Err(too_complex(
                format!(
                    "the query costs {}; at most {max_cost} is allowed (a page of n items costs n times what one item selects)",
                    result.complexity
                ),
                "cost",
                result.complexity,
                "maxCost",
                max_cost,
            ));
        }
        Ok(())
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for LimitsRun {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let aliases = alias_count(&doc);
        let max = self.limits.max_aliases;
        if aliases > max {
            return Err(too_complex(
                format!("the query uses {aliases} aliases; at most {max} are allowed"),
                "aliases",
                aliases,
                "maxAliases",
                max,
            ));
        }
        let roots = root_fields(&doc);
        let introspection_only =
            !roots.is_empty() && roots.iter().all(|(_, f)| f.starts_with("__"));
        let introspection_fans_out = introspection_only
            && doc
                .operations
                .iter()
                .any(|(_, op)| fans_out(&doc, &op.node.selection_set, &mut Vec::new(), 0));
        *self
            .shape
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Shape {
            introspection_only,
            introspection_fans_out,
        };
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        self.check(&result).map_err(|e| vec![e])?;
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn run(shape: Shape) -> LimitsRun {
        LimitsRun {
            limits: Arc::new(Limits::default()),
            shape: Mutex::new(shape),
        }
    }

    #[test]
    fn a_costly_shallow_query_is_refused_for_its_cost_not_its_depth() {
        let result = ValidationResult {
            cache_control: Default::default(),
            depth: 3,
            complexity: 20_000,
        };
        let error = run(Shape::default()).check(&result).unwrap_err();
        assert!(error.message.contains("costs 20000"), "{}", error.message);
        let ext = error.extensions.unwrap();
        assert_eq!(ext.get("cost"), Some(&async_graphql::Value::from(20_000)));
        assert_eq!(
            ext.get("maxCost"),
            Some(&async_graphql::Value::from(10_000))
        );
        assert!(ext.get("depth").is_none());
    }

    #[test]
    fn a_deep_query_is_refused_for_its_depth() {
        let result = ValidationResult {
            cache_control: Default::default(),
            depth: 13,
            complexity: 20,
        };
        let error = run(Shape::default()).check(&result).unwrap_err();
        assert!(
            error.message.contains("nested 13 deep"),
            "{}",
            error.message
        );
        let ext = error.extensions.unwrap();
        assert_eq!(ext.get("maxDepth"), Some(&async_graphql::Value::from(12)));
    }
}
