//! When to snapshot: the seed's three strategies and its per-order rules, as pure functions,
//! with the seed's defects fixed (each has a test named after it).

use crate::config::SnapshotSettings;
use crate::domain::{Money, Order};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// TIME_BASED with no snapshot yet fires once the order has this many events (seed).
pub const TIME_BASED_FIRST_SNAPSHOT_MIN_EVENTS: u64 = 5;
/// Orders with more line items than this get HYBRID (seed rule 1).
pub const LARGE_ORDER_ITEMS: usize = 10;
/// Orders above this total get EVENT_COUNT (seed rule 2: `total > 1000`).
pub const HIGH_VALUE_TOTAL: Money = Money::from_major(1000);

const MS_PER_HOUR: i64 = 60 * 60 * 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StrategyKind {
    EventCount,
    TimeBased,
    Hybrid,
}

impl FromStr for StrategyKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "EVENT_COUNT" => Ok(StrategyKind::EventCount),
            "TIME_BASED" => Ok(StrategyKind::TimeBased),
            "HYBRID" => Ok(StrategyKind::Hybrid),
            _ => Err(()),
        }
    }
}

impl fmt::Display for StrategyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StrategyKind::EventCount => "EVENT_COUNT",
            StrategyKind::TimeBased => "TIME_BASED",
            StrategyKind::Hybrid => "HYBRID",
        })
    }
}

/// Which per-order rule chose the strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Rule {
    /// More than [`LARGE_ORDER_ITEMS`] line items.
    LargeOrder,
    /// Total above [`HIGH_VALUE_TOTAL`].
    HighValue,
    /// `DEFAULT_SNAPSHOT_STRATEGY`.
    Default,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::LargeOrder => "LARGE_ORDER",
            Rule::HighValue => "HIGH_VALUE",
            Rule::Default => "DEFAULT",
        })
    }
}

/// What the strategy needs to know besides the order itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotFacts {
    /// Sequence of the newest event folded into the order.
    pub last_sequence: u64,
    /// `lastEventSequence` of the latest usable snapshot (0 when there is none).
    pub snapshot_sequence: u64,
    /// `timestamp` (ms) of that snapshot, when there is one.
    pub snapshot_at: Option<i64>,
    /// The current time (ms), from the caller's clock.
    pub now: i64,
}

impl SnapshotFacts {
    pub fn events_since_snapshot(&self) -> u64 {
        self.last_sequence.saturating_sub(self.snapshot_sequence)
    }
}

/// Why a strategy fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "trigger", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Trigger {
    #[serde(rename_all = "camelCase")]
    EventCountReached { events_since_snapshot: u64, threshold: u64 },
    #[serde(rename_all = "camelCase")]
    IntervalElapsed { hours_since_snapshot: u64, interval_hours: u64 },
    #[serde(rename_all = "camelCase")]
    FirstSnapshotMinEvents { events: u64, min_events: u64 },
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::EventCountReached { events_since_snapshot, threshold } => {
                write!(f, "{events_since_snapshot} events since the last snapshot (threshold {threshold})")
            }
            Trigger::IntervalElapsed { hours_since_snapshot, interval_hours } => {
                write!(f, "{hours_since_snapshot} h since the last snapshot (interval {interval_hours} h)")
            }
            Trigger::FirstSnapshotMinEvents { events, min_events } => {
                write!(f, "first snapshot: {events} events (minimum {min_events})")
            }
        }
    }
}

/// The strategy that applies to an order, and the rule that chose it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub strategy: StrategyKind,
    pub rule: Rule,
    /// `Some` when a snapshot should be taken now.
    pub trigger: Option<Trigger>,
    /// The sequence the snapshot should cover when `trigger` is `Some` (see [`at_sequence`]).
    pub at_sequence: u64,
}

/// Where a fired snapshot goes. EVENT_COUNT snapshots the last point where the count was
/// reached (`snapshot + k × threshold`), not wherever the batch happened to end: the points
/// then depend on the history alone, so however the stream splits or redelivers batches, the
/// newest snapshot lands on the same sequence. Time-based triggers snapshot the newest event.
pub fn at_sequence(trigger: &Trigger, facts: &SnapshotFacts) -> u64 {
    match trigger {
        Trigger::EventCountReached { events_since_snapshot, threshold } => {
            facts.snapshot_sequence + events_since_snapshot / threshold * threshold
        }
        Trigger::IntervalElapsed { .. } | Trigger::FirstSnapshotMinEvents { .. } => facts.last_sequence,
    }
}

/// Seed rules, in the seed's order: many line items -> HYBRID; high value -> EVENT_COUNT;
/// otherwise the configured default.
pub fn strategy_for(order: &Order, settings: &SnapshotSettings) -> (StrategyKind, Rule) {
    if order.items.len() > LARGE_ORDER_ITEMS {
        (StrategyKind::Hybrid, Rule::LargeOrder)
    } else if order.total > HIGH_VALUE_TOTAL {
        (StrategyKind::EventCount, Rule::HighValue)
    } else {
        (settings.default_strategy, Rule::Default)
    }
}

/// Whether `strategy` fires for these facts. Never fires with no new event since the last
/// snapshot, so a redelivered batch cannot ask for a second snapshot of the same sequence.
pub fn should_snapshot(
    strategy: StrategyKind,
    facts: &SnapshotFacts,
    settings: &SnapshotSettings,
) -> Option<Trigger> {
    if facts.events_since_snapshot() == 0 {
        return None;
    }
    match strategy {
        StrategyKind::EventCount => event_count(facts, settings),
        StrategyKind::TimeBased => time_based(facts, settings),
        StrategyKind::Hybrid => event_count(facts, settings).or_else(|| time_based(facts, settings)),
    }
}

pub fn decide(order: &Order, facts: &SnapshotFacts, settings: &SnapshotSettings) -> Decision {
    let (strategy, rule) = strategy_for(order, settings);
    let trigger = should_snapshot(strategy, facts, settings);
    let at_sequence = trigger.as_ref().map_or(facts.last_sequence, |t| at_sequence(t, facts));
    Decision { strategy, rule, trigger, at_sequence }
}

/// Seed defect 1 fixed: fire when the events since the last snapshot reach the threshold,
/// not when the count is an exact multiple of it (9 -> 12 skipped 10 forever).
fn event_count(facts: &SnapshotFacts, settings: &SnapshotSettings) -> Option<Trigger> {
    let since = facts.events_since_snapshot();
    (since >= settings.event_count_threshold).then_some(Trigger::EventCountReached {
        events_since_snapshot: since,
        threshold: settings.event_count_threshold,
    })
}

/// Seed defect 2 fixed: the time of the last snapshot is always passed, so the
/// "no snapshot yet" fallback only applies when there really is none.
fn time_based(facts: &SnapshotFacts, settings: &SnapshotSettings) -> Option<Trigger> {
    match facts.snapshot_at {
        None => (facts.last_sequence >= TIME_BASED_FIRST_SNAPSHOT_MIN_EVENTS).then_some(
            Trigger::FirstSnapshotMinEvents {
                events: facts.last_sequence,
                min_events: TIME_BASED_FIRST_SNAPSHOT_MIN_EVENTS,
            },
        ),
        Some(at) => {
            let elapsed_ms = facts.now.saturating_sub(at).max(0);
            let interval_ms = (settings.time_interval_hours as i64).saturating_mul(MS_PER_HOUR);
            (elapsed_ms >= interval_ms).then_some(Trigger::IntervalElapsed {
                hours_since_snapshot: (elapsed_ms / MS_PER_HOUR) as u64,
                interval_hours: settings.time_interval_hours,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::LineItem;

    const HOUR: i64 = MS_PER_HOUR;
    const NOW: i64 = 1_800_000_000_000;

    fn settings() -> SnapshotSettings {
        SnapshotSettings::default()
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
    fn seed_defect_1_modulo_never_fired_when_a_batch_jumped_over_the_multiple() {
        // given the last snapshot at 0 and a batch that takes the order from 9 to 12 events
        let jumped = facts(12, 0, None);
        // then the seed's rule (`12 % 10 == 0`) would not fire, ours does
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
    fn seed_defect_2_time_based_fallback_no_longer_storms_after_the_first_snapshot() {
        // given a snapshot taken an hour ago at event 5
        let s = settings();
        // when events 6, 7, 8 … arrive
        for last in 6..40 {
            // then, with the real snapshot time passed, nothing fires within the interval
            // (the seed passed none and its `eventCount >= 5` fallback fired every time)
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
        let s = SnapshotSettings { default_strategy: StrategyKind::TimeBased, ..settings() };
        assert_eq!(strategy_for(&order_with(11, 100), &s), (StrategyKind::Hybrid, Rule::LargeOrder));
        assert_eq!(strategy_for(&order_with(10, 100), &s), (StrategyKind::TimeBased, Rule::Default));
    }

    #[test]
    fn rule_2_total_above_1000_gets_event_count() {
        let s = SnapshotSettings { default_strategy: StrategyKind::TimeBased, ..settings() };
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
            let s = SnapshotSettings { default_strategy: kind, ..settings() };
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
            &SnapshotSettings { default_strategy: StrategyKind::TimeBased, ..settings() },
        );
        assert_eq!(d.at_sequence, 17);
    }
}
