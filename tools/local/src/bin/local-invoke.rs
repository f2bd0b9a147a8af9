//! `make invoke FN=<function> EVENT=<file>` and `make invoke-all`: sample events through the
//! functions' debug builds under AWS's Runtime Interface Emulator, with the environment `sam
//! local invoke` would give them (`local::invoke`), each answer checked against what
//! `events/<function>/expected.json` says it must hold. Exits non-zero on any difference.
//!
//! `make seed-local` (`local-invoke --seed <endpoint>`) only seeds a running local server
//! (`make run`'s) with the tables and the data every sample event refers to: for `sam local
//! invoke` itself, where Docker is at hand.

use local::invoke::{FUNCTIONS, Stack, debug_bootstrap, expectation, holds, sample_events};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("local-invoke: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<bool, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let todo: Vec<(String, Vec<PathBuf>)> = match args.as_slice() {
        [flag, endpoint] if flag == "--seed" => {
            local::invoke::seed(&testkit::client_for(endpoint)).await?;
            println!("{endpoint}: the tables hold what the sample events refer to");
            return Ok(true);
        }
        [flag] if flag == "--all" => FUNCTIONS
            .iter()
            .map(|f| Ok(((*f).to_owned(), sample_events(f)?)))
            .collect::<Result<_, String>>()?,
        [function, event] => {
            local::invoke::logical_id(function)?;
            let event = PathBuf::from(event);
            if !event.is_file() {
                return Err(format!("{} is not a file", event.display()));
            }
            vec![(function.clone(), vec![event])]
        }
        _ => {
            return Err(
                "usage: local-invoke <function> <events/function/file.json> | --all | --seed <endpoint>"
                    .into(),
            );
        }
    };
    let stack = Stack::start().await?;
    let mut all_hold = true;
    for (function, events) in &todo {
        let bootstrap = debug_bootstrap(function);
        if !bootstrap.is_file() {
            return Err(format!("{} is missing: cargo build -p {function}", bootstrap.display()));
        }
        let (answers, report) = stack.invoke(function, &bootstrap, events).await?;
        for (event, answer) in events.iter().zip(&answers) {
            let verdict = expectation(event).and_then(|want| holds(&want, answer, ""));
            println!(
                "== {function} {}: {}",
                event.display(),
                if verdict.is_ok() { "as expected" } else { "DIFFERS" }
            );
            if todo.len() == 1 && events.len() == 1 {
                println!("{}", serde_json::to_string_pretty(answer).unwrap_or_default());
            } else {
                println!("   {answer}");
            }
            if let Err(why) = verdict {
                println!("   {why}");
                all_hold = false;
            }
        }
        let init = report.init_ms.map_or("-".into(), |ms| format!("{ms:.1} ms"));
        let first = report.durations_ms.first().map_or("-".into(), |ms| format!("{ms:.1} ms"));
        println!("   (the emulator's reports: init {init}, first invocation {first})");
    }
    // runs the admin API started in the maintenance function finish before the server stops
    for answer in stack.lambda.finished(Duration::from_secs(30)).await {
        println!(
            "== maintenance run the admin API started: {}",
            answer.map_or_else(|e| format!("failed: {e}"), |a| a.to_string())
        );
    }
    stack.stop();
    Ok(all_hold)
}
