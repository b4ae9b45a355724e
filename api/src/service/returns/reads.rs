//! Reads of returns, refunds and what is returnable, for the API: batched, one
//! statement per kind of thing.

use std::collections::HashMap;

use entity::{order, refund, return_line, return_request};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::ReturnableLine;
use crate::domain::ids::{OrderId, ReturnId};
use crate::domain::status::ReturnStatus;
use crate::service::orders::Visibility;
use crate::service::{Result, Store, group};

/// Reads for the API (batched: one statement per kind of thing).
impl Store {
    /// Returns by id, as `visibility` allows (others are simply absent).
    pub async fn returns_by_ids(
        &self,
        ids: &[ReturnId],
        visibility: Visibility,
    ) -> Result<HashMap<ReturnId, return_request::Model>> {
        Ok(return_request::Entity::find()
            .filter(return_request::Column::Id.is_in(ids.iter().map(|i| i.0)))
            .all(self.db())
            .await?
            .into_iter()
            .filter(|r| visibility.allows(r.customer_id))
            .map(|r| (ReturnId(r.id), r))
            .collect())
    }

    /// Returns of each order, oldest first.
    pub async fn returns_by_orders(
        &self,
        ids: &[OrderId],
    ) -> Result<HashMap<OrderId, Vec<return_request::Model>>> {
        let rows = return_request::Entity::find()
            .filter(return_request::Column::OrderId.is_in(ids.iter().map(|i| i.0)))
            .order_by_asc(return_request::Column::Id)
            .all(self.db())
            .await?;
        Ok(group(rows, |r| OrderId(r.order_id)))
    }

    /// Lines of each return, in the order they were asked.
    pub async fn lines_by_returns(
        &self,
        ids: &[ReturnId],
    ) -> Result<HashMap<ReturnId, Vec<return_line::Model>>> {
        let rows = return_line::Entity::find()
            .filter(return_line::Column::ReturnId.is_in(ids.iter().map(|i| i.0)))
            .order_by_asc(return_line::Column::Id)
            .all(self.db())
            .await?;
        Ok(group(rows, |l| ReturnId(l.return_id)))
    }

    /// The refund of each return that has one.
    pub async fn refunds_by_returns(
        &self,
        ids: &[ReturnId],
    ) -> Result<HashMap<ReturnId, refund::Model>> {
        Ok(refund::Entity::find()
            .filter(refund::Column::ReturnId.is_in(ids.iter().map(|i| i.0)))
            .all(self.db())
            .await?
            .into_iter()
            .filter_map(|r| r.return_id.map(|id| (ReturnId(id), r)))
            .collect())
    }

    /// Refunds by id.
    pub async fn refunds_by_ids(
        &self,
        ids: &[crate::domain::ids::RefundId],
    ) -> Result<HashMap<crate::domain::ids::RefundId, refund::Model>> {
        Ok(refund::Entity::find()
            .filter(refund::Column::Id.is_in(ids.iter().map(|i| i.0)))
            .all(self.db())
            .await?
            .into_iter()
            .map(|r| (crate::domain::ids::RefundId(r.id), r))
            .collect())
    }

    /// What of each order may still be asked back.
    pub async fn returnable_lines_by_orders(
        &self,
        ids: &[OrderId],
    ) -> Result<HashMap<OrderId, Vec<ReturnableLine>>> {
        // Only orders with a delivered parcel can have anything returnable.
        let orders = order::Entity::find()
            .filter(order::Column::Id.is_in(ids.iter().map(|i| i.0)))
            .filter(order::Column::Status.is_in([
                crate::domain::status::OrderStatus::Delivered,
                crate::domain::status::OrderStatus::PartiallyDelivered,
            ]))
            .all(self.db())
            .await?;
        if orders.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(self
            .returnable_lines_of(self.db(), &orders)
            .await?
            .into_iter()
            .map(|(id, lines)| (OrderId(id), lines))
            .collect())
    }

    /// A page of returns, newest first, optionally of some statuses and one customer.
    pub async fn returns_page(
        &self,
        statuses: &[ReturnStatus],
        customer: Option<crate::domain::ids::CustomerId>,
        request: &crate::service::page::PageRequest,
    ) -> Result<crate::service::page::Page<return_request::Model>> {
        use crate::service::page::{Cursor, CursorKey, Keyset};
        let mut select = return_request::Entity::find();
        if !statuses.is_empty() {
            select = select.filter(return_request::Column::Status.is_in(statuses.iter().copied()));
        }
        if let Some(customer) = customer {
            select = select.filter(return_request::Column::CustomerId.eq(customer.0));
        }
        let keyset = Keyset {
            key: Expr::col((return_request::Entity, return_request::Column::Id)),
            id: Expr::col((return_request::Entity, return_request::Column::Id)),
            descending: true,
            time_key: false,
            cursor_of: |m: &return_request::Model| Cursor::new(CursorKey::Int(m.id), m.id),
        };
        crate::service::page::fetch(self.db(), select, &keyset, request).await
    }
}
