//! Statements put together: several data-modifying statements sent as one (`WITH`), so
//! a use case that writes many tables pays one round trip on Postgres.

use sea_orm::{DbBackend, Statement, Values};

/// `WITH w0 AS (<part>), …, c0 AS (<counted>), … SELECT count(*) FROM …`, the
/// statements' `$n` placeholders numbered on after each other's: every statement runs
/// once and to completion, and the one row answered counts the rows the `counted`
/// statements returned, together (give each a `RETURNING`). Postgres only.
pub(crate) fn with_all(parts: Vec<Statement>, counted: Vec<Statement>) -> Statement {
    let mut sql = String::from("WITH ");
    let mut values = Vec::new();
    let counted_names: Vec<String> = (0..counted.len()).map(|i| format!("c{i}")).collect();
    let names = (0..parts.len())
        .map(|i| format!("w{i}"))
        .chain(counted_names.iter().cloned());
    for (i, (name, part)) in names.zip(parts.into_iter().chain(counted)).enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&name);
        sql.push_str(" AS (");
        renumbered(&part.sql, values.len(), &mut sql);
        sql.push(')');
        values.extend(part.values.map(|v| v.0).unwrap_or_default());
    }
    match counted_names.as_slice() {
        [one] => {
            sql.push_str(" SELECT count(*) FROM ");
            sql.push_str(one);
        }
        many => {
            sql.push_str(" SELECT count(*) FROM (");
            let selects: Vec<String> = many.iter().map(|n| format!("SELECT 1 FROM {n}")).collect();
            sql.push_str(&selects.join(" UNION ALL "));
            sql.push_str(") AS counted");
        }
    }
    Statement {
        sql,
        values: Some(Values(values)),
        db_backend: DbBackend::Postgres,
    }
}

/// Appends `sql` to `out` with every `$n` placeholder moved on by `offset`. The
/// statements are built by sea-query with every value bound, so `$` appears in them only
/// as a placeholder.
fn renumbered(sql: &str, offset: usize, out: &mut String) {
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        let mut n = 0usize;
        let mut digits = false;
        while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
            n = n * 10 + d as usize;
            digits = true;
            chars.next();
        }
        if digits {
            out.push_str(&(n + offset).to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{DbBackend, Statement, Values, renumbered, with_all};

    #[test]
    fn placeholders_move_on_by_the_offset() {
        let mut out = String::new();
        renumbered(
            "INSERT INTO \"t\" (\"a\", \"b\") VALUES ($1, $2), ($10, $11)",
            7,
            &mut out,
        );
        assert_eq!(
            out,
            "INSERT INTO \"t\" (\"a\", \"b\") VALUES ($8, $9), ($17, $18)"
        );
    }

    #[test]
    fn parts_are_named_and_numbered_on() {
        let part = |sql: &str, n: i32| Statement {
            sql: sql.to_owned(),
            values: Some(Values((0..n).map(sea_orm::Value::from).collect())),
            db_backend: DbBackend::Postgres,
        };
        let all = with_all(
            vec![
                part("INSERT INTO a VALUES ($1, $2)", 2),
                part("INSERT INTO b VALUES ($1)", 1),
            ],
            vec![part("UPDATE c SET x = $1 WHERE id = $2 RETURNING id", 2)],
        );
        assert_eq!(
            all.sql,
            "WITH w0 AS (INSERT INTO a VALUES ($1, $2)), w1 AS (INSERT INTO b VALUES ($3)), \
             c0 AS (UPDATE c SET x = $4 WHERE id = $5 RETURNING id) SELECT count(*) FROM c0"
        );
        assert_eq!(all.values.map(|v| v.0.len()), Some(5));
        let alone = with_all(vec![], vec![part("UPDATE c SET x = $1 RETURNING id", 1)]);
        assert_eq!(
            alone.sql,
            "WITH c0 AS (UPDATE c SET x = $1 RETURNING id) SELECT count(*) FROM c0"
        );
        let two = with_all(
            vec![part("INSERT INTO a VALUES ($1)", 1)],
            vec![
                part("UPDATE c SET x = $1 RETURNING id", 1),
                part("UPDATE c SET x = $1 RETURNING id", 1),
            ],
        );
        assert_eq!(
            two.sql,
            "WITH w0 AS (INSERT INTO a VALUES ($1)), c0 AS (UPDATE c SET x = $2 RETURNING id), \
             c1 AS (UPDATE c SET x = $3 RETURNING id) \
             SELECT count(*) FROM (SELECT 1 FROM c0 UNION ALL SELECT 1 FROM c1) AS counted"
        );
    }
}
