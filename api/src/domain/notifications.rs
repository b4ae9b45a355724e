//! Customer notifications: which events a customer is told about, and the words —
//! rendered from templates (`minijinja`) an operator can override, with dates in the
//! customer's time zone ("Arriving tomorrow", "Delivered Nov 24"). Pure: the overrides
//! arrive as text, read from disk at start-up.

use std::collections::HashMap;

use minijinja::Environment;
use serde::Serialize;

use super::status::{NotificationChannel, NotificationKind, OrderEventType};

/// The notification an event brings, if any.
pub fn kind_of(event: OrderEventType) -> Option<NotificationKind> {
    use NotificationKind as K;
    use OrderEventType as E;
    Some(match event {
        E::Placed => K::OrderConfirmed,
        E::Shipped => K::OrderShipped,
        E::ArrivingTomorrow => K::ArrivingTomorrow,
        E::OutForDelivery => K::OutForDelivery,
        E::Delivered => K::Delivered,
        E::DeliveryException => K::DeliveryDelayed,
        E::Cancelled => K::OrderCancelled,
        E::ReturnApproved => K::ReturnApproved,
        E::Refunded => K::RefundIssued,
        _ => return None,
    })
}

/// A carrier's public tracking page for `number`, for the carriers Orderly knows.
pub fn tracking_link(carrier: &str, number: &str) -> Option<String> {
    let number: String = number.chars().filter(char::is_ascii_alphanumeric).collect();
    if number.is_empty() {
        return None;
    }
    let base = match carrier.trim().to_ascii_uppercase().as_str() {
        "UPS" => "https://www.ups.com/track?tracknum=",
        "FEDEX" => "https://www.fedex.com/fedextrack/?trknbr=",
        "USPS" => "https://tools.usps.com/go/TrackConfirmAction?tLabels=",
        "DHL" => "https://www.dhl.com/global-en/home/tracking.html?tracking-id=",
        _ => return None,
    };
    Some(format!("{base}{number}"))
}

/// What a template may use. Dates are already words in the customer's time zone.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Context {
    /// The customer's name.
    pub name: String,
    /// `#1058`.
    pub order_number: String,
    /// "Arriving tomorrow", "Delivered Nov 24", "Delayed"…
    pub status_line: String,
    /// The carrier, tracking number and tracking link of the parcel, when shipped.
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    /// The money involved ("249.00 USD"): the order total, or the refund.
    pub amount: Option<String>,
    /// `#1058-R1`, for returns.
    pub return_number: Option<String>,
    /// Why (a cancellation's reason, a delay's note).
    pub reason: Option<String>,
}

/// The built-in templates: (name, text). Names are `<kind>.subject`, `<kind>.email`
/// and `<kind>.sms`, kinds in lower case (`order_shipped.email`).
const DEFAULTS: &[(&str, &str)] = &[
    (
        "order_confirmed.subject",
        "Order {{ order_number }} confirmed",
    ),
    (
        "order_confirmed.email",
        "Hi {{ name }},\n\nThank you for your order {{ order_number }}{% if amount %} ({{ amount }}){% endif %}. We will tell you when it ships.\n",
    ),
    (
        "order_confirmed.sms",
        "Orderly: order {{ order_number }} confirmed.",
    ),
    (
        "order_shipped.subject",
        "Order {{ order_number }} has shipped",
    ),
    (
        "order_shipped.email",
        "Hi {{ name }},\n\nYour order {{ order_number }} is on its way with {{ carrier }}{% if tracking_number %}, tracking number {{ tracking_number }}{% endif %}.{% if tracking_url %}\nTrack it: {{ tracking_url }}{% endif %}\n{{ status_line }}.\n",
    ),
    (
        "order_shipped.sms",
        "Orderly: {{ order_number }} shipped with {{ carrier }}. {{ status_line }}.{% if tracking_url %} {{ tracking_url }}{% endif %}",
    ),
    (
        "arriving_tomorrow.subject",
        "Arriving tomorrow: order {{ order_number }}",
    ),
    (
        "arriving_tomorrow.email",
        "Hi {{ name }},\n\n{{ status_line }}: your order {{ order_number }}{% if carrier %} with {{ carrier }}{% endif %}.{% if tracking_url %}\nTrack it: {{ tracking_url }}{% endif %}\n",
    ),
    (
        "arriving_tomorrow.sms",
        "Orderly: {{ order_number }} — {{ status_line }}.",
    ),
    (
        "out_for_delivery.subject",
        "Out for delivery: order {{ order_number }}",
    ),
    (
        "out_for_delivery.email",
        "Hi {{ name }},\n\nYour order {{ order_number }} is out for delivery. {{ status_line }}.\n",
    ),
    (
        "out_for_delivery.sms",
        "Orderly: {{ order_number }} is out for delivery.",
    ),
    ("delivered.subject", "Delivered: order {{ order_number }}"),
    (
        "delivered.email",
        "Hi {{ name }},\n\n{{ status_line }}: your order {{ order_number }}. Enjoy it!\n",
    ),
    (
        "delivered.sms",
        "Orderly: {{ order_number }} — {{ status_line }}.",
    ),
    (
        "delivery_delayed.subject",
        "Order {{ order_number }} is delayed",
    ),
    (
        "delivery_delayed.email",
        "Hi {{ name }},\n\nYour order {{ order_number }} is delayed{% if reason %}: {{ reason }}{% endif %}. We will tell you when it moves again.\n",
    ),
    (
        "delivery_delayed.sms",
        "Orderly: {{ order_number }} is delayed.",
    ),
    (
        "order_cancelled.subject",
        "Order {{ order_number }} cancelled",
    ),
    (
        "order_cancelled.email",
        "Hi {{ name }},\n\nYour order {{ order_number }} was cancelled{% if reason %} ({{ reason }}){% endif %}. Nothing will be charged for it.\n",
    ),
    (
        "order_cancelled.sms",
        "Orderly: {{ order_number }} was cancelled.",
    ),
    (
        "return_approved.subject",
        "Return {{ return_number }} approved",
    ),
    (
        "return_approved.email",
        "Hi {{ name }},\n\nYour return {{ return_number }} for order {{ order_number }} is approved. Please send the items back and enter the tracking number in your account.\n",
    ),
    (
        "return_approved.sms",
        "Orderly: return {{ return_number }} approved.",
    ),
    (
        "refund_issued.subject",
        "Refund for order {{ order_number }}",
    ),
    (
        "refund_issued.email",
        "Hi {{ name }},\n\nWe refunded {{ amount }} for order {{ order_number }} to your original payment method.\n",
    ),
    (
        "refund_issued.sms",
        "Orderly: refunded {{ amount }} for {{ order_number }}.",
    ),
];

/// The template name prefix of a kind (`order_shipped`).
pub fn template_prefix(kind: NotificationKind) -> String {
    kind.as_ref().to_ascii_lowercase()
}

/// Every template name there is (what `ORDERLY_TEMPLATES_DIR` may override, as
/// `<name>.txt`).
pub fn template_names() -> impl Iterator<Item = &'static str> {
    DEFAULTS.iter().map(|(name, _)| *name)
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: Option<String>,
    pub body: String,
}

/// The templates in use: the built-in ones, each replaceable by an operator's.
pub struct Templates {
    env: Environment<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

impl Default for Templates {
    fn default() -> Self {
        // The built-in templates parse (a unit test holds it).
        Self::with_overrides(HashMap::new()).unwrap_or_else(|_| Self {
            env: Environment::new(),
        })
    }
}

impl Templates {
    /// The built-in templates with `overrides` (name → text) in their place; an
    /// override that does not parse, or names no template, is an error naming it.
    pub fn with_overrides(overrides: HashMap<String, String>) -> Result<Self, String> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
        for name in overrides.keys() {
            if !DEFAULTS.iter().any(|(known, _)| known == name) {
                return Err(format!(
                    "{name}: no such template (known: {})",
                    template_names().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        for (name, text) in DEFAULTS {
            let text = overrides
                .get(*name)
                .cloned()
                .unwrap_or_else(|| (*text).to_owned());
            env.add_template_owned(*name, text)
                .map_err(|e| format!("{name}: {e}"))?;
        }
        Ok(Self { env })
    }

    /// Renders the message of `kind` for `channel`.
    pub fn render(
        &self,
        kind: NotificationKind,
        channel: NotificationChannel,
        context: &Context,
    ) -> Result<Rendered, String> {
        let prefix = template_prefix(kind);
        let render = |part: &str| -> Result<String, String> {
            let name = format!("{prefix}.{part}");
            self.env
                .get_template(&name)
                .and_then(|t| t.render(context))
                .map_err(|e| format!("{name}: {e}"))
        };
        Ok(match channel {
            NotificationChannel::Email => Rendered {
                subject: Some(render("subject")?.trim().to_owned()),
                body: render("email")?,
            },
            NotificationChannel::Sms => Rendered {
                subject: None,
                body: render("sms")?.trim().to_owned(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    fn context() -> Context {
        Context {
            name: "Steven Boyle".into(),
            order_number: "#1058".into(),
            status_line: "Arriving tomorrow".into(),
            carrier: Some("UPS".into()),
            tracking_number: Some("1Z999".into()),
            tracking_url: tracking_link("UPS", "1Z999"),
            amount: Some("249.00 USD".into()),
            return_number: Some("#1058-R1".into()),
            reason: None,
        }
    }

    #[test]
    fn every_kind_has_an_event_and_renders_on_both_channels() {
        let kinds: Vec<NotificationKind> = OrderEventType::iter().filter_map(kind_of).collect();
        let templates = Templates::default();
        for kind in NotificationKind::iter() {
            assert!(kinds.contains(&kind), "no event brings {kind:?}");
            for channel in NotificationChannel::iter() {
                let message = templates.render(kind, channel, &context()).unwrap();
                assert!(
                    message.body.contains("#1058"),
                    "{kind:?} {channel:?}: {message:?}"
                );
                assert_eq!(
                    message.subject.is_some(),
                    channel == NotificationChannel::Email
                );
            }
        }
        let shipped = templates
            .render(
                NotificationKind::OrderShipped,
                NotificationChannel::Email,
                &context(),
            )
            .unwrap();
        assert_eq!(shipped.subject.as_deref(), Some("Order #1058 has shipped"));
        assert!(
            shipped
                .body
                .contains("https://www.ups.com/track?tracknum=1Z999")
        );
        assert!(shipped.body.contains("Arriving tomorrow."));
    }

    #[test]
    fn operators_override_templates_and_bad_ones_are_refused() {
        let mut overrides = HashMap::new();
        overrides.insert(
            "delivered.sms".to_owned(),
            "Hej {{ name }}! {{ status_line }}".to_owned(),
        );
        let templates = Templates::with_overrides(overrides).unwrap();
        let mut c = context();
        c.status_line = "Delivered Nov 24".into();
        assert_eq!(
            templates
                .render(NotificationKind::Delivered, NotificationChannel::Sms, &c)
                .unwrap()
                .body,
            "Hej Steven Boyle! Delivered Nov 24"
        );
        let mut broken = HashMap::new();
        broken.insert("delivered.sms".to_owned(), "{% if %}".to_owned());
        assert!(
            Templates::with_overrides(broken)
                .unwrap_err()
                .starts_with("delivered.sms")
        );
        let mut unknown = HashMap::new();
        unknown.insert("delivered.fax".to_owned(), "x".to_owned());
        assert!(Templates::with_overrides(unknown).is_err());
    }

    #[test]
    fn tracking_links_for_known_carriers_only() {
        assert_eq!(
            tracking_link("fedex", "1234 5678").as_deref(),
            Some("https://www.fedex.com/fedextrack/?trknbr=12345678")
        );
        assert_eq!(tracking_link("Pigeon", "1"), None);
        assert_eq!(tracking_link("UPS", "<>"), None);
    }
}
