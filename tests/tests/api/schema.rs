//! The SDL snapshot: `schema.graphql` must equal what `orderly schema` prints.

use orderly::graphql::{build_schema, sdl};
use orderly::service::Store;

#[test]
fn schema_graphql_matches_the_built_schema() {
    let built = sdl(&build_schema(
        Store::disconnected(),
        std::sync::Arc::default(),
        Default::default(),
    ));
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == built,
        "schema.graphql is out of date: run `cargo run -q -p orderly -- schema > schema.graphql` and commit it"
    );
}

#[test]
fn every_type_and_field_is_documented() {
    let built = sdl(&build_schema(
        Store::disconnected(),
        std::sync::Arc::default(),
        Default::default(),
    ));
    // Partners read descriptions through introspection: no object type or field may lack one.
    let mut undocumented = Vec::new();
    let mut in_description = false;
    let mut documented = false;
    let mut current_type = String::new();
    for line in built.lines() {
        let trimmed = line.trim();
        if trimmed == "\"\"\"" {
            in_description = !in_description;
            documented = true;
            continue;
        }
        if in_description {
            continue;
        }
        if trimmed.starts_with('"') {
            documented = true;
            continue;
        }
        let is_type = [
            "type ",
            "input ",
            "enum ",
            "interface ",
            "scalar ",
            "schema ",
        ]
        .iter()
        .any(|k| trimmed.starts_with(k));
        if is_type {
            current_type = trimmed
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
        }
        let is_member = line.starts_with('\t') && !trimmed.is_empty();
        let builtin = [
            "PageInfo",
            "Query",
            "Mutation",
            "Subscription",
            "DateTime",
            "{",
        ]
        .contains(&current_type.as_str())
            || current_type.ends_with("Connection")
            || current_type.ends_with("Edge");
        if (is_type || is_member) && !documented && !builtin {
            undocumented.push(format!("{current_type}: {trimmed}"));
        }
        documented = false;
    }
    assert!(
        undocumented.is_empty(),
        "undocumented:\n{}",
        undocumented.join("\n")
    );
}
