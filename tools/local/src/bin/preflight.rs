//! `make preflight EVENTS_TABLE=… [REGION=…] [STREAM_ARN=…] [ENDPOINT=…]`: the order service's
//! event table checked before the stack is attached to it (`local::preflight`), with the
//! caller's AWS credentials, or against a local server (`ENDPOINT`, `make run`'s). Exits 1 on a
//! blocker, 2 on a usage error.

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::{Credentials, Region};
use local::preflight::{Target, run};
use std::process::ExitCode;

const USAGE: &str = "usage: preflight --table <name> [--stream-arn <arn>] [--region <region>] [--endpoint <url>] [--sample <items>]";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let option = |name: &str| {
        args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).filter(|v| !v.is_empty()).cloned()
    };
    let Some(table) = option("--table") else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let Ok(sample) = option("--sample").unwrap_or_else(|| "500".into()).parse::<i32>() else {
        eprintln!("--sample takes a whole number\n{USAGE}");
        return ExitCode::from(2);
    };
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = option("--region") {
        loader = loader.region(Region::new(region));
    }
    if let Some(endpoint) = option("--endpoint") {
        // a local server takes any credentials
        let local = Credentials::new("test", "test", None, None, "preflight");
        loader = loader.endpoint_url(endpoint).credentials_provider(local).region(Region::new("us-east-1"));
    }
    let config = loader.load().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let lambda = aws_sdk_lambda::Client::new(&config);
    println!("Preflight of {table}:\n");
    let report = run(&dynamo, &lambda, &Target { table, stream_arn: option("--stream-arn"), sample }).await;
    print!("{report}");
    if report.blocked() { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
