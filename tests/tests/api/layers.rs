//! The layering rule, checked on the source: every module of `api/src` may use only the
//! modules below it, so the code reads bottom-up and has no import cycles. One way down:
//! main → cli → startup → routes → ws → state → graphql → events → service → broker →
//! telemetry → config → auth → metrics, clock, gid → domain. Also: `domain/` does no I/O, `graphql/`
//! never touches the database, and `entity/` knows nothing of GraphQL.

use std::path::{Path, PathBuf};

/// Modules from the bottom up; a module may use those before it, and itself.
const LAYERS: &[&str] = &[
    "domain",
    "gid",
    "clock",
    "metrics",
    "auth",
    "config",
    "telemetry",
    "broker",
    "service",
    "events",
    "graphql",
    "state",
    "ws",
    "routes",
    "startup",
    "cli",
    "main",
];

/// Crates a module must not use.
const BANNED: &[(&str, &[&str])] = &[
    (
        "domain",
        &[
            "sea_orm",
            "actix_web",
            "tokio",
            "redis",
            "reqwest",
            "async_graphql",
            "entity",
        ],
    ),
    ("graphql", &["sea_orm", "redis", "sqlx"]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `api/src` belongs to (`None` for `lib.rs`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib").then(|| name.to_owned())
}

/// The crate modules (`crate::x`) and crates (`x::`) a line of code names.
fn names_used(line: &str) -> (Vec<String>, Vec<String>) {
    let code = line.split("//").next().unwrap_or_default();
    let mut modules = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            modules.push(name);
        }
    }
    let crates = code
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter_map(|token| token.split_once("::").map(|(head, _)| head.to_owned()))
        .filter(|head| !head.is_empty())
        .collect();
    (modules, crates)
}

#[test]
fn no_module_uses_a_layer_above_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let src = root.join("api/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 40, "found the sources in {}", src.display());
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut violations = Vec::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        let own = rank(&module)
            .unwrap_or_else(|| panic!("module `{module}` is not in LAYERS: give it a place"));
        let text = std::fs::read_to_string(file).unwrap();
        // A `tests.rs` is a unit-test module in its own file: its parent declares it
        // under `#[cfg(test)]`, which is checked here so the exemption cannot be borrowed.
        let mut in_tests = file.file_name().is_some_and(|n| n == "tests.rs");
        if in_tests {
            let parent = std::fs::read_to_string(file.with_file_name("mod.rs")).unwrap_or_default();
            assert!(
                parent.contains("#[cfg(test)]\nmod tests;"),
                "{} is not declared as `#[cfg(test)] mod tests;` in its mod.rs",
                file.display()
            );
        }
        for (n, line) in text.lines().enumerate() {
            // Unit tests may reach up to build what they test (e.g. a whole schema).
            in_tests |= line.trim_start().starts_with("#[cfg(test)]");
            if in_tests || line.trim_start().starts_with("//") {
                continue;
            }
            let (modules, crates) = names_used(line);
            for used in modules {
                let Some(theirs) = rank(&used) else { continue };
                if theirs > own {
                    violations.push(format!(
                        "{}:{}: `{module}` uses `crate::{used}`, a layer above it",
                        file.strip_prefix(&root).unwrap().display(),
                        n + 1
                    ));
                }
            }
            // The domain's enums are defined beside the models that store them
            // (`entity::status`): plain enums, the one thing the domain takes from there.
            let enums_only =
                line.contains("entity::status") && !line.contains("entity::status::Entity");
            for (banned_in, banned) in BANNED {
                for krate in &crates {
                    if krate == "entity" && enums_only {
                        continue;
                    }
                    if module == *banned_in && banned.contains(&krate.as_str()) {
                        violations.push(format!(
                            "{}:{}: `{module}` uses the crate `{krate}`",
                            file.strip_prefix(&root).unwrap().display(),
                            n + 1
                        ));
                    }
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layering broken:\n{}",
        violations.join("\n")
    );
}

#[test]
fn entities_know_nothing_of_graphql() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../entity");
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(!manifest.contains("async-graphql"), "entity/Cargo.toml");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains("async_graphql"), "{}", file.display());
    }
}

#[test]
fn the_checker_sees_what_it_must() {
    let (modules, crates) =
        names_used("use crate::graphql::error; let x = sea_orm::Set(1); // crate::ws");
    assert_eq!(modules, ["graphql"]);
    assert!(crates.contains(&"sea_orm".to_owned()));
}
