//! Configuration from the environment, read once at cold start. The names and defaults are
//! the original order service's (docs/origins.md).
//! An absent variable takes its default; a malformed one is an error naming the variable,
//! so a bad deployment fails at start instead of snapshotting wrongly.

use crate::policy::settings::{LoadSettings, MaintenanceSettings, RetentionSettings, StrategySettings};
use crate::store::repository::OrderRepository;
use crate::store::tables::TableNames;
use thiserror::Error;

pub const EVENTS_TABLE: &str = "EVENTS_TABLE";
pub const SNAPSHOTS_TABLE: &str = "SNAPSHOTS_TABLE";
pub const DEFAULT_SNAPSHOT_STRATEGY: &str = "DEFAULT_SNAPSHOT_STRATEGY";
pub const EVENT_COUNT_SNAPSHOT_THRESHOLD: &str = "EVENT_COUNT_SNAPSHOT_THRESHOLD";
pub const TIME_BASED_SNAPSHOT_INTERVAL_HOURS: &str = "TIME_BASED_SNAPSHOT_INTERVAL_HOURS";
pub const MAX_SNAPSHOTS_PER_ORDER: &str = "MAX_SNAPSHOTS_PER_ORDER";
pub const MAX_SNAPSHOT_AGE_DAYS: &str = "MAX_SNAPSHOT_AGE_DAYS";
pub const DRIFT_CANARY_ORDERS: &str = "DRIFT_CANARY_ORDERS";
pub const REBUILD_ORDERS_PER_SECOND: &str = "REBUILD_ORDERS_PER_SECOND";
/// Events beyond the snapshot threshold a load reads beside the snapshot; `off`: none.
pub const LOAD_TAIL_MARGIN: &str = "LOAD_TAIL_MARGIN";
/// The largest margin: a read-ahead past it costs more than the round trip it saves.
const MAX_TAIL_MARGIN: u32 = 1_000;
/// Set by the template to the stack's name: the metrics' `Stack` dimension.
pub const STACK_NAME: &str = "STACK_NAME";
/// Every variable [`Config`] reads.
pub const VARIABLES: [&str; 11] = [
    EVENTS_TABLE,
    SNAPSHOTS_TABLE,
    DEFAULT_SNAPSHOT_STRATEGY,
    EVENT_COUNT_SNAPSHOT_THRESHOLD,
    TIME_BASED_SNAPSHOT_INTERVAL_HOURS,
    MAX_SNAPSHOTS_PER_ORDER,
    MAX_SNAPSHOT_AGE_DAYS,
    DRIFT_CANARY_ORDERS,
    REBUILD_ORDERS_PER_SECOND,
    LOAD_TAIL_MARGIN,
    STACK_NAME,
];

#[derive(Debug, Error, PartialEq, Eq)]
#[error("{variable}={value:?} is invalid: {expected}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub expected: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub tables: TableNames,
    pub strategy: StrategySettings,
    pub retention: RetentionSettings,
    pub maintenance: MaintenanceSettings,
    pub load: LoadSettings,
    /// The stack the functions belong to (`local` when unset).
    pub stack: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            tables: TableNames::default(),
            strategy: StrategySettings::default(),
            retention: RetentionSettings::default(),
            maintenance: MaintenanceSettings::default(),
            load: LoadSettings::default(),
            stack: "local".into(),
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// `lookup` answers a variable's value, or `None` when it is not set.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Config::default();
        let value = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let table = |name: &'static str, default: String| match value(name) {
            None => Ok(default),
            Some(v) if is_table_name(&v) => Ok(v),
            Some(v) => Err(ConfigError {
                variable: name,
                value: v,
                expected: "a DynamoDB table name (3-255 of A-Z a-z 0-9 _ - .)",
            }),
        };
        let (d, r, m) = (defaults.strategy, defaults.retention, defaults.maintenance);
        Ok(Config {
            tables: TableNames {
                events: table(EVENTS_TABLE, defaults.tables.events)?,
                snapshots: table(SNAPSHOTS_TABLE, defaults.tables.snapshots)?,
            },
            strategy: StrategySettings {
                default_strategy: match value(DEFAULT_SNAPSHOT_STRATEGY) {
                    None => d.default_strategy,
                    Some(v) => v.parse().map_err(|_| ConfigError {
                        variable: DEFAULT_SNAPSHOT_STRATEGY,
                        value: v,
                        expected: "one of EVENT_COUNT, TIME_BASED, HYBRID",
                    })?,
                },
                event_count_threshold: positive_setting(
                    value(EVENT_COUNT_SNAPSHOT_THRESHOLD),
                    EVENT_COUNT_SNAPSHOT_THRESHOLD,
                    d.event_count_threshold,
                )?,
                time_interval_hours: positive_setting(
                    value(TIME_BASED_SNAPSHOT_INTERVAL_HOURS),
                    TIME_BASED_SNAPSHOT_INTERVAL_HOURS,
                    d.time_interval_hours,
                )?,
            },
            retention: RetentionSettings {
                max_snapshots_per_order: positive_setting(
                    value(MAX_SNAPSHOTS_PER_ORDER),
                    MAX_SNAPSHOTS_PER_ORDER,
                    r.max_snapshots_per_order,
                )?,
                max_snapshot_age_days: positive_setting(
                    value(MAX_SNAPSHOT_AGE_DAYS),
                    MAX_SNAPSHOT_AGE_DAYS,
                    r.max_snapshot_age_days,
                )?,
            },
            maintenance: MaintenanceSettings {
                canary_orders: whole_setting(
                    value(DRIFT_CANARY_ORDERS),
                    DRIFT_CANARY_ORDERS,
                    m.canary_orders,
                )?,
                rebuild_orders_per_second: whole_setting(
                    value(REBUILD_ORDERS_PER_SECOND),
                    REBUILD_ORDERS_PER_SECOND,
                    m.rebuild_orders_per_second,
                )?,
            },
            load: LoadSettings {
                tail_margin: match value(LOAD_TAIL_MARGIN) {
                    None => defaults.load.tail_margin,
                    Some(v) if v.eq_ignore_ascii_case("off") => None,
                    Some(v) => match v.parse::<u32>() {
                        Ok(margin) if margin <= MAX_TAIL_MARGIN => Some(margin),
                        _ => {
                            return Err(ConfigError {
                                variable: LOAD_TAIL_MARGIN,
                                value: v,
                                expected: "a whole number up to 1000, or off",
                            });
                        }
                    },
                },
            },
            stack: value(STACK_NAME).unwrap_or_else(|| "local".to_owned()),
        })
    }

    /// The newest events a load reads beside the snapshot (`None`: no read-ahead).
    /// The order repository on the configured tables, with the configured read-ahead.
    pub fn repository(&self, client: aws_sdk_dynamodb::Client) -> OrderRepository {
        OrderRepository::for_tables(client, &self.tables).with_read_ahead(self.read_ahead())
    }

    pub fn read_ahead(&self) -> Option<u32> {
        self.load.read_ahead(&self.strategy)
    }
}

/// A whole number (0 allowed), or the default when the variable is absent.
fn whole_setting(value: Option<String>, variable: &'static str, default: u32) -> Result<u32, ConfigError> {
    let Some(v) = value else { return Ok(default) };
    v.parse().map_err(|_| ConfigError { variable, value: v, expected: "a whole number (0 turns it off)" })
}

/// A whole number above zero, or the default when the variable is absent.
fn positive_setting<T: std::str::FromStr + PartialOrd + Default>(
    value: Option<String>,
    variable: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    let Some(v) = value else { return Ok(default) };
    match v.parse::<T>() {
        Ok(n) if n > T::default() => Ok(n),
        _ => Err(ConfigError { variable, value: v, expected: "a positive whole number" }),
    }
}

fn is_table_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::settings::StrategyKind;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| vars.get(k).cloned())
    }

    #[test]
    fn absent_variables_take_the_defaults() {
        let config = from(&[]).unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.strategy.event_count_threshold, 10);
        assert_eq!(config.strategy.time_interval_hours, 24);
        assert_eq!(config.retention.max_snapshots_per_order, 3);
        assert_eq!(config.retention.max_snapshot_age_days, 90);
        assert_eq!(config.tables.events, "order_events");
        assert_eq!(config.tables.snapshots, "order_snapshots");
    }

    #[test]
    fn set_variables_are_used() {
        let config = from(&[
            (DEFAULT_SNAPSHOT_STRATEGY, "HYBRID"),
            (EVENT_COUNT_SNAPSHOT_THRESHOLD, "25"),
            (TIME_BASED_SNAPSHOT_INTERVAL_HOURS, "6"),
            (MAX_SNAPSHOTS_PER_ORDER, "5"),
            (MAX_SNAPSHOT_AGE_DAYS, "30"),
            (EVENTS_TABLE, "events-prod"),
            (SNAPSHOTS_TABLE, "snapshots-prod"),
        ])
        .unwrap();
        assert_eq!(config.strategy.default_strategy, StrategyKind::Hybrid);
        assert_eq!(config.strategy.event_count_threshold, 25);
        assert_eq!(config.strategy.time_interval_hours, 6);
        assert_eq!(config.retention.max_snapshots_per_order, 5);
        assert_eq!(config.retention.max_snapshot_age_days, 30);
        assert_eq!(config.tables.events, "events-prod");
    }

    #[test]
    fn the_read_ahead_is_threshold_plus_margin_plus_the_anchor_event() {
        let default = from(&[]).unwrap();
        assert_eq!(default.read_ahead(), Some(crate::store::repository::DEFAULT_READ_AHEAD));
        let wide = from(&[(EVENT_COUNT_SNAPSHOT_THRESHOLD, "50"), (LOAD_TAIL_MARGIN, "25")]).unwrap();
        assert_eq!(wide.read_ahead(), Some(76));
        assert_eq!(from(&[(LOAD_TAIL_MARGIN, "0")]).unwrap().read_ahead(), Some(11));
        assert_eq!(from(&[(LOAD_TAIL_MARGIN, "off")]).unwrap().read_ahead(), None);
    }

    #[test]
    fn malformed_values_name_their_variable() {
        for (var, bad) in [
            (EVENT_COUNT_SNAPSHOT_THRESHOLD, "ten"),
            (EVENT_COUNT_SNAPSHOT_THRESHOLD, "0"),
            (EVENT_COUNT_SNAPSHOT_THRESHOLD, "-3"),
            (TIME_BASED_SNAPSHOT_INTERVAL_HOURS, "1.5"),
            (MAX_SNAPSHOTS_PER_ORDER, "-1"),
            (MAX_SNAPSHOT_AGE_DAYS, "ninety"),
            (DRIFT_CANARY_ORDERS, "-1"),
            (REBUILD_ORDERS_PER_SECOND, "fast"),
            (DEFAULT_SNAPSHOT_STRATEGY, "SOMETIMES"),
            (SNAPSHOTS_TABLE, "bad table!"),
            (LOAD_TAIL_MARGIN, "-1"),
            (LOAD_TAIL_MARGIN, "1001"),
            (LOAD_TAIL_MARGIN, "never"),
        ] {
            let err = from(&[(var, bad)]).unwrap_err();
            assert_eq!(err.variable, var);
            assert!(err.to_string().starts_with(var), "{err}");
        }
    }
}
