//! Opaque global IDs (`Node.id`): URL-safe base64 of `Type:key`. Clients must treat them
//! as opaque; the server decodes them once at the edge into typed ids.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The kinds of object that have a global ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::AsRefStr, strum::EnumString)]
pub enum Kind {
    Order,
    OrderLine,
    Customer,
    Location,
    Sku,
    InventoryLevel,
    FulfillmentOrder,
    FulfillmentOrderLine,
    Payment,
    OrderEvent,
    ApiKey,
    Return,
    ReturnLine,
    Refund,
    OrderNote,
    CustomerAddress,
    WebhookSubscription,
    WebhookDelivery,
    Notification,
}

/// Encodes the global ID of `kind` number `key`.
pub fn encode(kind: Kind, key: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{key}", kind.as_ref()))
}

/// Decodes any global ID into its kind and key; `None` when it is not one of ours.
pub fn decode(id: &str) -> Option<(Kind, i64)> {
    if id.len() > 128 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(id.trim_end_matches('=')).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let (kind, key) = text.split_once(':')?;
    let key: i64 = key.parse().ok()?;
    (key > 0).then_some(())?;
    Some((kind.parse().ok()?, key))
}

/// Decodes a global ID that must be of `kind`.
pub fn decode_as(kind: Kind, id: &str) -> Option<i64> {
    decode(id).filter(|(k, _)| *k == kind).map(|(_, key)| key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_foreign_ids() {
        let id = encode(Kind::Order, 42);
        assert_eq!(decode(&id), Some((Kind::Order, 42)));
        assert_eq!(decode_as(Kind::Order, &id), Some(42));
        assert_eq!(decode_as(Kind::Customer, &id), None);
        for bad in [
            "",
            "42",
            "!!!",
            &URL_SAFE_NO_PAD.encode("Order:-1"),
            &URL_SAFE_NO_PAD.encode("Nope:1"),
        ] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }
}
