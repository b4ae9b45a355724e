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

impl Authorization {
    /// The provider's reference for it.
    pub fn reference(&self) -> &str {
        match self {
            Self::Authorized { reference } | Self::Pending { reference } => reference,
        }
    }
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
    /// Holds `amount` on the customer's payment method given by `token`. The key
    /// (`authorize:<attempt id>`) names the placement's payment attempt: asked again with
    /// it (a client's retry after a crash or a timeout), the provider answers with the
    /// authorisation it made the first time instead of holding the money twice.
    async fn authorize(
        &self,
        amount: i64,
        currency: &str,
        token: Option<&str>,
        idempotency_key: &str,
    ) -> Result<Authorization, PaymentError>;
    /// The authorisation made under `idempotency_key`, if the provider made one: how the
    /// sweeper learns what an attempt whose placement died holds, to void it. Gateways
    /// that cannot look up by key answer `Unavailable` and the attempt waits for staff.
    async fn find_authorization(
        &self,
        _idempotency_key: &str,
    ) -> Result<Option<Authorization>, PaymentError> {
        Err(PaymentError::Unavailable(
            "this provider cannot look an authorisation up by its idempotency key".to_owned(),
        ))
    }
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
/// payment fails as if the gateway timed out — for trying out retries;
/// `tok_visa_hangs_once` authorises and then never answers the first call (as if the
/// server died before it heard back; the request's timeout ends it), answering a
/// repeated call with the same key at once. Repeated idempotency keys answer like the
/// first call, as a real gateway does. It keeps a ledger of what it holds
/// ([`TestProvider::authorizations`]) and of every call ([`TestProvider::calls`]).
#[derive(Default)]
pub struct TestProvider {
    /// Authorisations made, in order, found by key and by reference without a scan.
    ledger: std::sync::Mutex<Ledger>,
    /// Every call, as `<method>:<idempotency key>`.
    calls: std::sync::Mutex<Vec<String>>,
    /// Idempotency keys already answered, with their reference.
    done: std::sync::Mutex<HashMap<String, String>>,
    /// Payments (by reference) whose scripted failure has happened.
    failed: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// One authorisation the `test` provider made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestAuthorization {
    /// The key it was asked with.
    pub idempotency_key: String,
    pub reference: String,
    /// Minor units held.
    pub amount: i64,
    /// Released by a void.
    pub voided: bool,
}

/// The test gateway's authorisations: a placement asks for its key's authorisation
/// first, so finding it must not scan every authorisation ever made.
#[derive(Default)]
struct Ledger {
    held: Vec<TestAuthorization>,
    by_key: HashMap<String, usize>,
    by_reference: HashMap<String, usize>,
}

impl Ledger {
    fn record(&mut self, held: TestAuthorization) {
        let at = self.held.len();
        self.by_key
            .entry(held.idempotency_key.clone())
            .or_insert(at);
        self.by_reference.insert(held.reference.clone(), at);
        self.held.push(held);
    }
}

impl TestProvider {
    /// Every authorisation made, in order.
    pub fn authorizations(&self) -> Vec<TestAuthorization> {
        lock(&self.ledger).held.clone()
    }

    /// Every call received, in order, as `<method>:<idempotency key>`.
    pub fn calls(&self) -> Vec<String> {
        lock(&self.calls).clone()
    }

    fn heard(&self, method: &str, key: &str) {
        lock(&self.calls).push(format!("{method}:{key}"));
    }

    fn authorization_for(&self, key: &str) -> Option<Authorization> {
        let ledger = lock(&self.ledger);
        ledger.by_key.get(key).map(|&at| Authorization::Authorized {
            reference: ledger.held[at].reference.clone(),
        })
    }

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

/// Locks, shrugging off a poisoned mutex (the data is a plain ledger).
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[async_trait]
impl PaymentProvider for TestProvider {
    async fn authorize(
        &self,
        amount: i64,
        _currency: &str,
        token: Option<&str>,
        idempotency_key: &str,
    ) -> Result<Authorization, PaymentError> {
        self.heard("authorize", idempotency_key);
        if let Some(made) = self.authorization_for(idempotency_key) {
            return Ok(made);
        }
        let made = authorization_for_token(token)?;
        lock(&self.ledger).record(TestAuthorization {
            idempotency_key: idempotency_key.to_owned(),
            reference: made.reference().to_owned(),
            amount,
            voided: false,
        });
        if token == Some("tok_visa_hangs_once") {
            // Held at the "gateway", never answered: the caller's timeout ends this.
            std::future::pending::<()>().await;
        }
        Ok(made)
    }

    async fn find_authorization(
        &self,
        idempotency_key: &str,
    ) -> Result<Option<Authorization>, PaymentError> {
        self.heard("find_authorization", idempotency_key);
        Ok(self.authorization_for(idempotency_key))
    }

    async fn capture(
        &self,
        reference: &str,
        _amount: i64,
        _currency: &str,
        idempotency_key: &str,
    ) -> Result<(), PaymentError> {
        self.heard("capture", idempotency_key);
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

    async fn void(&self, reference: &str, idempotency_key: &str) -> Result<(), PaymentError> {
        self.heard("void", idempotency_key);
        self.once(idempotency_key, String::new);
        let mut ledger = lock(&self.ledger);
        if let Some(&at) = ledger.by_reference.get(reference) {
            ledger.held[at].voided = true;
        }
        Ok(())
    }

    async fn refund(
        &self,
        reference: &str,
        _amount: i64,
        _currency: &str,
        idempotency_key: &str,
    ) -> Result<String, PaymentError> {
        self.heard("refund", idempotency_key);
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
        self.heard("increase_authorization", idempotency_key);
        if reference.starts_with("test_increase_declined_") {
            return Err(PaymentError::Declined(
                "the card issuer declined the higher amount".to_owned(),
            ));
        }
        self.once(idempotency_key, String::new);
        Ok(())
    }
}

/// What the `test` gateway does with `token`.
fn authorization_for_token(token: Option<&str>) -> Result<Authorization, PaymentError> {
    let id = uuid::Uuid::new_v4().simple();
    match token {
        Some("tok_visa") | Some("tok_mastercard") | Some("tok_visa_hangs_once") => {
            Ok(Authorization::Authorized {
                reference: format!("test_{id}"),
            })
        }
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
        idempotency_key: &str,
    ) -> Result<Authorization, PaymentError> {
        Ok(Authorization::Pending {
            reference: manual_reference(idempotency_key),
        })
    }

    async fn find_authorization(
        &self,
        idempotency_key: &str,
    ) -> Result<Option<Authorization>, PaymentError> {
        // Nothing is held; the same answer as `authorize` gave is all there is.
        Ok(Some(Authorization::Pending {
            reference: manual_reference(idempotency_key),
        }))
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

/// A manual payment's reference: the same for the same attempt.
fn manual_reference(idempotency_key: &str) -> String {
    format!(
        "manual_{}",
        idempotency_key.trim_start_matches("authorize:")
    )
}

/// Providers by name.
#[derive(Clone)]
pub struct Payments {
    providers: HashMap<String, Arc<dyn PaymentProvider>>,
    /// The built-in `test` provider, for reading its ledger.
    test: Arc<TestProvider>,
}

impl Default for Payments {
    fn default() -> Self {
        let test = Arc::new(TestProvider::default());
        let mut payments = Self {
            providers: HashMap::new(),
            test: test.clone(),
        };
        payments.register("test", test);
        payments.register("manual", Arc::new(ManualProvider));
        payments
    }
}

impl Payments {
    /// Adds (or replaces) a provider.
    pub fn register(&mut self, name: &str, provider: Arc<dyn PaymentProvider>) {
        self.providers.insert(name.to_owned(), provider);
    }

    /// The built-in `test` provider (its ledger and calls), whether or not another
    /// provider was registered under its name since.
    pub fn test_provider(&self) -> &Arc<TestProvider> {
        &self.test
    }

    /// The provider called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn PaymentProvider>> {
        self.providers.get(name).cloned()
    }
}
