//! The soak's load: orders scripted like the order service's (a basket, checkout, then
//! tracking updates), written by a few writers the way the order service writes (decide on
//! the cached state, conditional append, reload on conflict).

use crate::{Args, Tally, add};
use shared::domain::samples::order_id as oid;
use shared::domain::samples::sample_address;
use shared::domain::{Money, Order, OrderCommand, OrderEvent, OrderStatus, RecordedEvent};
use shared::store::StoreError;
use shared::store::events::EventStore;
use shared::store::repository::OrderRepository;
use shared::use_cases::clock::{Clock, SystemClock};
use std::sync::Arc;
use std::time::Duration;

/// A tiny deterministic generator: the same run every time for the same arguments.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below.max(1)
    }
}

/// An order's life: created, a basket (some above 10 items, some above 1000.00), checkout,
/// then tracking updates until it has `events` events.
fn script(index: usize, events: usize) -> Vec<OrderCommand> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let mut commands =
        vec![OrderCommand::Create { customer_id: format!("cust-{}", index % 37), currency: "EUR".into() }];
    let items = 1 + rng.next(14) as usize;
    let mut total = 0i64;
    for i in 0..items {
        let cents = if rng.next(10) == 0 { 80_000 } else { 500 + rng.next(5_000) as i64 };
        total += cents;
        commands.push(OrderCommand::AddItem {
            sku: format!("SKU-{i:02}"),
            name: "Soak item".into(),
            quantity: 1,
            unit_price: Money::from_minor(cents),
        });
    }
    let amount = Money::from_minor(total);
    commands.extend([
        OrderCommand::SetShippingAddress { address: sample_address() },
        OrderCommand::AuthorizePayment { payment_id: "pay-1".into(), amount, method: "card".into() },
        OrderCommand::Confirm,
        OrderCommand::CapturePayment { payment_id: "pay-1".into(), amount },
        OrderCommand::Ship { carrier: "DHL".into(), tracking_number: format!("T-{index}") },
    ]);
    while commands.len() < events {
        let location = Some(format!("Hub {}", rng.next(40)));
        commands.push(OrderCommand::UpdateShipping { status: "in transit".into(), location });
    }
    commands
}

pub fn order_id(i: usize) -> String {
    format!("soak-{i:04}")
}

/// One append in this many writes several commands' events in one transaction. Kept rare:
/// moto copies the whole table for every item of a transaction, so its time and memory grow
/// with the table (at one in 150, a 30,000-event run had moto at 12 GiB by 13,000 events).
const TRANSACTION_EVERY: u64 = 1000;

/// moto rolls a cancelled transaction back by restoring a copy of the table taken when the
/// transaction began, so an append by another writer in between is lost (seen here: gaps in
/// histories). DynamoDB does not do this; to keep the audit about this project and not about
/// the emulator, a transaction runs with no other append in flight. Races are still lost: the
/// competing append is made just before the transaction, inside its turn.
#[derive(Default)]
pub struct TransactionGate(tokio::sync::RwLock<()>);

impl TransactionGate {
    async fn enter(&self, transaction: bool) -> TransactionTurn<'_> {
        if transaction {
            TransactionTurn::Alone(self.0.write().await)
        } else {
            TransactionTurn::Shared(self.0.read().await)
        }
    }
}

#[allow(dead_code)] // held for its drop
enum TransactionTurn<'a> {
    Alone(tokio::sync::RwLockWriteGuard<'a, ()>),
    Shared(tokio::sync::RwLockReadGuard<'a, ()>),
}

/// One writer: its orders, round robin, one command at a time; the order service's loop.
pub async fn writer(
    w: usize,
    args: Arc<Args>,
    repository: OrderRepository,
    events: EventStore,
    tally: Arc<Tally>,
    transactions: Arc<TransactionGate>,
) -> Result<(), String> {
    let per_order = args.events / args.orders;
    let mine: Vec<usize> = (0..args.orders).filter(|i| i % args.writers == w).collect();
    let mut states: Vec<Order> = mine.iter().map(|i| Order::empty(order_id(*i))).collect();
    let scripts: Vec<Vec<OrderCommand>> = mine.iter().map(|i| script(*i, per_order)).collect();
    let mut next = vec![0usize; mine.len()];
    let mut rng = Rng(w as u64 + 7);
    loop {
        let mut progressed = false;
        for k in 0..mine.len() {
            if next[k] >= scripts[k].len() {
                continue;
            }
            progressed = true;
            // Now and then several commands go in one append (a transaction), as the order
            // service does; some of those lose a race to another instance and are retried.
            let group = if rng.next(TRANSACTION_EVERY) == 0 { 3 } else { 1 };
            let commands = &scripts[k][next[k]..(next[k] + group).min(scripts[k].len())];
            let mut race = commands.len() > 1 && rng.next(3) == 0;
            loop {
                let decided = decide_all(&states[k], commands)?;
                let _gate = transactions.enter(decided.len() > 1).await;
                if race && states[k].status == OrderStatus::Shipped {
                    // another instance takes the next sequence first: the transaction is cancelled
                    race = false;
                    let update = OrderCommand::UpdateShipping { status: "re-routed".into(), location: None };
                    let theirs = states[k].decide(update).map_err(|e| e.to_string())?;
                    if let Ok(recorded) = events
                        .append(&oid(&states[k].id), states[k].version, &theirs, SystemClock.now_ms())
                        .await
                    {
                        add(&tally.appended, recorded.len() as u64);
                    }
                }
                add(&tally.append_calls, 1);
                if decided.len() > 1 {
                    add(&tally.transactions, 1);
                }
                match events
                    .append(&oid(&states[k].id), states[k].version, &decided, SystemClock.now_ms())
                    .await
                {
                    Ok(recorded) => {
                        add(&tally.appended, recorded.len() as u64);
                        states[k].apply_all(&recorded).map_err(|e| e.to_string())?;
                        break;
                    }
                    Err(StoreError::AppendConflict { .. }) => {
                        add(&tally.conflicts, 1);
                        if decided.len() > 1 {
                            add(&tally.transactions_lost, 1);
                        }
                        let loaded = repository.load(&oid(&states[k].id)).await.map_err(|e| e.to_string())?;
                        states[k] = loaded.ok_or("an order vanished")?.order;
                    }
                    Err(e) => {
                        add(&tally.write_retries, 1);
                        tracing::warn!(error = %e, "append failed; retrying");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
            next[k] += commands.len() - 1;
            next[k] += 1;
            // Now and then another service instance updates someone else's order: the owner
            // then meets a conflict and reloads.
            if rng.next(150) == 0 {
                let other = order_id(rng.next(args.orders as u64) as usize);
                let _gate = transactions.enter(false).await;
                if let Ok(Some(loaded)) = repository.load(&oid(&other)).await
                    && loaded.order.status == OrderStatus::Shipped
                {
                    let update = OrderCommand::UpdateShipping { status: "re-routed".into(), location: None };
                    if let Ok(decided) = loaded.order.decide(update) {
                        add(&tally.append_calls, 1);
                        match events
                            .append(&oid(&other), loaded.order.version, &decided, SystemClock.now_ms())
                            .await
                        {
                            Ok(recorded) => add(&tally.appended, recorded.len() as u64),
                            Err(StoreError::AppendConflict { .. }) => add(&tally.conflicts, 1),
                            Err(_) => add(&tally.write_retries, 1),
                        }
                    }
                }
            }
        }
        if !progressed {
            return Ok(());
        }
    }
}

/// The events of `commands` decided one after the other, each on the state the ones before
/// leave (what one append of several commands writes).
fn decide_all(state: &Order, commands: &[OrderCommand]) -> Result<Vec<OrderEvent>, String> {
    let mut scratch = state.clone();
    let mut decided = Vec::new();
    for command in commands {
        for event in scratch.decide(command.clone()).map_err(|e| format!("{}: {e}", state.id))? {
            let pending = RecordedEvent {
                order_id: scratch.id.clone(),
                sequence: scratch.version + 1,
                event_id: "pending".into(),
                occurred_at: SystemClock.now_ms(),
                event: event.clone(),
            };
            scratch.apply(&pending).map_err(|e| e.to_string())?;
            decided.push(event);
        }
    }
    Ok(decided)
}
