//! Customers: creation with a unique e-mail, look-ups and search.

use std::collections::HashMap;

use entity::customer;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, SimpleExpr};
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter};

use super::page::{self, Cursor, CursorKey, Keyset, Page, PageRequest};
use super::{Error, Result, Store};
use crate::domain::catalog::Email;
use crate::domain::ids::CustomerId;

/// A customer to create.
#[derive(Debug, Clone)]
pub struct NewCustomer {
    pub email: Email,
    pub name: String,
    pub phone: Option<String>,
    pub time_zone: chrono_tz::Tz,
}

/// A `LIKE` pattern matching `text` anywhere, lower-cased, with wildcards escaped.
pub(crate) fn contains_pattern(text: &str) -> String {
    let escaped = text
        .trim()
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// `LOWER(column) LIKE pattern ESCAPE '\'`, the same on SQLite and Postgres.
pub(crate) fn lower_like(column: SimpleExpr, pattern: &str) -> SimpleExpr {
    Expr::expr(Func::lower(column)).like(LikeExpr::new(pattern).escape('\\'))
}

impl Store {
    /// Creates a customer; the e-mail must be unused (`TAKEN` on `email`).
    #[tracing::instrument(skip_all)]
    pub async fn create_customer(&self, input: NewCustomer) -> Result<customer::Model> {
        let now = self.clock().now();
        let row = customer::ActiveModel {
            email: Set(input.email.as_str().to_owned()),
            name: Set(input.name),
            phone: Set(input.phone),
            time_zone: Set(input.time_zone.name().to_owned()),
            // Stated, not left to the columns' defaults (added by a migration): a test
            // once read NULL back from RETURNING for the defaulted column on SQLite.
            notify_by_email: Set(true),
            notify_by_sms: Set(false),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        customer::Entity::insert(row)
            .exec_with_returning(self.db())
            .await
            .map_err(|e| Error::taken_on(e, "email", "a customer with this e-mail already exists"))
    }

    /// Customers by id.
    pub async fn customers_by_ids(
        &self,
        ids: &[CustomerId],
    ) -> Result<HashMap<CustomerId, customer::Model>> {
        let select =
            customer::Entity::find().filter(customer::Column::Id.is_in(ids.iter().map(|i| i.0)));
        let rows = super::rows::all(self.db(), select).await?;
        Ok(rows.into_iter().map(|r| (CustomerId(r.id), r)).collect())
    }

    /// The customer with this e-mail (stored lower-case); `None` when there is none.
    pub async fn customer_by_email(&self, email: &str) -> Result<Option<customer::Model>> {
        Ok(customer::Entity::find()
            .filter(customer::Column::Email.eq(email.trim().to_lowercase()))
            .one(self.db())
            .await?)
    }

    /// A page of customers, oldest first, optionally those whose name or e-mail contains `query`.
    pub async fn customers_page(
        &self,
        query: Option<&str>,
        request: &PageRequest,
    ) -> Result<Page<customer::Model>> {
        let mut select = customer::Entity::find();
        if let Some(q) = query.filter(|q| !q.trim().is_empty()) {
            let pattern = contains_pattern(q);
            select = select.filter(
                Condition::any()
                    .add(lower_like(
                        Expr::col((customer::Entity, customer::Column::Email)),
                        &pattern,
                    ))
                    .add(lower_like(
                        Expr::col((customer::Entity, customer::Column::Name)),
                        &pattern,
                    )),
            );
        }
        let keyset = Keyset {
            key: Expr::col((customer::Entity, customer::Column::Id)),
            id: Expr::col((customer::Entity, customer::Column::Id)),
            descending: false,
            time_key: false,
            cursor_of: |m: &customer::Model| Cursor::new(CursorKey::Int(m.id), m.id),
        };
        page::fetch(self.db(), select, &keyset, request).await
    }
}
