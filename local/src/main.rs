//! `make run`: starts the local DynamoDB-compatible server (moto, from the project's venv),
//! creates the two tables, and runs until Ctrl-C. Table names come from the same environment
//! variables the functions read.

use shared::config::Config;
use shared::tables;
use std::process::ExitCode;
use testkit::{LocalDynamo, client_for};

const DEFAULT_PORT: u16 = 8000;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("local-stack: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let port = match std::env::var("LOCAL_DYNAMO_PORT") {
        Ok(p) => p.parse().map_err(|_| format!("LOCAL_DYNAMO_PORT={p:?} is not a port number"))?,
        Err(_) => DEFAULT_PORT,
    };
    let server = LocalDynamo::start_on(port).map_err(|e| format!("cannot start moto_server: {e}"))?;
    let endpoint = server.endpoint();
    let client = client_for(&endpoint);
    tables::EVENTS.create(&client, &config.tables.events).await.map_err(|e| e.to_string())?;
    tables::SNAPSHOTS.create(&client, &config.tables.snapshots).await.map_err(|e| e.to_string())?;

    println!("Local DynamoDB (moto) on {endpoint}");
    println!(
        "Tables: {} (events, stream NEW_IMAGE), {} (snapshots)",
        config.tables.events, config.tables.snapshots
    );
    println!("Use it from another shell with:");
    println!(
        "  export AWS_ENDPOINT_URL={endpoint} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test"
    );
    println!("Ctrl-C stops it.");

    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    server.stop();
    println!("stopped");
    Ok(())
}
