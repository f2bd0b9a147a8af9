//! The maintenance function as template.yaml deploys it (the template as SAM translates it).

use snapshot_maintenance::DEADLINE_MARGIN;
use testkit::deployed::{deployed, of_type};

#[test]
fn the_duration_alarm_fires_only_on_a_run_that_ran_into_its_timeout() {
    let template = deployed(&[]);
    let function = &template["Resources"]["SnapshotMaintenanceFunction"]["Properties"];
    let timeout_ms = function["Timeout"].as_f64().expect("a timeout") * 1000.0;
    let alarms = of_type(&template, "AWS::CloudWatch::Alarm");
    let (_, alarm) = alarms
        .iter()
        .find(|(_, a)| {
            a["Properties"]["MetricName"] == "Duration"
                && a["Properties"]["Dimensions"][0]["Value"]["Ref"] == "SnapshotMaintenanceFunction"
        })
        .expect("a duration alarm on the maintenance function");
    let threshold = alarm["Properties"]["Threshold"].as_f64().unwrap();
    // runs with work left stop, by design, at the deadline minus the margin: not an alarm
    let designed_stop = timeout_ms - DEADLINE_MARGIN.as_millis() as f64;
    assert!(
        threshold > designed_stop,
        "{threshold} ms fires on every run that stops as designed ({designed_stop} ms)"
    );
    assert!(
        threshold < timeout_ms,
        "{threshold} ms never fires on a run that hits the {timeout_ms} ms timeout"
    );
}
