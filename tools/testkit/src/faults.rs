//! Fault injection at the SDK boundary: a client that kills the local server just before its
//! n-th request leaves, so a crash lands at an exact point of a handler's work.

use crate::LocalDynamo;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents, SharedInterceptor};
use aws_sdk_dynamodb::error::BoxError;
use shared::runtime::client::ClientTuning;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Kills `server` (SIGKILL) just before the armed request; fires once per arming.
#[derive(Clone)]
pub struct CrashSwitch {
    server: Arc<LocalDynamo>,
    /// Requests left before the crash; 0: disarmed.
    countdown: Arc<AtomicU64>,
    fired: Arc<AtomicU64>,
}

impl std::fmt::Debug for CrashSwitch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrashSwitch").field("countdown", &self.countdown).finish()
    }
}

impl CrashSwitch {
    pub fn new(server: Arc<LocalDynamo>) -> Self {
        CrashSwitch { server, countdown: Arc::new(AtomicU64::new(0)), fired: Arc::new(AtomicU64::new(0)) }
    }

    /// The server dies just before the `nth` request (1-based) from now.
    pub fn arm(&self, nth: u64) {
        self.countdown.store(nth, Ordering::SeqCst);
    }

    /// How many crashes this switch caused.
    pub fn fired(&self) -> u64 {
        self.fired.load(Ordering::SeqCst)
    }

    /// A client for the server whose requests pass through this switch.
    pub fn client(&self, tuning: ClientTuning) -> Client {
        let builder =
            crate::client_builder(&self.server.endpoint()).interceptor(SharedInterceptor::new(self.clone()));
        Client::from_conf(tuning.apply(builder).build())
    }
}

impl Intercept for CrashSwitch {
    fn name(&self) -> &'static str {
        "CrashSwitch"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let left = self.countdown.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if left == Ok(1) {
            self.server.stop();
            self.fired.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// Fails every request whose body holds `marker`, before it leaves (the SDK sees an error it
/// does not retry): a fault on one order's reads, or on one page of a scan, while every other
/// request goes through.
#[derive(Clone, Debug)]
pub struct FailingRequests {
    marker: Arc<str>,
    failed: Arc<AtomicU64>,
}

impl FailingRequests {
    pub fn matching(marker: &str) -> Self {
        FailingRequests { marker: marker.into(), failed: Arc::new(AtomicU64::new(0)) }
    }

    /// How many requests it failed.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::SeqCst)
    }

    /// A client for `endpoint` whose requests pass through this filter.
    pub fn client(&self, endpoint: &str) -> Client {
        let builder = crate::client_builder(endpoint).interceptor(SharedInterceptor::new(self.clone()));
        Client::from_conf(ClientTuning::default().apply(builder).build())
    }
}

impl Intercept for FailingRequests {
    fn name(&self) -> &'static str {
        "FailingRequests"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context.request().body().bytes().unwrap_or_default();
        if String::from_utf8_lossy(body).contains(&*self.marker) {
            self.failed.fetch_add(1, Ordering::SeqCst);
            return Err(format!("injected failure of a request holding {}", self.marker).into());
        }
        Ok(())
    }
}
