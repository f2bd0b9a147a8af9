//! The repository's write path and its command flow against the local server.

use shared::domain::samples::order_id as oid;
use shared::domain::samples::sample_address;
use shared::domain::{DomainError, Money, OrderCommand, OrderStatus};
use shared::store::StoreError;
use shared::store::repository::CommandError;
use testkit::TestTables;

const NOW: i64 = 1_800_000_000_000;

#[tokio::test]
async fn commands_append_events_and_loads_see_them() {
    let t = TestTables::new().await;
    let repo = t.repository();
    let commands = vec![
        OrderCommand::Create { customer_id: "c-9".into(), currency: "EUR".into() },
        OrderCommand::AddItem {
            sku: "A".into(),
            name: "Kettle".into(),
            quantity: 2,
            unit_price: Money::from_minor(4999),
        },
        OrderCommand::SetShippingAddress { address: sample_address() },
        OrderCommand::AuthorizePayment {
            payment_id: "p1".into(),
            amount: Money::from_minor(9998),
            method: "card".into(),
        },
        OrderCommand::Confirm,
        OrderCommand::CapturePayment { payment_id: "p1".into(), amount: Money::from_minor(9998) },
        OrderCommand::Ship { carrier: "UPS".into(), tracking_number: "1Z".into() },
    ];
    let mut last = None;
    for (i, command) in commands.into_iter().enumerate() {
        last = Some(repo.execute(&oid("o-7"), command, NOW + i as i64).await.unwrap());
    }
    let order = last.unwrap();
    assert_eq!(order.status, OrderStatus::Shipped);
    assert_eq!(order.version, 7);
    assert_eq!(order.total, Money::from_minor(9998));
    let loaded = repo.load(&oid("o-7")).await.unwrap().unwrap();
    assert_eq!(loaded.order, order);
    assert_eq!(loaded.cost.events_replayed, 7);
}

#[tokio::test]
async fn a_rejected_command_appends_nothing() {
    let t = TestTables::new().await;
    let repo = t.repository();
    repo.execute(&oid("o-1"), OrderCommand::Create { customer_id: "c".into(), currency: "EUR".into() }, NOW)
        .await
        .unwrap();
    let err = repo.execute(&oid("o-1"), OrderCommand::Deliver, NOW).await.unwrap_err();
    assert!(matches!(err, CommandError::Rejected(DomainError::InvalidStatus(OrderStatus::Pending))), "{err}");
    let err = repo.execute(&oid("ghost"), OrderCommand::Confirm, NOW).await.unwrap_err();
    assert!(matches!(err, CommandError::NotFound(_)), "{err}");
    assert_eq!(repo.last_sequence(&oid("o-1")).await.unwrap(), Some(1));
}

#[tokio::test]
async fn a_save_from_a_stale_load_conflicts() {
    let t = TestTables::new().await;
    let repo = t.repository();
    repo.execute(&oid("o-1"), OrderCommand::Create { customer_id: "c".into(), currency: "EUR".into() }, NOW)
        .await
        .unwrap();
    let stale = repo.load(&oid("o-1")).await.unwrap().unwrap().order;
    let add = |sku: &str| OrderCommand::AddItem {
        sku: sku.into(),
        name: "x".into(),
        quantity: 1,
        unit_price: Money::from_minor(1),
    };
    repo.execute(&oid("o-1"), add("fresh"), NOW).await.unwrap();
    let events = stale.decide(add("stale")).unwrap();
    let err = repo.save(&oid("o-1"), stale.version, &events, NOW).await.unwrap_err();
    assert!(matches!(err, StoreError::AppendConflict { .. }), "{err}");
    assert!(err.to_string().contains("is no longer at version 1"), "the store's words are kept: {err}");
}
