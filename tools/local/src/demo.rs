//! The demo workload `make run` writes through the event store, the way the order service
//! would: orders of every kind the strategy rules distinguish.

use shared::domain::samples::sample_address;
use shared::domain::{Money, OrderCommand};

/// One demo order: its id and what makes it interesting.
pub struct DemoOrder {
    pub id: String,
    pub kind: &'static str,
}

fn add(sku: &str, name: &str, quantity: u32, cents: i64) -> OrderCommand {
    OrderCommand::AddItem {
        sku: sku.into(),
        name: name.into(),
        quantity,
        unit_price: Money::from_minor(cents),
    }
}

fn checkout(amount: Money) -> Vec<OrderCommand> {
    vec![
        OrderCommand::SetShippingAddress { address: sample_address() },
        OrderCommand::AuthorizePayment { payment_id: "pay-1".into(), amount, method: "card".into() },
        OrderCommand::Confirm,
        OrderCommand::CapturePayment { payment_id: "pay-1".into(), amount },
        OrderCommand::Ship { carrier: "DHL".into(), tracking_number: "JD014600006281".into() },
    ]
}

/// The demo orders (ids prefixed with `run_id` so reruns never collide) and the commands that
/// make each one.
pub fn orders(run_id: &str) -> Vec<(DemoOrder, Vec<OrderCommand>)> {
    let create = || OrderCommand::Create { customer_id: "cust-42".into(), currency: "EUR".into() };
    let mut orders = Vec::new();

    // A small order: 7 events, below every threshold.
    let id = format!("{run_id}-small");
    let mut commands = vec![create(), add("MUG-1", "Espresso cup", 2, 1250)];
    commands.extend(checkout(Money::from_minor(2500)));
    orders.push((id, "small: 7 events, no snapshot expected", commands));

    // A large basket: 14 line items (rule 1: more than 10 items -> HYBRID).
    let id = format!("{run_id}-large-basket");
    let mut commands = vec![create()];
    commands.extend((1..=14).map(|i| add(&format!("SKU-{i:02}"), "Kitchen item", 1, 1990)));
    commands.extend(checkout(Money::from_minor(14 * 1990)));
    orders.push((id, "14 line items: rule LARGE_ORDER -> HYBRID", commands));

    // A high-value order (rule 2: total above 1000 -> EVENT_COUNT), with changes of mind.
    let id = format!("{run_id}-high-value");
    let mut commands =
        vec![create(), add("TV-65", "65\" television", 1, 129_900), add("BAR-1", "Soundbar", 1, 39_900)];
    for q in [2, 1, 2, 1, 2, 1] {
        commands.push(OrderCommand::ChangeQuantity { sku: "BAR-1".into(), quantity: q });
    }
    commands.extend(checkout(Money::from_minor(129_900 + 39_900)));
    orders.push((id, "total 1698.00: rule HIGH_VALUE -> EVENT_COUNT", commands));

    // A long-lived order: shipped, then hundreds of tracking updates.
    let id = format!("{run_id}-long-lived");
    let mut commands = vec![create(), add("BIKE-1", "Cargo bike", 1, 89_000)];
    commands.extend(checkout(Money::from_minor(89_000)));
    commands.extend((0..300).map(|i| OrderCommand::UpdateShipping {
        status: "in transit".into(),
        location: Some(format!("Hub {}", i % 17)),
    }));
    orders.push((id, "long-lived: 307 events (tracking updates)", commands));

    orders.into_iter().map(|(id, kind, commands)| (DemoOrder { id, kind }, commands)).collect()
}
