"""Every runnable script in examples/ runs to completion and prints something."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# Top-level statements that only define things; a file made of nothing else is a
# helper module for other examples, not a script.
_DEFINITIONS = (
    ast.Import,
    ast.ImportFrom,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Assign,
    ast.AnnAssign,
    ast.Pass,
)


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def _is_runnable(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for index, node in enumerate(tree.body):
        if _is_main_guard(node):
            return True
        is_docstring = (
            index == 0
            and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        )
        if not is_docstring and not isinstance(node, _DEFINITIONS):
            return True
    return False


SCRIPTS = sorted(p for p in EXAMPLES.rglob("*.py") if _is_runnable(p))


def test_there_are_examples() -> None:
    """The examples directory holds at least one runnable script."""
    assert SCRIPTS, f"no runnable example found under {EXAMPLES}"


@pytest.mark.parametrize(
    "script", SCRIPTS, ids=[p.relative_to(EXAMPLES).as_posix() for p in SCRIPTS]
)
def test_example_runs(script: Path) -> None:
    """The script exits with status 0 within 60 s and prints its result."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, (
        f"{script.name} exited with {result.returncode}:\n{result.stderr}"
    )
    assert result.stdout.strip(), f"{script.name} printed nothing"
