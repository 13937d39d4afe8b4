#!/usr/bin/env python3
"""Lint infra/template.yaml with cfn-lint, before and after the SAM transform.

cfn-lint 1.x does not expand the SAM transform the way CloudFormation does, so on the raw
template it misses bad runtimes, architectures, `!Ref`s to missing resources and the like.
This script therefore:

  1. runs cfn-lint on infra/template.yaml as written;
  2. expands the template offline with aws-sam-translator (region set, local CodeUri swapped
     for a dummy s3:// URI, the IAM managed-policy lookup stubbed), writes the expanded
     CloudFormation JSON to a temporary file and runs cfn-lint on that.

Exits non-zero, printing the findings, when either run reports an error or a warning
(informational findings are printed but do not fail). Run it with the project's test venv:

    .venv/bin/python scripts/lint-template.py [path/to/template.yaml]
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REGION = "us-east-1"
DUMMY_CODE_URI = "s3://bucket/key"

# cfn-lint's exit status is a bit mask: 1 = tool error, 2 = error, 4 = warning, 8 = informational.
FAILING_EXIT_BITS = 1 | 2 | 4

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = ROOT / "infra" / "template.yaml"

# samtranslator builds ARNs from the boto3 session's region: set one before importing it.
os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
os.environ.setdefault("AWS_REGION", REGION)

from samtranslator.model.exceptions import InvalidDocumentException  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402

# Without a feature-toggle config the translator warns about every toggle it looks up: noise.
logging.getLogger("samtranslator.feature_toggle").setLevel(logging.ERROR)


class OfflineManagedPolicyLoader:
    """Stands in for samtranslator's ManagedPolicyLoader, which lists policies through IAM.

    The template names no AWS managed policies by name (policies are inline statements), so an
    empty map is enough; SAM's own basic-execution role ARN does not go through the loader.
    """

    def load(self) -> dict[str, str]:
        return {}


def cfn_lint_command() -> list[str]:
    """The cfn-lint executable of this interpreter's environment (the venv), else the PATH's."""
    beside = Path(sys.executable).parent / "cfn-lint"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("cfn-lint")
    if found:
        return [found]
    sys.exit("lint-template: cfn-lint not found; install scripts/requirements-test.txt "
             "(scripts/test.sh does) and run this with that environment's python")


def run_cfn_lint(path: Path, label: str, *, by_resource_path: bool = False) -> bool:
    """Runs cfn-lint on one file; prints its findings; returns True when nothing fails.

    With `by_resource_path` the findings are located by their path in the template
    (Resources/X/Properties/...) instead of by line, for files that are generated and thrown away.
    """
    format_args = ["--format", "json"] if by_resource_path else []
    result = subprocess.run(
        [*cfn_lint_command(), "--regions", REGION, *format_args, "--", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout.strip()
    if by_resource_path and output:
        try:
            findings = json.loads(output)
        except json.JSONDecodeError:
            pass
        else:
            output = "\n".join(
                "{rule} [{level}] {where}: {message}".format(
                    rule=finding["Rule"]["Id"],
                    level=finding["Level"],
                    where="/".join(str(part) for part in finding["Location"]["Path"]) or "(template)",
                    message=finding["Message"],
                )
                for finding in findings
            )
    output = "\n".join(part for part in (output, result.stderr.strip()) if part)
    failed = bool(result.returncode & FAILING_EXIT_BITS)
    status = "FAILED" if failed else "ok"
    print(f"lint-template: cfn-lint {label}: {status}")
    if output:
        print(output)
    return not failed


def local_code_uris_to_dummy(template: dict) -> None:
    """Replaces local CodeUri paths (which the translator would have to upload) with a dummy S3 URI."""

    def swap(props: dict) -> None:
        code_uri = props.get("CodeUri")
        if isinstance(code_uri, str) and not code_uri.startswith("s3://"):
            props["CodeUri"] = DUMMY_CODE_URI

    globals_function = (template.get("Globals") or {}).get("Function")
    if isinstance(globals_function, dict):
        swap(globals_function)
    for resource in (template.get("Resources") or {}).values():
        if not isinstance(resource, dict):
            continue
        props = resource.get("Properties")
        if not isinstance(props, dict):
            continue
        if resource.get("Type") == "AWS::Serverless::Function":
            swap(props)
        elif resource.get("Type") == "AWS::Serverless::LayerVersion":
            content = props.get("ContentUri")
            if isinstance(content, str) and not content.startswith("s3://"):
                props["ContentUri"] = DUMMY_CODE_URI


def expand(template_path: Path) -> dict | None:
    """The template after the SAM transform, or None (errors printed) when it does not translate."""
    template = yaml_parse(template_path.read_text(encoding="utf-8"))
    local_code_uris_to_dummy(template)
    try:
        return transform(template, {}, OfflineManagedPolicyLoader())
    except InvalidDocumentException as error:
        print("lint-template: the SAM transform rejected the template:")
        for cause in error.causes:
            print(f"  - {cause.message}")
        return None


def main(argv: list[str]) -> int:
    template_path = Path(argv[1]).resolve() if len(argv) > 1 else DEFAULT_TEMPLATE
    if not template_path.is_file():
        print(f"lint-template: no template at {template_path}")
        return 2

    raw_ok = run_cfn_lint(template_path, f"{template_path.name} (as written)")

    expanded = expand(template_path)
    if expanded is None:
        return 1
    with tempfile.TemporaryDirectory(prefix="switchboard-lint-") as scratch:
        expanded_path = Path(scratch) / f"{template_path.stem}.expanded.json"
        expanded_path.write_text(json.dumps(expanded, indent=2), encoding="utf-8")
        expanded_ok = run_cfn_lint(
            expanded_path, f"{template_path.name} (SAM-expanded)", by_resource_path=True
        )

    if raw_ok and expanded_ok:
        print("lint-template: clean")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
