"""Validates event items against the published contract, as a writer in another language would.

Usage: python schemas/validate.py < items.json
  items.json: a JSON array of event items in plain JSON (strings and numbers, not DynamoDB's
  typed form). Prints a JSON array with, for each item, {"valid": bool, "error": str|null}.

An item is valid when it matches event-item.schema.json, a payload schema exists for its
eventType and schemaVersion (payloads/<eventType>.v<N>.schema.json), and its payload (JSON
text) matches that schema. Needs the `jsonschema` package (in the project's .venv).
"""

import json
import pathlib
import sys

import jsonschema

HERE = pathlib.Path(__file__).resolve().parent


def load(name):
    return json.loads((HERE / name).read_text())


def check(item, item_schema, payloads):
    try:
        jsonschema.validate(item, item_schema)
    except jsonschema.ValidationError as e:
        return f"item: {e.message}"
    name = f"payloads/{item['eventType']}.v{item['schemaVersion']}.schema.json"
    if name not in payloads:
        return f"no schema for {item['eventType']} version {item['schemaVersion']}"
    try:
        payload = json.loads(item["payload"])
    except ValueError as e:
        return f"payload is not JSON: {e}"
    try:
        jsonschema.validate(payload, payloads[name])
    except jsonschema.ValidationError as e:
        return f"payload: {e.message}"
    return None


def main():
    item_schema = load("event-item.schema.json")
    payloads = {
        str(p.relative_to(HERE)): json.loads(p.read_text()) for p in (HERE / "payloads").glob("*.json")
    }
    results = []
    for item in json.load(sys.stdin):
        error = check(item, item_schema, payloads)
        results.append({"valid": error is None, "error": error})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
