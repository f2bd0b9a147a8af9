//! When to snapshot: the three strategies and the per-order rules, as pure functions.

use crate::domain::{Money, Order};
use crate::policy::settings::{StrategyKind, StrategySettings};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// TIME_BASED with no snapshot yet fires once the order has this many events.
pub const TIME_BASED_FIRST_SNAPSHOT_MIN_EVENTS: u64 = 5;
/// Orders with more line items than this get HYBRID (the first per-order rule).
pub const LARGE_ORDER_ITEMS: usize = 10;
/// Orders above this total get EVENT_COUNT (the second per-order rule: `total > 1000`).
pub const HIGH_VALUE_TOTAL: Money = Money::from_major(1000);

const MS_PER_HOUR: i64 = 60 * 60 * 1000;

/// Which per-order rule chose the strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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

/// The per-order rules, in order: many line items -> HYBRID; high value -> EVENT_COUNT;
/// otherwise the configured default.
pub fn strategy_for(order: &Order, settings: &StrategySettings) -> (StrategyKind, Rule) {
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
    settings: &StrategySettings,
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

pub fn decide(order: &Order, facts: &SnapshotFacts, settings: &StrategySettings) -> Decision {
    let (strategy, rule) = strategy_for(order, settings);
    let trigger = should_snapshot(strategy, facts, settings);
    let at_sequence = trigger.as_ref().map_or(facts.last_sequence, |t| at_sequence(t, facts));
    Decision { strategy, rule, trigger, at_sequence }
}

/// Fire when the events since the last snapshot reach the threshold,
/// not when the count is an exact multiple of it (9 -> 12 skipped 10 forever).
fn event_count(facts: &SnapshotFacts, settings: &StrategySettings) -> Option<Trigger> {
    let since = facts.events_since_snapshot();
    (since >= settings.event_count_threshold).then_some(Trigger::EventCountReached {
        events_since_snapshot: since,
        threshold: settings.event_count_threshold,
    })
}

/// The time of the last snapshot is always passed, so the
/// "no snapshot yet" fallback only applies when there really is none.
fn time_based(facts: &SnapshotFacts, settings: &StrategySettings) -> Option<Trigger> {
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
mod tests;
