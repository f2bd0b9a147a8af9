//! The tables in template.yaml are the ones the code creates and expects.

use aws_sdk_dynamodb::types::ScalarAttributeType;
use serde_yaml::Value;
use shared::tables::{EVENTS, SNAPSHOTS, TableDef};

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).expect("read template.yaml"))
        .expect("parse template.yaml")
}

fn key(properties: &Value, kind: &str) -> (String, String) {
    let name = properties["KeySchema"]
        .as_sequence()
        .expect("KeySchema is a list")
        .iter()
        .find(|k| k["KeyType"] == kind)
        .and_then(|k| k["AttributeName"].as_str())
        .unwrap_or_else(|| panic!("no {kind} key"))
        .to_owned();
    let ty = properties["AttributeDefinitions"]
        .as_sequence()
        .expect("AttributeDefinitions is a list")
        .iter()
        .find(|d| d["AttributeName"] == name.as_str())
        .and_then(|d| d["AttributeType"].as_str())
        .unwrap_or_else(|| panic!("{name} has no attribute definition"))
        .to_owned();
    (name, ty)
}

fn check(def: &TableDef) {
    let template = template();
    let resource = &template["Resources"][def.logical_id];
    assert_eq!(resource["Type"], "AWS::DynamoDB::Table", "{}", def.logical_id);
    let properties = &resource["Properties"];
    let expected = |(name, ty): &(&str, ScalarAttributeType)| (name.to_string(), ty.as_str().to_owned());
    assert_eq!(key(properties, "HASH"), expected(&def.partition_key), "{} partition key", def.logical_id);
    assert_eq!(key(properties, "RANGE"), expected(&def.sort_key), "{} sort key", def.logical_id);
    assert_eq!(
        properties["AttributeDefinitions"].as_sequence().map(Vec::len),
        Some(2),
        "{}: only key attributes are declared",
        def.logical_id
    );
    let stream = properties["StreamSpecification"]["StreamViewType"].as_str();
    assert_eq!(stream, def.stream.as_ref().map(|s| s.as_str()), "{} stream", def.logical_id);
}

#[test]
fn events_table_matches_the_template() {
    check(&EVENTS);
}

#[test]
fn snapshots_table_matches_the_template() {
    check(&SNAPSHOTS);
}

#[test]
fn default_table_names_match_the_template_parameters() {
    let template = template();
    let defaults = shared::config::TableNames::default();
    assert_eq!(template["Parameters"]["EventsTableName"]["Default"], defaults.events.as_str());
    assert_eq!(template["Parameters"]["SnapshotsTableName"]["Default"], defaults.snapshots.as_str());
}
