//! The speculative load: the newest snapshot and the newest events do not depend on each
//! other, so both are read at once. When the events read reaches back to the snapshot's own
//! event, the load took one round trip of latency; otherwise it reads the gap (the stream
//! lags) or replays, reusing what it already holds.

use super::OrderRepository;
use super::plan::{EventsInHand, ToRead, to_read};
use crate::domain::Order;
use crate::domain::OrderId;
use crate::domain::folded_order::{FoldedOrder, SnapshotRef};
use crate::store::StoreError;
use crate::store::dynamo::ReadCost;
use crate::store::events::EventItems;
use crate::store::snapshots::SnapshotLookup;
use crate::store::unreadable::HistoryUnreadable;
use serde::Serialize;
use std::future::Future;
use tracing::{debug, warn};

/// What a load cost and how it was served.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadCost {
    /// Snapshot the load started from (`None`: full replay).
    pub snapshot_version: Option<u64>,
    pub events_replayed: u64,
    /// Requests sent.
    pub round_trips: u32,
    /// Requests the load waited for one after another: the latency it paid. Reads sent
    /// together count once.
    pub critical_round_trips: u32,
    pub items_read: u64,
    pub bytes_read: u64,
    pub read_units: f64,
    /// Snapshots passed over as unusable (corrupt, older schema, checksum mismatch).
    pub unusable_snapshots: u32,
    /// The snapshot table could not be reached: the load replayed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub snapshots_unreachable: bool,
    /// Why the load replayed from the start although a snapshot existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

impl LoadCost {
    /// A read the load waited for after the previous ones.
    fn read(&mut self, cost: ReadCost) {
        self.add(cost);
        self.critical_round_trips += cost.round_trips;
    }

    /// Reads sent at the same time: the load waits for the longer of them.
    fn read_together(&mut self, first: ReadCost, second: ReadCost) {
        self.add(first);
        self.add(second);
        self.critical_round_trips += first.round_trips.max(second.round_trips);
    }

    fn add(&mut self, cost: ReadCost) {
        self.round_trips += cost.round_trips;
        self.items_read += cost.items;
        self.bytes_read += cost.bytes;
        self.read_units += cost.read_units;
    }
}

/// The snapshot found was folded from events past the last the read-ahead holds: the events
/// read was answered before they were appended, so it is not the whole history.
fn outran(lookup: &Result<SnapshotLookup, StoreError>, in_hand: &EventItems) -> bool {
    let folded_upto = lookup.as_ref().ok().and_then(|l| l.snapshot.as_ref()).map(|s| s.last_event_sequence);
    folded_upto.is_some_and(|upto| in_hand.last().is_none_or(|last| last < upto))
}

/// What the first reads of a load with a read-ahead gave.
enum FirstReads {
    /// The read-ahead holds the whole history: the load is its replay.
    WholeHistory(EventItems),
    /// The snapshot lookup and the newest events.
    SnapshotAndNewest(Box<Result<SnapshotLookup, StoreError>>, EventItems),
}

#[derive(Clone, Debug)]
pub struct Loaded {
    pub order: Order,
    pub cost: LoadCost,
}

/// Full replay from the first event, ignoring snapshots.
pub(super) async fn by_replay(
    repo: &OrderRepository,
    order_id: &OrderId,
) -> Result<Option<(FoldedOrder, LoadCost)>, StoreError> {
    replay(repo, order_id, None, EventItems::none(order_id), LoadCost::default()).await
}

/// `OrderRepository::load_folded`.
pub(super) async fn folded(
    repo: &OrderRepository,
    order_id: &OrderId,
    upto: Option<u64>,
    arriving: u64,
) -> Result<Option<(FoldedOrder, LoadCost)>, StoreError> {
    let mut cost = LoadCost::default();
    // bounded by `upto`, so a snapshot written past it meanwhile does not cost a replay
    let snapshot_read = repo.snapshots.latest_usable_upto(order_id, upto);
    let (lookup, in_hand) = match repo.read_ahead {
        Some(limit) => {
            match read_ahead_first(repo, order_id, upto, limit, arriving, snapshot_read, &mut cost).await? {
                FirstReads::WholeHistory(in_hand) => {
                    repo.read_ahead_memory.lock().expect("read-ahead memory lock").remember_whole(order_id);
                    return replay(repo, order_id, upto, in_hand, cost).await;
                }
                FirstReads::SnapshotAndNewest(lookup, in_hand) => (*lookup, in_hand),
            }
        }
        None => {
            let lookup = snapshot_read.await;
            cost.read(lookup.as_ref().map(|l| l.cost).unwrap_or_default());
            (lookup, EventItems::none(order_id))
        }
    };
    fold_from_snapshot(repo, order_id, upto, lookup, in_hand, cost).await
}

/// The newest events read beside the snapshot (as far ahead as this order was behind its
/// snapshot last time, if further than `limit`). A plain load of a short order: when the
/// read-ahead holds its whole history, the load is that replay, and the snapshot read is
/// not waited for (nor sent, when this container saw the order whole last time). A bounded
/// load, the stream's, always takes the snapshot: its strategy needs it.
async fn read_ahead_first(
    repo: &OrderRepository,
    order_id: &OrderId,
    upto: Option<u64>,
    limit: u32,
    arriving: u64,
    snapshot_read: impl Future<Output = Result<SnapshotLookup, StoreError>>,
    cost: &mut LoadCost,
) -> Result<FirstReads, StoreError> {
    let (limit, seen_whole) = {
        let read_ahead_memory = repo.read_ahead_memory.lock().expect("read-ahead memory lock");
        (read_ahead_memory.read_ahead(order_id, limit), upto.is_none() && read_ahead_memory.whole(order_id))
    };
    let limit = limit.saturating_add(u32::try_from(arriving).unwrap_or(u32::MAX));
    let mut events_read = std::pin::pin!(repo.events.read_newest(order_id, upto, limit));
    let mut snapshot_read = std::pin::pin!(snapshot_read);
    let whole = |in_hand: &EventItems| upto.is_none() && in_hand.from_start();
    if seen_whole {
        let (in_hand, events_cost) = events_read.await?;
        cost.read(events_cost);
        if whole(&in_hand) {
            return Ok(FirstReads::WholeHistory(in_hand));
        }
        // it grew past the read-ahead since: the snapshot after all, and beside the
        // read-ahead again from the next load on
        repo.read_ahead_memory.lock().expect("read-ahead memory lock").forget_whole(order_id);
        let lookup = snapshot_read.await;
        cost.read(lookup.as_ref().map(|l| l.cost).unwrap_or_default());
        return Ok(FirstReads::SnapshotAndNewest(Box::new(lookup), in_hand));
    }
    let (lookup, (in_hand, events_cost)) = tokio::select! {
        biased;
        newest = &mut events_read => {
            // A failed events read ends the load as it did when both reads were joined:
            // after the snapshot read has finished too, whichever failed first.
            let (in_hand, events_cost) = match newest {
                Ok(newest) => newest,
                Err(error) => {
                    let _ = snapshot_read.await;
                    return Err(error);
                }
            };
            if whole(&in_hand) {
                cost.read(events_cost);
                cost.round_trips += 1; // the snapshot read, sent and not waited for
                return Ok(FirstReads::WholeHistory(in_hand));
            }
            (snapshot_read.await, (in_hand, events_cost))
        }
        lookup = &mut snapshot_read => (lookup, events_read.await?),
    };
    cost.read_together(lookup.as_ref().map(|l| l.cost).unwrap_or_default(), events_cost);
    let whole = whole(&in_hand) && !outran(&lookup, &in_hand);
    Ok(if whole {
        FirstReads::WholeHistory(in_hand)
    } else {
        FirstReads::SnapshotAndNewest(Box::new(lookup), in_hand)
    })
}

/// The fold from the snapshot found (or a replay when there is none, or it does not fit),
/// completing the events in hand.
async fn fold_from_snapshot(
    repo: &OrderRepository,
    order_id: &OrderId,
    upto: Option<u64>,
    lookup: Result<SnapshotLookup, StoreError>,
    mut in_hand: EventItems,
    mut cost: LoadCost,
) -> Result<Option<(FoldedOrder, LoadCost)>, StoreError> {
    let lookup = match lookup {
        Ok(lookup) => lookup,
        // Snapshots are a cache: when their table cannot be reached, the events still can.
        // A throttled table is reached and busy: a replay would only add load elsewhere.
        Err(StoreError::Dynamo(error)) if !error.is_throttling() => {
            warn!(%order_id, %error, "snapshot table unreachable; replaying");
            cost.snapshots_unreachable = true;
            cost.fallback = Some(format!("snapshot table unreachable: {error}"));
            return replay(repo, order_id, upto, in_hand, cost).await;
        }
        Err(other) => return Err(other),
    };
    cost.unusable_snapshots = lookup.passed_over.len() as u32;
    if let Some(first) = lookup.passed_over.first() {
        cost.fallback = Some(format!("snapshot {:?} unusable: {}", first.version, first.reason));
    }
    let Some(snapshot) = lookup.snapshot.filter(|s| upto.is_none_or(|u| s.last_event_sequence <= u)) else {
        return replay(repo, order_id, upto, in_hand, cost).await;
    };
    // Fold from the snapshot's own last event: it proves the history the snapshot was
    // folded from is still the stored one.
    let anchor = snapshot.last_event_sequence;
    if in_hand.last().is_none() {
        // The read-ahead found no events, and was answered before the ones this snapshot
        // was folded from were appended: it proves nothing, so the events are read anew.
        in_hand = EventItems::none(order_id);
    }
    read_the_rest(repo, order_id, anchor, upto, &mut in_hand, &mut cost).await?;
    let mut events = in_hand.decode_from(anchor)?;
    let anchored = events.first().is_some_and(|first| {
        first.sequence == anchor && Some(&first.event_id) == snapshot.state.last_event_id.as_ref()
    });
    let version = snapshot.version;
    let folded = if anchored {
        events.remove(0);
        let from = SnapshotRef { version, timestamp: snapshot.timestamp };
        FoldedOrder::fold(snapshot.state, Some(from), events).map_err(|e| e.to_string())
    } else {
        Err(format!("event {anchor} is not the one it was folded from"))
    };
    match folded {
        Ok(folded) => {
            cost.snapshot_version = Some(version);
            cost.events_replayed = folded.events_folded() as u64;
            let (behind, bytes, items) = (cost.events_replayed, cost.bytes_read, cost.items_read);
            repo.read_ahead_memory
                .lock()
                .expect("read-ahead memory lock")
                .remember(order_id, behind, bytes, items);
            cost.fallback = None;
            let (tail, critical) = (folded.events_folded(), cost.critical_round_trips);
            debug!(%order_id, snapshot = version, tail, critical, "loaded from snapshot");
            Ok(Some((folded, cost)))
        }
        Err(error) => {
            // The snapshot does not line up with the stored events: trust the events.
            let message = "snapshot does not fit the stored events; replaying";
            warn!(%order_id, snapshot = version, %error, "{message}");
            cost.unusable_snapshots += 1;
            cost.fallback = Some(format!("snapshot {version} does not fit the stored events: {error}"));
            replay(repo, order_id, upto, in_hand, cost).await
        }
    }
}

/// The fold of every event up to `upto`, reading only what `in_hand` lacks.
pub(super) async fn replay(
    repo: &OrderRepository,
    order_id: &OrderId,
    upto: Option<u64>,
    mut in_hand: EventItems,
    mut cost: LoadCost,
) -> Result<Option<(FoldedOrder, LoadCost)>, StoreError> {
    read_the_rest(repo, order_id, 1, upto, &mut in_hand, &mut cost).await?;
    let events = in_hand.decode_from(1)?;
    if events.is_empty() {
        return Ok(None);
    }
    cost.events_replayed = events.len() as u64;
    let folded = FoldedOrder::replay(order_id, events)
        .map_err(|source| HistoryUnreadable::folding(order_id, source))?;
    Ok(Some((folded, cost)))
}

/// Completes `in_hand` with every stored event from `from` up to `upto`.
async fn read_the_rest(
    repo: &OrderRepository,
    order_id: &OrderId,
    from: u64,
    upto: Option<u64>,
    in_hand: &mut EventItems,
    cost: &mut LoadCost,
) -> Result<(), StoreError> {
    let held =
        EventsInHand { first: in_hand.first(), last: in_hand.last(), from_start: in_hand.from_start() };
    let (read, read_cost) = match to_read(from, upto, held) {
        ToRead::Nothing => return Ok(()),
        ToRead::Older { from, to } => repo.events.read_stored(order_id, from, Some(to)).await?,
        ToRead::From(from) => repo.events.read_stored(order_id, from, upto).await?,
    };
    cost.read(read_cost);
    in_hand.join(read);
    Ok(())
}
