//! Sales channels, createChannel, and the console's `channelSummary`.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};

use crate::domain::ValidationError;
use crate::domain::catalog::{Code, parse_name};
use crate::graphql::error::{UserError, invalid_argument, payload, query_error};
use crate::graphql::mutation::Checks;
use crate::graphql::scalars::{Date, Money};
use crate::service::Store;
use crate::service::channels::MAX_SUMMARY_DAYS;

/// A sales channel: where orders come from (web, stores, marketplaces, phone…).
#[derive(SimpleObject, Clone)]
pub struct Channel {
    /// Short code, given as `channel` when placing an order.
    pub code: String,
    /// Display name.
    pub name: String,
}

/// What one channel sold on one day (UTC), in one currency.
#[derive(SimpleObject, Clone)]
pub struct ChannelDay {
    /// The channel's code.
    pub channel: String,
    /// The day (UTC).
    pub date: Date,
    /// Orders placed, cancelled ones included.
    pub orders: i64,
    /// Orders cancelled outright.
    pub cancelled: i64,
    /// Totals of the orders not cancelled outright.
    pub revenue: Money,
}

#[derive(Default)]
pub struct ChannelsQuery;

#[Object]
impl ChannelsQuery {
    /// Every sales channel, by code.
    async fn channels(&self, ctx: &Context<'_>) -> Result<Vec<Channel>> {
        Ok(ctx
            .data::<Store>()?
            .channels()
            .await
            .map_err(query_error)?
            .into_iter()
            .map(|c| Channel {
                code: c.code,
                name: c.name,
            })
            .collect())
    }

    /// Orders and revenue per channel per day (UTC) from `from` to `to` inclusive (at
    /// most 366 days): the console's sales-by-channel chart.
    async fn channel_summary(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First day (UTC).")] from: Date,
        #[graphql(desc = "Last day (UTC), inclusive.")] to: Date,
    ) -> Result<Vec<ChannelDay>> {
        let days = (to.0 - from.0).num_days();
        if !(0..MAX_SUMMARY_DAYS).contains(&days) {
            return Err(invalid_argument(ValidationError::new(
                "to",
                format!("must be on or after `from`, at most {MAX_SUMMARY_DAYS} days later"),
            )));
        }
        Ok(ctx
            .data::<Store>()?
            .channel_summary(from.0, to.0)
            .await
            .map_err(query_error)?
            .into_iter()
            .map(|d| ChannelDay {
                channel: d.channel,
                date: Date(d.date),
                orders: d.orders,
                cancelled: d.cancelled,
                revenue: Money::from_minor(d.revenue, &d.currency),
            })
            .collect())
    }
}

/// A new sales channel.
#[derive(InputObject)]
pub struct CreateChannelInput {
    /// Short unique code (letters, digits, `-`, `_`, `.`), e.g. `phone`.
    pub code: String,
    /// Display name.
    pub name: String,
}

/// Result of `createChannel`.
#[derive(SimpleObject)]
pub struct ChannelPayload {
    /// The new channel.
    pub channel: Option<Channel>,
    /// Why nothing was created; empty on success.
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct ChannelsMutation;

#[Object]
impl ChannelsMutation {
    /// Creates a sales channel (staff).
    async fn create_channel(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `CreateChannelInput`.")] input: CreateChannelInput,
    ) -> Result<ChannelPayload> {
        let mut checks = Checks::default();
        let code = checks.take(None, Code::parse("code", &input.code));
        let name = checks.take(None, parse_name("name", &input.name));
        let (Some(code), Some(name)) = (code, name) else {
            return Ok(ChannelPayload {
                channel: None,
                user_errors: checks.into_errors(),
            });
        };
        let (channel, user_errors) = payload(
            ctx.data::<Store>()?.create_channel(&code, &name).await,
            |c| Channel {
                code: c.code,
                name: c.name,
            },
        )?;
        Ok(ChannelPayload {
            channel,
            user_errors,
        })
    }
}
