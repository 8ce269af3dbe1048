"""examples/run_diagram.py prints what the how-to "Run a crossflow diagram from Python"
says it prints."""

from __future__ import annotations

import os
import subprocess
import sys

from diagram_support import ROOT


def test_run_diagram_example_output() -> None:
    """The example registers builders, runs a diagram (12.0), converts a typed request
    (24.0) or reports its conversion error as text, lists two problems, and runs a
    calculator diagram file (16860.0)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "run_diagram.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.splitlines() == [
        "12.0",
        "24.0",
        'price: the message {"quantity": 2} does not fit __main__.Order: __main__.Order '
        "needs the field 'item', got {\"quantity\": 2}",
        "/ops/triple/builder [triple]: no node builder named 'mull' is registered. Did you "
        "mean 'mul'? Register it with registry.register_node_builder(...).",
        "/ops/triple/next [triple]: there is no operation named 'sum' in the diagram. Known "
        "operations: 'triple'.",
        "2 problems",
        "16860.0",
    ]


def test_section_builder_example_output() -> None:
    """examples/diagram_sections.py (shown in the diagram reference) builds a section from
    a section builder that takes the operation's id, answers 42 for 41, and its operations
    are named after the diagram: the builder's node `plus/add`, and the conversion of the
    request into the declared `int`, `plus/value:from_json`."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "diagram_sections.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.splitlines() == [
        "42",
        "['start', 'terminate', 'plus/add', 'plus/value:from_json']",
    ]
