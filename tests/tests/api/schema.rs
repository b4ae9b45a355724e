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

/// Partners read descriptions through introspection: every type (root, connection and
/// edge types included), field, argument, input field and enum value has one.
#[tokio::test]
async fn every_type_field_argument_and_enum_value_is_documented() {
    let schema = build_schema(
        Store::disconnected(),
        std::sync::Arc::default(),
        Default::default(),
    );
    let query = "{ __schema { types { name kind description
        fields(includeDeprecated: true) { name description args { name description } }
        inputFields { name description }
        enumValues(includeDeprecated: true) { name description } } } }";
    let body = schema.execute(query).await.data.into_json().unwrap();
    let said = |v: &serde_json::Value| {
        v["description"]
            .as_str()
            .is_some_and(|d| !d.trim().is_empty())
    };
    let builtin = ["String", "Int", "Float", "Boolean", "ID"];
    let mut undocumented = Vec::new();
    for ty in body["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap();
        if name.starts_with("__") || builtin.contains(&name) {
            continue;
        }
        if !said(ty) {
            undocumented.push(format!("type {name}"));
        }
        for field in ty["fields"].as_array().into_iter().flatten() {
            let field_name = field["name"].as_str().unwrap();
            if !said(field) {
                undocumented.push(format!("field {name}.{field_name}"));
            }
            for arg in field["args"].as_array().into_iter().flatten() {
                if !said(arg) {
                    undocumented.push(format!(
                        "argument {name}.{field_name}({})",
                        arg["name"].as_str().unwrap()
                    ));
                }
            }
        }
        for field in ty["inputFields"].as_array().into_iter().flatten() {
            if !said(field) {
                undocumented.push(format!(
                    "input field {name}.{}",
                    field["name"].as_str().unwrap()
                ));
            }
        }
        for value in ty["enumValues"].as_array().into_iter().flatten() {
            if !said(value) {
                undocumented.push(format!(
                    "enum value {name}.{}",
                    value["name"].as_str().unwrap()
                ));
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "{} undocumented:\n{}",
        undocumented.len(),
        undocumented.join("\n")
    );
}

/// Code generators type a scalar by its specification: every custom scalar names one
/// (`specifiedByURL`) and describes itself in Orderly's words, not a library's.
#[tokio::test]
async fn custom_scalars_name_their_specification() {
    let schema = build_schema(
        Store::disconnected(),
        std::sync::Arc::default(),
        Default::default(),
    );
    let query = "{ __schema { types { name kind description specifiedByURL } } }";
    let body = schema.execute(query).await.data.into_json().unwrap();
    let builtin = ["String", "Int", "Float", "Boolean", "ID"];
    let scalars: Vec<&serde_json::Value> = body["__schema"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "SCALAR" && !builtin.contains(&t["name"].as_str().unwrap()))
        .collect();
    assert!(scalars.iter().any(|t| t["name"] == "DateTime"));
    assert!(scalars.iter().any(|t| t["name"] == "Date"));
    for scalar in scalars {
        let url = scalar["specifiedByURL"].as_str().unwrap_or_default();
        assert!(url.starts_with("https://"), "{scalar}");
        let description = scalar["description"].as_str().unwrap_or_default();
        assert!(!description.contains("Implement the"), "{scalar}");
        assert!(description.contains("RFC 3339"), "{scalar}");
    }
}
