//! Statements put together: several data-modifying statements sent as one (`WITH`), so
//! a use case that writes many tables pays one round trip on Postgres.

use sea_orm::{DbBackend, Statement, Values};

/// `WITH w0 AS (<part>), w1 AS (<part>), …, last AS (<last>) SELECT count(*) FROM last`,
/// the parts' `$n` placeholders numbered on after each other's: every part runs once
/// and to completion, and the one row answered counts the rows `last` returned (give it
/// a `RETURNING`). Postgres only.
pub(crate) fn with_all(parts: Vec<Statement>, last: Statement) -> Statement {
    let mut sql = String::from("WITH ");
    let mut values = Vec::new();
    let named = (0..parts.len()).map(|i| format!("w{i}"));
    for (name, part) in named
        .chain(["last".to_owned()])
        .zip(parts.into_iter().chain([last]))
    {
        if !values.is_empty() || sql.len() > "WITH ".len() {
            sql.push_str(", ");
        }
        sql.push_str(&name);
        sql.push_str(" AS (");
        renumbered(&part.sql, values.len(), &mut sql);
        sql.push(')');
        values.extend(part.values.map(|v| v.0).unwrap_or_default());
    }
    sql.push_str(" SELECT count(*) FROM last");
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
            part("UPDATE c SET x = $1 WHERE id = $2 RETURNING id", 2),
        );
        assert_eq!(
            all.sql,
            "WITH w0 AS (INSERT INTO a VALUES ($1, $2)), w1 AS (INSERT INTO b VALUES ($3)), \
             last AS (UPDATE c SET x = $4 WHERE id = $5 RETURNING id) SELECT count(*) FROM last"
        );
        assert_eq!(all.values.map(|v| v.0.len()), Some(5));
        let alone = with_all(vec![], part("UPDATE c SET x = $1 RETURNING id", 1));
        assert_eq!(
            alone.sql,
            "WITH last AS (UPDATE c SET x = $1 RETURNING id) SELECT count(*) FROM last"
        );
    }
}
