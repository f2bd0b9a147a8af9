//! How every function's DynamoDB client times out and retries. The SDK's defaults have no
//! operation timeout, so a hung connection would hold a stream batch until the Lambda
//! deadline; bounded attempts turn it into a transient error the caller reports and retries.

use aws_sdk_dynamodb::config::Builder;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientTuning {
    pub connect_timeout: Duration,
    /// One HTTP attempt, response included.
    pub attempt_timeout: Duration,
    /// All attempts of one call, backoff included.
    pub operation_timeout: Duration,
    /// Attempts per call (standard retry mode: throttling and transient errors, with jitter).
    pub max_attempts: u32,
    /// First retry's backoff ceiling; doubles per attempt. DynamoDB's own guidance starts
    /// at tens of milliseconds, not the SDK's generic 1 s.
    pub initial_backoff: Duration,
}

impl Default for ClientTuning {
    /// Fits inside the admin API's 29 s gateway limit and well inside the stream and cleanup
    /// functions' timeouts; DynamoDB answers in milliseconds, so 4 s per attempt only trips
    /// on a connection that is really stuck.
    fn default() -> Self {
        ClientTuning {
            connect_timeout: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(4),
            operation_timeout: Duration::from_secs(15),
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
        }
    }
}

impl ClientTuning {
    pub fn apply(&self, builder: Builder) -> Builder {
        builder
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(self.connect_timeout)
                    .operation_attempt_timeout(self.attempt_timeout)
                    .operation_timeout(self.operation_timeout)
                    .build(),
            )
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(self.max_attempts)
                    .with_initial_backoff(self.initial_backoff),
            )
    }
}

/// Names an endpoint for every AWS client (`sam local invoke` points it at a local server).
/// The template declares it empty: `AWS_ENDPOINT_URL` itself cannot be declared empty, since
/// the SDK warns about an invalid URL at every start when it is.
pub const LOCAL_ENDPOINT_URL: &str = "LOCAL_ENDPOINT_URL";

/// The functions' AWS configuration: region, credentials and endpoints as the SDK finds them
/// (`AWS_ENDPOINT_URL`…), or `LOCAL_ENDPOINT_URL` when it is set and not empty.
pub async fn sdk_config() -> aws_config::SdkConfig {
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    match std::env::var(LOCAL_ENDPOINT_URL).ok().filter(|url| !url.trim().is_empty()) {
        Some(url) => loader.endpoint_url(url).load().await,
        None => loader.load().await,
    }
}

/// The production client: the shared AWS configuration (region, credentials, endpoint; pass
/// `(&sdk_config).into()`) with [`ClientTuning::default`].
pub fn dynamodb_client(builder: Builder) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(ClientTuning::default().apply(builder).build())
}
