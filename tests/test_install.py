"""Installing crossflow: the distribution is `crossflow-py` (the name `crossflow` on the
package index is another project's), its import name is `crossflow`, every install
command in the README, the docs and the package's messages names it, and the extras the
docs describe are the ones pyproject.toml declares."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

import crossflow as cf

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "crossflow-py"

# `pip install` followed, in the same command, by a requirement that names crossflow
# itself: `crossflow`, `'crossflow[cel]'`, `crossflow==0.1`, but not `crossflow-py`.
WRONG_INSTALL = re.compile(r"pip3? install\b[^\n`]*?(?<![\w.-])['\"]?crossflow(?![\w-])")

# a row of the extras table: | `name` | what it brings |
EXTRA_ROW = re.compile(r"^\| `([a-z0-9-]+)` \|", re.MULTILINE)


def _pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        project: dict[str, object] = tomllib.load(file)["project"]
    return project


def _texts() -> list[Path]:
    """Every file a user reads install instructions in, or gets them from."""
    paths = [ROOT / "README.md", ROOT / "benchmarks" / "README.md"]
    paths += sorted((ROOT / "docs").rglob("*.md"))
    paths += sorted((ROOT / "examples").rglob("*.py"))
    paths += sorted((ROOT / "examples").rglob("*.ipynb"))
    paths += sorted((ROOT / "crossflow").rglob("*.py"))
    return paths


def test_the_distribution_is_crossflow_py() -> None:
    """pyproject.toml names the distribution `crossflow-py`; the installed one has the
    package's version and provides the `crossflow` command."""
    assert _pyproject()["name"] == DISTRIBUTION
    installed = metadata.distribution(DISTRIBUTION)
    assert installed.version == cf.__version__
    assert installed.metadata["Requires-Python"] == ">=3.11"
    scripts = {ep.name: ep.value for ep in installed.entry_points if ep.group == "console_scripts"}
    assert scripts == {"crossflow": "crossflow._cli:main"}


def test_no_distribution_called_crossflow_is_installed() -> None:
    """No distribution named `crossflow` shares the environment: the index's `crossflow`
    is an unrelated project whose files would clash with these (both are imported as
    `crossflow`), and an install of this project under that former name would shadow
    this one."""
    with pytest.raises(metadata.PackageNotFoundError):
        metadata.distribution("crossflow")


def test_every_install_command_names_crossflow_py() -> None:
    """No README, docs page, example or message of the package tells anyone to
    `pip install crossflow` (with or without extras): that installs the unrelated
    project."""
    wrong = [
        f"{path.relative_to(ROOT)}:{text[: match.start()].count(chr(10)) + 1}: {match.group()}"
        for path in _texts()
        for text in [path.read_text(encoding="utf-8")]
        for match in WRONG_INSTALL.finditer(text)
    ]
    assert wrong == []


def test_the_pattern_finds_wrong_install_commands() -> None:
    """The check above recognises the forms a wrong command takes, and lets the right
    ones and uninstalling the unrelated project through."""
    wrong = [
        "pip install crossflow",
        "pip install 'crossflow[testing]'",
        'pip install -U "crossflow[cel]"',
        "pip install crossflow==0.1.0",
        "pip3 install anyio crossflow",
    ]
    right = [
        "pip install crossflow-py",
        "pip install 'crossflow-py[testing,cel]'",
        "pip install -e '.[test]'",
        "pip install .",
        "pip uninstall crossflow",
        "pip install trio` for crossflow",
    ]
    assert [bool(WRONG_INSTALL.search(text)) for text in wrong] == [True] * len(wrong)
    assert [bool(WRONG_INSTALL.search(text)) for text in right] == [False] * len(right)


@pytest.mark.parametrize("page", ["README.md", "docs/index.md"])
def test_the_docs_describe_every_extra(page: str) -> None:
    """The extras table of the installation instructions lists exactly the extras that
    pyproject.toml declares."""
    declared = _pyproject()["optional-dependencies"]
    assert isinstance(declared, dict)
    text = (ROOT / page).read_text(encoding="utf-8")
    start = text.index("## Installation")
    end = text.find("\n## ", start)
    section = text[start : end if end != -1 else None]
    assert sorted(EXTRA_ROW.findall(section)) == sorted(declared)
