"""Says whether requests are valid by the admin API's OpenAPI file, as a client generated from it
would: the verdict of the file alone, with no knowledge of the server.

Usage: python spec_verdicts.py openapi.yaml < requests.json
  requests.json: a JSON array of {"method", "route", "path": {name: text}, "query": {name: text},
  "body": JSON value or null}. "route" is the path as the file writes it ("/admin/orders/{orderId}").
  Prints a JSON array with, for each request, {"valid": bool, "error": str|null}.

Parameters arrive as text: one whose schema is an integer is read as a JSON integer (no sign
'+', no leading zeros, no fraction or exponent), a boolean as `true` or `false`; anything else
is the text itself. A body is checked against the operation's request body schema; a body sent
to an operation without one is invalid. Needs `jsonschema` and PyYAML (in the project's .venv).
"""

import json
import re
import sys

import jsonschema
import yaml

JSON_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")


def inline(node, spec):
    """The schema with every local $ref replaced by what it names."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return inline(target, spec)
        return {k: inline(v, spec) for k, v in node.items()}
    if isinstance(node, list):
        return [inline(v, spec) for v in node]
    return node


def read_parameter(text, schema):
    if schema.get("type") == "integer" and JSON_INTEGER.fullmatch(text):
        return int(text)
    if schema.get("type") == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


def check(request, spec):
    operation = spec["paths"].get(request["route"], {}).get(request["method"].lower())
    if operation is None:
        return "no such operation"
    parameters = {
        (p["in"], p["name"]): p for p in (inline(p, spec) for p in operation.get("parameters", []))
    }
    for where, values in (("path", request["path"]), ("query", request["query"])):
        for name, text in values.items():
            parameter = parameters.get((where, name))
            if parameter is None:
                return f"{where} parameter {name} is not in the file"
            try:
                jsonschema.validate(read_parameter(text, parameter["schema"]), parameter["schema"])
            except jsonschema.ValidationError as e:
                return f"{where} parameter {name}: {e.message}"
    for (where, name), parameter in parameters.items():
        values = request[where] if where in ("path", "query") else {}
        if parameter.get("required") and name not in values:
            return f"{where} parameter {name} is required"
    body, declared = request["body"], operation.get("requestBody")
    if body is None:
        return "a body is required" if declared and declared.get("required") else None
    if declared is None:
        return "the operation takes no body"
    schema = inline(declared["content"]["application/json"]["schema"], spec)
    try:
        jsonschema.validate(body, schema)
    except jsonschema.ValidationError as e:
        return f"body: {e.message}"
    return None


def main():
    with open(sys.argv[1]) as f:
        spec = yaml.safe_load(f)
    requests = json.load(sys.stdin)
    verdicts = []
    for request in requests:
        error = check(request, spec)
        verdicts.append({"valid": error is None, "error": error})
    json.dump(verdicts, sys.stdout)


if __name__ == "__main__":
    main()
