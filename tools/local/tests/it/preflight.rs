//! `make preflight` against moto tables that are right, and wrong in each way it names: the key
//! schema, the stream's view type, no stream, a stream ARN of another table, items that do not
//! fit the contract, a table encrypted with a KMS key, a stream that already has two readers.

use aws_sdk_dynamodb::types::{ScalarAttributeType, StreamViewType};
use local::preflight::{Report, Target, Verdict, run};
use shared::store::dynamo::{n, s};
use shared::store::tables::{EVENTS, TableDef};
use testkit::{Capability, TestTables, client_for, shared_server, skip_unless_engine_has};

/// Creates (or finds) a role Lambda may assume on moto at the endpoint `argv[1]`; prints its ARN.
const ROLE_SCRIPT: &str = r#"
import json, sys, boto3
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
try:
    print(iam.create_role(RoleName="preflight-reader", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])
except iam.exceptions.EntityAlreadyExistsException:
    print(iam.get_role(RoleName="preflight-reader")["Role"]["Arn"])
"#;

fn lambda() -> aws_sdk_lambda::Client {
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
        .region(aws_sdk_lambda::config::Region::new("us-east-1"))
        .endpoint_url(shared_server().endpoint())
        .credentials_provider(aws_sdk_lambda::config::Credentials::new("test", "test", None, None, "test"))
        .build();
    aws_sdk_lambda::Client::from_conf(config)
}

async fn preflight(table: &str, stream_arn: Option<&str>) -> Report {
    let target = Target { table: table.to_owned(), stream_arn: stream_arn.map(str::to_owned), sample: 100 };
    run(&client_for(&shared_server().endpoint()), &lambda(), &target).await
}

fn verdict(report: &Report, check: &str) -> (Verdict, String) {
    let c = report.check(check).unwrap_or_else(|| panic!("no check {check}: {report}"));
    (c.verdict, c.detail.clone())
}

/// A table like the event table but for what `def` changes.
async fn table(def: TableDef) -> String {
    let name = format!("preflight-{}", uuid::Uuid::new_v4().simple());
    def.create(&client_for(&shared_server().endpoint()), &name).await.expect("create table");
    name
}

async fn put(table: &str, order: &str, sequence: u64, event_type: &str, payload: &str, occurred_at: i64) {
    client_for(&shared_server().endpoint())
        .put_item()
        .table_name(table)
        .item("orderId", s(order))
        .item("sequence", n(sequence))
        .item("eventId", s(format!("{order}-{sequence}")))
        .item("eventType", s(event_type))
        .item("schemaVersion", n(1))
        .item("payload", s(payload))
        .item("occurredAt", n(occurred_at))
        .send()
        .await
        .expect("put");
}

#[tokio::test]
async fn the_right_table_passes_and_names_the_parameters_to_deploy_with() {
    if skip_unless_engine_has("preflight", &[Capability::Streams]) {
        return;
    }
    let t = TestTables::new().await;
    put(
        &t.events_table,
        "o-1",
        1,
        "OrderCreated",
        r#"{"customerId":"c","currency":"EUR"}"#,
        1_796_695_399_123,
    )
    .await;
    let arn = local::stream_arn(&t.client, &t.events_table).await.unwrap();
    let report = preflight(&t.events_table, Some(&arn)).await;
    assert!(!report.blocked(), "{report}");
    let printed = report.to_string();
    assert!(printed.contains(&format!("ExistingEventsStreamArn={arn}")), "{printed}");
    assert!(printed.contains(&format!("ExistingEventsTableName={}", t.events_table)), "{printed}");
    assert_eq!(verdict(&report, "items").1, "1 sampled, every one readable");
}

#[tokio::test]
async fn each_wrong_table_is_a_blocker_that_names_its_cause() {
    if skip_unless_engine_has("preflight", &[Capability::Streams]) {
        return;
    }
    let keys = table(TableDef { sort_key: ("seq", ScalarAttributeType::N), ..EVENTS }).await;
    let keys_only = table(TableDef { stream: Some(StreamViewType::KeysOnly), ..EVENTS }).await;
    let old_image = table(TableDef { stream: Some(StreamViewType::OldImage), ..EVENTS }).await;
    let no_stream = table(TableDef { stream: None, ..EVENTS }).await;
    for (name, check, says) in [
        (&keys, "keys", "found orderId (HASH"),
        (&keys_only, "stream", "view type KEYS_ONLY"),
        (&old_image, "stream", "view type OLD_IMAGE"),
        (&no_stream, "stream", "no stream enabled"),
    ] {
        let report = preflight(name, None).await;
        let (verdict, detail) = verdict(&report, check);
        assert_eq!(verdict, Verdict::Blocker, "{report}");
        assert!(detail.contains(says), "{detail}");
        assert!(report.to_string().contains("Not deployable yet"), "{report}");
    }
    let missing = preflight("no-such-table", None).await;
    assert_eq!(verdict(&missing, "table").0, Verdict::Blocker);
}

#[tokio::test]
async fn a_stream_arn_of_another_table_is_a_blocker() {
    if skip_unless_engine_has("preflight", &[Capability::Streams]) {
        return;
    }
    let (ours, theirs) = (TestTables::new().await, TestTables::new().await);
    let other = local::stream_arn(&theirs.client, &theirs.events_table).await.unwrap();
    let report = preflight(&ours.events_table, Some(&other)).await;
    let (verdict, detail) = verdict(&report, "stream ARN");
    assert_eq!(verdict, Verdict::Blocker);
    assert!(detail.contains("is not this table's current stream"), "{detail}");
}

#[tokio::test]
async fn items_that_do_not_fit_the_contract_are_named_by_order_and_code() {
    if skip_unless_engine_has("preflight", &[Capability::Streams]) {
        return;
    }
    let t = TestTables::new().await;
    let created = r#"{"customerId":"c","currency":"EUR"}"#;
    put(&t.events_table, "good-1", 1, "OrderCreated", created, 1_796_695_399_123).await;
    put(&t.events_table, "levitated-1", 1, "OrderLevitated", "{}", 1_796_695_399_123).await;
    put(&t.events_table, "seconds-1", 1, "OrderCreated", created, 1_796_695_399).await;
    let report = preflight(&t.events_table, None).await;
    let (verdict, detail) = verdict(&report, "items");
    assert_eq!(verdict, Verdict::Blocker, "{report}");
    assert!(detail.starts_with("2 of 3 sampled cannot be read"), "{detail}");
    assert!(detail.contains("levitated-1 event 1: unknown_event_type"), "{detail}");
    assert!(detail.contains("seconds-1 event 1: occurred_at_in_seconds"), "{detail}");
}

#[tokio::test]
async fn a_table_encrypted_with_a_kms_key_names_the_key_to_deploy_with() {
    if skip_unless_engine_has("preflight", &[Capability::Streams]) {
        return;
    }
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, SseSpecification, SseType,
        StreamSpecification,
    };
    let client = client_for(&shared_server().endpoint());
    let name = format!("preflight-kms-{}", uuid::Uuid::new_v4().simple());
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let attribute =
        |a: &str, t| AttributeDefinition::builder().attribute_name(a).attribute_type(t).build().unwrap();
    let element = |a: &str, k| KeySchemaElement::builder().attribute_name(a).key_type(k).build().unwrap();
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("orderId", ScalarAttributeType::S))
        .attribute_definitions(attribute("sequence", ScalarAttributeType::N))
        .key_schema(element("orderId", KeyType::Hash))
        .key_schema(element("sequence", KeyType::Range))
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .unwrap(),
        )
        .sse_specification(
            SseSpecification::builder().enabled(true).sse_type(SseType::Kms).kms_master_key_id(key).build(),
        )
        .send()
        .await
        .expect("create an encrypted table");
    let report = preflight(&name, None).await;
    assert_eq!(verdict(&report, "key").0, Verdict::Ok);
    assert!(report.to_string().contains("ExistingEventsTableKeyArn=arn:aws:kms"), "{report}");
}

#[tokio::test]
async fn a_stream_with_two_readers_already_is_a_blocker_and_one_a_warning() {
    if skip_unless_engine_has("preflight", &[Capability::Streams]) {
        return;
    }
    let t = TestTables::new().await;
    let arn = local::stream_arn(&t.client, &t.events_table).await.unwrap();
    let lambda = lambda();
    // the role Lambda checks each function's for (moto's IAM, through the venv's boto3)
    let role = std::process::Command::new(testkit::venv_python())
        .args(["-c", ROLE_SCRIPT, &shared_server().endpoint()])
        .output()
        .expect("run the venv's Python");
    assert!(role.status.success(), "{}", String::from_utf8_lossy(&role.stderr));
    // an empty zip: the functions only exist to be named by the mappings
    let mut zip = b"PK\x05\x06".to_vec();
    zip.extend([0u8; 18]);
    for reader in 1..=2 {
        let function = format!("reader-{reader}-{}", &t.events_table[7..15]);
        lambda
            .create_function()
            .function_name(&function)
            .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
            .role(String::from_utf8_lossy(&role.stdout).trim())
            .handler("bootstrap")
            .code(aws_sdk_lambda::types::FunctionCode::builder().zip_file(zip.clone().into()).build())
            .send()
            .await
            .expect("create a function");
        lambda
            .create_event_source_mapping()
            .function_name(&function)
            .event_source_arn(&arn)
            .starting_position(aws_sdk_lambda::types::EventSourcePosition::TrimHorizon)
            .send()
            .await
            .expect("create a mapping");
        let report = preflight(&t.events_table, None).await;
        let (verdict, detail) = verdict(&report, "readers");
        match reader {
            1 => assert_eq!(verdict, Verdict::Warn, "{detail}"),
            _ => {
                assert_eq!(verdict, Verdict::Blocker, "{detail}");
                assert!(detail.contains("StreamReaderEnabled=false"), "{detail}");
            }
        }
    }
}
