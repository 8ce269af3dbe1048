"""Where and how the calls of a service run (API §9, S10).

* `_base`: the seam between the runtime and executors (`Call`, `Executor`), and
  `cancel_requested()` for code that runs elsewhere;
* `_threads`, `_process`, `_dask`: the executors crossflow ships (Dask is imported only
  when a `DaskExecutor` is made);
* `_controls`: the per-node controls (`max_concurrency`, `timeout`, `Retry`);
* `_limits`, `_pickling`: what the executors share.
"""

from __future__ import annotations

from ._base import Call, CancelSource, Executor, cancel_requested, current_call
from ._controls import Retry, check_max_concurrency, check_retry, check_timeout
from ._dask import DaskExecutor
from ._pickling import UnpicklableMessage
from ._process import ProcessExecutor
from ._threads import ThreadExecutor

__all__ = (
    "Call",
    "CancelSource",
    "DaskExecutor",
    "Executor",
    "ProcessExecutor",
    "Retry",
    "ThreadExecutor",
    "UnpicklableMessage",
    "cancel_requested",
    "check_max_concurrency",
    "check_retry",
    "check_timeout",
    "current_call",
)
