//! Starting the maintenance function's jobs without waiting for them: a full cleanup or a
//! rebuild outlives API Gateway's 29-second limit, so the API answers 202 and says how to
//! follow the run.

use serde::Serialize;
use shared::cleanup::CleanupService;
use shared::rebuild::RebuildService;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A job of the maintenance (cleanup) function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    /// Retention over the whole table, then the drift canary.
    Cleanup,
    /// A turn of the unfinished rebuild job (the 5-minute schedule gives it more).
    Rebuild,
}

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
    /// `CLEANUP_FUNCTION_NAME`.
    pub function_name: String,
    /// `CLEANUP_LOG_GROUP`: where its runs log.
    pub log_group: String,
}

impl JobStarter for LambdaJobStarter {
    fn start(&self, job: Job, requested_by: &str) -> StartFuture<'_> {
        let mut payload = serde_json::json!({ "source": "snapshot-admin", "requestedBy": requested_by });
        if job == Job::Rebuild {
            payload["job"] = "rebuild".into();
        }
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
            let last_line = if job == Job::Rebuild { "`rebuild run`" } else { "`cleanup run`" };
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

/// `make run` and tests: the same jobs, in a background task of this process. A rebuild runs
/// turn after turn (each within `budget`) until it is done.
pub struct InProcessJobStarter {
    pub cleanup: Arc<CleanupService>,
    pub rebuild: Arc<RebuildService>,
    pub budget: Duration,
}

impl JobStarter for InProcessJobStarter {
    fn start(&self, job: Job, _requested_by: &str) -> StartFuture<'_> {
        let (cleanup, rebuild, budget) = (Arc::clone(&self.cleanup), Arc::clone(&self.rebuild), self.budget);
        Box::pin(async move {
            let id = uuid::Uuid::new_v4().to_string();
            let task_id = id.clone();
            tokio::spawn(async move {
                match job {
                    Job::Cleanup => match cleanup.run(Instant::now() + budget).await {
                        Ok(report) => tracing::info!(task = %task_id, ?report, "cleanup run"),
                        Err(error) => tracing::error!(task = %task_id, %error, "cleanup run failed"),
                    },
                    Job::Rebuild => loop {
                        match rebuild.run(Instant::now() + budget).await {
                            Ok(Some(run)) if !run.finished && !run.superseded => continue,
                            Ok(run) => break tracing::info!(task = %task_id, ?run, "rebuild run"),
                            Err(error) => {
                                break tracing::error!(task = %task_id, %error, "rebuild run failed");
                            }
                        }
                    },
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
