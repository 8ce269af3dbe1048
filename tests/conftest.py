"""Shared test configuration: both anyio backends and the hypothesis profiles."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from crossflow._runtime._audit import auditing

# `dev` is the everyday profile; `ci` trades time for more examples. Deadlines
# are off in both: async runs start an event loop per example, and their timing
# says nothing about correctness.
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("ci", max_examples=500, deadline=None)
settings.load_profile(
    "ci" if os.environ.get("CI", "").lower() not in ("", "0", "false", "no") else "dev"
)


@pytest.fixture(params=[pytest.param("asyncio"), pytest.param("trio")])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run every `anyio`-marked test once on asyncio and once on trio."""
    backend: str = request.param
    return backend


@pytest.fixture
def audited() -> Iterator[None]:
    """Runs inside the test recount their bookkeeping after every step and fail loudly
    on a mismatch (the engine's debug audit); the property tests use it."""
    with auditing():
        yield
