//! What the stream function logs per 1,000 events, as deployed: the release binary under AWS's
//! emulator with the template's log format (JSON), once with every invocation detailed
//! (`LOG_DETAIL=1`) and once with none (`LOG_DETAIL=0`). A share `p` in between costs
//! `p × detailed + (1 - p) × quiet`.

use crate::scenarios;
use std::collections::BTreeMap;
use std::path::Path;
use testkit::sam_local::Emulator;

pub struct LogBytes {
    /// Bytes of the function's own lines per 1,000 events, every invocation detailed.
    pub detailed: f64,
    /// The same, every invocation quiet.
    pub quiet: f64,
}

impl LogBytes {
    /// The figures the capacity model reads.
    pub fn measured(&self) -> capacity::inputs::LogsMeasured {
        capacity::inputs::LogsMeasured {
            bytes_per_1000_events_detailed: self.detailed,
            bytes_per_1000_events_quiet: self.quiet,
        }
    }

    pub fn at_share(&self, share: f64) -> f64 {
        share * self.detailed + (1.0 - share) * self.quiet
    }
}

/// USD per month to ingest `bytes_per_1000` at `events_per_second`, at `usd_per_gb` (the
/// price in tools/capacity/inputs.json).
pub fn monthly_usd(bytes_per_1000: f64, events_per_second: f64, usd_per_gb: f64) -> f64 {
    bytes_per_1000 / 1000.0 * events_per_second * capacity::model::SECONDS_PER_MONTH / 1e9 * usd_per_gb
}

/// 10 batches of 100 INSERT records, each record of another order (100 orders of 10 events,
/// batch k carries every order's k-th event): a busy stream's shape, where every record is
/// an order of its batch.
pub async fn measure(stream_bootstrap: &Path, env: &BTreeMap<String, String>) -> Result<LogBytes, String> {
    let orders: Vec<Vec<_>> = (0..100).map(|o| scenarios::history(&format!("log-{o:03}"), 10)).collect();
    let all: Vec<_> = orders.iter().flatten().cloned().collect();
    let batches: Vec<_> = (0..10)
        .map(|k| testkit::stream_events::insert_batch(orders.iter().map(|o| &o[k]), 1 + k as u64 * 100))
        .collect();
    let mut per_share = Vec::new();
    for share in ["1", "0"] {
        // fresh tables each time, so both runs write the same snapshots
        let fresh = testkit::TestTables::new().await;
        testkit::bulk_insert_events(&fresh.client, &fresh.events_table, &all).await;
        let mut env = env.clone();
        env.insert("EVENTS_TABLE".into(), fresh.events_table.clone());
        env.insert("SNAPSHOTS_TABLE".into(), fresh.snapshots_table.clone());
        env.insert("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into());
        env.insert("AWS_LAMBDA_LOG_LEVEL".into(), "INFO".into());
        env.insert("LOG_DETAIL".into(), share.into());
        let output = tokio::task::block_in_place(|| {
            let emulator = Emulator::start(stream_bootstrap, &env)?;
            for batch in &batches {
                let answer = emulator.invoke(batch).map_err(|e| format!("{e}\n{}", emulator.output()))?;
                if answer["batchItemFailures"].as_array().is_none_or(|f| !f.is_empty()) {
                    return Err(format!("the stream function failed a batch: {answer}"));
                }
            }
            Ok::<_, String>(emulator.stop())
        })?;
        // the function's own lines (JSON); the emulator's are not what Lambda bills
        let bytes: usize = output.lines().filter(|l| l.starts_with('{')).map(|l| l.len() + 1).sum();
        per_share.push(bytes as f64);
    }
    Ok(LogBytes { detailed: per_share[0], quiet: per_share[1] })
}
