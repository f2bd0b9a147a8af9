//! What the operator sets: when to snapshot ([`StrategySettings`]), how many snapshots to
//! keep ([`RetentionSettings`]), what maintenance does ([`MaintenanceSettings`]) and how far a
//! load reads ahead ([`LoadSettings`]). Plain values with their defaults; `config` reads
//! them from the environment; `strategy`, `retention` and the repository act on them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The three strategies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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

/// When to snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrategySettings {
    pub default_strategy: StrategyKind,
    /// Events since the last snapshot that trigger the next one (EVENT_COUNT).
    pub event_count_threshold: u64,
    /// Hours since the last snapshot that trigger the next one (TIME_BASED).
    pub time_interval_hours: u64,
}

impl Default for StrategySettings {
    fn default() -> Self {
        StrategySettings {
            default_strategy: StrategyKind::EventCount,
            event_count_threshold: 10,
            time_interval_hours: 24,
        }
    }
}

/// What the maintenance function does besides retention.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaintenanceSettings {
    /// Orders the drift canary verifies per scheduled run (0: none).
    pub canary_orders: u32,
    /// Orders a rebuild job renews per second at most (0: no limit).
    pub rebuild_orders_per_second: u32,
}

impl Default for MaintenanceSettings {
    fn default() -> Self {
        MaintenanceSettings { canary_orders: 10, rebuild_orders_per_second: 25 }
    }
}

/// How loads read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadSettings {
    /// Events beyond the snapshot threshold that a load reads beside the newest snapshot, so
    /// that a lagging stream still leaves a one-round-trip load; `None`: no read-ahead (the
    /// snapshot, then the events after it).
    pub tail_margin: Option<u32>,
}

impl Default for LoadSettings {
    fn default() -> Self {
        LoadSettings { tail_margin: Some(10) }
    }
}

impl LoadSettings {
    /// The newest events a load reads beside the snapshot: the threshold the stream function
    /// snapshots at, the margin, and the snapshot's own event.
    pub fn read_ahead(&self, strategy: &StrategySettings) -> Option<u32> {
        let threshold = u32::try_from(strategy.event_count_threshold).unwrap_or(u32::MAX);
        self.tail_margin.map(|margin| threshold.saturating_add(margin).saturating_add(1))
    }
}

/// How many snapshots an order keeps, and for how long (the newest always stays).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionSettings {
    pub max_snapshots_per_order: u32,
    pub max_snapshot_age_days: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings { max_snapshots_per_order: 3, max_snapshot_age_days: 90 }
    }
}
