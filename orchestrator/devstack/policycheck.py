"""`make policy-check`: Rego is code — formatted, strictly checked, fully tested.

Runs `opa fmt --list`, `opa check --strict` and `opa test --coverage` on policies/ and
fails unless every file is formatted, no line is longer than 120 characters (`opa fmt`
leaves long lines alone; Regal's limit), the check is clean, every test passes and
coverage is 100%. Failures come first and briefly: a failing `opa test` prints
`FAIL: 2/76` and each failing test as `file:line: name`, and its verbose output only
with `-v`; missing coverage prints the uncovered lines before the per-file table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from orchestrator.devstack.services import REPO_ROOT, Binaries, StackError, opa_policy_args

REQUIRED_COVERAGE = 100.0
MAX_LINE_LENGTH = 120


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, cwd=REPO_ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make policy-check", description=__doc__)
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="after failing tests, opa test -v's output"
    )
    parser.add_argument(
        "--policies", type=Path, default=Path("policies"), help="the bundle folder (policies)"
    )
    args = parser.parse_args(argv)
    try:
        opa = str(Binaries.locate().opa)
    except StackError as error:
        print(f"policy-check: {error}", file=sys.stderr)
        return 1
    folder = args.policies
    policies = opa_policy_args(folder)

    # `opa fmt` takes paths only (no --bundle).
    unformatted = run([opa, "fmt", "--list", str(folder)])
    if unformatted.returncode or unformatted.stdout.strip():
        print("policy-check: not formatted (run `make fmt`):")
        print(unformatted.stdout + unformatted.stderr)
        return 1
    print("opa fmt: every file formatted")

    root = folder if folder.is_absolute() else REPO_ROOT / folder
    long_lines = [
        f"  {_shown(path)}:{number}: {len(line)} characters"
        for path in sorted(root.rglob("*.rego"))
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
        print("policy-check: opa test failed")
        print("\n".join(failure_summary(tests.stdout, tests.stderr)))
        if args.verbose:
            verbose = run([opa, "test", *policies, "-v"])
            print("\nopa test -v:\n" + verbose.stdout + verbose.stderr)
        else:
            print("(each test's output: python -m orchestrator.devstack.policycheck -v)")
        return 1
    results = json.loads(tests.stdout)
    print(f"opa test: {len(results)} passed, 0 failed")

    coverage = json.loads(run([opa, "test", *policies, "--coverage", "--format", "json"]).stdout)
    total = float(coverage.get("coverage", 0.0))
    # Bundle mode lists each file a second time, empty, under a doubled path: skip those.
    files = {path: r for path, r in coverage.get("files", {}).items() if "coverage" in r}
    if total < REQUIRED_COVERAGE:
        # What is missing first; the per-file table after it.
        print(
            f"policy-check: coverage {total:.2f}%, {REQUIRED_COVERAGE:.0f}% required; not covered:"
        )
        for path, report in sorted(files.items()):
            for span in report.get("not_covered", []):
                print(f"  {path}:{span['start']['row']}-{span['end']['row']}")
    for path, report in sorted(files.items()):
        print(f"  {float(report['coverage']):6.2f}%  {path}")
    print(f"opa test --coverage: {total:.2f}% (required {REQUIRED_COVERAGE:.0f}%)")
    return 0 if total >= REQUIRED_COVERAGE else 1


def failure_summary(stdout: str, stderr: str) -> list[str]:
    """`FAIL: 2/76`, then each failing or erroring test as `file:row: package.name`.

    When OPA printed no test results (the policies do not compile, say), its own words.
    """
    try:
        results = json.loads(stdout)
    except ValueError:
        results = None
    if not isinstance(results, list) or not results:
        return [(stdout + stderr).strip()]
    failed = [r for r in results if isinstance(r, dict) and (r.get("fail") or r.get("error"))]
    # OPA runs tests in parallel: sorted by place, the list is the same on every run.
    lines = [f"FAIL: {len(failed)}/{len(results)}"]
    for result in sorted(failed, key=_place):
        file, row = _place(result)
        name = f"{result.get('package', '?')}.{result.get('name', '?')}"
        error = result.get("error")
        message = error.get("message", error) if isinstance(error, dict) else error
        lines.append(f"  {file}:{row}: {name}" + (f": ERROR {message}" if error else ""))
    return lines


def _place(result: dict[str, Any]) -> tuple[str, int]:
    where = result.get("location")
    where = where if isinstance(where, dict) else {}
    row = where.get("row")
    return str(where.get("file", "?")), row if isinstance(row, int) else 0


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


if __name__ == "__main__":
    sys.exit(main())
