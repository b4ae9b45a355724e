//! Automatic persisted queries (Apollo's protocol, version 1): a client sends only the
//! SHA-256 of its query (`extensions.persistedQuery.sha256Hash`); Orderly answers
//! `PersistedQueryNotFound` the first time, the client sends the query with its hash,
//! Orderly checks the hash and keeps the text; from then on the hash alone is enough —
//! also over GET, so a CDN can cache queries.
//!
//! Texts are kept per instance (least recently and least often used evicted first) and,
//! with Redis, under `<prefix>:apq:<hash>` for a day, so every instance knows a hash any
//! of them was sent; an instance that cannot find a hash (or whose Redis does not answer
//! within 100 ms) answers `PersistedQueryNotFound`, and the client sends the query once
//! more. A persisted query is a query like any other: parsed, checked and charged for
//! every request.

use std::sync::Arc;
use std::time::Duration;

use crate::broker::{Broker, SharedTexts};

/// How long Redis keeps a persisted query's text.
const SHARED_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long a look-up in Redis may take before the hash counts as unknown.
const SHARED_DEADLINE: Duration = Duration::from_millis(100);

use sha2::{Digest, Sha256};

/// The longest query text that may be persisted.
pub const MAX_PERSISTED_BYTES: usize = 64 * 1024;
/// Query text kept, in bytes.
const KEPT_BYTES: u64 = 8 * 1024 * 1024;

/// Weighs a kept query by its text.
#[derive(Clone, Copy)]
struct TextLength;

impl quick_cache::Weighter<String, Arc<str>> for TextLength {
    fn weight(&self, key: &String, text: &Arc<str>) -> u64 {
        (key.len() + text.len()) as u64 + 32
    }
}

/// Persisted query texts by their SHA-256 (lowercase hex).
pub struct PersistedQueries {
    texts: quick_cache::sync::Cache<String, Arc<str>, TextLength>,
    /// Redis, when instances share texts.
    shared: Option<SharedTexts>,
}

impl Default for PersistedQueries {
    fn default() -> Self {
        Self {
            texts: quick_cache::sync::Cache::with_weighter(4096, KEPT_BYTES, TextLength),
            shared: None,
        }
    }
}

/// Why a persisted-query request was not run.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The hash is not known here: send the query with it.
    NotFound,
    /// Not version 1 of the protocol, or not a SHA-256 in hex.
    NotSupported(String),
    /// The query's SHA-256 is not the hash sent.
    HashMismatch,
    /// The query is longer than [`MAX_PERSISTED_BYTES`].
    TooLarge,
}

/// SHA-256 of `text` in lowercase hex.
fn sha256_hex(text: &str) -> String {
    use std::fmt::Write;
    Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

impl PersistedQueries {
    /// Texts shared through `broker` under `<prefix>:apq:` as well as kept here.
    pub fn shared(broker: Broker, prefix: &str) -> Self {
        Self {
            shared: Some(SharedTexts::new(broker, format!("{prefix}:apq:"))),
            ..Self::default()
        }
    }

    /// The text kept for `hash`: here, else in Redis (then kept here too).
    async fn text(&self, hash: &str) -> Option<Arc<str>> {
        if let Some(text) = self.texts.get(hash) {
            return Some(text);
        }
        let found = self
            .shared
            .as_ref()?
            .get(hash, SHARED_DEADLINE)
            .await
            .inspect_err(
                |err| tracing::warn!(error = %err, "persisted query look-up in Redis failed"),
            )
            .ok()?;
        // What Redis holds was checked against its hash when it was stored; check again
        // (a hand-edited key must not run another query under this hash).
        let text: Arc<str> = Arc::from(found.filter(|t| sha256_hex(t) == hash)?);
        self.texts.insert(hash.to_owned(), text.clone());
        Some(text)
    }

    /// Keeps `text` under `hash`, here and (in the background) in Redis.
    fn keep(&self, hash: String, text: &str) {
        if self.texts.get(&hash).is_some() {
            return;
        }
        self.texts.insert(hash.clone(), Arc::from(text));
        if let Some(shared) = self.shared.clone() {
            let text = text.to_owned();
            tokio::spawn(async move {
                let put = shared.put(&hash, &text, SHARED_TTL, Duration::from_secs(2));
                if let Err(err) = put.await {
                    tracing::warn!(error = %err, "could not share a persisted query through Redis");
                }
            });
        }
    }

    /// Fills in `request.query` from its persisted-query hash, or keeps the query the
    /// request brings under its hash. Requests without `persistedQuery` pass untouched.
    pub async fn resolve(&self, request: &mut async_graphql::Request) -> Result<(), Refusal> {
        let Some(persisted) = request.extensions.get("persistedQuery") else {
            return Ok(());
        };
        let persisted = persisted
            .clone()
            .into_json()
            .map_err(|_| Refusal::NotSupported("persistedQuery must be an object".into()))?;
        if persisted["version"] != 1 {
            return Err(Refusal::NotSupported(
                "only version 1 of persisted queries is supported".into(),
            ));
        }
        let hash = persisted["sha256Hash"]
            .as_str()
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| {
                Refusal::NotSupported("sha256Hash must be 64 hexadecimal digits".into())
            })?
            .to_ascii_lowercase();
        if request.query.is_empty() {
            let text = self.text(&hash).await.ok_or(Refusal::NotFound)?;
            request.query = text.to_string();
            return Ok(());
        }
        if request.query.len() > MAX_PERSISTED_BYTES {
            return Err(Refusal::TooLarge);
        }
        if sha256_hex(&request.query) != hash {
            return Err(Refusal::HashMismatch);
        }
        self.keep(hash, &request.query);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str, extensions: serde_json::Value) -> async_graphql::Request {
        serde_json::from_value(serde_json::json!({ "query": query, "extensions": extensions }))
            .unwrap()
    }

    #[tokio::test]
    async fn a_hash_is_known_once_its_query_was_sent() {
        let persisted = PersistedQueries::default();
        let query = "{ me { id } }";
        let hash = sha256_hex(query);
        let ext = serde_json::json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
        let mut bare = request("", ext.clone());
        assert_eq!(persisted.resolve(&mut bare).await, Err(Refusal::NotFound));
        let mut full = request(query, ext.clone());
        assert_eq!(persisted.resolve(&mut full).await, Ok(()));
        let mut bare = request("", ext);
        assert_eq!(persisted.resolve(&mut bare).await, Ok(()));
        assert_eq!(bare.query, query);
        // Without the extension nothing happens.
        let mut plain = request("{ a }", serde_json::json!({}));
        assert_eq!(persisted.resolve(&mut plain).await, Ok(()));
    }

    #[tokio::test]
    async fn wrong_hashes_versions_and_sizes_are_refused() {
        let persisted = PersistedQueries::default();
        let other = sha256_hex("{ b }");
        let ext = |version: i32, hash: &str| serde_json::json!({ "persistedQuery": { "version": version, "sha256Hash": hash } });
        let mut wrong = request("{ a }", ext(1, &other));
        assert_eq!(
            persisted.resolve(&mut wrong).await,
            Err(Refusal::HashMismatch)
        );
        let mut v2 = request("{ a }", ext(2, &other));
        assert!(matches!(
            persisted.resolve(&mut v2).await,
            Err(Refusal::NotSupported(_))
        ));
        let mut short = request("{ a }", ext(1, "abc"));
        assert!(matches!(
            persisted.resolve(&mut short).await,
            Err(Refusal::NotSupported(_))
        ));
        let big = format!("{{ a }}{}", " ".repeat(MAX_PERSISTED_BYTES));
        let mut big = request(&big, ext(1, &sha256_hex(&big)));
        assert_eq!(persisted.resolve(&mut big).await, Err(Refusal::TooLarge));
    }

    #[test]
    fn the_hash_is_sha256_in_lowercase_hex() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
