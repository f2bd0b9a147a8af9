//! One audit record per request: who, what, which order and version, the outcome.

use serde::Serialize;
use std::sync::Mutex;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// The authenticated caller; `None` when the request carried none.
    pub caller: Option<String>,
    /// `snapshot.create`, `snapshot.list`, `snapshot.delete`, `snapshot.cleanup`,
    /// `snapshot.verify`, `order.get`; `unauthorized` or `unknown` before routing.
    pub action: String,
    pub order_id: Option<String>,
    pub version: Option<u64>,
    /// `ok`, `denied`, `rejected` (4xx), `failed` (5xx).
    pub outcome: &'static str,
    pub status: u16,
    pub request_id: String,
}

pub trait AuditSink: Send + Sync {
    fn record(&self, record: AuditRecord);
}

/// Production: a structured log line with target `audit`.
pub struct LogAudit;

impl AuditSink for LogAudit {
    fn record(&self, r: AuditRecord) {
        tracing::info!(
            target: "audit",
            caller = r.caller.as_deref(),
            action = %r.action,
            order_id = r.order_id.as_deref(),
            version = r.version,
            outcome = r.outcome,
            status = r.status,
            request_id = %r.request_id,
            "audit"
        );
    }
}

/// Keeps records in memory (and logs them): tests assert on it field by field.
#[derive(Default)]
pub struct MemoryAudit(Mutex<Vec<AuditRecord>>);

impl MemoryAudit {
    pub fn records(&self) -> Vec<AuditRecord> {
        self.0.lock().expect("audit lock").clone()
    }
}

impl AuditSink for MemoryAudit {
    fn record(&self, record: AuditRecord) {
        LogAudit.record(record.clone());
        self.0.lock().expect("audit lock").push(record);
    }
}

/// What a handler tells the audit layer about the request it served (a response extension).
#[derive(Clone, Debug, Default)]
pub struct AuditInfo {
    pub action: &'static str,
    pub order_id: Option<String>,
    pub version: Option<u64>,
}

pub fn outcome(status: u16) -> &'static str {
    match status {
        200..=299 => "ok",
        401 | 403 => "denied",
        400..=499 => "rejected",
        _ => "failed",
    }
}
