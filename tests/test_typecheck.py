"""The package passes `mypy --strict`, and the typing cases in tests/typing/ behave.

Files in tests/typing/ are never executed, only type-checked:

* `pass_*.py` must type-check cleanly (they pin what users see, e.g. with
  `assert_type`);
* `fail_*.py` must be rejected, and every line ending in a comment `# E: <text>`
  must get an error on that line whose message contains `<text>`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TYPING = ROOT / "tests" / "typing"
PASS_FILES = sorted(TYPING.glob("pass_*.py"))
FAIL_FILES = sorted(TYPING.glob("fail_*.py"))

_EXPECTED = re.compile(r"#\s*E:\s*(?P<text>.*?)\s*$")
_REPORTED = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+):(?:\d+:)? error: (?P<message>.*)$")


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--no-color-output",
            "--hide-error-context",
            *args,
        ],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _errors(output: str) -> dict[tuple[str, int], list[str]]:
    """Map (file name, line) to the error messages mypy reported there."""
    errors: dict[tuple[str, int], list[str]] = {}
    for raw in output.splitlines():
        match = _REPORTED.match(raw.strip())
        if match:
            key = (Path(match["path"]).name, int(match["line"]))
            errors.setdefault(key, []).append(match["message"])
    return errors


def test_package_typechecks_strict() -> None:
    """`mypy --strict crossflow` reports no error."""
    result = _mypy("crossflow")
    assert result.returncode == 0, f"mypy found errors:\n{result.stdout}{result.stderr}"


def test_typing_pass_cases() -> None:
    """Every tests/typing/pass_*.py type-checks without errors."""
    if not PASS_FILES:
        pytest.skip("no tests/typing/pass_*.py files")
    result = _mypy(*(str(p.relative_to(ROOT)) for p in PASS_FILES))
    assert result.returncode == 0, f"mypy found errors:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("case", FAIL_FILES, ids=[p.name for p in FAIL_FILES])
def test_typing_fail_case(case: Path) -> None:
    """The file is rejected, with an error on every line marked `# E: <text>`."""
    result = _mypy(str(case.relative_to(ROOT)))
    output = result.stdout + result.stderr
    assert result.returncode == 1, f"expected type errors in {case.name}, got:\n{output}"
    errors = _errors(output)
    assert any(name == case.name for name, _ in errors), (
        f"mypy failed but reported no error in {case.name}:\n{output}"
    )
    missing = []
    for number, line in enumerate(case.read_text(encoding="utf-8").splitlines(), start=1):
        expected = _EXPECTED.search(line)
        if expected is None:
            continue
        messages = errors.get((case.name, number), [])
        if not any(expected["text"] in message for message in messages):
            missing.append(f"  line {number}: expected {expected['text']!r}, got {messages}")
    assert not missing, f"{case.name}: expected errors not reported:\n" + "\n".join(missing)
