//! Reading an executable document before it runs: its root fields, its aliases, and every
//! field reached through fragments. Shared by the request checks in `extensions/`.

use async_graphql::Positioned;
use async_graphql::parser::types::{
    ExecutableDocument, Field, OperationType, Selection, SelectionSet,
};

/// Visits every field of a selection set, following each fragment once; `root` tells the
/// visitor whether the field sits at the operation's root.
pub fn walk_fields<'a>(
    doc: &'a ExecutableDocument,
    set: &'a Positioned<SelectionSet>,
    seen_fragments: &mut Vec<&'a str>,
    visit: &mut dyn FnMut(&'a Field, bool),
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

/// Visits every field of every operation of `doc`, with the operation's type.
pub fn each_field<'a>(
    doc: &'a ExecutableDocument,
    visit: &mut dyn FnMut(OperationType, &'a Field, bool),
) {
    for (_, operation) in doc.operations.iter() {
        let ty = operation.node.ty;
        let mut seen = Vec::new();
        walk_fields(
            doc,
            &operation.node.selection_set,
            &mut seen,
            &mut |field, root| visit(ty, field, root),
            true,
        );
    }
}

/// The distinct root fields of every operation in `doc`, in document order.
pub fn root_fields(doc: &ExecutableDocument) -> Vec<(OperationType, String)> {
    let mut roots: Vec<(OperationType, String)> = Vec::new();
    each_field(doc, &mut |ty, field, root| {
        if root
            && !roots
                .iter()
                .any(|(t, f)| *t == ty && f == field.name.node.as_str())
        {
            roots.push((ty, field.name.node.to_string()));
        }
    });
    roots
}

/// How many aliased fields `doc` holds (through fragments too).
pub fn alias_count(doc: &ExecutableDocument) -> usize {
    let mut aliases = 0;
    each_field(doc, &mut |_, field, _| {
        aliases += usize::from(field.alias.is_some())
    });
    aliases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_roots_are_found_through_fragments() {
        let doc = async_graphql::parser::parse_query(
            "query { a: order(id: 1) { id } ...F } fragment F on Query { b: me { x: id } }",
        )
        .unwrap();
        assert_eq!(alias_count(&doc), 3);
        let names: Vec<_> = root_fields(&doc).into_iter().map(|(_, n)| n).collect();
        assert_eq!(names, ["order", "me"]);
        // A fragment cycle is validation's to refuse; reading it must terminate.
        let doc = async_graphql::parser::parse_query(
            "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
        )
        .unwrap();
        assert_eq!(alias_count(&doc), 0);
    }
}
