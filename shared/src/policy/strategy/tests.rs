//! The strategies and per-order rules, case by case; a batch that jumps over a multiple of the
//! threshold, and the time-based rule after the first snapshot, have a test
//! each (see docs/invariants.md).

use super::*;
use crate::domain::LineItem;

const HOUR: i64 = MS_PER_HOUR;
const NOW: i64 = 1_800_000_000_000;

fn settings() -> StrategySettings {
    StrategySettings::default()
}

fn facts(last: u64, snap: u64, snapshot_age_hours: Option<i64>) -> SnapshotFacts {
    SnapshotFacts {
        last_sequence: last,
        snapshot_sequence: snap,
        snapshot_at: snapshot_age_hours.map(|h| NOW - h * HOUR),
        now: NOW,
    }
}

fn order_with(items: usize, unit_price_minor: i64) -> Order {
    let mut order = Order::empty("o");
    order.items = (0..items)
        .map(|i| LineItem {
            sku: format!("s{i}"),
            name: "n".into(),
            quantity: 1,
            unit_price: Money::from_minor(unit_price_minor),
        })
        .collect();
    order.total = Money::from_minor(items as i64 * unit_price_minor);
    order
}

#[test]
fn event_count_fires_at_the_threshold_and_not_before() {
    let s = settings();
    assert_eq!(should_snapshot(StrategyKind::EventCount, &facts(9, 0, None), &s), None);
    assert_eq!(
        should_snapshot(StrategyKind::EventCount, &facts(10, 0, None), &s),
        Some(Trigger::EventCountReached { events_since_snapshot: 10, threshold: 10 })
    );
    assert_eq!(should_snapshot(StrategyKind::EventCount, &facts(19, 10, Some(1)), &s), None);
    assert!(should_snapshot(StrategyKind::EventCount, &facts(20, 10, Some(1)), &s).is_some());
}

#[test]
fn a_batch_that_jumps_over_a_multiple_of_the_threshold_still_fires() {
    // given the last snapshot at 0 and a batch that takes the order from 9 to 12 events
    let jumped = facts(12, 0, None);
    // then a rule of `count % threshold == 0` (`12 % 10`) would not fire; this one does
    assert_ne!(jumped.last_sequence % settings().event_count_threshold, 0);
    assert_eq!(
        should_snapshot(StrategyKind::EventCount, &jumped, &settings()),
        Some(Trigger::EventCountReached { events_since_snapshot: 12, threshold: 10 })
    );
    // and the snapshot covers event 10, where the threshold was reached
    let fired = should_snapshot(StrategyKind::EventCount, &jumped, &settings()).unwrap();
    assert_eq!(at_sequence(&fired, &jumped), 10);
    // and after a snapshot at 12 (say, an admin's), the next fires at 22, not 20
    assert_eq!(should_snapshot(StrategyKind::EventCount, &facts(20, 12, Some(0)), &settings()), None);
    assert!(should_snapshot(StrategyKind::EventCount, &facts(22, 12, Some(0)), &settings()).is_some());
}

#[test]
fn time_based_fires_when_the_interval_has_elapsed() {
    let s = settings();
    assert_eq!(should_snapshot(StrategyKind::TimeBased, &facts(30, 10, Some(23)), &s), None);
    assert_eq!(
        should_snapshot(StrategyKind::TimeBased, &facts(11, 10, Some(24)), &s),
        Some(Trigger::IntervalElapsed { hours_since_snapshot: 24, interval_hours: 24 })
    );
}

#[test]
fn time_based_without_any_snapshot_waits_for_five_events() {
    let s = settings();
    assert_eq!(should_snapshot(StrategyKind::TimeBased, &facts(4, 0, None), &s), None);
    assert_eq!(
        should_snapshot(StrategyKind::TimeBased, &facts(5, 0, None), &s),
        Some(Trigger::FirstSnapshotMinEvents { events: 5, min_events: 5 })
    );
}

#[test]
fn time_based_waits_for_the_interval_after_the_first_snapshot_instead_of_firing_every_event() {
    // given a snapshot taken an hour ago at event 5
    let s = settings();
    // when events 6, 7, 8 … arrive
    for last in 6..40 {
        // then, with the real snapshot time passed, nothing fires within the interval
        // (passing no time would make the `>= 5 events` rule fire on every event)
        assert_eq!(should_snapshot(StrategyKind::TimeBased, &facts(last, 5, Some(1)), &s), None);
    }
}

#[test]
fn a_clock_behind_the_snapshot_does_not_fire_or_underflow() {
    let mut f = facts(20, 10, Some(0));
    f.snapshot_at = Some(NOW + 5 * HOUR);
    assert_eq!(should_snapshot(StrategyKind::TimeBased, &f, &settings()), None);
}

#[test]
fn hybrid_fires_on_either() {
    let s = settings();
    assert!(matches!(
        should_snapshot(StrategyKind::Hybrid, &facts(20, 10, Some(1)), &s),
        Some(Trigger::EventCountReached { .. })
    ));
    assert!(matches!(
        should_snapshot(StrategyKind::Hybrid, &facts(12, 10, Some(30)), &s),
        Some(Trigger::IntervalElapsed { .. })
    ));
    assert_eq!(should_snapshot(StrategyKind::Hybrid, &facts(12, 10, Some(1)), &s), None);
}

#[test]
fn nothing_new_since_the_snapshot_never_fires() {
    let s = settings();
    for kind in [StrategyKind::EventCount, StrategyKind::TimeBased, StrategyKind::Hybrid] {
        assert_eq!(should_snapshot(kind, &facts(50, 50, Some(1000)), &s), None, "{kind}");
    }
}

#[test]
fn rule_1_more_than_ten_items_gets_hybrid() {
    let s = StrategySettings { default_strategy: StrategyKind::TimeBased, ..settings() };
    assert_eq!(strategy_for(&order_with(11, 100), &s), (StrategyKind::Hybrid, Rule::LargeOrder));
    assert_eq!(strategy_for(&order_with(10, 100), &s), (StrategyKind::TimeBased, Rule::Default));
}

#[test]
fn rule_2_total_above_1000_gets_event_count() {
    let s = StrategySettings { default_strategy: StrategyKind::TimeBased, ..settings() };
    // 2 × 500.01 = 1000.02 > 1000
    assert_eq!(strategy_for(&order_with(2, 50_001), &s), (StrategyKind::EventCount, Rule::HighValue));
    // exactly 1000.00 is not above 1000
    assert_eq!(strategy_for(&order_with(2, 50_000), &s), (StrategyKind::TimeBased, Rule::Default));
}

#[test]
fn rule_1_wins_over_rule_2() {
    let order = order_with(11, 1_000_000);
    assert_eq!(strategy_for(&order, &settings()), (StrategyKind::Hybrid, Rule::LargeOrder));
}

#[test]
fn default_strategy_comes_from_settings() {
    for kind in [StrategyKind::EventCount, StrategyKind::TimeBased, StrategyKind::Hybrid] {
        let s = StrategySettings { default_strategy: kind, ..settings() };
        assert_eq!(strategy_for(&order_with(1, 100), &s), (kind, Rule::Default));
    }
}

#[test]
fn decide_reports_strategy_rule_and_trigger() {
    let d = decide(&order_with(11, 100), &facts(10, 0, None), &settings());
    assert_eq!(d.strategy, StrategyKind::Hybrid);
    assert_eq!(d.rule, Rule::LargeOrder);
    assert!(matches!(d.trigger, Some(Trigger::EventCountReached { .. })));
    assert_eq!(d.at_sequence, 10);
}

#[test]
fn event_count_snapshots_land_on_the_same_points_however_batches_split() {
    // given threshold 10 and 35 events, delivered whole or split anywhere
    let s = settings();
    let newest = |splits: &[u64]| {
        let mut snapshot = 0;
        for &end in splits {
            let f = facts(end, snapshot, None);
            if let Some(t) = should_snapshot(StrategyKind::EventCount, &f, &s) {
                snapshot = at_sequence(&t, &f);
            }
        }
        snapshot
    };
    // then the newest snapshot is always at 30
    assert_eq!(newest(&[35]), 30);
    for a in 1..35 {
        assert_eq!(newest(&[a, 35]), 30, "split at {a}");
        for b in a + 1..35 {
            assert_eq!(newest(&[a, b, 35]), 30, "split at {a}, {b}");
        }
    }
}

#[test]
fn time_based_snapshots_cover_the_newest_event() {
    let f = facts(17, 10, Some(30));
    let d = decide(
        &order_with(1, 100),
        &f,
        &StrategySettings { default_strategy: StrategyKind::TimeBased, ..settings() },
    );
    assert_eq!(d.at_sequence, 17);
}
