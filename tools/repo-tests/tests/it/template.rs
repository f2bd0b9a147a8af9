//! template.yaml as CloudFormation receives it (SAM's translator, then the stack's conditions
//! decided: `testkit::deployed`): the tables the code expects, IAM, alarms, the API's one
//! stage, and a stack that lives beside others and deletes and re-creates cleanly.

use aws_sdk_dynamodb::types::ScalarAttributeType;
use serde_json::Value;
use shared::store::tables::{EVENTS, SNAPSHOTS, TableDef};
use testkit::deployed::{deployed, of_type};

const STREAM_ARN: &str =
    "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000";
/// The order service's own table, attached instead of created.
const ATTACHED: &[(&str, &str)] =
    &[("ExistingEventsTableName", "orders"), ("ExistingEventsStreamArn", STREAM_ARN)];

fn default() -> Value {
    deployed(&[])
}

fn text(v: &Value) -> String {
    v.to_string()
}

fn key_name(properties: &Value, kind: &str) -> String {
    properties["KeySchema"]
        .as_array()
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
        .as_array()
        .expect("AttributeDefinitions is a list")
        .iter()
        .find(|d| d["AttributeName"] == name.as_str())
        .and_then(|d| d["AttributeType"].as_str())
        .unwrap_or_else(|| panic!("{name} has no attribute definition"))
        .to_owned();
    (name, ty)
}

fn check(def: &TableDef) {
    let template = default();
    let resource = &template["Resources"][def.logical_id];
    assert_eq!(resource["Type"], "AWS::DynamoDB::Table", "{}", def.logical_id);
    let properties = &resource["Properties"];
    let expected = |(name, ty): &(&str, ScalarAttributeType)| (name.to_string(), ty.as_str().to_owned());
    assert_eq!(key(properties, "HASH"), expected(&def.partition_key), "{} partition key", def.logical_id);
    assert_eq!(key(properties, "RANGE"), expected(&def.sort_key), "{} sort key", def.logical_id);
    assert_eq!(
        properties["AttributeDefinitions"].as_array().map(Vec::len),
        Some(2),
        "{}: only key attributes are declared",
        def.logical_id
    );
    let indexes = properties["GlobalSecondaryIndexes"].as_array().cloned().unwrap_or_default();
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
                .as_array()
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

// ---- a stack beside others ---------------------------------------------------------------

/// Properties that give a resource a physical name.
const NAME_PROPERTIES: [&str; 12] = [
    "TableName",
    "LogGroupName",
    "Name",
    "DashboardName",
    "AliasName",
    "AlarmName",
    "QueueName",
    "TopicName",
    "FunctionName",
    "RoleName",
    "ManagedPolicyName",
    "StageName",
];

#[test]
fn every_physical_name_derives_from_the_stack_or_is_generated() {
    for parameters in [&[][..], ATTACHED] {
        let template = deployed(parameters);
        let mut named = 0;
        for (id, resource) in template["Resources"].as_object().unwrap() {
            for property in NAME_PROPERTIES {
                let Some(name) = resource["Properties"].get(property) else { continue };
                // a stage is named within its API; a function name here is a reference
                if property == "StageName"
                    || resource["Type"] != "AWS::Lambda::Function" && property == "FunctionName"
                {
                    continue;
                }
                named += 1;
                assert!(
                    text(name).contains("${AWS::StackName}"),
                    "{id}.{property} = {name}: not from the stack name"
                );
            }
        }
        assert!(named >= 8, "the tables, log groups, API, dashboard and alias are named: {named}");
    }
    // and a parameter names a table when set
    let named = deployed(&[("SnapshotsTableName", "snapshots-x"), ("EventsTableName", "events-x")]);
    assert_eq!(named["Resources"]["OrderSnapshotsTable"]["Properties"]["TableName"], "snapshots-x");
    assert_eq!(named["Resources"]["OrderEventsTable"]["Properties"]["TableName"], "events-x");
}

#[test]
fn attached_to_the_order_services_table_the_stack_creates_no_event_table_and_grants_only_on_it() {
    let template = deployed(ATTACHED);
    let tables: Vec<_> =
        of_type(&template, "AWS::DynamoDB::Table").into_iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(tables, ["OrderSnapshotsTable"]);
    // the table is the one the stream ARN names, not a second parameter that could disagree
    let table_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orders";
    let mut on_events = 0;
    for (role, statement) in statements(&template) {
        let resource = text(&statement["Resource"]);
        assert!(!resource.contains("OrderEventsTable"), "{role}: {resource}");
        if resource.contains(table_arn) || resource.contains(STREAM_ARN) {
            on_events += 1;
        }
    }
    assert!(
        on_events >= 4,
        "the three functions read the table, the stream function its stream: {on_events}"
    );
    let mapping = &of_type(&template, "AWS::Lambda::EventSourceMapping")[0].1["Properties"];
    assert_eq!(mapping["EventSourceArn"], STREAM_ARN);
    for (id, function) in of_type(&template, "AWS::Lambda::Function") {
        let table = &function["Properties"]["Environment"]["Variables"]["EVENTS_TABLE"];
        assert_eq!(table, "orders", "{id}");
    }
    // the stream ARN alone attaches the same
    let by_stream = deployed(&[("ExistingEventsStreamArn", STREAM_ARN)]);
    assert_eq!(by_stream["Resources"], template["Resources"]);
    // and the stack refuses a table name or a key without a stream
    let rules = &testkit::deployed::translated(&[])["Rules"]["ExistingEventsTableComesWithItsStream"];
    for parameter in ["ExistingEventsStreamArn", "ExistingEventsTableName", "ExistingEventsTableKeyArn"] {
        assert!(text(rules).contains(parameter), "{parameter}");
    }
}

#[test]
fn the_attached_tables_key_is_granted_to_every_reader_of_the_table_through_dynamodb_only() {
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let decrypt = |template: &Value| -> Vec<(String, Value)> {
        statements(template).into_iter().filter(|(_, s)| s["Sid"] == "DecryptAttachedEvents").collect()
    };
    let with_key = deployed(&[ATTACHED, &[("ExistingEventsTableKeyArn", key)]].concat());
    let granted = decrypt(&with_key);
    assert_eq!(granted.len(), 3, "the stream, maintenance and admin roles: {granted:?}");
    for (role, statement) in granted {
        assert_eq!(statement["Resource"], key, "{role}");
        assert_eq!(text(&statement["Action"]), r#"["kms:Decrypt","kms:DescribeKey"]"#, "{role}");
        let via = text(&statement["Condition"]["StringEquals"]["kms:ViaService"]);
        assert!(via.contains("dynamodb.${AWS::Region}.amazonaws.com"), "{role}: {via}");
    }
    assert!(decrypt(&deployed(ATTACHED)).is_empty(), "no key, no grant");
    assert!(decrypt(&default()).is_empty(), "a created table uses the stack's own key");
}

#[test]
fn a_green_stack_deploys_its_stream_reader_disabled_and_no_alarm_fires_by_design() {
    let enabled = |template: &Value| {
        of_type(template, "AWS::Lambda::EventSourceMapping")[0].1["Properties"]["Enabled"].clone()
    };
    let silent = |template: &Value| {
        of_type(template, "AWS::CloudWatch::Alarm").iter().any(|(id, _)| *id == "StreamSilentAlarm")
    };
    assert_eq!((enabled(&default()), silent(&default())), (Value::Bool(true), true));
    let green = deployed(&[("StreamReaderEnabled", "false")]);
    assert_eq!((enabled(&green), silent(&green)), (Value::Bool(false), false));
}

#[test]
fn silence_is_an_alarm_the_event_table_written_while_the_stream_function_is_not_invoked() {
    let template = deployed(ATTACHED);
    let alarm = alarm(&template, "StreamSilentAlarm");
    let metrics = text(&alarm["Metrics"]);
    assert!(
        metrics.contains("ConsumedWriteCapacityUnits") && metrics.contains(r#""Value":"orders""#),
        "{metrics}"
    );
    assert!(metrics.contains(r#""MetricName":"Invocations""#), "{metrics}");
    assert!(metrics.contains("IF(FILL(writes, 0) > 0 AND FILL(invocations, 0) == 0, 1, 0)"), "{metrics}");
    assert_eq!(alarm["TreatMissingData"], "notBreaching");
}

#[test]
fn nothing_with_a_fixed_name_is_kept_after_delete_but_the_events_and_their_key() {
    for parameters in [&[][..], &[("ApiGatewayLoggingRole", "create-in-this-stack")]] {
        let template = deployed(parameters);
        let kept: Vec<&str> = template["Resources"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, r)| r["DeletionPolicy"] == "Retain")
            .map(|(id, _)| id.as_str())
            .collect();
        for id in &kept {
            let properties = &template["Resources"][id]["Properties"];
            // the event table's re-create path is to attach to it (docs/deploying.md, "Delete and re-create")
            if *id != "OrderEventsTable" {
                for property in NAME_PROPERTIES {
                    assert!(
                        properties.get(property).is_none(),
                        "{id} is kept and named: a re-create would collide"
                    );
                }
            }
        }
        let mut expected = vec!["DataKey", "OrderEventsTable"];
        if !parameters.is_empty() {
            expected.splice(0..0, ["ApiGatewayAccount", "ApiGatewayCloudWatchRole"]);
        }
        assert_eq!(kept, expected);
    }
    let template = default();
    let events = &template["Resources"]["OrderEventsTable"];
    assert_eq!(events["Properties"]["DeletionProtectionEnabled"], true);
    assert_eq!(events["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true);
    // the snapshot table is derived data: a rebuild recreates it from the events
    let snapshots = &template["Resources"]["OrderSnapshotsTable"];
    assert_eq!(snapshots["DeletionPolicy"], "Delete");
    assert_eq!(snapshots["Properties"]["DeletionProtectionEnabled"], false);
    assert_eq!(
        snapshots["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        false
    );
    for (id, group) in of_type(&template, "AWS::Logs::LogGroup") {
        assert!(group["DeletionPolicy"].is_null(), "{id} goes with the stack");
    }
}

#[test]
fn by_default_the_stack_changes_nothing_outside_itself() {
    let template = default();
    assert!(
        of_type(&template, "AWS::ApiGateway::Account").is_empty(),
        "the region's API Gateway logging role"
    );
    let with_role = deployed(&[("ApiGatewayLoggingRole", "create-in-this-stack")]);
    let account = &of_type(&with_role, "AWS::ApiGateway::Account")[0].1;
    assert!(text(&account["Properties"]["CloudWatchRoleArn"]).contains("ApiGatewayCloudWatchRole"));
}

// ---- the admin API -----------------------------------------------------------------------

fn api_policy(template: &Value) -> Value {
    template["Resources"]["AdminApi"]["Properties"]["Body"]["x-amazon-apigateway-policy"].clone()
}

#[test]
fn the_api_has_one_stage_access_logged_traced_and_throttled() {
    let template = default();
    let stages = of_type(&template, "AWS::ApiGateway::Stage");
    assert_eq!(stages.len(), 1, "{:?}", stages.iter().map(|(id, _)| id).collect::<Vec<_>>());
    for (id, deployment) in of_type(&template, "AWS::ApiGateway::Deployment") {
        assert!(deployment["Properties"]["StageName"].is_null(), "{id} would make a second stage");
    }
    let stage = &stages[0].1["Properties"];
    assert_eq!(stage["StageName"], "Prod");
    assert_eq!(stage["TracingEnabled"], true);
    let format: Value = serde_json::from_str(stage["AccessLogSetting"]["Format"].as_str().unwrap())
        .expect("JSON access lines");
    assert_eq!(format["caller"], "$context.identity.userArn");
    assert!(text(&stage["AccessLogSetting"]["DestinationArn"]).contains("AdminApiAccessLogGroup"));
    let throttle = &stage["MethodSettings"][0];
    assert!(throttle["ThrottlingRateLimit"].as_f64().is_some_and(|r| r > 0.0), "{throttle}");
    assert!(throttle["ThrottlingBurstLimit"].as_f64().is_some_and(|r| r > 0.0), "{throttle}");
}

#[test]
fn the_resource_policy_refuses_every_principal_not_named() {
    let roles = "arn:aws:iam::123456789012:role/ops,arn:aws:iam::123456789012:role/oncall";
    let named = deployed(&[("AdminPrincipalArns", roles)]);
    let policy = api_policy(&named);
    let deny = &policy["Statement"][0];
    assert_eq!((deny["Effect"].as_str(), deny["Principal"].as_str()), (Some("Deny"), Some("*")));
    assert_eq!(deny["Action"], "execute-api:Invoke");
    assert_eq!(deny["Resource"], "execute-api:/*");
    let admitted = &deny["Condition"]["StringNotLike"]["aws:PrincipalArn"];
    assert_eq!(admitted["Fn::Split"][0], ",");
    assert_eq!(admitted["Fn::Split"][1], roles, "the named roles, and no one else");
    assert_eq!(policy["Statement"].as_array().unwrap().len(), 1, "allowing stays with IAM (read-only split)");
    let default = api_policy(&default());
    let admitted = text(&default["Statement"][0]["Condition"]["StringNotLike"]["aws:PrincipalArn"]);
    assert!(
        admitted.contains(":iam::${AWS::AccountId}:*"),
        "by default, this account's principals: {admitted}"
    );
}

#[test]
fn every_admin_route_is_behind_aws_iam_and_the_stage_is_ignored() {
    let template = default();
    let paths = template["Resources"]["AdminApi"]["Properties"]["Body"]["paths"].as_object().unwrap();
    let mut routes = 0;
    for (path, methods) in paths {
        for (method, operation) in methods.as_object().unwrap() {
            routes += 1;
            assert_eq!(operation["security"], serde_json::json!([{"AWS_IAM": []}]), "{method} {path}");
        }
    }
    assert_eq!(routes, 9, "one per route (the admin tests hold them equal to the router's)");
    let function = &template["Resources"]["SnapshotAdminFunction"];
    assert_eq!(function["Metadata"]["BuildProperties"]["Binary"], "snapshot-admin");
    assert_eq!(
        function["Properties"]["Environment"]["Variables"]["AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH"],
        "true"
    );
}

#[test]
fn api_gateways_own_errors_are_json_in_the_apis_shape() {
    let template = default();
    let responses =
        &template["Resources"]["AdminApi"]["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"];
    for kind in ["DEFAULT_4XX", "DEFAULT_5XX"] {
        let body = responses[kind]["responseTemplates"]["application/json"].as_str().unwrap_or_default();
        let filled = body
            .replace("$context.error.responseType", "THROTTLED")
            .replace("$context.error.messageString", "\"Too Many Requests\"");
        let json: Value =
            serde_json::from_str(&filled).unwrap_or_else(|e| panic!("{kind}: {e}: {responses}"));
        assert_eq!(json["error"]["code"], "THROTTLED", "{kind}");
        assert_eq!(json["error"]["message"], "Too Many Requests", "{kind}");
    }
}

#[test]
fn admin_access_is_split_into_read_only_and_operator_policies() {
    let template = default();
    let document = |id: &str| text(&template["Resources"][id]["Properties"]["PolicyDocument"]);
    let read_only = document("AdminReadOnlyPolicy");
    assert!(
        read_only.contains("/Prod/GET/admin/*")
            && read_only.contains("/Prod/POST/admin/order-snapshots/verify/*"),
        "{read_only}"
    );
    assert!(
        !read_only.contains("DELETE") && !read_only.contains("/Prod/*/"),
        "read-only may not delete: {read_only}"
    );
    assert!(document("AdminOperatorPolicy").contains("/Prod/*/admin/*"));
    for output in ["AdminReadOnlyPolicyArn", "AdminOperatorPolicyArn"] {
        assert!(text(&template["Outputs"][output]["Value"]).contains("\"Ref\":\"Admin"), "{output}");
    }
}

// ---- IAM -------------------------------------------------------------------------------------

/// Every IAM statement of the template's roles (SAM's generated ones included), by role.
fn statements(template: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (name, role) in of_type(template, "AWS::IAM::Role") {
        for policy in role["Properties"]["Policies"].as_array().into_iter().flatten() {
            for statement in policy["PolicyDocument"]["Statement"].as_array().into_iter().flatten() {
                out.push((name.clone(), statement.clone()));
            }
        }
    }
    out
}

/// Invariant 7 (docs/invariants.md): no function may write, change or delete an event.
#[test]
fn no_function_may_write_events() {
    for parameters in [&[][..], ATTACHED] {
        let template = deployed(parameters);
        let mut checked = 0;
        for (name, statement) in statements(&template) {
            let resource = text(&statement["Resource"]);
            let on_events =
                // attached: the table and the stream the stream ARN names
                ["OrderEventsTable", "ExistingEvents", ":table/orders"].iter().any(|t| resource.contains(t));
            if !on_events {
                continue;
            }
            for action in statement["Action"].as_array().into_iter().flatten() {
                let action = action.as_str().unwrap();
                checked += 1;
                let read_only = [
                    "dynamodb:Query",
                    "dynamodb:GetItem",
                    "dynamodb:Scan",
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams",
                ]
                .contains(&action);
                assert!(read_only, "{name} may {action} on the events table");
            }
        }
        assert!(checked >= 9, "the policies were found and read ({checked} actions)");
    }
}

#[test]
fn no_statement_grants_wildcard_actions_or_resources() {
    for (name, statement) in statements(&default()) {
        let actions = text(&statement["Action"]);
        assert!(!actions.contains('*'), "{name}: wildcard action {actions}");
        // X-Ray's trace uploads have no resource-level permissions: the one allowed "*"
        let xray_only = statement["Action"]
            .as_array()
            .is_some_and(|a| a.iter().all(|a| a.as_str().is_some_and(|a| a.starts_with("xray:Put"))));
        if !xray_only {
            assert_ne!(statement["Resource"], "*", "{name}: wildcard resource");
        }
    }
}

#[test]
fn tables_are_encrypted_with_the_customer_managed_key() {
    let template = default();
    for table in ["OrderEventsTable", "OrderSnapshotsTable"] {
        let p = &template["Resources"][table]["Properties"];
        assert_eq!(p["SSESpecification"]["SSEType"], "KMS", "{table}");
        assert_eq!(p["SSESpecification"]["KMSMasterKeyId"]["Ref"], "DataKey", "{table}");
    }
    assert_eq!(template["Resources"]["DataKey"]["Properties"]["EnableKeyRotation"], true);
}

// ---- the functions -------------------------------------------------------------------------

#[test]
fn the_stream_function_is_wired_for_partial_failures_and_bounded_retries() {
    let template = default();
    assert_eq!(
        template["Resources"]["SnapshotStreamFunction"]["Metadata"]["BuildProperties"]["Binary"],
        "snapshot-stream"
    );
    let mapping = &of_type(&template, "AWS::Lambda::EventSourceMapping")[0].1["Properties"];
    // every record reaches the function: a repair in place (MODIFY, REMOVE) must too
    assert!(mapping["FilterCriteria"].is_null(), "{}", mapping["FilterCriteria"]);
    assert_eq!(mapping["FunctionResponseTypes"][0], "ReportBatchItemFailures");
    assert_eq!(mapping["BisectBatchOnFunctionError"], true);
    assert!(mapping["MaximumRetryAttempts"].as_i64().is_some_and(|r| (0..=10).contains(&r)));
    assert!(mapping["MaximumRecordAgeInSeconds"].as_i64().is_some_and(|a| (60..=86_400).contains(&a)));
    assert!(text(&mapping["EventSourceArn"]).contains("OrderEventsTable"));
    assert!(text(&mapping["DestinationConfig"]["OnFailure"]["Destination"]).contains("StreamFailureQueue"));
}

#[test]
fn the_maintenance_function_runs_daily_and_every_five_minutes_and_is_not_retried_by_lambda() {
    let template = default();
    let rules: Vec<_> =
        of_type(&template, "AWS::Events::Rule").into_iter().map(|(_, r)| &r["Properties"]).collect();
    let daily = rules.iter().find(|r| r["ScheduleExpression"] == "cron(0 0 * * ? *)").expect("daily");
    assert!(text(&daily["Targets"]).contains("SnapshotMaintenanceFunction"));
    let turn = rules.iter().find(|r| r["ScheduleExpression"] == "rate(5 minutes)").expect("every 5 minutes");
    let input: Value = serde_json::from_str(turn["Targets"][0]["Input"].as_str().unwrap()).unwrap();
    assert_eq!(
        input,
        serde_json::json!({"job": "rebuild"}),
        "the input the function parses as a rebuild turn"
    );
    let invoke = &of_type(&template, "AWS::Lambda::EventInvokeConfig")[0].1["Properties"];
    assert_eq!(invoke["FunctionName"]["Ref"], "SnapshotMaintenanceFunction");
    assert_eq!(
        invoke["MaximumRetryAttempts"], 0,
        "the next scheduled run resumes; a retry would fail the same way"
    );
}

#[test]
fn every_configuration_variable_is_set_for_every_function() {
    let template = default();
    for (id, function) in of_type(&template, "AWS::Lambda::Function") {
        let env = &function["Properties"]["Environment"]["Variables"];
        for variable in
            shared::runtime::config::VARIABLES.iter().chain(&[shared::runtime::telemetry::LOG_DETAIL])
        {
            assert!(!env[variable].is_null(), "{id}: {variable} is not set");
        }
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

// ---- logs ------------------------------------------------------------------------------------

#[test]
fn the_stream_logs_a_sample_in_detail_and_the_quiet_functions_keep_start_and_report() {
    let template = default();
    for (id, function) in of_type(&template, "AWS::Lambda::Function") {
        let logging = &function["Properties"]["LoggingConfig"];
        assert_eq!(
            (logging["LogFormat"].as_str(), logging["ApplicationLogLevel"].as_str()),
            (Some("JSON"), Some("INFO")),
            "{id}"
        );
        assert!(text(&logging["LogGroup"]).contains(&format!("{id}LogGroup")), "{id} logs to its own group");
        let detail =
            &function["Properties"]["Environment"]["Variables"][shared::runtime::telemetry::LOG_DETAIL];
        if id == "SnapshotStreamFunction" {
            assert_eq!(logging["SystemLogLevel"], "WARN", "no START/REPORT per batch at the stream's volume");
            assert_eq!(detail, &template["Parameters"]["StreamLogDetail"]["Default"]);
        } else {
            assert_eq!(logging["SystemLogLevel"], "INFO", "{id}: START/REPORT (init duration, memory used)");
            assert_eq!(detail, "1", "{id}: every invocation in detail");
        }
    }
    let parameter = &template["Parameters"]["StreamLogDetail"];
    let pattern = regex_lite::Regex::new(parameter["AllowedPattern"].as_str().unwrap()).unwrap();
    let default_share = parameter["Default"].as_str().unwrap();
    for allowed in [default_share, "0", "1", "0.5", ".25", "0.0001"] {
        assert!(pattern.is_match(allowed), "{allowed}");
        assert!(
            shared::runtime::telemetry::DetailSampler::parse(Some(allowed)).is_ok(),
            "the function takes {allowed}"
        );
    }
    for refused in ["2", "-0.1", "1.5", "x", ""] {
        assert!(!pattern.is_match(refused), "{refused}");
    }
}

// ---- alarms ----------------------------------------------------------------------------------

fn alarm<'a>(template: &'a Value, id: &str) -> &'a Value {
    let alarm = &template["Resources"][id];
    assert_eq!(alarm["Type"], "AWS::CloudWatch::Alarm", "{id}");
    &alarm["Properties"]
}

#[test]
fn the_operational_alarms_exist_and_notify() {
    let template = default();
    for (id, metric) in [
        ("StreamIteratorAgeAlarm", "IteratorAge"),
        ("SnapshotStreamFunctionErrorsAlarm", "Errors"),
        ("SnapshotMaintenanceFunctionErrorsAlarm", "Errors"),
        ("SnapshotAdminFunctionErrorsAlarm", "Errors"),
        ("StreamFailuresSentAlarm", "NumberOfMessagesSent"),
        ("StreamFailureDeliveryAlarm", "DestinationDeliveryFailures"),
        ("StreamFailureQueueAgeAlarm", "ApproximateAgeOfOldestMessage"),
        ("PoisonRecordsAlarm", "RecordsPoison"),
        ("UnreadableHistoryAlarm", "RecordsUnreadable"),
        ("SnapshotDriftAlarm", "SnapshotDrift"),
        ("CanaryCheckedNothingAlarm", "CanaryChecked"),
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
        ("SnapshotKeysIndexReadThrottlingAlarm", "ReadThrottleEvents"),
        ("SnapshotKeysIndexWriteThrottlingAlarm", "WriteThrottleEvents"),
        ("AdminApi5XXAlarm", "5XXError"),
    ] {
        assert_eq!(alarm(&template, id)["MetricName"], metric, "{id}");
    }
    let canary = alarm(&template, "CanaryCheckedNothingAlarm");
    assert_eq!(
        (canary["ComparisonOperator"].as_str(), canary["TreatMissingData"].as_str()),
        (Some("LessThanThreshold"), Some("breaching")),
        "no check at all is an alarm too"
    );
    for (id, a) in of_type(&template, "AWS::CloudWatch::Alarm") {
        assert_eq!(a["Properties"]["AlarmActions"][0]["Ref"], "AlarmTopic", "{id} notifies");
        if a["Properties"]["Namespace"] == "OrderSnapshots" {
            let dimensions = text(&a["Properties"]["Dimensions"]);
            assert!(
                dimensions.contains("\"Stack\"") && dimensions.contains("AWS::StackName"),
                "{id}: {dimensions}"
            );
        }
    }
}

#[test]
fn the_index_throttle_alarms_watch_the_index_the_code_reads() {
    let template = default();
    let index = SNAPSHOTS.keys_index.as_ref().expect("the snapshot-keys index").name;
    for id in ["SnapshotKeysIndexReadThrottlingAlarm", "SnapshotKeysIndexWriteThrottlingAlarm"] {
        let dimensions = &alarm(&template, id)["Dimensions"];
        let by_name = |n: &str| {
            dimensions.as_array().unwrap().iter().find(|d| d["Name"] == n).map(|d| d["Value"].clone())
        };
        assert_eq!(by_name("GlobalSecondaryIndexName"), Some(Value::from(index)), "{id}");
        assert_eq!(
            by_name("TableName").map(|v| v["Ref"].clone()),
            Some(Value::from("OrderSnapshotsTable")),
            "{id}"
        );
    }
}

#[test]
fn the_api_5xx_alarm_names_the_api_and_stage_it_watches() {
    let template = default();
    let dimensions = &alarm(&template, "AdminApi5XXAlarm")["Dimensions"];
    let api_name = &template["Resources"]["AdminApi"]["Properties"]["Name"];
    assert_eq!(dimensions[0], serde_json::json!({"Name": "ApiName", "Value": api_name}));
    let stage = &of_type(&template, "AWS::ApiGateway::Stage")[0].1["Properties"]["StageName"];
    assert_eq!(dimensions[1], serde_json::json!({"Name": "Stage", "Value": stage}));
}

#[test]
fn an_alarm_email_is_subscribed_only_when_given() {
    assert!(of_type(&default(), "AWS::SNS::Subscription").is_empty());
    let with = deployed(&[("AlarmEmail", "ops@example.com")]);
    let subscription = &of_type(&with, "AWS::SNS::Subscription")[0].1["Properties"];
    assert_eq!(subscription["Protocol"], "email");
    assert_eq!(subscription["Endpoint"], "ops@example.com");
    assert_eq!(subscription["TopicArn"]["Ref"], "AlarmTopic");
}

#[test]
fn the_alarm_topic_uses_a_key_cloudwatch_may_use() {
    let template = default();
    assert_eq!(template["Resources"]["AlarmTopic"]["Properties"]["KmsMasterKeyId"]["Ref"], "AlarmTopicKey");
    let statements = template["Resources"]["AlarmTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
        .as_array()
        .unwrap()
        .clone();
    let cloudwatch = statements
        .iter()
        .find(|s| s["Principal"]["Service"] == "cloudwatch.amazonaws.com")
        .expect("a statement for CloudWatch");
    let actions = text(&cloudwatch["Action"]);
    assert!(actions.contains("kms:Decrypt") && actions.contains("kms:GenerateDataKey*"), "{actions}");
    assert_eq!(cloudwatch["Effect"], "Allow");
}

#[test]
fn the_dashboard_shows_lag_writes_failures_fallbacks_cleanup_and_drift() {
    let template = default();
    let body =
        template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"].as_str().expect("a Sub");
    let json: Value = serde_json::from_str(body).expect("the dashboard body is JSON");
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
fn functions_are_traced_and_the_stream_role_may_send_traces() {
    let template = default();
    for (id, function) in of_type(&template, "AWS::Lambda::Function") {
        assert_eq!(function["Properties"]["TracingConfig"]["Mode"], "Active", "{id}");
    }
    let role = text(&template["Resources"]["SnapshotStreamRole"]);
    assert!(role.contains("xray:PutTraceSegments"), "{role}");
}

#[test]
fn sam_local_can_point_the_functions_at_a_local_server() {
    let template = default();
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/local/sam-env.json"))
            .unwrap(),
    )
    .unwrap();
    let overrides = file["Parameters"].as_object().expect("overrides for every function");
    assert!(overrides["LOCAL_ENDPOINT_URL"].as_str().is_some_and(|u| u.starts_with("http://")));
    for (id, function) in of_type(&template, "AWS::Lambda::Function") {
        let env = &function["Properties"]["Environment"]["Variables"];
        assert_eq!(
            env[shared::runtime::client::LOCAL_ENDPOINT_URL],
            "",
            "{id}: declared, and empty when deployed"
        );
        for name in overrides.keys() {
            // sam local's --env-vars only overrides variables the template declares
            assert!(!env[name.as_str()].is_null(), "{id}: {name} is declared in the template");
        }
    }
    let admin = &template["Resources"]["SnapshotAdminFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(admin["LOCAL_LAMBDA_ENDPOINT_URL"], "", "declared, and empty when deployed");
    let lambda = file["SnapshotAdminFunction"]["LOCAL_LAMBDA_ENDPOINT_URL"].as_str();
    assert!(lambda.is_some_and(|u| u.starts_with("http://")), "sam local start-lambda's address");
}
