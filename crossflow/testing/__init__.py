"""Tools for testing crossflow workflows, and crossflow itself.

* `crossflow.testing.strategies.workflows()`: a hypothesis strategy that draws random
  workflows, each with a `Probe` that records what its services do;
* `Probe` / `ProbeEvent`: that recorder and its events;
* `running_as(run)`: attribute what a task records to a run number;
* `assert_completes` / `assert_cancelled`: run a workflow once in a test, with a
  timeout and a clear message when it did not end as expected;
* `event_kinds` / `untimed`: compare event logs (`session.events`) in assertions;
* `explore` / `explore_sync`: run your workflow once, then cancelled at every point and
  with every service failing in turn, and check each outcome; `cancellation_points` /
  `failure_points` draw those points in your own property tests (`run_at`);
* `run_skipping_time` / `virtual_clock`: hours of delays and timeouts in milliseconds.

Importing this package needs `hypothesis`: install crossflow with the `testing` extra
(`pip install 'crossflow-py[testing]'`).
"""

from __future__ import annotations

from . import strategies as strategies
from ._assertions import assert_cancelled as assert_cancelled
from ._assertions import assert_completes as assert_completes
from ._clock import run_skipping_time as run_skipping_time
from ._clock import virtual_clock as virtual_clock
from ._events import event_kinds as event_kinds
from ._events import untimed as untimed
from ._explore import ExplorationFailed as ExplorationFailed
from ._explore import ExplorationReport as ExplorationReport
from ._explore import Outcome as Outcome
from ._explore import explore as explore
from ._explore import explore_sync as explore_sync
from ._explore import run_at as run_at
from ._point_strategies import cancellation_points as cancellation_points
from ._point_strategies import failure_points as failure_points
from ._points import InjectedFailure as InjectedFailure
from ._points import Point as Point
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
    "ExplorationFailed",
    "ExplorationReport",
    "InjectedFailure",
    "Outcome",
    "Point",
    "Probe",
    "ProbeEvent",
    "assert_cancelled",
    "assert_completes",
    "cancellation_points",
    "current_run",
    "event_kinds",
    "explore",
    "explore_sync",
    "failure_points",
    "run_at",
    "run_skipping_time",
    "running_as",
    "strategies",
    "untimed",
    "virtual_clock",
    "workflows",
)
