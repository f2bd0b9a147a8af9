//! The model's inputs as the repository holds them, and the settings it reads from the
//! template as deployed.

use capacity::deployed;
use capacity::inputs::{Inputs, default_path};

#[test]
fn the_committed_inputs_hold_every_measured_part_and_a_valid_mix() {
    let path = default_path();
    let inputs = Inputs::read(&path).expect("tools/capacity/inputs.json reads");
    let measured = inputs.complete(&path).expect("make bench wrote every part");
    assert!(measured.loads.iter().all(|l| l.read_units > l.snapshot_read_units && l.items > 0));
    assert!(measured.cpu.per_record_us > 0.0 && measured.cpu.snapshot_item_bytes > 0);
    assert!(inputs.measured.run.is_some(), "which bench run wrote them");
}

/// The committed inputs with one change, as read: the error it gives.
fn refused(change: impl FnOnce(&mut serde_json::Value), name: &str) -> String {
    let text = std::fs::read_to_string(default_path()).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    change(&mut json);
    let dir = std::env::temp_dir().join(format!("capacity-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("inputs.json");
    std::fs::write(&path, json.to_string()).unwrap();
    let error = Inputs::read(&path).expect_err("refused").to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    error
}

#[test]
fn a_mix_whose_shares_do_not_sum_to_one_is_refused_by_name() {
    let error = refused(|json| json["mix"]["orders"][0]["share_of_orders"] = 0.5.into(), "shares");
    assert!(error.contains("shares of orders sum to"), "{error}");
}

#[test]
fn a_negative_price_or_a_malformed_file_is_refused_by_name() {
    let error = refused(|json| json["prices"]["dynamodb_write_units_per_million"] = (-1.0).into(), "price");
    assert!(error.contains("prices.dynamodb_write_units_per_million must be a price"), "{error}");
    let error = refused(|json| json["mix"]["zipf_exponent"] = "steep".into(), "type");
    assert!(error.contains("is not valid inputs") && error.contains("zipf_exponent"), "{error}");
}

#[test]
fn the_settings_come_from_the_template_as_deployed() {
    let d = deployed::read().expect("the deployed template reads");
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml")).unwrap();
    // each figure is the template's own (the model restates none)
    assert!(template.contains(&format!("BatchSize: {}", d.stream.batch_size)));
    assert!(template.contains(&format!("MaximumBatchingWindowInSeconds: {}", d.stream.window_seconds)));
    assert!(template.contains(&format!("ParallelizationFactor: {}", d.stream.parallelization)));
    assert!(template.contains(&format!("MemorySize: {}", d.stream_memory_mb)));
    assert_eq!(d.stream_readers, 1, "the stream function is the stream's one reader");
    assert_eq!(d.retention_runs_per_month, 30.0, "retention daily");
    assert_eq!(d.rebuild_turns_per_month, 30.0 * 24.0 * 12.0, "a rebuild turn every 5 minutes");
    assert!(d.alarms >= 5 && d.tracing && d.stream_log_detail < 1.0, "{d:?}");
}
