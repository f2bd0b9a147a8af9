//! Starting the maintenance function's jobs without waiting for them: a full cleanup or a
//! rebuild outlives API Gateway's 29-second limit, so the API answers 202 and says how to
//! follow the run. Deployed, the maintenance function is invoked; locally, the same
//! `Maintenance::run` runs in a background task.

use serde::Serialize;
use shared::use_cases::maintenance::{Job, Maintenance, Outcome};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    /// Where the run happens.
    pub runner: String,
    /// The invocation's request id, when there is one.
    pub invocation_id: Option<String>,
    /// How to follow it.
    pub follow: String,
}

pub type StartFuture<'a> = Pin<Box<dyn Future<Output = Result<Started, String>> + Send + 'a>>;

pub trait JobStarter: Send + Sync {
    fn start(&self, job: Job, requested_by: &str) -> StartFuture<'_>;
}

/// Invokes the maintenance function asynchronously (InvocationType=Event).
pub struct LambdaJobStarter {
    pub client: aws_sdk_lambda::Client,
    /// `MAINTENANCE_FUNCTION_NAME`.
    pub function_name: String,
    /// `MAINTENANCE_LOG_GROUP`: where its runs log.
    pub log_group: String,
}

/// The maintenance function's input for `job` (what its handler parses).
pub fn payload(job: &Job, requested_by: &str) -> serde_json::Value {
    let mut payload = serde_json::json!({ "source": "snapshot-admin", "requestedBy": requested_by });
    match job {
        Job::CleanupAndCanary => {}
        Job::Rebuild => payload["job"] = "rebuild".into(),
        Job::CleanupOrder(order_id) => payload["orderId"] = order_id.as_str().into(),
    }
    payload
}

impl JobStarter for LambdaJobStarter {
    fn start(&self, job: Job, requested_by: &str) -> StartFuture<'_> {
        let payload = payload(&job, requested_by);
        Box::pin(async move {
            use aws_sdk_lambda::operation::RequestId;
            let out = self
                .client
                .invoke()
                .function_name(&self.function_name)
                .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
                .payload(aws_sdk_lambda::primitives::Blob::new(payload.to_string()))
                .send()
                .await
                .map_err(|e| format!("invoke {}: {e}", self.function_name))?;
            let invocation_id = out.request_id().map(str::to_owned);
            let last_line = if job == Job::Rebuild { "`rebuild run`" } else { "`drift canary`" };
            Ok(Started {
                runner: format!("lambda:{}", self.function_name),
                follow: format!(
                    "CloudWatch Logs group {}, request id {}: the run ends with a {last_line} line",
                    self.log_group,
                    invocation_id.as_deref().unwrap_or("(none returned)")
                ),
                invocation_id,
            })
        })
    }
}

/// `make run` and tests: the maintenance function's own entry point, `Maintenance::run`, in a
/// background task of this process, each turn within `budget`. A rebuild runs turn after turn
/// until it is done, as the 5-minute schedule would continue it.
pub struct InProcessJobStarter {
    maintenance: Arc<Maintenance>,
    budget: Duration,
    finished: Arc<Mutex<Vec<Outcome>>>,
}

impl InProcessJobStarter {
    pub fn new(maintenance: Arc<Maintenance>, budget: Duration) -> Self {
        InProcessJobStarter { maintenance, budget, finished: Arc::default() }
    }

    /// What the runs started here did, in the order they finished.
    pub fn finished(&self) -> Vec<Outcome> {
        self.finished.lock().expect("outcomes lock").clone()
    }
}

impl JobStarter for InProcessJobStarter {
    fn start(&self, job: Job, _requested_by: &str) -> StartFuture<'_> {
        let (maintenance, budget) = (Arc::clone(&self.maintenance), self.budget);
        let finished = Arc::clone(&self.finished);
        Box::pin(async move {
            let id = uuid::Uuid::new_v4().to_string();
            let task_id = id.clone();
            tokio::spawn(async move {
                loop {
                    match maintenance.run(job.clone(), Instant::now() + budget).await {
                        // the schedule would give an unfinished job its next turn
                        Ok(Outcome::Rebuild { run, .. })
                            if !run.finished && !run.superseded && !run.leased_elsewhere =>
                        {
                            continue;
                        }
                        Ok(outcome) => {
                            tracing::info!(task = %task_id, ?outcome, "maintenance run");
                            break finished.lock().expect("outcomes lock").push(outcome);
                        }
                        Err(error) => {
                            break tracing::error!(task = %task_id, %error, "maintenance run failed");
                        }
                    }
                }
            });
            Ok(Started {
                runner: "in-process".into(),
                follow: format!("this process's log, task {id}"),
                invocation_id: Some(id),
            })
        })
    }
}
