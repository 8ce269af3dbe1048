"""Tools for testing crossflow workflows, and crossflow itself.

* `crossflow.testing.strategies.workflows()`: a hypothesis strategy that draws random
  workflows, each with a `Probe` that records what its services do;
* `Probe` / `ProbeEvent`: that recorder and its events;
* `running_as(run)`: attribute what a task records to a run number;
* `assert_completes` / `assert_cancelled`: run a workflow once in a test, with a
  timeout and a clear message when it did not end as expected;
* `event_kinds` / `untimed`: compare event logs (`session.events`) in assertions.

Importing this package needs `hypothesis` (`pip install hypothesis`).
"""

from __future__ import annotations

from . import strategies as strategies
from ._assertions import assert_cancelled as assert_cancelled
from ._assertions import assert_completes as assert_completes
from ._events import event_kinds as event_kinds
from ._events import untimed as untimed
from ._recorder import EventKind as EventKind
from ._recorder import Probe as Probe
from ._recorder import ProbeEvent as ProbeEvent
from ._recorder import current_run as current_run
from ._recorder import running_as as running_as
from .strategies import DeliberateFailure as DeliberateFailure
from .strategies import DrawnWorkflow as DrawnWorkflow
from .strategies import workflows as workflows

__all__ = (
    "DeliberateFailure",
    "DrawnWorkflow",
    "EventKind",
    "Probe",
    "ProbeEvent",
    "assert_cancelled",
    "assert_completes",
    "current_run",
    "event_kinds",
    "running_as",
    "strategies",
    "untimed",
    "workflows",
)
