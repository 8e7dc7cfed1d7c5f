"""`make policy-check`: Rego is code — formatted, strictly checked, fully tested.

Runs `opa fmt --list`, `opa check --strict` and `opa test --coverage` on policies/ and
fails unless every file is formatted, no line is longer than 120 characters (`opa fmt`
leaves long lines alone; Regal's limit), the check is clean, every test passes and
coverage is 100%. Prints per-file coverage so a drop is easy to find.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from orchestrator.devstack.services import REPO_ROOT, Binaries, StackError, opa_policy_args

REQUIRED_COVERAGE = 100.0
MAX_LINE_LENGTH = 120


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, cwd=REPO_ROOT)


def main() -> int:
    try:
        opa = str(Binaries.locate().opa)
    except StackError as error:
        print(f"policy-check: {error}", file=sys.stderr)
        return 1
    policies = opa_policy_args(Path("policies"))

    # `opa fmt` takes paths only (no --bundle).
    unformatted = run([opa, "fmt", "--list", "policies"])
    if unformatted.returncode or unformatted.stdout.strip():
        print("policy-check: not formatted (run `make fmt`):")
        print(unformatted.stdout + unformatted.stderr)
        return 1
    print("opa fmt: every file formatted")

    long_lines = [
        f"  {path.relative_to(REPO_ROOT)}:{number}: {len(line)} characters"
        for path in sorted((REPO_ROOT / "policies").rglob("*.rego"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if len(line) > MAX_LINE_LENGTH
    ]
    if long_lines:
        print(f"policy-check: lines longer than {MAX_LINE_LENGTH} characters:")
        print("\n".join(long_lines))
        return 1
    print(f"line length: every line at most {MAX_LINE_LENGTH} characters")

    check = run([opa, "check", "--strict", *policies])
    if check.returncode:
        print("policy-check: opa check --strict failed:\n" + check.stdout + check.stderr)
        return 1
    print("opa check --strict: clean")

    tests = run([opa, "test", *policies, "--format", "json"])
    if tests.returncode:
        verbose = run([opa, "test", *policies, "-v"])
        print("policy-check: opa test failed:\n" + verbose.stdout + verbose.stderr)
        return 1
    results = json.loads(tests.stdout)
    print(f"opa test: {len(results)} passed, 0 failed")

    coverage = json.loads(run([opa, "test", *policies, "--coverage", "--format", "json"]).stdout)
    total = float(coverage.get("coverage", 0.0))
    # Bundle mode lists each file a second time, empty, under a doubled path: skip those.
    files = {path: r for path, r in coverage.get("files", {}).items() if "coverage" in r}
    for path, report in sorted(files.items()):
        print(f"  {float(report['coverage']):6.2f}%  {path}")
    print(f"opa test --coverage: {total:.2f}% (required {REQUIRED_COVERAGE:.0f}%)")
    if total < REQUIRED_COVERAGE:
        for path, report in sorted(files.items()):
            for span in report.get("not_covered", []):
                print(f"  not covered: {path}:{span['start']['row']}-{span['end']['row']}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
