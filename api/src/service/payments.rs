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

/// A payment gateway. Amounts are minor units of `currency`.
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
    ) -> Result<(), PaymentError>;
    /// Releases what is still held.
    async fn void(&self, reference: &str) -> Result<(), PaymentError>;
    /// Gives back `amount` of what was captured.
    async fn refund(
        &self,
        reference: &str,
        amount: i64,
        currency: &str,
    ) -> Result<(), PaymentError>;
}

/// The `test` provider: deterministic outcomes by token, no network.
pub struct TestProvider;

#[async_trait]
impl PaymentProvider for TestProvider {
    async fn authorize(
        &self,
        _amount: i64,
        _currency: &str,
        token: Option<&str>,
    ) -> Result<Authorization, PaymentError> {
        match token {
            Some("tok_visa") | Some("tok_mastercard") => Ok(Authorization::Authorized {
                reference: format!("test_{}", uuid::Uuid::new_v4().simple()),
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
        _reference: &str,
        _amount: i64,
        _currency: &str,
    ) -> Result<(), PaymentError> {
        Ok(())
    }

    async fn void(&self, _reference: &str) -> Result<(), PaymentError> {
        Ok(())
    }

    async fn refund(
        &self,
        _reference: &str,
        _amount: i64,
        _currency: &str,
    ) -> Result<(), PaymentError> {
        Ok(())
    }
}

/// The `manual` provider: the order waits for staff to record the payment.
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
    ) -> Result<(), PaymentError> {
        Ok(())
    }

    async fn void(&self, _reference: &str) -> Result<(), PaymentError> {
        Ok(())
    }

    async fn refund(
        &self,
        _reference: &str,
        _amount: i64,
        _currency: &str,
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
        payments.register("test", Arc::new(TestProvider));
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
