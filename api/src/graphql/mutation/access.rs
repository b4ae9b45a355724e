//! `createApiKey`, `revokeApiKey` and the `apiKeys` list — staff only (see `policy`).

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use crate::auth::Scope;
use crate::domain::ValidationError;
use crate::domain::catalog::parse_name;
use crate::gid::{self, Kind};
use crate::graphql::error::{ErrorCode, UserError, payload};
use crate::graphql::types::access::ApiKey;
use crate::service::Store;

/// A key to issue.
#[derive(InputObject)]
pub struct CreateApiKeyInput {
    /// What the key is for, e.g. the partner's name.
    pub name: String,
    /// Scopes to grant: `orders:read`, `orders:write`, `fulfillment:write`,
    /// `inventory:read`, `inventory:write`, `customers:read`, `customers:write`.
    pub scopes: Vec<String>,
}

/// Result of `createApiKey`.
#[derive(SimpleObject)]
pub struct CreateApiKeyPayload {
    /// The new key's record; null when `userErrors` is not empty.
    pub api_key: Option<ApiKey>,
    /// The key itself, to send as `X-Api-Key`. Shown this once: only its hash is kept.
    pub key: Option<String>,
    /// What was wrong with the input; empty on success.
    pub user_errors: Vec<UserError>,
}

/// A key to revoke.
#[derive(InputObject)]
pub struct RevokeApiKeyInput {
    /// The key's global ID.
    pub id: ID,
}

/// Result of `revokeApiKey`.
#[derive(SimpleObject)]
pub struct RevokeApiKeyPayload {
    /// The revoked key; null when `userErrors` is not empty.
    pub api_key: Option<ApiKey>,
    /// What was wrong with the input; empty on success.
    pub user_errors: Vec<UserError>,
}

/// Most scopes one key can list.
const MAX_SCOPES: usize = 16;

fn parse_scopes(names: &[String]) -> Result<Vec<Scope>, ValidationError> {
    if names.is_empty() || names.len() > MAX_SCOPES {
        return Err(ValidationError::new(
            "scopes",
            format!("grant between 1 and {MAX_SCOPES} scopes"),
        ));
    }
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            name.trim().parse().map_err(|_| {
                ValidationError::new(
                    format!("scopes.{i}"),
                    format!(
                        "unknown scope '{}'",
                        name.chars().take(40).collect::<String>()
                    ),
                )
            })
        })
        .collect()
}

#[derive(Default)]
pub struct AccessMutation;

#[Object]
impl AccessMutation {
    /// Issues a partner API key with the given scopes. The key is in the payload once and
    /// never again. Staff only.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `CreateApiKeyInput`.")] input: CreateApiKeyInput,
    ) -> Result<CreateApiKeyPayload> {
        let checked = parse_name("name", &input.name)
            .and_then(|name| Ok((name, parse_scopes(&input.scopes)?)));
        let (name, scopes) = match checked {
            Ok(ok) => ok,
            Err(err) => {
                return Ok(CreateApiKeyPayload {
                    api_key: None,
                    key: None,
                    user_errors: vec![err.into()],
                });
            }
        };
        let outcome = ctx.data::<Store>()?.create_api_key(name, &scopes).await;
        let (issued, user_errors) = payload(outcome, |issued| issued)?;
        let (api_key, key) = match issued {
            Some(issued) => (Some(ApiKey(issued.row)), Some(issued.secret)),
            None => (None, None),
        };
        Ok(CreateApiKeyPayload {
            api_key,
            key,
            user_errors,
        })
    }

    /// Revokes a partner API key: requests with it are refused from now on. Staff only.
    async fn revoke_api_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `RevokeApiKeyInput`.")] input: RevokeApiKeyInput,
    ) -> Result<RevokeApiKeyPayload> {
        let Some(id) = gid::decode_as(Kind::ApiKey, &input.id) else {
            return Ok(RevokeApiKeyPayload {
                api_key: None,
                user_errors: vec![UserError::new(
                    ErrorCode::NotFound,
                    "id",
                    "no API key with this ID",
                )],
            });
        };
        let outcome = ctx.data::<Store>()?.revoke_api_key(id).await;
        let (api_key, user_errors) = payload(outcome, ApiKey)?;
        Ok(RevokeApiKeyPayload {
            api_key,
            user_errors,
        })
    }
}

#[derive(Default)]
pub struct AccessQuery;

#[Object]
impl AccessQuery {
    /// Every partner API key, newest first, revoked ones included. Staff only.
    async fn api_keys(&self, ctx: &Context<'_>) -> Result<Vec<ApiKey>> {
        let keys = ctx
            .data::<Store>()?
            .api_keys()
            .await
            .map_err(crate::graphql::error::query_error)?;
        Ok(keys.into_iter().map(ApiKey).collect())
    }
}
