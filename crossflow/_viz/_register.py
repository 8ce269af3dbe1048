"""Registers the renderers that values below the pictures use (`crossflow._display`)."""

from __future__ import annotations

from .._display import register
from ._display import cancellation, event_log, run
from ._html import events_text
from ._pictures import run_svg

register("cancellation", cancellation)
register("run", run)
register("run_svg", run_svg)
register("events_text", events_text)
register("event_log", event_log)
