//! Reading orders and everything hanging off them: lines, fulfilment orders, payments,
//! events. Every batch function answers many parents in one statement (DataLoaders call
//! them), and every list is scoped to what the caller may see.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    customer, fulfillment_order, fulfillment_order_line, order, order_event, order_line, payment,
    sku,
};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::customers::{contains_pattern, lower_like};
use super::page::{self, Cursor, CursorKey, Keyset, Page, PageRequest};
use super::rows::{self, ByIndex};
use super::{Result, Store, group};
use crate::domain::ids::{CustomerId, FulfillmentOrderId, LocationId, OrderId, OrderLineId, SkuId};
use crate::domain::status::{FulfillmentStatus, OrderStatus};

/// Which orders a list shows.
#[derive(Debug, Clone, Default)]
pub struct OrderQuery {
    /// Only these statuses (empty: all).
    pub statuses: Vec<OrderStatus>,
    /// Only this customer's orders.
    pub customer: Option<CustomerId>,
    /// Only this sales channel.
    pub channel: Option<String>,
    /// Placed at or after.
    pub placed_after: Option<DateTime<Utc>>,
    /// Placed before.
    pub placed_before: Option<DateTime<Utc>>,
    /// Free text: order number, customer e-mail or name.
    pub text: Option<String>,
}

/// Whose events a stream follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventScope {
    Customer(CustomerId),
    Location(LocationId),
}

/// How an order list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderSort {
    PlacedAt,
    UpdatedAt,
    Number,
    Total,
    Id,
}

/// Who is looking: everything, or one customer's own orders only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    All,
    OwnedBy(CustomerId),
}

impl Visibility {
    pub(crate) fn allows(self, owner: i64) -> bool {
        match self {
            Self::All => true,
            Self::OwnedBy(id) => id.0 == owner,
        }
    }
}

fn keyset(sort: OrderSort, descending: bool) -> Keyset<order::Model> {
    let id = Expr::col((order::Entity, order::Column::Id));
    let col = |c: order::Column| Expr::col((order::Entity, c));
    match sort {
        OrderSort::PlacedAt => Keyset {
            key: col(order::Column::PlacedAt),
            id,
            descending,
            time_key: true,
            cursor_of: |m| Cursor::new(CursorKey::Time(m.placed_at), m.id),
        },
        OrderSort::UpdatedAt => Keyset {
            key: col(order::Column::UpdatedAt),
            id,
            descending,
            time_key: true,
            cursor_of: |m| Cursor::new(CursorKey::Time(m.updated_at), m.id),
        },
        OrderSort::Total => Keyset {
            key: col(order::Column::Total),
            id,
            descending,
            time_key: false,
            cursor_of: |m| Cursor::new(CursorKey::Int(m.total), m.id),
        },
        // Numbers are issued in id order, so sorting by id sorts by number numerically.
        OrderSort::Number | OrderSort::Id => Keyset {
            key: col(order::Column::Id),
            id,
            descending,
            time_key: false,
            cursor_of: |m| Cursor::new(CursorKey::Int(m.id), m.id),
        },
    }
}

impl Store {
    /// One page of orders matching `query`, as `visibility` allows: one SQL statement.
    pub async fn orders_page(
        &self,
        query: &OrderQuery,
        sort: OrderSort,
        reverse: bool,
        visibility: Visibility,
        request: &PageRequest,
    ) -> Result<Page<order::Model>> {
        let mut select = order::Entity::find();
        if let Visibility::OwnedBy(id) = visibility {
            select = select.filter(order::Column::CustomerId.eq(id.0));
        }
        if let Some(id) = query.customer {
            select = select.filter(order::Column::CustomerId.eq(id.0));
        }
        if !query.statuses.is_empty() {
            select = select.filter(order::Column::Status.is_in(query.statuses.iter().copied()));
        }
        if let Some(channel) = &query.channel {
            select = select.filter(order::Column::Channel.eq(channel.as_str()));
        }
        if let Some(after) = query.placed_after {
            select = select.filter(order::Column::PlacedAt.gte(after));
        }
        if let Some(before) = query.placed_before {
            select = select.filter(order::Column::PlacedAt.lt(before));
        }
        if let Some(text) = query
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let pattern = contains_pattern(text);
            let matching_customers = Query::select()
                .column(customer::Column::Id)
                .from(customer::Entity)
                .cond_where(
                    Condition::any()
                        .add(lower_like(
                            Expr::col((customer::Entity, customer::Column::Email)),
                            &pattern,
                        ))
                        .add(lower_like(
                            Expr::col((customer::Entity, customer::Column::Name)),
                            &pattern,
                        )),
                )
                .to_owned();
            select = select.filter(
                Condition::any()
                    .add(order::Column::Number.eq(text))
                    .add(order::Column::Number.eq(format!("#{}", text.trim_start_matches('#'))))
                    .add(order::Column::CustomerId.in_subquery(matching_customers)),
            );
        }
        // Newest first is what people mean by "orders sorted by date"; `reverse` flips it.
        let descending = matches!(sort, OrderSort::PlacedAt | OrderSort::UpdatedAt) != reverse;
        page::fetch(self.db(), select, &keyset(sort, descending), request).await
    }

    /// Orders by id, as `visibility` allows (others are simply absent).
    pub async fn orders_by_ids(
        &self,
        ids: &[OrderId],
        visibility: Visibility,
    ) -> Result<HashMap<OrderId, order::Model>> {
        let rows = order::Entity::find()
            .filter(order::Column::Id.is_in(ids.iter().map(|i| i.0)))
            .all(self.db())
            .await?;
        Ok(rows
            .into_iter()
            .filter(|o| visibility.allows(o.customer_id))
            .map(|o| (OrderId(o.id), o))
            .collect())
    }

    /// The order with `number` (with or without the leading `#`), if visible.
    pub async fn order_by_number(
        &self,
        number: &str,
        visibility: Visibility,
    ) -> Result<Option<order::Model>> {
        let number = format!("#{}", number.trim().trim_start_matches('#'));
        let found = order::Entity::find()
            .filter(order::Column::Number.eq(number))
            .one(self.db())
            .await?;
        Ok(found.filter(|o| visibility.allows(o.customer_id)))
    }

    /// Lines of each order, in line order.
    pub async fn lines_by_orders(
        &self,
        ids: &[OrderId],
    ) -> Result<HashMap<OrderId, Vec<order_line::Model>>> {
        let rows = order_line::Entity::find()
            .filter(order_line::Column::OrderId.is_in(ids.iter().map(|i| i.0)))
            .order_by_asc(order_line::Column::OrderId)
            .order_by_asc(order_line::Column::LineNumber)
            .all(self.db())
            .await?;
        Ok(group(rows, |r| OrderId(r.order_id)))
    }

    /// Lines of each order with their SKUs, in one statement (a join): what an order's
    /// page shows of what was bought.
    pub async fn lines_with_skus_by_orders(
        &self,
        ids: &[OrderId],
    ) -> Result<(
        HashMap<OrderId, Vec<order_line::Model>>,
        HashMap<SkuId, sku::Model>,
    )> {
        let select = order_line::Entity::find()
            .select_also(sku::Entity)
            .join(
                JoinType::InnerJoin,
                order_line::Entity::belongs_to(sku::Entity)
                    .from(order_line::Column::SkuId)
                    .to(sku::Column::Id)
                    .into(),
            )
            .filter(order_line::Column::OrderId.is_in(ids.iter().map(|i| i.0)))
            .order_by_asc(order_line::Column::OrderId)
            .order_by_asc(order_line::Column::LineNumber);
        let rows = rows::all_two(self.db(), select).await?;
        let mut skus = HashMap::new();
        let mut lines = Vec::with_capacity(rows.len());
        for (line, sku) in rows {
            if let Some(sku) = sku {
                skus.insert(SkuId(sku.id), sku);
            }
            lines.push(line);
        }
        Ok((group(lines, |r| OrderId(r.order_id)), skus))
    }

    /// One order with its customer, in one statement (a join); `None` when there is no
    /// such order or `visibility` hides it.
    pub async fn order_with_customer(
        &self,
        id: OrderId,
        visibility: Visibility,
    ) -> Result<Option<(order::Model, customer::Model)>> {
        let found = order::Entity::find_by_id(id.0)
            .select_also(customer::Entity)
            .join(
                JoinType::InnerJoin,
                order::Entity::belongs_to(customer::Entity)
                    .from(order::Column::CustomerId)
                    .to(customer::Column::Id)
                    .into(),
            )
            .one(self.db())
            .await?;
        Ok(match found {
            Some((order, Some(customer))) if visibility.allows(order.customer_id) => {
                Some((order, customer))
            }
            _ => None,
        })
    }

    /// One order with its customer, its lines and their SKUs, in one statement (the
    /// order joined with its customer, left-joined with its lines and their SKUs: one
    /// row per line); `None` when there is no such order or `visibility` hides it.
    pub async fn order_with_customer_and_lines(
        &self,
        id: OrderId,
        visibility: Visibility,
    ) -> Result<Option<OrderWithLines>> {
        // The text depends on the backend only: built once, then bound to each id.
        static SQL: [std::sync::OnceLock<String>; 3] = [const { std::sync::OnceLock::new() }; 3];
        let backend = self.db().get_database_backend();
        let slot = match backend {
            sea_orm::DbBackend::Postgres => 0,
            sea_orm::DbBackend::Sqlite => 1,
            _ => 2,
        };
        let sql = SQL[slot].get_or_init(|| backend.build(&order_with_lines_select(0)).sql);
        let statement =
            sea_orm::Statement::from_sql_and_values(backend, sql.as_str(), [id.0.into()]);
        let rows = self.db().query_all_raw(statement).await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        // Decoded by position: the order's columns, the customer's, the line's, the SKU's.
        let at_customer = order::Model::FIELDS.len();
        let at_line = at_customer + customer::Model::FIELDS.len();
        let at_sku = at_line + order_line::Model::FIELDS.len();
        let order = order::Model::decode(first, 0)?;
        if !visibility.allows(order.customer_id) {
            return Ok(None);
        }
        let customer = customer::Model::decode(first, at_customer)?;
        let mut lines = Vec::with_capacity(rows.len());
        let mut skus = HashMap::new();
        for row in &rows {
            if let Some(line) = order_line::Model::decode_optional(row, at_line)? {
                lines.push(line);
            }
            if let Some(sku) = sku::Model::decode_optional(row, at_sku)? {
                skus.insert(SkuId(sku.id), sku);
            }
        }
        Ok(Some(OrderWithLines {
            order,
            customer,
            lines,
            skus,
        }))
    }

    /// Order lines by id.
    pub async fn order_lines_by_ids(
        &self,
        ids: &[OrderLineId],
    ) -> Result<HashMap<OrderLineId, order_line::Model>> {
        let rows = order_line::Entity::find()
            .filter(order_line::Column::Id.is_in(ids.iter().map(|i| i.0)))
            .all(self.db())
            .await?;
        Ok(rows.into_iter().map(|r| (OrderLineId(r.id), r)).collect())
    }

    /// Fulfilment orders of each order.
    pub async fn fulfillment_orders_by_orders(
        &self,
        ids: &[OrderId],
    ) -> Result<HashMap<OrderId, Vec<fulfillment_order::Model>>> {
        let rows = fulfillment_order::Entity::find()
            .filter(fulfillment_order::Column::OrderId.is_in(ids.iter().map(|i| i.0)))
            .order_by_asc(fulfillment_order::Column::Id)
            .all(self.db())
            .await?;
        Ok(group(rows, |r| OrderId(r.order_id)))
    }

    /// Fulfilment orders by id, as `visibility` allows.
    pub async fn fulfillment_orders_by_ids(
        &self,
        ids: &[FulfillmentOrderId],
        visibility: Visibility,
    ) -> Result<HashMap<FulfillmentOrderId, fulfillment_order::Model>> {
        let mut select = fulfillment_order::Entity::find()
            .filter(fulfillment_order::Column::Id.is_in(ids.iter().map(|i| i.0)));
        if let Visibility::OwnedBy(customer) = visibility {
            select = select.filter(
                fulfillment_order::Column::OrderId.in_subquery(
                    Query::select()
                        .column(order::Column::Id)
                        .from(order::Entity)
                        .and_where(Expr::col(order::Column::CustomerId).eq(customer.0))
                        .to_owned(),
                ),
            );
        }
        let rows = select.all(self.db()).await?;
        Ok(rows
            .into_iter()
            .map(|r| (FulfillmentOrderId(r.id), r))
            .collect())
    }

    /// Lines of each fulfilment order.
    pub async fn lines_by_fulfillment_orders(
        &self,
        ids: &[FulfillmentOrderId],
    ) -> Result<HashMap<FulfillmentOrderId, Vec<fulfillment_order_line::Model>>> {
        let rows = fulfillment_order_line::Entity::find()
            .filter(
                fulfillment_order_line::Column::FulfillmentOrderId.is_in(ids.iter().map(|i| i.0)),
            )
            .order_by_asc(fulfillment_order_line::Column::Id)
            .all(self.db())
            .await?;
        Ok(group(rows, |r| FulfillmentOrderId(r.fulfillment_order_id)))
    }

    /// Payments of each order, oldest first.
    pub async fn payments_by_orders(
        &self,
        ids: &[OrderId],
    ) -> Result<HashMap<OrderId, Vec<payment::Model>>> {
        let rows = payment::Entity::find()
            .filter(payment::Column::OrderId.is_in(ids.iter().map(|i| i.0)))
            .order_by_asc(payment::Column::Id)
            .all(self.db())
            .await?;
        Ok(group(rows, |r| OrderId(r.order_id)))
    }

    /// Events of one order with `sequence > after`, oldest first, at most `limit`.
    pub async fn order_events(
        &self,
        order: OrderId,
        after: i32,
        limit: u64,
    ) -> Result<Vec<order_event::Model>> {
        Ok(order_event::Entity::find()
            .filter(order_event::Column::OrderId.eq(order.0))
            .filter(order_event::Column::Sequence.gt(after))
            .order_by_asc(order_event::Column::Sequence)
            .limit(limit)
            .all(self.db())
            .await?)
    }

    /// Events of one customer's orders, or of one location's fulfilment orders, with an
    /// id above `after_id`, oldest first.
    pub async fn scoped_events(
        &self,
        scope: EventScope,
        after_id: i64,
        limit: u64,
    ) -> Result<Vec<order_event::Model>> {
        let filter = match scope {
            EventScope::Customer(id) => order_event::Column::CustomerId.eq(id.0),
            EventScope::Location(id) => order_event::Column::LocationId.eq(id.0),
        };
        Ok(order_event::Entity::find()
            .filter(filter)
            .filter(order_event::Column::Id.gt(after_id))
            .order_by_asc(order_event::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?)
    }

    /// The newest event id (0 when there are none).
    pub async fn newest_event_id(&self) -> Result<i64> {
        Ok(order_event::Entity::find()
            .select_only()
            .column_as(order_event::Column::Id.max(), "max")
            .into_tuple::<Option<i64>>()
            .one(self.db())
            .await?
            .flatten()
            .unwrap_or(0))
    }

    /// A warehouse's pick list: fulfilment orders, oldest first, optionally of one
    /// location and some statuses.
    pub async fn fulfillment_orders_page(
        &self,
        location: Option<LocationId>,
        statuses: &[FulfillmentStatus],
        request: &PageRequest,
    ) -> Result<Page<fulfillment_order::Model>> {
        let mut select = fulfillment_order::Entity::find();
        if let Some(location) = location {
            select = select.filter(fulfillment_order::Column::LocationId.eq(location.0));
        }
        if !statuses.is_empty() {
            select =
                select.filter(fulfillment_order::Column::Status.is_in(statuses.iter().copied()));
        }
        let keyset = Keyset {
            key: Expr::col((fulfillment_order::Entity, fulfillment_order::Column::Id)),
            id: Expr::col((fulfillment_order::Entity, fulfillment_order::Column::Id)),
            descending: false,
            time_key: false,
            cursor_of: |m: &fulfillment_order::Model| Cursor::new(CursorKey::Int(m.id), m.id),
        };
        page::fetch(self.db(), select, &keyset, request).await
    }
}

/// An order with its customer, its lines (in line order) and their SKUs.
pub struct OrderWithLines {
    pub order: order::Model,
    pub customer: customer::Model,
    pub lines: Vec<order_line::Model>,
    pub skus: HashMap<SkuId, sku::Model>,
}

/// The order `id` joined with its customer, left-joined with its lines and their SKUs
/// (one row per line, in line order), every entity's columns prefixed: `o_`, `c_`, `l_`,
/// `s_`.
fn order_with_lines_select(id: i64) -> sea_orm::sea_query::SelectStatement {
    let mut select = Query::select();
    rows::select_columns::<order::Entity>(&mut select, "o_");
    rows::select_columns::<customer::Entity>(&mut select, "c_");
    rows::select_columns::<order_line::Entity>(&mut select, "l_");
    rows::select_columns::<sku::Entity>(&mut select, "s_");
    select
        .from(order::Entity)
        .inner_join(
            customer::Entity,
            Expr::col((customer::Entity, customer::Column::Id))
                .equals((order::Entity, order::Column::CustomerId)),
        )
        .left_join(
            order_line::Entity,
            Expr::col((order_line::Entity, order_line::Column::OrderId))
                .equals((order::Entity, order::Column::Id)),
        )
        .left_join(
            sku::Entity,
            Expr::col((sku::Entity, sku::Column::Id))
                .equals((order_line::Entity, order_line::Column::SkuId)),
        )
        .and_where(Expr::col((order::Entity, order::Column::Id)).eq(id))
        .order_by(
            (order_line::Entity, order_line::Column::LineNumber),
            sea_orm::Order::Asc,
        );
    select
}
