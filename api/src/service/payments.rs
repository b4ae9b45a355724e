//! Payment providers behind one trait. Built in: `test` (`tok_visa` authorises,
//! `tok_declined` declines) and `manual` (staff record payment later). A real gateway
//! adapter implements `PaymentProvider` and is registered by name.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

/// The outcome of an authorisation the provider accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// Funds are held; capture later.
    Authorized { reference: String },
    /// Nothing is held yet (manual payment).
    Pending { reference: String },
}

/// Why a provider call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PaymentError {
    /// The provider declined: the client's to fix (`PAYMENT_DECLINED`).
    #[error("{0}")]
    Declined(String),
    /// The provider could not be reached or failed.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
}

/// A payment gateway. Amounts are minor units of `currency`. Every call that moves money
/// carries an idempotency key derived from the row that decided it (`capture:<id>`,
/// `void:<id>`, `refund:<id>`): the provider must treat a repeated key as the same
/// request, so a retry after a crash or a timeout never moves money twice.
#[async_trait]
pub trait PaymentProvider: Send + Sync + 'static {
    /// Holds `amount` on the customer's payment method given by `token`.
    async fn authorize(
        &self,
        amount: i64,
        currency: &str,
        token: Option<&str>,
    ) -> Result<Authorization, PaymentError>;
    /// Takes `amount` of a held authorisation.
    async fn capture(
        &self,
        reference: &str,
        amount: i64,
        currency: &str,
        idempotency_key: &str,
    ) -> Result<(), PaymentError>;
    /// Releases what is still held.
    async fn void(&self, reference: &str, idempotency_key: &str) -> Result<(), PaymentError>;
    /// Gives back `amount` of what was captured; returns the provider's refund reference.
    async fn refund(
        &self,
        reference: &str,
        amount: i64,
        currency: &str,
        idempotency_key: &str,
    ) -> Result<String, PaymentError>;
    /// Holds `amount` more on an existing authorisation (an order edit that costs more).
    /// Gateways without incremental authorisation decline.
    async fn increase_authorization(
        &self,
        _reference: &str,
        _amount: i64,
        _currency: &str,
        _idempotency_key: &str,
    ) -> Result<(), PaymentError> {
        Err(PaymentError::Declined(
            "this payment method cannot hold more; cancel and place a new order".to_owned(),
        ))
    }
    /// Releases `amount` of a held authorisation (an order edit that costs less).
    async fn release(
        &self,
        _reference: &str,
        _amount: i64,
        _currency: &str,
        _idempotency_key: &str,
    ) -> Result<(), PaymentError> {
        Ok(())
    }
}

/// The `test` provider: deterministic outcomes by token, no network. `tok_visa` and
/// `tok_mastercard` authorise, `tok_declined` declines; `tok_visa_increase_declined`
/// authorises but declines holding more (order edits); `tok_visa_refund_fails_once`
/// and `tok_visa_capture_fails_once` authorise, and the first refund (capture) of that
/// payment fails as if the gateway timed out — for trying out retries. Repeated
/// idempotency keys answer like the first call, as a real gateway does.
#[derive(Default)]
pub struct TestProvider {
    /// Idempotency keys already answered, with their reference.
    done: std::sync::Mutex<HashMap<String, String>>,
    /// Payments (by reference) whose scripted failure has happened.
    failed: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl TestProvider {
    /// Fails the first call of `kind` on a payment whose reference asks for it.
    fn scripted_failure(&self, reference: &str, kind: &str) -> Result<(), PaymentError> {
        if reference.starts_with(&format!("test_{kind}_fails_once_"))
            && self
                .failed
                .lock()
                .map(|mut f| f.insert(reference.to_owned()))
                .unwrap_or(false)
        {
            return Err(PaymentError::Unavailable(format!(
                "the test gateway timed out on this {kind} (scripted: it fails once)"
            )));
        }
        Ok(())
    }

    /// The answer given before for `key`, or a new one recorded for it.
    fn once(&self, key: &str, make: impl FnOnce() -> String) -> String {
        let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        done.entry(key.to_owned()).or_insert_with(make).clone()
    }
}

#[async_trait]
impl PaymentProvider for TestProvider {
    async fn authorize(
        &self,
        _amount: i64,
        _currency: &str,
        token: Option<&str>,
    ) -> Result<Authorization, PaymentError> {
        let id = uuid::Uuid::new_v4().simple();
        match token {
            Some("tok_visa") | Some("tok_mastercard") => Ok(Authorization::Authorized {
                reference: format!("test_{id}"),
            }),
            Some("tok_visa_refund_fails_once") => Ok(Authorization::Authorized {
                reference: format!("test_refund_fails_once_{id}"),
            }),
            Some("tok_visa_capture_fails_once") => Ok(Authorization::Authorized {
                reference: format!("test_capture_fails_once_{id}"),
            }),
            Some("tok_visa_increase_declined") => Ok(Authorization::Authorized {
                reference: format!("test_increase_declined_{id}"),
            }),
            Some("tok_declined") => Err(PaymentError::Declined("the card was declined".to_owned())),
            Some(_) => Err(PaymentError::Declined(
                "unknown test token: use tok_visa or tok_declined".to_owned(),
            )),
            None => Err(PaymentError::Declined(
                "a payment token is required".to_owned(),
            )),
        }
    }

    async fn capture(
        &self,
        reference: &str,
        _amount: i64,
        _currency: &str,
        idempotency_key: &str,
    ) -> Result<(), PaymentError> {
        if self
            .done
            .lock()
            .is_ok_and(|d| d.contains_key(idempotency_key))
        {
            return Ok(());
        }
        self.scripted_failure(reference, "capture")?;
        self.once(idempotency_key, String::new);
        Ok(())
    }

    async fn void(&self, _reference: &str, idempotency_key: &str) -> Result<(), PaymentError> {
        self.once(idempotency_key, String::new);
        Ok(())
    }

    async fn refund(
        &self,
        reference: &str,
        _amount: i64,
        _currency: &str,
        idempotency_key: &str,
    ) -> Result<String, PaymentError> {
        if let Some(done) = self
            .done
            .lock()
            .ok()
            .and_then(|d| d.get(idempotency_key).cloned())
        {
            return Ok(done);
        }
        self.scripted_failure(reference, "refund")?;
        Ok(self.once(idempotency_key, || {
            format!("re_test_{}", uuid::Uuid::new_v4().simple())
        }))
    }

    async fn increase_authorization(
        &self,
        reference: &str,
        _amount: i64,
        _currency: &str,
        idempotency_key: &str,
    ) -> Result<(), PaymentError> {
        if reference.starts_with("test_increase_declined_") {
            return Err(PaymentError::Declined(
                "the card issuer declined the higher amount".to_owned(),
            ));
        }
        self.once(idempotency_key, String::new);
        Ok(())
    }
}

/// The `manual` provider: the order waits for staff to record the payment; money moves
/// outside Orderly, so captures, voids and refunds only need recording.
pub struct ManualProvider;

#[async_trait]
impl PaymentProvider for ManualProvider {
    async fn authorize(
        &self,
        _amount: i64,
        _currency: &str,
        _token: Option<&str>,
    ) -> Result<Authorization, PaymentError> {
        Ok(Authorization::Pending {
            reference: format!("manual_{}", uuid::Uuid::new_v4().simple()),
        })
    }

    async fn capture(
        &self,
        _reference: &str,
        _amount: i64,
        _currency: &str,
        _idempotency_key: &str,
    ) -> Result<(), PaymentError> {
        Ok(())
    }

    async fn void(&self, _reference: &str, _idempotency_key: &str) -> Result<(), PaymentError> {
        Ok(())
    }

    async fn refund(
        &self,
        _reference: &str,
        _amount: i64,
        _currency: &str,
        idempotency_key: &str,
    ) -> Result<String, PaymentError> {
        Ok(format!("manual_{idempotency_key}"))
    }

    async fn increase_authorization(
        &self,
        _reference: &str,
        _amount: i64,
        _currency: &str,
        _idempotency_key: &str,
    ) -> Result<(), PaymentError> {
        Ok(())
    }
}

/// Providers by name.
#[derive(Clone)]
pub struct Payments {
    providers: HashMap<String, Arc<dyn PaymentProvider>>,
}

impl Default for Payments {
    fn default() -> Self {
        let mut payments = Self {
            providers: HashMap::new(),
        };
        payments.register("test", Arc::new(TestProvider::default()));
        payments.register("manual", Arc::new(ManualProvider));
        payments
    }
}

impl Payments {
    /// Adds (or replaces) a provider.
    pub fn register(&mut self, name: &str, provider: Arc<dyn PaymentProvider>) {
        self.providers.insert(name.to_owned(), provider);
    }

    /// The provider called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn PaymentProvider>> {
        self.providers.get(name).cloned()
    }
}
