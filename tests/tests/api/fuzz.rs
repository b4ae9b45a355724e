//! A generated-query fuzzer: reads the schema by introspection, then for a bounded time
//! sends random, often hostile operations — every root field, random arguments (valid
//! IDs, garbage, injections, extremes), random selections, random principals — and
//! requires that none of them produces a server error, an internal error or leaked
//! internals, and that the server is still healthy afterwards.
//!
//! `ORDERLY_FUZZ_SECONDS` (default 8) bounds each run; `ORDERLY_FUZZ_SEED` replays one.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use orderly::auth::Scope;
use orderly_tests::{Options, TestApp, backend_tests};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

const INTROSPECTION: &str =
    "{ __schema { queryType { name } mutationType { name } subscriptionType { name }
  types { kind name enumValues { name } possibleTypes { name }
    inputFields { name type { ...T } }
    fields { name args { name type { ...T } } type { ...T } } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

/// A field or argument type, unwrapped: (named type, is list, non-null outside).
#[derive(Debug, Clone)]
struct Ty {
    name: String,
    list: bool,
    required: bool,
}

fn ty(value: &Value) -> Ty {
    let required = value["kind"] == "NON_NULL";
    let mut list = false;
    let mut current = value;
    while current["name"].is_null() {
        if current["kind"] == "LIST" {
            list = true;
        }
        current = &current["ofType"];
    }
    Ty {
        name: current["name"].as_str().unwrap_or_default().to_owned(),
        list,
        required,
    }
}

struct Field {
    name: String,
    args: Vec<(String, Ty)>,
    ty: Ty,
}

struct Schema {
    kinds: HashMap<String, String>,
    fields: HashMap<String, Vec<Field>>,
    inputs: HashMap<String, Vec<(String, Ty)>>,
    enums: HashMap<String, Vec<String>>,
    possible: HashMap<String, Vec<String>>,
}

fn read_schema(body: &Value) -> Schema {
    let mut schema = Schema {
        kinds: HashMap::new(),
        fields: HashMap::new(),
        inputs: HashMap::new(),
        enums: HashMap::new(),
        possible: HashMap::new(),
    };
    for t in body["data"]["__schema"]["types"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap().to_owned();
        schema
            .kinds
            .insert(name.clone(), t["kind"].as_str().unwrap().to_owned());
        if let Some(fields) = t["fields"].as_array() {
            let fields = fields
                .iter()
                .map(|f| Field {
                    name: f["name"].as_str().unwrap().to_owned(),
                    args: f["args"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|a| (a["name"].as_str().unwrap().to_owned(), ty(&a["type"])))
                        .collect(),
                    ty: ty(&f["type"]),
                })
                .collect();
            schema.fields.insert(name.clone(), fields);
        }
        if let Some(inputs) = t["inputFields"].as_array() {
            let inputs = inputs
                .iter()
                .map(|f| (f["name"].as_str().unwrap().to_owned(), ty(&f["type"])))
                .collect();
            schema.inputs.insert(name.clone(), inputs);
        }
        if let Some(values) = t["enumValues"].as_array() {
            let values = values
                .iter()
                .map(|v| v["name"].as_str().unwrap().to_owned())
                .collect();
            schema.enums.insert(name.clone(), values);
        }
        if let Some(types) = t["possibleTypes"].as_array() {
            let types = types
                .iter()
                .map(|v| v["name"].as_str().unwrap().to_owned())
                .collect();
            schema.possible.insert(name, types);
        }
    }
    schema
}

/// Strings worth trying anywhere.
const NASTY: &[&str] = &[
    "",
    " ",
    "x",
    "#1001",
    "1001",
    "SOLAR-6KW",
    "MC4-PAIR",
    "steven.boyle@example.com",
    "US",
    "USD",
    "2026-11-26",
    "2026-11-26T10:00:00Z",
    "' OR 1=1 --",
    "\"; DROP TABLE orders; --",
    "%_\\",
    "Robert'); DELETE FROM customers;--",
    "<script>alert(1)</script>",
    "\u{0000}",
    "\u{202e}evil",
    "日本語のテキスト",
    "😀😀😀",
    "-1",
    "9999999999999999999999",
    "1e308",
    "NaN",
    "null",
    "orders:read",
    "ork_abcdefghijklmnopqrstuvwxyz",
    "T3JkZXI6MQ",
    "T3JkZXI6LTE",
    "Q3VzdG9tZXI6MQ",
    "U2t1OjE",
    "TG9jYXRpb246MQ",
    "RnVsZmlsbG1lbnRPcmRlcjox",
    "QXBpS2V5OjE",
    "Ojo6Ojo6",
];

struct Gen<'a> {
    rng: StdRng,
    schema: &'a Schema,
    ids: Vec<String>,
}

impl Gen<'_> {
    fn string(&mut self) -> String {
        match self.rng.random_range(0..10) {
            0 => "A".repeat(self.rng.random_range(100..5000)),
            1..=3 if !self.ids.is_empty() => {
                self.ids[self.rng.random_range(0..self.ids.len())].clone()
            }
            _ => NASTY[self.rng.random_range(0..NASTY.len())].to_owned(),
        }
    }

    fn int(&mut self) -> i64 {
        const EDGES: &[i64] = &[
            0,
            1,
            -1,
            2,
            5,
            20,
            99,
            100,
            101,
            500,
            501,
            i32::MAX as i64,
            i32::MIN as i64,
        ];
        EDGES[self.rng.random_range(0..EDGES.len())]
    }

    /// A GraphQL literal for a value of `t` (sometimes deliberately wrong).
    fn value(&mut self, t: &Ty, depth: usize) -> String {
        if !t.required && self.rng.random_bool(0.1) {
            return "null".into();
        }
        if t.list && !self.rng.random_bool(0.1) {
            let n = self.rng.random_range(0..4);
            let item = Ty {
                list: false,
                required: true,
                ..t.clone()
            };
            let items: Vec<String> = (0..n).map(|_| self.value(&item, depth)).collect();
            return format!("[{}]", items.join(", "));
        }
        if self.rng.random_bool(0.03) {
            // The wrong kind of value altogether: validation must catch it.
            return ["1", "\"x\"", "true", "[]", "{}", "-0.5"][self.rng.random_range(0..6)].into();
        }
        match t.name.as_str() {
            "Int" => self.int().to_string(),
            "Float" => {
                ["0", "-1.5", "37.7996", "1e300", "-181"][self.rng.random_range(0..5)].into()
            }
            "Boolean" => self.rng.random_bool(0.5).to_string(),
            "String" | "ID" | "Date" | "DateTime" => serde_json::to_string(&self.string()).unwrap(),
            name => match self.schema.kinds.get(name).map(String::as_str) {
                Some("ENUM") => {
                    let values = &self.schema.enums[name];
                    values[self.rng.random_range(0..values.len())].clone()
                }
                Some("INPUT_OBJECT") if depth < 4 => {
                    let fields = self.schema.inputs[name].clone();
                    let mut parts = Vec::new();
                    for (fname, ft) in &fields {
                        if ft.required || self.rng.random_bool(0.6) {
                            parts.push(format!("{fname}: {}", self.value(ft, depth + 1)));
                        }
                    }
                    format!("{{ {} }}", parts.join(", "))
                }
                _ => serde_json::to_string(&self.string()).unwrap(),
            },
        }
    }

    fn args(&mut self, args: &[(String, Ty)]) -> String {
        let mut parts = Vec::new();
        for (name, t) in args {
            if t.required || self.rng.random_bool(0.5) {
                parts.push(format!("{name}: {}", self.value(t, 0)));
            }
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("({})", parts.join(", "))
        }
    }

    /// A selection set for the named output type.
    fn selection(&mut self, type_name: &str, depth: usize) -> String {
        let kind = self
            .schema
            .kinds
            .get(type_name)
            .cloned()
            .unwrap_or_default();
        if kind == "SCALAR" || kind == "ENUM" {
            return String::new();
        }
        let mut parts = vec!["__typename".to_owned()];
        if kind == "INTERFACE" || kind == "UNION" {
            let possible = self
                .schema
                .possible
                .get(type_name)
                .cloned()
                .unwrap_or_default();
            for concrete in &possible {
                if !self.rng.random_bool(0.5) {
                    continue;
                }
                let inner = self.selection(concrete, depth + 1);
                parts.push(format!("... on {concrete} {inner}"));
            }
        }
        let Some(fields) = self.schema.fields.get(type_name) else {
            return format!("{{ {} }}", parts.join(" "));
        };
        let count = fields.len();
        for i in 0..count {
            let field = &self.schema.fields[type_name][i];
            let scalar = matches!(
                self.schema.kinds.get(&field.ty.name).map(String::as_str),
                Some("SCALAR") | Some("ENUM")
            );
            let keep = if scalar {
                0.5
            } else if depth < 4 {
                0.3
            } else {
                0.0
            };
            if !self.rng.random_bool(keep) {
                continue;
            }
            let (name, args, ty_name) = (
                field.name.clone(),
                field.args.clone(),
                field.ty.name.clone(),
            );
            let args = self.args(&args);
            let inner = if scalar {
                String::new()
            } else {
                self.selection(&ty_name, depth + 1)
            };
            parts.push(format!("{name}{args} {inner}"));
        }
        format!("{{ {} }}", parts.join(" "))
    }

    fn operation(&mut self, root: &str, keyword: &str) -> String {
        let fields = &self.schema.fields[root];
        let field = &fields[self.rng.random_range(0..fields.len())];
        let (name, args, ty_name) = (
            field.name.clone(),
            field.args.clone(),
            field.ty.name.clone(),
        );
        let args = self.args(&args);
        let inner = self.selection(&ty_name, 1);
        format!("{keyword} {{ {name}{args} {inner} }}")
    }
}

/// Words that must never reach a client.
const LEAKS: &[&str] = &[
    "sqlx",
    "sqlite",
    "postgres",
    "syntax error at",
    "panicked",
    "stack backtrace",
    "relation \"",
    "constraint",
];

async fn generated_operations_never_break_the_server(app: TestApp) {
    let seconds: u64 = std::env::var("ORDERLY_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let seed: u64 = std::env::var("ORDERLY_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    let body = app.staff(INTROSPECTION, json!({})).await;
    let schema = read_schema(&body);

    // Real IDs make the generated operations reach deep into resolvers and use cases.
    let known = app
        .staff(
            "{ orders(first: 10) { edges { node { id customer { id } lines { id sku { id } } fulfillmentOrders { id location { id } } } } } }",
            json!({}),
        )
        .await;
    let mut ids = Vec::new();
    collect_ids(&known, &mut ids);
    let customer = ids
        .iter()
        .find(|id| orderly_tests::foreign_id(orderly::gid::Kind::Customer, 1) == **id)
        .cloned()
        .unwrap_or_default();
    let principals = [
        None,
        Some(app.staff_token()),
        Some(app.customer_token(&customer)),
        Some(app.partner_token(&[Scope::OrdersRead, Scope::FulfillmentWrite])),
    ];
    let mut fuzzer = Gen {
        rng: StdRng::seed_from_u64(seed),
        schema: &schema,
        ids,
    };

    let started = Instant::now();
    let (mut sent, mut refused, mut failures) = (0u32, 0u32, Vec::new());
    while started.elapsed() < Duration::from_secs(seconds) {
        let (root, keyword) = match fuzzer.rng.random_range(0..10) {
            0..=5 => ("Query", "query"),
            6..=8 => ("Mutation", "mutation"),
            _ => ("Subscription", "subscription"),
        };
        let op = fuzzer.operation(root, keyword);
        let token = principals[fuzzer.rng.random_range(0..principals.len())].clone();
        let (status, body) = app.post(token.as_deref(), &op, json!({})).await;
        sent += 1;
        let text = body.to_string().to_lowercase();
        let internal = body["errors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["extensions"]["code"] == "INTERNAL"));
        let uncoded = body["errors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| !e["extensions"]["code"].is_string()));
        if status >= 500 || internal || uncoded || LEAKS.iter().any(|l| text.contains(l)) {
            failures.push(format!("{status} for {op}\n  -> {body}"));
        }
        if !body["errors"].is_null() {
            refused += 1;
        }
    }
    eprintln!(
        "fuzz (seed {seed}): {sent} operations in {seconds} s, {refused} refused with coded errors"
    );
    assert!(sent > 50, "the fuzzer ran: {sent}");
    assert!(
        failures.is_empty(),
        "seed {seed}: {} of {sent} operations broke something:\n{}",
        failures.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(app.get("/health").await.status(), 200);
    assert_eq!(app.get("/ready").await.status(), 200);
}

fn collect_ids(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "id"
                    && let Some(id) = v.as_str()
                    && !out.iter().any(|known| known == id)
                {
                    out.push(id.to_owned());
                }
                collect_ids(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_ids(v, out)),
        _ => {}
    }
}

backend_tests! {
    generated_operations_never_break_the_server => Options { seed: true, ..Options::default() };
}
