"""The README's example runs and prints what its comment says, the same as the example
script it mirrors."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_snippet() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert match is not None, "the README has no python example"
    return match.group(1)


def test_readme_example_prints_what_its_comment_says() -> None:
    """The README's snippet runs, and its output is the text of the comment on its
    `print` line."""
    snippet = _readme_snippet()
    promised = re.search(r"print\(.*\)\s*#\s*(.+)$", snippet, re.MULTILINE)
    assert promised is not None, "the README's print line has no comment saying what it prints"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(snippet, "README.md", "exec"), {"__name__": "readme"})
    assert out.getvalue().strip() == promised.group(1).strip()


def test_readme_example_prints_what_the_quickstart_example_prints() -> None:
    """`examples/quickstart.py` prints the same line as the README's snippet."""
    snippet = _readme_snippet()
    promised = re.search(r"print\(.*\)\s*#\s*(.+)$", snippet, re.MULTILINE)
    assert promised is not None
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == promised.group(1).strip()
