"""The docs show pictures drawn by crossflow at build time (API §8): the hook draws the
pictures of examples/see_a_run.py, and the how-to page shows each of them."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from viz_support import SVG_NS, check_svg

ROOT = Path(__file__).resolve().parents[2]


def test_the_docs_hook_draws_the_how_to_pictures() -> None:
    """API §8: docs/hooks/pictures.py draws the workflow, a paid and a declined order as
    SVG, and the how-to "See a workflow and its run" shows every one of them."""
    spec = importlib.util.spec_from_file_location("pictures_hook", ROOT / "docs/hooks/pictures.py")
    assert spec is not None and spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    drawn = hook.pictures()
    assert set(drawn) == {"order.svg", "order_paid.svg", "order_declined.svg"}
    for svg in drawn.values():
        check_svg(svg)
    declined = check_svg(drawn["order_declined.svg"])
    texts = "\n".join("".join(t.itertext()) for t in declined.iter(f"{SVG_NS}text"))
    assert "never reached" in texts and "PaymentDeclined" in texts
    page = (ROOT / "docs/how-to/see-a-run.md").read_text(encoding="utf-8")
    assert set(re.findall(r"\]\(pictures/([\w.]+)\)", page)) == set(drawn)
