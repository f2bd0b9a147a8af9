"""template.yaml as CloudFormation receives it: SAM's own translator, offline.

    python tools/deploy/translate.py [template.yaml] [Key=Value ...] > translated.json

`sam deploy` uploads the code and rewrites each CodeUri to its S3 location before the
transform runs; this does the same with a placeholder location, so what comes out is what
CloudFormation would create, resource for resource. Parameters given as Key=Value are the
stack's parameter values (the translator resolves a few of them, e.g. in conditions SAM
evaluates itself).
"""

import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

CODE_BUCKET = "rehearsal-code"
CODE_KEY = "bootstrap.zip"


class NoManagedPolicies:
    """The template names no AWS managed policy by name, so none needs looking up."""

    def load(self):
        return {}


def translate(path, parameters):
    with open(path) as f:
        template = yaml_parse(f.read())
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://{CODE_BUCKET}/{CODE_KEY}"
    # The translator needs a region for the partition and the ARNs it builds.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return transform(template, parameters, NoManagedPolicies())


def main(argv):
    path = argv[0] if argv and "=" not in argv[0] else "template.yaml"
    parameters = dict(a.split("=", 1) for a in argv if "=" in a)
    json.dump(translate(path, parameters), sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
