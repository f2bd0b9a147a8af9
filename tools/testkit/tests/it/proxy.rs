//! The proxy's injected latency, which the bench relies on to show round trips, and the
//! one-way delays the load's race tests order their reads with.

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use testkit::{Proxy, TestTables, client_for, shared_server};

#[tokio::test]
async fn an_injected_delay_holds_each_request_and_each_answer() {
    let t = TestTables::new().await;
    let proxy = Proxy::start(shared_server().port()).await;
    let client = client_for(&proxy.endpoint());
    let describe = || client.describe_table().table_name(&t.events_table).send();
    describe().await.expect("through the proxy"); // the connection is open

    proxy.delay_each_way(Duration::from_millis(40));
    let started = Instant::now();
    let answer = describe().await.expect("delayed, not lost");
    let delayed = started.elapsed();

    assert_eq!(answer.table().and_then(|t| t.table_name()), Some(t.events_table.as_str()));
    assert!(delayed >= Duration::from_millis(80), "one round trip took {delayed:?}, expected ≥ 80 ms");
    proxy.cut();
}

#[tokio::test]
async fn an_answer_delay_holds_the_answer_of_a_request_the_server_has_already_served() {
    let t = TestTables::new().await;
    let proxy = Proxy::start(shared_server().port()).await;
    let (slow, direct) = (client_for(&proxy.endpoint()), client_for(&shared_server().endpoint()));
    let item = |name: &str| -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("orderId".to_owned(), AttributeValue::S(name.to_owned())),
            ("version".to_owned(), AttributeValue::N("1".to_owned())),
        ])
    };
    let put = slow.put_item().table_name(&t.snapshots_table).set_item(Some(item("early"))).send();
    put.await.expect("the connection is open");

    proxy.delay_answers(Duration::from_millis(600));
    let started = Instant::now();
    let delete =
        tokio::spawn(slow.delete_item().table_name(&t.snapshots_table).set_key(Some(item("early"))).send());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let seen =
        direct.get_item().table_name(&t.snapshots_table).set_key(Some(item("early"))).send().await.unwrap();
    assert!(seen.item().is_none(), "the delete was served before its answer came back");
    delete.await.unwrap().expect("answered, late");
    assert!(started.elapsed() >= Duration::from_millis(600));
    proxy.cut();
}
