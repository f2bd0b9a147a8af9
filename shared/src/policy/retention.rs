//! Which snapshots to delete: keep at most `MAX_SNAPSHOTS_PER_ORDER`, none older than
//! `MAX_SNAPSHOT_AGE_DAYS`, and always the order's newest, so an idle order whose snapshots
//! are all old keeps one.

use crate::policy::settings::RetentionSettings;

const MS_PER_DAY: i64 = 24 * 60 * 60 * 1000;

/// What retention needs of a snapshot: no state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotKey {
    pub version: u64,
    /// When it was taken (ms).
    pub timestamp: i64,
}

/// Versions to delete from one order's snapshots (any order in, ascending out): keep the newest
/// `max_snapshots_per_order`, delete older ones, and delete those older than
/// `max_snapshot_age_days` — but never the newest.
pub fn versions_to_delete(snapshots: &[SnapshotKey], settings: &RetentionSettings, now: i64) -> Vec<u64> {
    let mut newest_first: Vec<SnapshotKey> = snapshots.to_vec();
    newest_first.sort_by_key(|s| std::cmp::Reverse(s.version));
    newest_first.dedup_by_key(|s| s.version);
    let cutoff = now.saturating_sub(i64::from(settings.max_snapshot_age_days).saturating_mul(MS_PER_DAY));
    let keep = settings.max_snapshots_per_order as usize;
    let mut doomed: Vec<u64> = newest_first
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(rank, s)| *rank >= keep || s.timestamp < cutoff)
        .map(|(_, s)| s.version)
        .collect();
    doomed.sort_unstable();
    doomed
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn aged(version: u64, days: i64) -> SnapshotKey {
        SnapshotKey { version, timestamp: NOW - days * MS_PER_DAY }
    }

    fn settings(max: u32, days: u32) -> RetentionSettings {
        RetentionSettings { max_snapshots_per_order: max, max_snapshot_age_days: days }
    }

    #[test]
    fn table_of_retention_cases() {
        struct Case {
            name: &'static str,
            snapshots: Vec<SnapshotKey>,
            max: u32,
            days: u32,
            delete: Vec<u64>,
        }
        let cases = [
            Case { name: "none", snapshots: vec![], max: 3, days: 90, delete: vec![] },
            Case {
                name: "below the count",
                snapshots: vec![aged(10, 1), aged(20, 0)],
                max: 3,
                days: 90,
                delete: vec![],
            },
            Case {
                name: "at the count",
                snapshots: vec![aged(10, 2), aged(20, 1), aged(30, 0)],
                max: 3,
                days: 90,
                delete: vec![],
            },
            Case {
                name: "above the count",
                snapshots: vec![aged(10, 4), aged(20, 3), aged(30, 2), aged(40, 1), aged(50, 0)],
                max: 3,
                days: 90,
                delete: vec![10, 20],
            },
            Case {
                name: "age cutoff within the count",
                snapshots: vec![aged(10, 120), aged(20, 95), aged(30, 10)],
                max: 3,
                days: 90,
                delete: vec![10, 20],
            },
            Case {
                name: "exactly at the cutoff is kept",
                snapshots: vec![aged(10, 90), aged(20, 0)],
                max: 3,
                days: 90,
                delete: vec![],
            },
            Case {
                name: "idle order: all older than the cutoff keeps its newest",
                snapshots: vec![aged(10, 400), aged(20, 300), aged(30, 200)],
                max: 3,
                days: 90,
                delete: vec![10, 20],
            },
            Case {
                name: "a single old snapshot stays",
                snapshots: vec![aged(10, 1000)],
                max: 3,
                days: 90,
                delete: vec![],
            },
            Case {
                name: "max 1 keeps only the newest",
                snapshots: vec![aged(30, 0), aged(10, 0), aged(20, 0)],
                max: 1,
                days: 90,
                delete: vec![10, 20],
            },
            Case {
                name: "newest by version, whatever the timestamps say",
                snapshots: vec![aged(10, 0), aged(20, 200)],
                max: 3,
                days: 90,
                delete: vec![],
            },
        ];
        for case in cases {
            let got = versions_to_delete(&case.snapshots, &settings(case.max, case.days), NOW);
            assert_eq!(got, case.delete, "{}", case.name);
            let newest = case.snapshots.iter().map(|s| s.version).max();
            assert!(newest.is_none_or(|n| !got.contains(&n)), "{}: newest kept", case.name);
        }
    }
}
