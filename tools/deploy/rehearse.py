"""A deploy rehearsal in moto's CloudFormation: the template as SAM translates it, created
under two stack names side by side, then one deleted and re-created.

    python deploy/rehearse.py http://127.0.0.1:<moto port>

Prints one JSON object: each step's stack status and what it left behind. moto cannot create
a REST API from an OpenAPI body, so the rehearsal gives AdminApi a stand-in: the same
resource with its name and no body, and one method where its routes would be (the routes,
the resource policy and the stage's settings are checked on the translated template by the
Rust tests). Everything else is created as written.
"""

import json
import os
import sys
import time

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from translate import CODE_BUCKET, CODE_KEY, translate  # noqa: E402

REGION = "us-east-1"
TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "template.yaml")


def client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="rehearsal",
        aws_secret_access_key="rehearsal",
    )


def with_stand_in_api(template):
    """AdminApi without its OpenAPI body, and one method standing in for its routes (a
    deployment needs one)."""
    resources = template["Resources"]
    resources["AdminApi"]["Properties"].pop("Body", None)
    resources["AdminApiStandInMethod"] = {
        "Type": "AWS::ApiGateway::Method",
        "Properties": {
            "RestApiId": {"Ref": "AdminApi"},
            "ResourceId": {"Fn::GetAtt": ["AdminApi", "RootResourceId"]},
            "HttpMethod": "GET",
            "AuthorizationType": "AWS_IAM",
            "Integration": {"Type": "MOCK", "IntegrationHttpMethod": "GET", "Uri": ""},
        },
    }
    for resource in resources.values():
        if resource["Type"] == "AWS::ApiGateway::Deployment":
            resource["DependsOn"] = ["AdminApiStandInMethod"]
    return template


def deploy(cfn, name, parameters):
    template = with_stand_in_api(translate(TEMPLATE, parameters))
    try:
        return create(cfn, name, parameters, template)
    except (BotoCoreError, ClientError, ResponseParserError) as e:
        # moto creates resources inside CreateStack: a resource it refuses fails the call
        return name, f"CREATE_REFUSED: {e}"


def create(cfn, name, parameters, template):
    stack_id = cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )["StackId"]
    return stack_id, wait(cfn, stack_id)


def wait(cfn, stack_id):
    """The stack's status once it is no longer in progress (by id: a deleted stack has no
    name any more)."""
    for _ in range(600):
        stacks = cfn.describe_stacks(StackName=stack_id)["Stacks"]
        status = stacks[0]["StackStatus"]
        if not status.endswith("_IN_PROGRESS"):
            return status
        time.sleep(0.1)
    return "TIMED_OUT"


def failures(cfn, name):
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    return [
        f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
        for e in events
        if e["ResourceStatus"].endswith("FAILED")
    ]


def main(endpoint):
    cfn = client("cloudformation", endpoint)
    ddb = client("dynamodb", endpoint)
    logs = client("logs", endpoint)
    s3 = client("s3", endpoint)
    s3.create_bucket(Bucket=CODE_BUCKET)
    s3.put_object(Bucket=CODE_BUCKET, Key=CODE_KEY, Body=b"PK\x05\x06" + b"\x00" * 18)
    report = {"steps": []}

    ids = {}

    def step(what, name, stack_id, status):
        ids[name] = stack_id
        entry = {"step": what, "stack": name, "status": status}
        if status.endswith("_FAILED") or status.startswith("ROLLBACK"):
            entry["failures"] = failures(cfn, stack_id)
        report["steps"].append(entry)

    for name in ["orders-blue", "orders-green"]:
        step("create", name, *deploy(cfn, name, {}))
    if any(s["status"] != "CREATE_COMPLETE" for s in report["steps"]):
        print(json.dumps(report, indent=1))
        return
    report["tables_after_create"] = sorted(ddb.list_tables()["TableNames"])
    report["log_groups_after_create"] = sorted(
        g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]
    )

    events_table = "orders-blue-order-events"
    stream_arn = ddb.describe_table(TableName=events_table)["Table"].get("LatestStreamArn", "")
    cfn.delete_stack(StackName="orders-blue")
    step("delete", "orders-blue", ids["orders-blue"], wait(cfn, ids["orders-blue"]))
    report["tables_after_delete"] = sorted(ddb.list_tables()["TableNames"])
    report["log_groups_after_delete"] = sorted(
        g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]
    )

    # the re-create path: attach to the event table the deleted stack kept
    attach = {"ExistingEventsTableName": events_table, "ExistingEventsStreamArn": stream_arn}
    step("re-create", "orders-blue", *deploy(cfn, "orders-blue", attach))
    report["tables_after_recreate"] = sorted(ddb.list_tables()["TableNames"])
    resources = cfn.list_stack_resources(StackName=ids["orders-blue"])["StackResourceSummaries"]
    report["recreated_resources"] = sorted(r["LogicalResourceId"] for r in resources)
    stream_function = next(
        r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"] == "SnapshotStreamFunction"
    )
    mappings = client("lambda", endpoint).list_event_source_mappings(FunctionName=stream_function)
    report["recreated_stream_sources"] = [m["EventSourceArn"] for m in mappings["EventSourceMappings"]]
    report["kept_stream"] = stream_arn
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
