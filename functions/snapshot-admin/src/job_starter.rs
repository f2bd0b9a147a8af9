//! Starting the cleanup function without waiting for it: a full run outlives API Gateway's
//! 29-second limit, so the API answers 202 and says how to follow the run.

use serde::Serialize;
use shared::cleanup::CleanupService;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
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

pub trait CleanupStarter: Send + Sync {
    fn start(&self, requested_by: &str) -> StartFuture<'_>;
}

/// Invokes the cleanup function asynchronously (InvocationType=Event).
pub struct LambdaCleanupStarter {
    pub client: aws_sdk_lambda::Client,
    /// `CLEANUP_FUNCTION_NAME`.
    pub function_name: String,
    /// `CLEANUP_LOG_GROUP`: where its runs log.
    pub log_group: String,
}

impl CleanupStarter for LambdaCleanupStarter {
    fn start(&self, requested_by: &str) -> StartFuture<'_> {
        let payload = serde_json::json!({ "source": "snapshot-admin", "requestedBy": requested_by });
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
            Ok(Started {
                runner: format!("lambda:{}", self.function_name),
                follow: format!(
                    "CloudWatch Logs group {}, request id {}: the run ends with a `cleanup run` line",
                    self.log_group,
                    invocation_id.as_deref().unwrap_or("(none returned)")
                ),
                invocation_id,
            })
        })
    }
}

/// `make run` and tests: the same cleanup, in a background task of this process.
pub struct InProcessCleanupStarter {
    pub cleanup: Arc<CleanupService>,
    pub budget: Duration,
}

impl CleanupStarter for InProcessCleanupStarter {
    fn start(&self, _requested_by: &str) -> StartFuture<'_> {
        let cleanup = Arc::clone(&self.cleanup);
        let deadline = Instant::now() + self.budget;
        Box::pin(async move {
            let id = uuid::Uuid::new_v4().to_string();
            let task_id = id.clone();
            tokio::spawn(async move {
                match cleanup.run(deadline).await {
                    Ok(report) => tracing::info!(task = %task_id, ?report, "cleanup run"),
                    Err(error) => tracing::error!(task = %task_id, %error, "cleanup run failed"),
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
