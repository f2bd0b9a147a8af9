//! What a batch did: the response's first failure and the counts that become its metrics.

/// What one batch did; also its metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub records: u64,
    pub inserts: u64,
    /// MODIFY and REMOVE records (TTL deletions included): not ours to act on.
    pub ignored: u64,
    /// Records that cannot be understood (reported as failed).
    pub poison: u64,
    pub orders: u64,
    pub snapshots_written: u64,
    /// Snapshots that already existed (redelivery, or another handler got there first).
    pub snapshots_existing: u64,
    /// Snapshots written over an unusable one at the same version (another fold's, say).
    pub snapshots_replaced: u64,
    /// Snapshots that cannot fit in an item: skipped, logged at ERROR.
    pub snapshots_too_large: u64,
    pub orders_failed: u64,
    /// Orders whose history cannot be read (an event the code cannot decode, or a gap): their
    /// records are acknowledged without a snapshot.
    pub orders_unreadable: u64,
    pub records_unreadable: u64,
    /// Orders left for the retry because an earlier record of the batch failed.
    pub orders_deferred: u64,
    /// Cold loads that replayed past a snapshot (unusable, or its table unreachable).
    pub load_fallbacks: u64,
    /// Orders served from the warm-container cache without reading storage.
    pub cache_hits: u64,
    pub storage_reads: u64,
    pub storage_writes: u64,
}

impl BatchReport {
    pub fn metrics(&self) -> [(&'static str, u64); 17] {
        [
            ("Records", self.records),
            ("Inserts", self.inserts),
            ("RecordsIgnored", self.ignored),
            ("RecordsPoison", self.poison),
            ("Orders", self.orders),
            ("SnapshotsWritten", self.snapshots_written),
            ("SnapshotsExisting", self.snapshots_existing),
            ("SnapshotsReplaced", self.snapshots_replaced),
            ("SnapshotsTooLarge", self.snapshots_too_large),
            ("OrdersFailed", self.orders_failed),
            ("OrdersUnreadable", self.orders_unreadable),
            ("RecordsUnreadable", self.records_unreadable),
            ("OrdersDeferred", self.orders_deferred),
            ("LoadFallbacks", self.load_fallbacks),
            ("CacheHits", self.cache_hits),
            ("StorageReads", self.storage_reads),
            ("StorageWrites", self.storage_writes),
        ]
    }
}

#[derive(Clone, Debug, Default)]
pub struct BatchOutcome {
    /// Position of the earliest record to retry from (Lambda restarts there).
    pub first_failure: Option<String>,
    /// The batch's first record is one this code cannot understand: retrying it from there
    /// would fail the same way, so the adapter fails the invocation and Lambda's bisection
    /// isolates it (the rest of the batch then goes on).
    pub poison_first: bool,
    pub report: BatchReport,
}

/// What happened to one order of a batch.
#[derive(Debug, Default)]
pub(super) struct OrderOutcome {
    pub written: bool,
    pub replaced: bool,
    pub existing: bool,
    pub too_large: bool,
    pub cache_hit: bool,
    pub load_fallback: bool,
    pub reads: u32,
    pub writes: u32,
    pub unreadable: Option<Unreadable>,
}

/// Why an order's records were acknowledged without a snapshot.
#[derive(Debug)]
pub(super) struct Unreadable {
    pub sequence: Option<u64>,
    pub reason: String,
    /// The order's records in the batch.
    pub records: u64,
}

impl BatchReport {
    pub(super) fn add(&mut self, order: &OrderOutcome) {
        self.snapshots_written += u64::from(order.written);
        self.snapshots_existing += u64::from(order.existing);
        self.snapshots_replaced += u64::from(order.replaced);
        self.snapshots_too_large += u64::from(order.too_large);
        self.cache_hits += u64::from(order.cache_hit);
        self.load_fallbacks += u64::from(order.load_fallback);
        self.storage_reads += u64::from(order.reads);
        self.storage_writes += u64::from(order.writes);
        if let Some(unreadable) = &order.unreadable {
            self.orders_unreadable += 1;
            self.records_unreadable += unreadable.records;
        }
    }
}
