//! Webhook rules: which topic an event is, which URLs may receive deliveries (no SSRF
//! into the operator's network), how long to wait before the next attempt, and how a
//! delivery is signed. Pure: resolving host names happens where the I/O is.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::ValidationError;
use super::status::{OrderEventType, WebhookTopic};

/// Longest URL a subscription may have.
pub const MAX_URL_LEN: usize = 2048;
/// The longest wait between two attempts, however many failed.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// A subscription whose every attempt has failed for this long is deactivated.
pub const DEACTIVATE_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// The topic an event is delivered under; `None` for events partners never see
/// (internal notes).
pub fn topic_of(event: OrderEventType) -> Option<WebhookTopic> {
    use OrderEventType as E;
    Some(match event {
        E::Placed => WebhookTopic::OrderPlaced,
        E::Cancelled => WebhookTopic::OrderCancelled,
        E::Shipped => WebhookTopic::FulfillmentShipped,
        E::Delivered => WebhookTopic::FulfillmentDelivered,
        E::ArrivingTomorrow => WebhookTopic::DeliveryArrivingTomorrow,
        E::ReturnRequested
        | E::ReturnApproved
        | E::ReturnDeclined
        | E::ReturnInTransit
        | E::ReturnReceived => WebhookTopic::ReturnUpdated,
        E::Refunded => WebhookTopic::RefundCreated,
        E::InternalNoteAdded => return None,
        E::PaymentAuthorized
        | E::PaymentCaptured
        | E::PaymentFailed
        | E::Allocated
        | E::PickingStarted
        | E::Packed
        | E::InTransit
        | E::OutForDelivery
        | E::DeliveryException
        | E::NoteAdded
        | E::PaymentRecorded
        | E::OrderEdited
        | E::AddressChanged => WebhookTopic::OrderUpdated,
    })
}

/// A subscription's topics: at least one, each once, in a stable order.
pub fn parse_topics(topics: &[WebhookTopic]) -> Result<Vec<WebhookTopic>, ValidationError> {
    let mut topics = topics.to_vec();
    topics.sort_unstable();
    topics.dedup();
    if topics.is_empty() {
        return Err(ValidationError::new("topics", "name at least one topic"));
    }
    Ok(topics)
}

/// Topics as stored: comma-separated names.
pub fn topics_to_text(topics: &[WebhookTopic]) -> String {
    topics
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<&str>>()
        .join(",")
}

/// Topics as stored, read back (unknown names are skipped).
pub fn topics_from_text(text: &str) -> Vec<WebhookTopic> {
    text.split(',').filter_map(|t| t.parse().ok()).collect()
}

/// A URL deliveries may go to: `https://` (or `http://` when private targets are
/// allowed), with a host, no credentials, not naming a private address outright. Host
/// names are checked again after every DNS resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    /// Validates `text`; `allow_private` (tests, labs) lets `http://` and private,
    /// loopback and link-local hosts through.
    pub fn parse(text: &str, allow_private: bool) -> Result<Self, ValidationError> {
        let bad = |m: &str| ValidationError::new("url", m);
        let text = text.trim();
        if text.len() > MAX_URL_LEN {
            return Err(bad(&format!("must be at most {MAX_URL_LEN} characters")));
        }
        let url = url::Url::parse(text).map_err(|_| bad("is not an absolute URL"))?;
        match url.scheme() {
            "https" => {}
            "http" if allow_private => {}
            _ => return Err(bad("must be an https:// URL")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "must not carry credentials; deliveries are signed instead",
            ));
        }
        if url.fragment().is_some() {
            return Err(bad("must not have a #fragment"));
        }
        let forbidden = match url.host() {
            None => return Err(bad("must name a host")),
            Some(url::Host::Ipv4(ip)) => is_forbidden(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => is_forbidden(IpAddr::V6(ip)),
            Some(url::Host::Domain(name)) => is_internal_name(name),
        };
        if forbidden && !allow_private {
            return Err(bad(
                "must not point at a loopback, private, link-local or metadata address",
            ));
        }
        Ok(Self(url))
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host name when the URL names one (not an IP literal).
    pub fn domain(&self) -> Option<&str> {
        self.0.domain()
    }

    /// The port, explicit or the scheme's.
    pub fn port(&self) -> u16 {
        self.0.port_or_known_default().unwrap_or(443)
    }
}

/// Host names that only ever mean this machine or its network.
fn is_internal_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name.ends_with(".local")
        || name.ends_with(".internal")
        || name == "metadata"
}

/// True for addresses a webhook must never reach: loopback, private, shared (CGNAT),
/// link-local (cloud metadata lives there), unspecified, broadcast, multicast,
/// documentation and benchmark ranges, and their IPv6 equivalents (unique-local,
/// link-local, IPv4-mapped and NAT64 forms of the IPv4 ones).
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_forbidden_v4(v4);
            }
            let s = v6.segments();
            // NAT64 (64:ff9b::/96) embeds an IPv4 address in the last 32 bits.
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                let v4 =
                    Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
                return is_forbidden_v4(v4);
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || v6 == Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1)
                || s[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible (deprecated) ::a.b.c.d
        }
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

/// How long to wait after failed attempt number `attempt` (1-based): `first` doubled
/// per earlier failure, at most an hour, scaled by `jitter` in `[0, 1)` into its upper
/// half (so instances retrying together spread out, and no wait is shorter than half).
pub fn backoff(attempt: u32, first: Duration, jitter: f64) -> Duration {
    let doublings = attempt.saturating_sub(1).min(30);
    let full = first
        .saturating_mul(1u32 << doublings)
        .min(MAX_BACKOFF)
        .max(Duration::from_millis(1));
    full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// The `Orderly-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`.
pub fn signature(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    format!("t={unix_seconds},v1={}", sign(secret, unix_seconds, body))
}

/// The hex HMAC-SHA256 of `"<t>.<body>"` keyed with `secret`.
pub fn sign(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length; this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn every_event_but_internal_notes_has_a_topic() {
        for event in OrderEventType::iter() {
            assert_eq!(
                topic_of(event).is_none(),
                event == OrderEventType::InternalNoteAdded,
                "{event:?}"
            );
        }
        let all: Vec<WebhookTopic> = OrderEventType::iter().filter_map(topic_of).collect();
        for topic in WebhookTopic::iter() {
            assert!(all.contains(&topic), "no event is {topic:?}");
        }
    }

    #[test]
    fn topics_are_a_non_empty_set() {
        assert!(parse_topics(&[]).is_err());
        let topics = parse_topics(&[
            WebhookTopic::RefundCreated,
            WebhookTopic::OrderPlaced,
            WebhookTopic::RefundCreated,
        ])
        .unwrap();
        assert_eq!(
            topics,
            [WebhookTopic::OrderPlaced, WebhookTopic::RefundCreated]
        );
        assert_eq!(topics_from_text(&topics_to_text(&topics)), topics);
    }

    #[test]
    fn urls_must_be_public_https() {
        for ok in [
            "https://partner.example.com/hooks/orderly",
            "https://93.184.216.34:8443/x?y=1",
            "https://[2606:4700::1111]/",
        ] {
            assert!(WebhookUrl::parse(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "not a url",
            "/relative",
            "ftp://example.com/",
            "http://example.com/",
            "https://user:pw@example.com/",
            "https://example.com/#frag",
            "https://127.0.0.1/",
            "https://127.1.2.3:9000/",
            "https://10.0.0.5/",
            "https://172.16.3.4/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00:ec2::254]/",
            "https://[fe80::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            "https://localhost/",
            "https://LOCALHOST./",
            "https://db.internal/",
            "https://printer.local/",
            "https://2130706433/",
            "https://0x7f000001/",
        ] {
            assert!(WebhookUrl::parse(bad, false).is_err(), "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(WebhookUrl::parse(&long, false).is_err());
        assert!(WebhookUrl::parse("http://127.0.0.1:9/hook", true).is_ok());
        assert!(WebhookUrl::parse("ftp://127.0.0.1/", true).is_err());
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let first = Duration::from_millis(1000);
        assert_eq!(backoff(1, first, 1.0), first);
        assert_eq!(backoff(1, first, 0.0), first / 2);
        assert_eq!(backoff(3, first, 1.0), first * 4);
        assert_eq!(backoff(40, first, 1.0), MAX_BACKOFF);
        for attempt in 1..20 {
            let wait = backoff(attempt, first, 0.37);
            assert!(wait >= backoff(attempt, first, 0.0) && wait <= backoff(attempt, first, 1.0));
        }
    }

    #[test]
    fn signatures_are_hmac_sha256_of_t_dot_body() {
        // Computed independently:
        // printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
        assert_eq!(
            signature("whsec_test", 1_700_000_000, b"{\"a\":1}"),
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
        assert_ne!(
            sign("whsec_test", 1_700_000_000, b"{\"a\":1}"),
            sign("whsec_other", 1_700_000_000, b"{\"a\":1}")
        );
        assert_ne!(
            sign("whsec_test", 1_700_000_000, b"{\"a\":1}"),
            sign("whsec_test", 1_700_000_001, b"{\"a\":1}")
        );
    }
}
