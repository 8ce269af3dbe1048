"""Fixtures of the diagram tests."""

from __future__ import annotations

import pytest
from diagram_support import make_registry

from crossflow.diagram import Registry


@pytest.fixture
def registry() -> Registry:
    """A fresh registry of crossflow's test builders, in Python."""
    return make_registry()
