"""`make policy-check` on failing Rego tests: the failures first and briefly, the verbose
output of `opa test -v` only on request. Runs the real OPA on a copy of policies/."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from orchestrator.devstack.services import REPO_ROOT

FAILING = """
test_fails_one if {
\t1 == 2
}

test_fails_two if {
\tfalse
}
"""


def policy_check(policies: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestrator.devstack.policycheck",
            "--policies",
            str(policies),
            *flags,
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )


def broken_copy(tmp_path: Path) -> tuple[Path, Path, int]:
    policies = tmp_path / "policies"
    shutil.copytree(REPO_ROOT / "policies", policies)
    tests = policies / "orchestrator" / "start" / "start_test.rego"
    lines = len(tests.read_text().splitlines())
    tests.write_text(tests.read_text() + FAILING)
    return policies, tests, lines


def test_failing_tests_are_summarised_first_with_file_and_line(tmp_path: Path) -> None:
    policies, tests, lines = broken_copy(tmp_path)
    checked = policy_check(policies)
    assert checked.returncode == 1
    out = checked.stdout.splitlines()
    at = out.index("policy-check: opa test failed")
    total = int(out[at + 1].split("/")[1])
    assert out[at + 1] == f"FAIL: 2/{total}" and total > 2
    assert out[at + 2 : at + 4] == [
        f"  {tests}:{lines + 2}: data.orchestrator.start_test.test_fails_one",
        f"  {tests}:{lines + 6}: data.orchestrator.start_test.test_fails_two",
    ]
    # Brief: no passing test is listed, and the verbose output is one flag away.
    assert "PASS" not in checked.stdout
    assert len(out) < 10 and "-v" in out[-1]


def test_the_verbose_output_comes_after_the_summary_on_request(tmp_path: Path) -> None:
    policies, _, _ = broken_copy(tmp_path)
    out = policy_check(policies, "-v").stdout
    assert out.index("FAIL: 2/") < out.index("opa test -v:") < out.index(": PASS (")


def test_the_repo_s_policies_pass() -> None:
    checked = policy_check(Path("policies"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "opa test --coverage: 100.00%" in checked.stdout
