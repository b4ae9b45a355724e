//! The notification sender: takes the QUEUED notifications the outbox relay of this
//! process handed it (`service::handoff`) and claims the others (other instances',
//! retries, those the hand-off had no room for), sends each through the configured
//! sender and records the outcome. `log` stores and
//! logs (nothing leaves the machine); `smtp` sends e-mail with `lettre`. There is no SMS
//! gateway yet: SMS notifications are rendered, stored and logged with either sender.

use std::sync::Arc;
use std::time::{Duration, Instant};

use entity::notification;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Backoff, idle};
use crate::domain::status::{NotificationChannel, NotificationStatus};
use crate::metrics::Metrics;
use crate::service::Store;
use crate::service::handoff::LEASE;

/// Notifications sent at once per instance.
const BATCH: u64 = 16;
/// How often the queue depth is counted for `/metrics`.
const DEPTH_EVERY: Duration = Duration::from_secs(5);

/// Where notifications go.
#[derive(Clone)]
pub enum Sender {
    /// Stored and logged; nothing leaves the machine (the default).
    Log,
    /// E-mail through an SMTP server.
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
    },
}

impl Sender {
    /// The sender `kind` (`log` or `smtp`) names; `smtp` needs `smtp_url`
    /// (`smtp://[user:password@]host:port`, plain only to a loopback host, STARTTLS
    /// required otherwise; `smtps://` for TLS from the start).
    pub fn from_settings(kind: &str, smtp_url: Option<&str>, from: &str) -> Result<Self, String> {
        match kind {
            "log" => Ok(Self::Log),
            "smtp" => {
                let text =
                    smtp_url.ok_or("ORDERLY_NOTIFICATION_SENDER=smtp needs ORDERLY_SMTP_URL")?;
                let text = smtp_url_with_tls(text)?;
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&text)
                    .map_err(|e| format!("ORDERLY_SMTP_URL: {e}"))?
                    .timeout(Some(Duration::from_secs(10)))
                    .build();
                let from = from
                    .parse()
                    .map_err(|e| format!("ORDERLY_NOTIFICATION_FROM: {e}"))?;
                Ok(Self::Smtp {
                    transport: Box::new(transport),
                    from,
                })
            }
            other => Err(format!(
                "ORDERLY_NOTIFICATION_SENDER: '{other}' is neither log nor smtp"
            )),
        }
    }

    /// Sends one notification.
    pub async fn send(&self, n: &notification::Model) -> Result<(), String> {
        match (self, n.channel) {
            (Self::Smtp { transport, from }, NotificationChannel::Email) => {
                let to: Mailbox = n
                    .recipient
                    .parse()
                    .map_err(|e| format!("recipient {}: {e}", n.recipient))?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(n.subject.clone().unwrap_or_default())
                    .header(ContentType::TEXT_PLAIN)
                    .body(n.body.clone())
                    .map_err(|e| format!("message: {e}"))?;
                transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("smtp: {e}"))
            }
            _ => {
                tracing::info!(
                    notification = n.id,
                    kind = %n.kind,
                    channel = %n.channel,
                    to = %n.recipient,
                    subject = n.subject.as_deref().unwrap_or(""),
                    "notification (log sender)"
                );
                Ok(())
            }
        }
    }
}

/// `text` with the TLS the connection must use: plain SMTP only to a loopback host;
/// any other `smtp://` host needs STARTTLS (`tls=required` is added; `opportunistic`,
/// which an attacker on the path can strip, is refused); `smtps://` is TLS from the start.
fn smtp_url_with_tls(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|e| format!("ORDERLY_SMTP_URL: {e}"))?;
    let loopback = match url.host() {
        // `smtp` is not a special scheme: its IPv4 hosts come back as names.
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost")
                || name
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err("ORDERLY_SMTP_URL names no host".into()),
    };
    let tls = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    match (url.scheme(), tls.as_deref()) {
        ("smtps", _) | ("smtp", Some("required")) => Ok(text.to_owned()),
        ("smtp", None | Some("opportunistic")) if loopback => Ok(text.to_owned()),
        ("smtp", None) => {
            let join = if url.query().is_some() { '&' } else { '?' };
            Ok(format!("{text}{join}tls=required"))
        }
        ("smtp", Some(other)) => Err(format!(
            "ORDERLY_SMTP_URL: tls={other} to a host other than this machine; use tls=required or smtps://"
        )),
        (other, _) => Err(format!("ORDERLY_SMTP_URL: unknown scheme {other}")),
    }
}

/// Runs the sender until the runtime stops; `poll` is the safety-net period.
pub fn spawn(
    store: Store,
    sender: Sender,
    metrics: Metrics,
    poll: Duration,
) -> tokio::task::JoinHandle<()> {
    let wake = store.notification_signal();
    let sender = Arc::new(sender);
    let taking = store.take_notifications();
    tokio::spawn(async move {
        let _taking = taking;
        let mut backoff =
            Backoff::new("notification sender could not claim; notifications wait in the database");
        let mut depth_counted = Instant::now() - DEPTH_EVERY;
        let mut claimed_at = Instant::now();
        loop {
            if depth_counted.elapsed() >= DEPTH_EVERY {
                depth_counted = Instant::now();
                if let Ok(depth) = store.notification_queue_depth().await {
                    metrics.notification_queue_depth(depth);
                }
            }
            let mut batch = store.handed_notifications(BATCH as usize);
            let handed = !batch.is_empty();
            metrics.notifications_taken("handed", batch.len());
            // Claimed when nothing was handed over, and at least every `poll` under a
            // steady stream of hand-offs, so retries and other instances' rows are sent.
            let mut full = false;
            if !handed || claimed_at.elapsed() >= poll {
                claimed_at = Instant::now();
                match store.claim_notifications(BATCH, LEASE).await {
                    Ok(claimed) => {
                        backoff.succeeded();
                        full = claimed.len() as u64 == BATCH;
                        metrics.notifications_taken("claimed", claimed.len());
                        batch.extend(claimed);
                    }
                    Err(err) if !handed => {
                        backoff.failed(&err).await;
                        continue;
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "notification sender could not claim; sending what was handed over");
                    }
                }
            }
            send_and_record(&store, &sender, &metrics, &batch).await;
            // A hand-off during the sends left a wake-up: `idle` returns at once.
            if !full {
                idle(&wake, poll).await;
            }
        }
    })
}

/// Sends `batch` at once and records every outcome in one transaction.
async fn send_and_record(
    store: &Store,
    sender: &Sender,
    metrics: &Metrics,
    batch: &[notification::Model],
) {
    if batch.is_empty() {
        return;
    }
    let sends = batch
        .iter()
        .map(|n| async move { (n, sender.send(n).await) });
    let outcomes = futures_util::future::join_all(sends).await;
    match store.record_notification_attempts(outcomes).await {
        Ok(rows) => {
            for row in rows {
                metrics.notification(match row.status {
                    NotificationStatus::Sent => "sent",
                    NotificationStatus::Failed => "failed",
                    _ => "retrying",
                });
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, notifications = batch.len(), "notification attempts not recorded; they are sent again when their lease ends");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::smtp_url_with_tls;

    #[test]
    fn plain_smtp_stays_on_this_machine() {
        for local in [
            "smtp://127.0.0.1:2525",
            "smtp://localhost:25",
            "smtp://[::1]:25",
        ] {
            assert_eq!(smtp_url_with_tls(local).unwrap(), local);
        }
        assert_eq!(
            smtp_url_with_tls("smtp://mail.example.com:587").unwrap(),
            "smtp://mail.example.com:587?tls=required"
        );
        assert_eq!(
            smtp_url_with_tls("smtp://10.0.0.5:25/orderly.example?x=1").unwrap(),
            "smtp://10.0.0.5:25/orderly.example?x=1&tls=required"
        );
        assert!(smtp_url_with_tls("smtp://mail.example.com?tls=opportunistic").is_err());
        assert_eq!(
            smtp_url_with_tls("smtps://u:p@mail.example.com").unwrap(),
            "smtps://u:p@mail.example.com"
        );
        assert!(smtp_url_with_tls("http://mail.example.com").is_err());
        assert!(smtp_url_with_tls("not a url").is_err());
    }
}
