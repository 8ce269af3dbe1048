"""Draw the docs' pictures with crossflow itself when the site is built.

The how-to "See a workflow and its run" shows the pictures of `examples/see_a_run.py`:
the workflow, a paid order and a declined one. This hook runs that example's
`pictures()` at build time (no network, no external program) and adds each SVG to the
site as `how-to/pictures/<name>.svg`, so the pages always show what this version of
crossflow draws.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mkdocs.structure.files import File

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "see_a_run.py"
FOLDER = "how-to/pictures"


def pictures() -> dict[str, str]:
    """The example's pictures by file name."""
    spec = importlib.util.spec_from_file_location("crossflow_docs_see_a_run", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        drawn: dict[str, str] = module.pictures()
    finally:
        del sys.modules[spec.name]
    return drawn


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for name, svg in pictures().items():
        files.append(File.generated(config, f"{FOLDER}/{name}", content=svg))
    return files
