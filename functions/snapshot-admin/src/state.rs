//! What every handler works with: the admin and maintenance use cases, how maintenance jobs
//! are started, and where audit records go.

use crate::access::AuditSink;
use crate::job_starter::{InProcessJobStarter, JobStarter};
use shared::policy::settings::{MaintenanceSettings, RetentionSettings};
use shared::store::repository::OrderRepository;
use shared::use_cases::admin::SnapshotAdmin;
use shared::use_cases::clock::Clock;
use shared::use_cases::maintenance::Maintenance;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct AppState {
    pub admin: Arc<SnapshotAdmin>,
    pub maintenance: Arc<Maintenance>,
    pub jobs: Arc<dyn JobStarter>,
    pub audit: Arc<dyn AuditSink>,
}

impl AppState {
    /// The admin API over `repository`; `starter` is given the maintenance use case and says
    /// how its jobs are started.
    pub fn new(
        repository: OrderRepository,
        retention: RetentionSettings,
        settings: &MaintenanceSettings,
        clock: Arc<dyn Clock>,
        audit: Arc<dyn AuditSink>,
        starter: impl FnOnce(Arc<Maintenance>) -> Arc<dyn JobStarter>,
    ) -> Self {
        let maintenance = Arc::new(Maintenance::new(repository.clone(), retention, settings, clock.clone()));
        AppState {
            admin: Arc::new(SnapshotAdmin::new(repository, clock)),
            jobs: starter(maintenance.clone()),
            maintenance,
            audit,
        }
    }

    /// The admin API with maintenance jobs run in this process rather than by a Lambda
    /// invocation, each turn within `budget`: `make run`, the soak and tests.
    pub fn in_process(
        repository: OrderRepository,
        retention: RetentionSettings,
        clock: Arc<dyn Clock>,
        audit: Arc<dyn AuditSink>,
        budget: Duration,
    ) -> Self {
        let settings = MaintenanceSettings::default();
        Self::new(repository, retention, &settings, clock, audit, |maintenance| {
            Arc::new(InProcessJobStarter::new(maintenance, budget))
        })
    }
}
