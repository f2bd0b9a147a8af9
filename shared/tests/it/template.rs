//! The tables in template.yaml are the ones the code creates and expects.

use aws_sdk_dynamodb::types::ScalarAttributeType;
use serde_yaml::Value;
use shared::store::tables::{EVENTS, SNAPSHOTS, TableDef};

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).expect("read template.yaml"))
        .expect("parse template.yaml")
}

fn key_name(properties: &Value, kind: &str) -> String {
    properties["KeySchema"]
        .as_sequence()
        .expect("KeySchema is a list")
        .iter()
        .find(|k| k["KeyType"] == kind)
        .and_then(|k| k["AttributeName"].as_str())
        .unwrap_or_else(|| panic!("no {kind} key"))
        .to_owned()
}

fn key(properties: &Value, kind: &str) -> (String, String) {
    let name = key_name(properties, kind);
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
    let indexes = properties["GlobalSecondaryIndexes"].as_sequence().cloned().unwrap_or_default();
    match &def.keys_index {
        None => assert!(indexes.is_empty(), "{} has no index", def.logical_id),
        Some(index) => {
            assert_eq!(indexes.len(), 1, "{}", def.logical_id);
            let gsi = &indexes[0];
            assert_eq!(gsi["IndexName"], index.name);
            assert_eq!(key_name(gsi, "HASH"), def.partition_key.0);
            assert_eq!(key_name(gsi, "RANGE"), def.sort_key.0);
            assert_eq!(gsi["Projection"]["ProjectionType"], "INCLUDE");
            let projected: Vec<_> = gsi["Projection"]["NonKeyAttributes"]
                .as_sequence()
                .unwrap()
                .iter()
                .filter_map(|a| a.as_str())
                .collect();
            assert_eq!(projected, index.attributes);
        }
    }
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
    let defaults = shared::store::tables::TableNames::default();
    assert_eq!(template["Parameters"]["EventsTableName"]["Default"], defaults.events.as_str());
    assert_eq!(template["Parameters"]["SnapshotsTableName"]["Default"], defaults.snapshots.as_str());
}

#[test]
fn the_stream_function_is_wired_for_partial_failures_and_bounded_retries() {
    let template = template();
    let function = &template["Resources"]["SnapshotStreamFunction"];
    assert_eq!(function["Metadata"]["BuildProperties"]["Binary"], "snapshot-stream");
    let source = &function["Properties"]["Events"]["EventStoreStream"]["Properties"];
    assert_eq!(source["FilterCriteria"]["Filters"][0]["Pattern"], r#"{"eventName": ["INSERT"]}"#);
    assert_eq!(source["FunctionResponseTypes"][0], "ReportBatchItemFailures");
    assert_eq!(source["BisectBatchOnFunctionError"], true);
    let retries = source["MaximumRetryAttempts"].as_i64().expect("bounded retries");
    assert!((0..=10).contains(&retries), "{retries}");
    let age = source["MaximumRecordAgeInSeconds"].as_i64().expect("bounded record age");
    assert!((60..=86_400).contains(&age), "{age}");
    let destination =
        serde_yaml::to_string(&source["DestinationConfig"]["OnFailure"]["Destination"]).unwrap();
    assert!(destination.contains("StreamFailureQueue"), "an on-failure destination: {destination}");
}

/// Every IAM statement of the template: SAM function policies and roles' inline policies.
fn statements(template: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (name, resource) in template["Resources"].as_mapping().expect("resources") {
        let name = name.as_str().unwrap().to_owned();
        let policies = match resource["Type"].as_str() {
            Some("AWS::Serverless::Function") => resource["Properties"]["Policies"].as_sequence().cloned(),
            Some("AWS::IAM::Role") => resource["Properties"]["Policies"]
                .as_sequence()
                .map(|ps| ps.iter().map(|p| p["PolicyDocument"].clone()).collect()),
            _ => None,
        };
        for policy in policies.unwrap_or_default() {
            for statement in policy["Statement"].as_sequence().into_iter().flatten() {
                out.push((name.clone(), statement.clone()));
            }
        }
    }
    out
}

/// Invariant 7 (docs/invariants.md): no function may write, change or delete an event.
#[test]
fn no_function_may_write_events() {
    let template = template();
    let mut checked = 0;
    for (name, statement) in statements(&template) {
        let on_events = serde_yaml::to_string(&statement["Resource"]).unwrap().contains("OrderEventsTable");
        if !on_events {
            continue;
        }
        for action in statement["Action"].as_sequence().into_iter().flatten() {
            let action = action.as_str().unwrap();
            checked += 1;
            let read_only = ["dynamodb:Query", "dynamodb:GetItem", "dynamodb:Scan"].contains(&action)
                || [
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams",
                ]
                .contains(&action);
            assert!(read_only, "{name} may {action} on the events table");
        }
    }
    assert!(checked >= 6, "the policies were found and read ({checked} actions)");
}

#[test]
fn no_statement_grants_wildcard_actions_or_resources() {
    let template = template();
    for (name, statement) in statements(&template) {
        let actions = serde_yaml::to_string(&statement["Action"]).unwrap();
        assert!(!actions.contains('*'), "{name}: wildcard action {actions}");
        // X-Ray's trace uploads have no resource-level permissions: the one allowed "*"
        let xray_only = statement["Action"]
            .as_sequence()
            .is_some_and(|a| a.iter().all(|a| a.as_str().is_some_and(|a| a.starts_with("xray:Put"))));
        if !xray_only {
            assert_ne!(statement["Resource"], "*", "{name}: wildcard resource");
        }
    }
}

#[test]
fn tables_are_encrypted_with_the_customer_managed_key_and_protected() {
    let template = template();
    for table in ["OrderEventsTable", "OrderSnapshotsTable"] {
        let p = &template["Resources"][table]["Properties"];
        assert_eq!(p["SSESpecification"]["SSEType"], "KMS", "{table}");
        assert_eq!(
            serde_yaml::to_string(&p["SSESpecification"]["KMSMasterKeyId"]).unwrap().trim(),
            "!Ref DataKey"
        );
        assert_eq!(p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true, "{table}");
        assert_eq!(p["DeletionProtectionEnabled"], true, "{table}");
        assert_eq!(template["Resources"][table]["DeletionPolicy"], "Retain", "{table}");
    }
    assert_eq!(template["Resources"]["DataKey"]["Properties"]["EnableKeyRotation"], true);
}

#[test]
fn the_operational_alarms_exist() {
    let template = template();
    let resources = template["Resources"].as_mapping().unwrap();
    let metric_of =
        |id: &str| template["Resources"][id]["Properties"]["MetricName"].as_str().map(str::to_owned);
    let canary = &template["Resources"]["CanaryCheckedNothingAlarm"]["Properties"];
    assert_eq!(
        (canary["ComparisonOperator"].as_str(), canary["TreatMissingData"].as_str()),
        (Some("LessThanThreshold"), Some("breaching")),
        "no check at all is an alarm too"
    );
    for (id, metric) in [
        ("StreamIteratorAgeAlarm", "IteratorAge"),
        ("SnapshotStreamFunctionErrorsAlarm", "Errors"),
        ("SnapshotMaintenanceFunctionErrorsAlarm", "Errors"),
        ("SnapshotAdminFunctionErrorsAlarm", "Errors"),
        ("StreamFailureQueueDepthAlarm", "ApproximateNumberOfMessagesVisible"),
        ("PoisonRecordsAlarm", "RecordsPoison"),
        ("UnreadableHistoryAlarm", "RecordsUnreadable"),
        ("SnapshotDriftAlarm", "SnapshotDrift"),
        ("CanaryCheckedNothingAlarm", "CanaryChecked"),
    ] {
        assert!(resources.contains_key(id), "{id}");
        assert_eq!(metric_of(id).as_deref(), Some(metric), "{id}");
    }
    for function in ["SnapshotStreamFunction", "SnapshotMaintenanceFunction", "SnapshotAdminFunction"] {
        let group = &template["Resources"][format!("{function}LogGroup").as_str()]["Properties"];
        let retention = serde_yaml::to_string(&group["RetentionInDays"]).unwrap();
        assert_eq!(retention.trim(), "!Ref LogRetentionDays", "{function} log retention");
    }
}

#[test]
fn the_maintenance_function_runs_daily_and_every_five_minutes_and_only_reads_events() {
    let template = template();
    let function = &template["Resources"]["SnapshotMaintenanceFunction"];
    assert_eq!(function["Metadata"]["BuildProperties"]["Binary"], "snapshot-maintenance");
    let schedule = &function["Properties"]["Events"]["Daily"];
    assert_eq!(schedule["Type"], "Schedule");
    assert_eq!(schedule["Properties"]["Schedule"], "cron(0 0 * * ? *)");
    let turn = &function["Properties"]["Events"]["RebuildTurn"]["Properties"];
    assert_eq!(turn["Schedule"], "rate(5 minutes)");
    let input: serde_json::Value = serde_json::from_str(turn["Input"].as_str().unwrap()).unwrap();
    assert_eq!(
        input,
        serde_json::json!({"job": "rebuild"}),
        "the input the function parses as a rebuild turn"
    );
    for (_, statement) in
        statements(&template).into_iter().filter(|(name, _)| name == "SnapshotMaintenanceFunction")
    {
        if serde_yaml::to_string(&statement["Resource"]).unwrap().contains("OrderEventsTable") {
            let actions = serde_yaml::to_string(&statement["Action"]).unwrap();
            assert!(actions.contains("Query") && actions.contains("Scan"), "{actions}");
            assert!(
                !actions.contains("Put") && !actions.contains("Delete") && !actions.contains("Update"),
                "{actions}"
            );
        }
    }
    let policies = serde_yaml::to_string(&function["Properties"]["Policies"]).unwrap();
    assert!(!policies.contains("dynamodb:*"), "no wildcard actions");
    let env = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(serde_yaml::to_string(&env["DRIFT_CANARY_ORDERS"]).unwrap().trim(), "!Ref DriftCanaryOrders");
}

#[test]
fn every_configuration_variable_is_set_for_every_function() {
    let template = template();
    let env = template["Globals"]["Function"]["Environment"]["Variables"].as_mapping().unwrap();
    for variable in shared::runtime::config::VARIABLES {
        assert!(env.contains_key(variable), "{variable} is not in Globals.Function.Environment");
    }
    let margin = &template["Parameters"]["LoadTailMargin"];
    let pattern = regex_lite::Regex::new(margin["AllowedPattern"].as_str().unwrap()).unwrap();
    for allowed in ["0", "10", "999", "1000", "off"] {
        assert!(pattern.is_match(allowed), "{allowed}");
        let config = shared::runtime::config::Config::from_lookup(|name| {
            (name == shared::runtime::config::LOAD_TAIL_MARGIN).then(|| allowed.to_owned())
        });
        assert!(config.is_ok(), "the template allows {allowed}, the function must too");
    }
    assert!(!pattern.is_match("1001") && !pattern.is_match("-1") && !pattern.is_match("ten"));
}

#[test]
fn every_admin_route_is_behind_aws_iam_and_the_stage_is_ignored() {
    let template = template();
    let api = &template["Resources"]["AdminApi"]["Properties"];
    assert_eq!(api["Auth"]["DefaultAuthorizer"], "AWS_IAM");
    let function = &template["Resources"]["SnapshotAdminFunction"];
    assert_eq!(function["Metadata"]["BuildProperties"]["Binary"], "snapshot-admin");
    let env = &function["Properties"]["Environment"]["Variables"];
    assert_eq!(env["AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH"], "true");
    let events = function["Properties"]["Events"].as_mapping().unwrap();
    assert_eq!(events.len(), 9, "one event per route (the admin tests hold them equal to the router's)");
    for (name, event) in events {
        assert_eq!(event["Type"], "Api", "{name:?}");
        assert_eq!(serde_yaml::to_string(&event["Properties"]["RestApiId"]).unwrap().trim(), "!Ref AdminApi");
        assert!(event["Properties"]["Auth"].is_null(), "{name:?} must not override the IAM default");
    }
}

#[test]
fn api_gateways_own_errors_are_json_in_the_apis_shape() {
    let template = template();
    let responses = &template["Resources"]["AdminApi"]["Properties"]["GatewayResponses"];
    for kind in ["DEFAULT_4XX", "DEFAULT_5XX"] {
        let body = responses[kind]["ResponseTemplates"]["application/json"].as_str().unwrap_or_default();
        // the mapping template, with the context variables filled in, is the API's error JSON
        let filled = body
            .replace("$context.error.responseType", "THROTTLED")
            .replace("$context.error.messageString", "\"Too Many Requests\"");
        let json: serde_json::Value = serde_json::from_str(&filled).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(json["error"]["code"], "THROTTLED", "{kind}");
        assert_eq!(json["error"]["message"], "Too Many Requests", "{kind}");
    }
}

#[test]
fn the_alarm_topic_uses_a_key_cloudwatch_may_use() {
    let template = template();
    let topic = &template["Resources"]["AlarmTopic"]["Properties"];
    assert_eq!(serde_yaml::to_string(&topic["KmsMasterKeyId"]).unwrap().trim(), "!Ref AlarmTopicKey");
    let statements = template["Resources"]["AlarmTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
        .as_sequence()
        .unwrap()
        .clone();
    let cloudwatch = statements
        .iter()
        .find(|s| s["Principal"]["Service"] == "cloudwatch.amazonaws.com")
        .expect("a statement for CloudWatch");
    let actions = serde_yaml::to_string(&cloudwatch["Action"]).unwrap();
    assert!(actions.contains("kms:Decrypt") && actions.contains("kms:GenerateDataKey*"), "{actions}");
    assert_eq!(cloudwatch["Effect"], "Allow");
}

#[test]
fn own_metrics_are_dimensioned_by_stack_and_every_gap_has_an_alarm() {
    let template = template();
    let resources = template["Resources"].as_mapping().unwrap();
    let mut own = 0;
    for (name, resource) in resources {
        if resource["Type"] != "AWS::CloudWatch::Alarm" {
            continue;
        }
        let properties = &resource["Properties"];
        assert!(properties["AlarmActions"].as_sequence().is_some_and(|a| !a.is_empty()), "{name:?} notifies");
        if properties["Namespace"] == "OrderSnapshots" {
            own += 1;
            let dimensions = serde_yaml::to_string(&properties["Dimensions"]).unwrap();
            assert!(
                dimensions.contains("Stack") && dimensions.contains("!Ref AWS::StackName"),
                "{name:?}: {dimensions}"
            );
        }
    }
    assert!(own >= 6, "{own} alarms on the functions' own metrics");
    for (id, metric) in [
        ("OrdersFailedAlarm", "OrdersFailed"),
        ("CleanupUnfinishedAlarm", "CleanupUnfinished"),
        ("SnapshotStreamFunctionThrottlesAlarm", "Throttles"),
        ("SnapshotMaintenanceFunctionThrottlesAlarm", "Throttles"),
        ("SnapshotAdminFunctionThrottlesAlarm", "Throttles"),
        ("SnapshotStreamFunctionDurationAlarm", "Duration"),
        ("SnapshotMaintenanceFunctionDurationAlarm", "Duration"),
        ("SnapshotAdminFunctionDurationAlarm", "Duration"),
        ("EventsTableThrottlingAlarm", "ReadThrottleEvents"),
        ("SnapshotsTableReadThrottlingAlarm", "ReadThrottleEvents"),
        ("SnapshotsTableWriteThrottlingAlarm", "WriteThrottleEvents"),
    ] {
        assert_eq!(template["Resources"][id]["Properties"]["MetricName"], metric, "{id}");
    }
    let env = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(serde_yaml::to_string(&env["STACK_NAME"]).unwrap().trim(), "!Ref AWS::StackName");
}

#[test]
fn the_dashboard_shows_lag_writes_failures_fallbacks_cleanup_and_drift() {
    let template = template();
    let body =
        serde_yaml::to_string(&template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]).unwrap();
    let body = body.trim().trim_start_matches("!Sub").trim().trim_matches('\'');
    let json: serde_json::Value = serde_json::from_str(body).expect("the dashboard body is JSON");
    let text = json.to_string();
    for metric in [
        "IteratorAge",
        "SnapshotsWritten",
        "RecordsPoison",
        "OrdersFailed",
        "LoadFallbacks",
        "SnapshotsDeleted",
        "SnapshotDrift",
    ] {
        assert!(text.contains(metric), "{metric} is on the dashboard");
    }
    assert!(text.contains("${AWS::StackName}"), "per stack");
}

#[test]
fn admin_access_is_split_into_read_only_and_operator_policies() {
    let template = template();
    let resource =
        |id: &str| serde_yaml::to_string(&template["Resources"][id]["Properties"]["PolicyDocument"]).unwrap();
    let read_only = resource("AdminReadOnlyPolicy");
    assert!(
        read_only.contains("/Prod/GET/admin/*")
            && read_only.contains("/Prod/POST/admin/order-snapshots/verify/*"),
        "{read_only}"
    );
    assert!(
        !read_only.contains("DELETE") && !read_only.contains("/Prod/*/"),
        "read-only may not delete: {read_only}"
    );
    let operator = resource("AdminOperatorPolicy");
    assert!(operator.contains("/Prod/*/admin/*"), "{operator}");
    for output in ["AdminReadOnlyPolicyArn", "AdminOperatorPolicyArn"] {
        let value = serde_yaml::to_string(&template["Outputs"][output]["Value"]).unwrap();
        assert!(value.contains("!Ref Admin"), "{output} is given to operators: {value}");
    }
    // no dead security path: the function has no group check and the template no group
    assert!(template["Parameters"]["AdminGroup"].is_null());
    let env = &template["Resources"]["SnapshotAdminFunction"]["Properties"]["Environment"]["Variables"];
    assert!(env["ADMIN_GROUP"].is_null());
}

#[test]
fn functions_and_the_api_are_traced_and_the_api_logs_who_called_what_in_json() {
    let template = template();
    assert_eq!(template["Globals"]["Function"]["Tracing"], "Active");
    let api = &template["Resources"]["AdminApi"]["Properties"];
    assert_eq!(api["TracingEnabled"], true);
    let format = api["AccessLogSetting"]["Format"].as_str().unwrap();
    let line: serde_json::Value = serde_json::from_str(format).expect("the access log format is JSON");
    assert_eq!(line["caller"], "$context.identity.userArn");
    assert!(
        serde_yaml::to_string(&api["AccessLogSetting"]["DestinationArn"])
            .unwrap()
            .contains("AdminApiAccessLogGroup")
    );
    assert_eq!(template["Resources"]["ApiGatewayAccount"]["Type"], "AWS::ApiGateway::Account");
    // the stream function's own role may send its traces
    let role = serde_yaml::to_string(&template["Resources"]["SnapshotStreamRole"]).unwrap();
    assert!(role.contains("xray:PutTraceSegments"), "{role}");
}

#[test]
fn sam_local_can_point_the_functions_at_a_local_server() {
    let template = template();
    let env = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(env[shared::runtime::client::LOCAL_ENDPOINT_URL], "", "declared, and empty when deployed");
    let file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../local/sam-env.json")).unwrap(),
    )
    .unwrap();
    let overrides = file["Parameters"].as_object().expect("overrides for every function");
    assert!(overrides["LOCAL_ENDPOINT_URL"].as_str().is_some_and(|u| u.starts_with("http://")));
    for name in overrides.keys() {
        // sam local's --env-vars only overrides variables the template declares
        assert!(!env[name.as_str()].is_null(), "{name} is declared in the template");
    }
    // and the admin function's local Invoke API: declared on it, empty when deployed
    let admin = &template["Resources"]["SnapshotAdminFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(admin["LOCAL_LAMBDA_ENDPOINT_URL"], "", "declared, and empty when deployed");
    let lambda = file["SnapshotAdminFunction"]["LOCAL_LAMBDA_ENDPOINT_URL"].as_str();
    assert!(lambda.is_some_and(|u| u.starts_with("http://")), "sam local start-lambda's address");
}
