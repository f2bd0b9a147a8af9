//! The proxy's injected latency, which the bench relies on to show round trips.

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
