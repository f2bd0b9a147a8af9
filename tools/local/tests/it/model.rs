//! Model-based test (proptest state machine): random interleavings of appends, stream
//! deliveries (duplicates, reordering across orders, batch splits, restarts after partial
//! failures and after the connection is cut mid-batch), cleanup runs, admin creates and
//! deletes, and the clock moving. After every step every invariant of docs/invariants.md is checked
//! against the real tables:
//! - (1) every snapshot equals the replay of its events;
//! - (2) loads equal replay and use the newest snapshot;
//! - (3) versions are unique, equal lastEventSequence, and a stored snapshot is never
//!   overwritten;
//! - (6) cleanup keeps each order's newest and leaves a full pass within retention;
//! - (7) events are exactly what was appended.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use serde_json::{Value, json};
use shared::domain::samples::order_id as oid;
use shared::domain::{Order, OrderEvent, RecordedEvent};
use shared::policy::retention::{SnapshotKey, versions_to_delete};
use shared::policy::settings::{RetentionSettings, StrategyKind, StrategySettings};
use shared::runtime::client::ClientTuning;
use shared::store::control::cleanup_cursor::CLEANUP_CURSOR_ID;
use shared::store::events::event_from_item;
use shared::store::repository::OrderRepository;
use shared::store::snapshots::codec;
use shared::use_cases::clock::{Clock, ManualClock};
use shared::use_cases::maintenance::cleanup::CleanupService;
use shared::use_cases::stream_snapshots::StreamSnapshotter;
use snapshot_admin::access::LocalCaller;
use snapshot_admin::access::MemoryAudit;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::stream_events::{insert_record, position_string};
use testkit::{Proxy, TestTables, arb_event, client_tuned, shared_server};
use tokio::runtime::Runtime;
use tower::ServiceExt;

const ORDERS: [&str; 3] = ["m-1", "m-2", "m-3"];
const T0: i64 = 1_800_000_000_000;

#[derive(Clone, Debug)]
struct Model {
    settings: StrategySettings,
    retention: RetentionSettings,
    appended: [u64; ORDERS.len()],
}

#[derive(Clone, Debug)]
enum Step {
    Append {
        order: usize,
        events: Vec<OrderEvent>,
    },
    /// Lambda delivers the next `take` records (plus `redeliver` already processed ones in
    /// front: a retried batch), records of different orders regrouped by one of the order
    /// rankings `reorder` picks, in `split` batches.
    Deliver {
        take: usize,
        redeliver: usize,
        reorder: Option<usize>,
        split: usize,
    },
    /// The same through a connection that is cut after `cut_after` requests.
    DeliverCut {
        take: usize,
        cut_after: i64,
    },
    Cleanup {
        page_size: u16,
        one_page: bool,
    },
    AdminCreate {
        order: usize,
    },
    AdminDelete {
        order: usize,
        which: Index,
    },
    AdvanceClock {
        hours: u32,
    },
}

struct Reference;

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Model> {
        (
            prop::sample::select(vec![
                StrategyKind::EventCount,
                StrategyKind::TimeBased,
                StrategyKind::Hybrid,
            ]),
            2u64..=5,
            1u64..=48,
            1u32..=3,
            1u32..=30,
        )
            .prop_map(|(default_strategy, threshold, hours, keep, days)| Model {
                settings: StrategySettings {
                    default_strategy,
                    event_count_threshold: threshold,
                    time_interval_hours: hours,
                },
                retention: RetentionSettings { max_snapshots_per_order: keep, max_snapshot_age_days: days },
                appended: [0; ORDERS.len()],
            })
            .boxed()
    }

    fn transitions(_: &Model) -> BoxedStrategy<Step> {
        let order = 0..ORDERS.len();
        prop_oneof![
            4 => (order.clone(), prop::collection::vec(arb_event(), 1..=4))
                .prop_map(|(order, events)| Step::Append { order, events }),
            4 => (1usize..=12, 0usize..=3, prop::option::of(0..ORDERS.len()), 1usize..=3)
                .prop_map(|(take, redeliver, reorder, split)| Step::Deliver { take, redeliver, reorder, split }),
            2 => (1usize..=12, 0i64..=6).prop_map(|(take, cut_after)| Step::DeliverCut { take, cut_after }),
            1 => (1u16..=4, any::<bool>()).prop_map(|(page_size, one_page)| Step::Cleanup { page_size, one_page }),
            1 => order.clone().prop_map(|order| Step::AdminCreate { order }),
            1 => (order, any::<Index>()).prop_map(|(order, which)| Step::AdminDelete { order, which }),
            1 => prop_oneof![1u32..=6, 24u32..=24 * 40].prop_map(|hours| Step::AdvanceClock { hours }),
        ]
        .boxed()
    }

    fn apply(mut model: Model, step: &Step) -> Model {
        if let Step::Append { order, events } = step {
            model.appended[*order] += events.len() as u64;
        }
        model
    }
}

/// What the runs did, printed after each case (`--nocapture`): proof the steps had effect.
#[derive(Default)]
struct Tally {
    cases: AtomicU64,
    steps: AtomicU64,
    events: AtomicU64,
    deliveries: AtomicU64,
    redelivered: AtomicU64,
    restarts: AtomicU64,
    cleanup_runs: AtomicU64,
    admin_calls: AtomicU64,
    snapshots_checked: AtomicU64,
}

static TALLY: Tally = Tally {
    cases: AtomicU64::new(0),
    steps: AtomicU64::new(0),
    events: AtomicU64::new(0),
    deliveries: AtomicU64::new(0),
    redelivered: AtomicU64::new(0),
    restarts: AtomicU64::new(0),
    cleanup_runs: AtomicU64::new(0),
    admin_calls: AtomicU64::new(0),
    snapshots_checked: AtomicU64::new(0),
};

fn count(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Relaxed);
}

/// A record on the simulated shard: its stream position and the event it carries.
#[derive(Clone, Debug)]
struct StreamRecord {
    position: u64,
    event: RecordedEvent,
}

/// What a stored snapshot was written as; a later read must find exactly this.
type WriteIdentity = (String, i64, String, String);

struct World {
    runtime: Arc<Runtime>,
    tables: TestTables,
    proxy: Arc<Proxy>,
    clock: ManualClock,
    retention: RetentionSettings,
    /// Two warm Lambda containers of the stream function: one with a healthy connection,
    /// one whose connection the proxy cuts.
    stream: StreamSnapshotter,
    cut_stream: StreamSnapshotter,
    admin: axum::Router,
    appended: Vec<Vec<RecordedEvent>>,
    pending: VecDeque<StreamRecord>,
    processed: Vec<StreamRecord>,
    next_position: u64,
    /// Every snapshot seen at the last check, as it was written.
    seen: Mutex<HashMap<(String, u64), WriteIdentity>>,
}

impl World {
    fn new(model: &Model) -> World {
        let runtime = Arc::new(
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap(),
        );
        let clock = ManualClock::at(T0);
        let settings = model.settings.clone();
        let retention = model.retention.clone();
        let (tables, proxy, stream, cut_stream, admin) = runtime.block_on(async {
            let tables = TestTables::new().await;
            let proxy = Proxy::start(shared_server().port()).await;
            let impatient = ClientTuning {
                connect_timeout: Duration::from_millis(300),
                attempt_timeout: Duration::from_secs(5),
                operation_timeout: Duration::from_secs(10),
                max_attempts: 2,
                initial_backoff: Duration::from_millis(5),
            };
            let service = |client| {
                StreamSnapshotter::new(
                    tables.repository_via(client),
                    settings.clone(),
                    Arc::new(clock.clone()),
                )
            };
            let stream = service(tables.client.clone());
            let cut_stream = service(client_tuned(&proxy.endpoint(), impatient));
            let admin = snapshot_admin::router(snapshot_admin::AppState::in_process(
                tables.repository(),
                retention.clone(),
                Arc::new(clock.clone()),
                Arc::new(MemoryAudit::default()),
                Duration::from_secs(10),
            ));
            (tables, proxy, stream, cut_stream, admin)
        });
        World {
            runtime,
            tables,
            proxy,
            clock,
            retention,
            stream,
            cut_stream,
            admin,
            appended: vec![Vec::new(); ORDERS.len()],
            pending: VecDeque::new(),
            processed: Vec::new(),
            next_position: 1,
            seen: Mutex::new(HashMap::new()),
        }
    }

    async fn append(&mut self, order: usize, events: &[OrderEvent]) {
        let expected = self.appended[order].len() as u64;
        let store = self.tables.event_store();
        let recorded =
            store.append(&oid(ORDERS[order]), expected, events, self.clock.now_ms()).await.unwrap();
        count(&TALLY.events, recorded.len() as u64);
        for event in &recorded {
            self.pending.push_back(StreamRecord { position: self.next_position, event: event.clone() });
            self.next_position += 1;
        }
        self.appended[order].extend(recorded);
    }

    /// Delivers `batch` in `split` invocations the way Lambda does; what fails goes back to
    /// the front of the shard, to be delivered again.
    async fn deliver(&mut self, batch: Vec<StreamRecord>, split: usize, cut_after: Option<i64>) {
        let size = batch.len().div_ceil(split.max(1)).max(1);
        let chunks: Vec<Vec<StreamRecord>> = batch.chunks(size).map(<[_]>::to_vec).collect();
        let mut requeue: Vec<StreamRecord> = Vec::new();
        let mut failed = false;
        for chunk in chunks {
            if failed {
                requeue.extend(chunk);
                continue;
            }
            let event = json!({ "Records": chunk.iter().map(|r| insert_record(&r.event, r.position)).collect::<Vec<Value>>() });
            let service = match cut_after {
                Some(n) => {
                    self.proxy.cut_after(n);
                    &self.cut_stream
                }
                None => &self.stream,
            };
            count(&TALLY.deliveries, 1);
            let response =
                local::deliver(service, event).await.expect("a stream event is never refused whole");
            if cut_after.is_some() {
                self.proxy.restore().await;
            }
            match response.batch_item_failures.first().and_then(|f| f.item_identifier.clone()) {
                None => self.processed.extend(chunk),
                Some(at) => {
                    let i = chunk
                        .iter()
                        .position(|r| position_string(r.position) == at)
                        .expect("a failure names a record of the batch");
                    self.processed.extend(chunk[..i].iter().cloned());
                    requeue.extend(chunk[i..].iter().cloned());
                    failed = true;
                    count(&TALLY.restarts, 1);
                }
            }
        }
        // Records processed before are not new work; the rest goes back in shard order.
        let done: HashSet<u64> = self.processed.iter().map(|r| r.position).collect();
        let mut back: Vec<StreamRecord> =
            requeue.into_iter().filter(|r| !done.contains(&r.position)).collect();
        back.sort_by_key(|r| r.position);
        back.dedup_by_key(|r| r.position);
        for record in back.into_iter().rev() {
            if !self.pending.iter().any(|p| p.position == record.position) {
                self.pending.push_front(record);
            }
        }
    }

    fn take(&mut self, take: usize) -> Vec<StreamRecord> {
        let n = take.min(self.pending.len());
        self.pending.drain(..n).collect()
    }

    async fn admin(&self, method: &str, uri: &str) -> StatusCode {
        count(&TALLY.admin_calls, 1);
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .extension(LocalCaller("model".into()))
            .body(Body::empty())
            .unwrap();
        self.admin.clone().oneshot(request).await.unwrap().status()
    }

    /// Every stored snapshot key, by order.
    async fn snapshot_versions(&self) -> BTreeMap<String, Vec<SnapshotKey>> {
        let mut out: BTreeMap<String, Vec<SnapshotKey>> = BTreeMap::new();
        for item in scan(&self.tables, &self.tables.snapshots_table).await {
            let Ok(snapshot) = codec::decode(&item) else { continue };
            out.entry(snapshot.order_id.clone())
                .or_default()
                .push(SnapshotKey { version: snapshot.version, timestamp: snapshot.timestamp });
        }
        out
    }

    async fn step(&mut self, step: &Step) {
        match step {
            Step::Append { order, events } => self.append(*order, events).await,
            Step::Deliver { take, redeliver, reorder, split } => {
                let mut batch = self.take(*take);
                if batch.is_empty() {
                    return;
                }
                let again = self.processed.len().saturating_sub(*redeliver);
                let mut with_repeats: Vec<StreamRecord> = self.processed[again..].to_vec();
                count(&TALLY.redelivered, with_repeats.len() as u64);
                with_repeats.append(&mut batch);
                if let Some(rotation) = reorder {
                    // Orders live on different shards: their records may interleave any way,
                    // each order's own records stay in order (the sort is stable).
                    let rank = |r: &StreamRecord| {
                        let o = ORDERS.iter().position(|id| *id == r.event.order_id).expect("known order");
                        (o + rotation) % ORDERS.len()
                    };
                    with_repeats.sort_by_key(rank);
                }
                self.deliver(with_repeats, *split, None).await;
            }
            Step::DeliverCut { take, cut_after } => {
                let batch = self.take(*take);
                if !batch.is_empty() {
                    self.deliver(batch, 1, Some(*cut_after)).await;
                }
            }
            Step::Cleanup { page_size, one_page } => {
                let before = self.snapshot_versions().await;
                let cleanup = CleanupService::new(
                    self.tables.repository(),
                    self.retention.clone(),
                    Arc::new(self.clock.clone()),
                )
                .with_page_size(*page_size);
                let deadline =
                    if *one_page { Instant::now() } else { Instant::now() + Duration::from_secs(60) };
                count(&TALLY.cleanup_runs, 1);
                let report = cleanup.run(deadline).await.expect("cleanup on a healthy table succeeds");
                let after = self.snapshot_versions().await;
                for (order, keys) in &before {
                    let newest = keys.iter().map(|k| k.version).max().unwrap();
                    let kept = after.get(order).is_some_and(|k| k.iter().any(|k| k.version == newest));
                    assert!(kept, "cleanup deleted the newest snapshot {newest} of {order}");
                }
                if report.finished && report.resumed_from.is_none() {
                    for (order, keys) in &after {
                        assert!(
                            keys.len() <= self.retention.max_snapshots_per_order as usize,
                            "{order}: {keys:?}"
                        );
                        let left = versions_to_delete(keys, &self.retention, self.clock.now_ms());
                        assert!(left.is_empty(), "{order}: a full pass left {left:?} to delete");
                    }
                }
            }
            Step::AdminCreate { order } => {
                let status =
                    self.admin("POST", &format!("/admin/order-snapshots/create/{}", ORDERS[*order])).await;
                let expected: &[StatusCode] = if self.appended[*order].is_empty() {
                    &[StatusCode::NOT_FOUND]
                } else {
                    &[StatusCode::CREATED, StatusCode::CONFLICT]
                };
                assert!(expected.contains(&status), "create {}: {status}", ORDERS[*order]);
            }
            Step::AdminDelete { order, which } => {
                let versions = self.snapshot_versions().await;
                let Some(keys) = versions.get(ORDERS[*order]) else { return };
                let version = which.get(keys).version;
                let status = self
                    .admin("DELETE", &format!("/admin/order-snapshots/{}/{version}", ORDERS[*order]))
                    .await;
                assert_eq!(status, StatusCode::OK);
            }
            Step::AdvanceClock { hours } => self.clock.advance_hours(i64::from(*hours)),
        }
    }

    async fn check(&self, model: &Model) {
        // 7: the events are exactly what was appended, contiguous from 1.
        let mut stored: BTreeMap<String, Vec<RecordedEvent>> = BTreeMap::new();
        for item in scan(&self.tables, &self.tables.events_table).await {
            let event = event_from_item(&item).expect("stored events decode");
            stored.entry(event.order_id.clone()).or_default().push(event);
        }
        for (o, order) in ORDERS.iter().enumerate() {
            let mut events = stored.remove(*order).unwrap_or_default();
            events.sort_by_key(|e| e.sequence);
            assert_eq!(events.len() as u64, model.appended[o], "{order}: the model's count");
            assert_eq!(events, self.appended[o], "{order}: events exactly as appended");
        }
        // 1 and 3: every snapshot equals replay, version = lastEventSequence, never overwritten.
        let mut now_seen = HashMap::new();
        let mut newest: HashMap<String, u64> = HashMap::new();
        for item in scan(&self.tables, &self.tables.snapshots_table).await {
            if shared::store::dynamo::get_s(&item, "orderId") == Ok(CLEANUP_CURSOR_ID) {
                continue;
            }
            let snapshot = codec::decode(&item).expect("every snapshot we wrote is usable");
            count(&TALLY.snapshots_checked, 1);
            let o = ORDERS.iter().position(|id| *id == snapshot.order_id).expect("a known order");
            assert_eq!(snapshot.version, snapshot.last_event_sequence);
            let upto = snapshot.last_event_sequence as usize;
            assert!(upto >= 1 && upto <= self.appended[o].len(), "snapshot {upto} beyond the history");
            let replay = Order::replay(&snapshot.order_id, &self.appended[o][..upto]).unwrap();
            assert_eq!(
                snapshot.state, replay,
                "{} v{}: snapshot equals replay",
                snapshot.order_id, snapshot.version
            );
            let key = (snapshot.order_id.clone(), snapshot.version);
            let identity = (
                snapshot.metadata.checksum.clone(),
                snapshot.timestamp,
                snapshot.metadata.created_by.clone(),
                snapshot.metadata.reason.clone(),
            );
            if let Some(before) = self.seen.lock().unwrap().get(&key) {
                assert_eq!(before, &identity, "{key:?} was overwritten");
            }
            let n = newest.entry(snapshot.order_id.clone()).or_default();
            *n = (*n).max(snapshot.version);
            now_seen.insert(key, identity);
        }
        *self.seen.lock().unwrap() = now_seen;
        // 2: loads equal replay, through the newest snapshot.
        let repository: &OrderRepository = self.stream.repository();
        for (o, order) in ORDERS.iter().enumerate() {
            let loaded = repository.load(&oid(order)).await.unwrap();
            if self.appended[o].is_empty() {
                assert!(loaded.is_none());
                continue;
            }
            let loaded = loaded.unwrap();
            assert_eq!(
                loaded.order,
                Order::replay(order, &self.appended[o]).unwrap(),
                "{order}: load equals replay"
            );
            // from the newest snapshot, or (a history the read-ahead held whole) by its replay
            match loaded.cost.snapshot_version {
                Some(version) => {
                    assert_eq!(Some(version), newest.get(*order).copied(), "{order}: loads use the newest")
                }
                None => assert!(
                    !newest.contains_key(*order)
                        || loaded.cost.events_replayed as usize == self.appended[o].len(),
                    "{order}: a load without its snapshot replays the whole history it read: {:?}",
                    loaded.cost
                ),
            }
        }
    }
}

async fn scan(t: &TestTables, table: &str) -> Vec<shared::store::dynamo::Item> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = t
            .client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        items.extend(page.items().iter().cloned());
        match page.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return items,
        }
    }
}

struct SnapshotSystem;

impl StateMachineTest for SnapshotSystem {
    type SystemUnderTest = World;
    type Reference = Reference;

    fn init_test(model: &Model) -> World {
        World::new(model)
    }

    fn apply(mut world: World, _model: &Model, step: Step) -> World {
        count(&TALLY.steps, 1);
        let runtime = Arc::clone(&world.runtime);
        runtime.block_on(world.step(&step));
        world
    }

    fn check_invariants(world: &World, model: &Model) {
        world.runtime.block_on(world.check(model));
    }

    fn teardown(world: World) {
        count(&TALLY.cases, 1);
        let t = &TALLY;
        eprintln!(
            "model: {} cases, {} steps, {} events appended, {} deliveries ({} records redelivered, {} restarts after a failure), {} cleanup runs, {} admin calls, {} snapshot checks",
            t.cases.load(Relaxed),
            t.steps.load(Relaxed),
            t.events.load(Relaxed),
            t.deliveries.load(Relaxed),
            t.redelivered.load(Relaxed),
            t.restarts.load(Relaxed),
            t.cleanup_runs.load(Relaxed),
            t.admin_calls.load(Relaxed),
            t.snapshots_checked.load(Relaxed),
        );
        let World { runtime, tables, .. } = world;
        runtime.block_on(async {
            for table in [&tables.events_table, &tables.snapshots_table] {
                let _ = tables.client.delete_table().table_name(table).send().await;
            }
        });
    }
}

/// Cases per run: 32 in `make test`; `MODEL_CASES=300` for a deeper search.
fn cases() -> u32 {
    std::env::var("MODEL_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(32)
}

prop_state_machine! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_invariant_holds_after_every_step(sequential 5..50 => SnapshotSystem);
}
