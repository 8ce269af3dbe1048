"""crossflow: typed dataflow workflows with structured, explainable cancellation.

Build a workflow from services and operations, run it inside any anyio event loop
(asyncio or trio), and get either its response or a `WorkflowCancelled` whose cause
says exactly why it could not finish.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING as _TYPE_CHECKING

from ._buffers import BufferSettings as BufferSettings
from ._builder import Builder as Builder
from ._causes import Branching as Branching
from ._causes import Cancellation as Cancellation
from ._causes import CancellationCause as CancellationCause
from ._causes import CircularCollect as CircularCollect
from ._causes import ClosedGate as ClosedGate
from ._causes import DeficientCollection as DeficientCollection
from ._causes import Disposal as Disposal
from ._causes import DisposalCause as DisposalCause
from ._causes import EmptySpread as EmptySpread
from ._causes import Filtered as Filtered
from ._causes import IncompleteSplit as IncompleteSplit
from ._causes import Interrupted as Interrupted
from ._causes import ScopeCancelled as ScopeCancelled
from ._causes import ServiceFailed as ServiceFailed
from ._causes import Supplanted as Supplanted
from ._causes import TimedOut as TimedOut
from ._causes import Triggered as Triggered
from ._causes import Trimming as Trimming
from ._causes import Unreachable as Unreachable
from ._causes import UnusedStreams as UnusedStreams
from ._causes import UserCancelled as UserCancelled
from ._chain import Chain as Chain
from ._ending import Ending as Ending
from ._errors import BuildError as BuildError
from ._errors import CircularCollectError as CircularCollectError
from ._errors import CrossflowError as CrossflowError
from ._errors import CrossflowWarning as CrossflowWarning
from ._errors import ErrorCopy as ErrorCopy
from ._errors import IncompatibleLayout as IncompatibleLayout
from ._errors import InvalidArgument as InvalidArgument
from ._errors import OutputAlreadyConnected as OutputAlreadyConnected
from ._errors import StaleBufferKey as StaleBufferKey
from ._errors import UnawaitedCoroutine as UnawaitedCoroutine
from ._errors import UncopyableMessage as UncopyableMessage
from ._errors import UnreachableWarning as UnreachableWarning
from ._errors import WorkflowCancelled as WorkflowCancelled
from ._eventlog import EventLog as EventLog
from ._executor import Call as Call
from ._executor import DaskExecutor as DaskExecutor
from ._executor import Executor as Executor
from ._executor import ProcessExecutor as ProcessExecutor
from ._executor import Retry as Retry
from ._executor import ThreadExecutor as ThreadExecutor
from ._executor import UnpicklableMessage as UnpicklableMessage
from ._executor import cancel_requested as cancel_requested
from ._handles import Buffer as Buffer
from ._handles import InputSlot as InputSlot
from ._handles import Node as Node
from ._handles import Output as Output
from ._handles import Scope as Scope
from ._handles import StreamInputs as StreamInputs
from ._handles import StreamOutputs as StreamOutputs
from ._handles import TrimBranch as TrimBranch
from ._keys import BufferKey as BufferKey
from ._keys import BufferView as BufferView
from ._model import AccessSettings as AccessSettings
from ._model import CancelSettings as CancelSettings
from ._model import CleanupWorkflow as CleanupWorkflow
from ._model import CollectSettings as CollectSettings
from ._model import Connection as Connection
from ._model import DelaySettings as DelaySettings
from ._model import FilterSettings as FilterSettings
from ._model import ForkCloneSettings as ForkCloneSettings
from ._model import GateSettings as GateSettings
from ._model import Graph as Graph
from ._model import JoinSettings as JoinSettings
from ._model import NestedScopeSettings as NestedScopeSettings
from ._model import NodeSettings as NodeSettings
from ._model import Operation as Operation
from ._model import OperationKind as OperationKind
from ._model import PushSettings as PushSettings
from ._model import SplitSettings as SplitSettings
from ._model import StreamOutSettings as StreamOutSettings
from ._model import TrimBranchSettings as TrimBranchSettings
from ._model import TrimSettings as TrimSettings
from ._operation_handles import ForkClone as ForkClone
from ._operation_handles import ForkOption as ForkOption
from ._operation_handles import ForkResult as ForkResult
from ._operation_handles import SplitOutputs as SplitOutputs
from ._operation_handles import Unzip as Unzip
from ._policy import CancellationPolicy as CancellationPolicy
from ._results import Err as Err
from ._results import Ok as Ok
from ._results import Result as Result
from ._services import Service as Service
from ._services import service as service
from ._session import Session as Session
from ._session import SessionStreams as SessionStreams
from ._settings import ScopeSettings as ScopeSettings
from ._state import SessionState as SessionState
from ._streams import Streams as Streams
from ._streams import StreamSender as StreamSender
from ._version import __version__ as __version__
from ._viz import _register  # noqa: F401 (registers the renderers of values)
from ._viz._progress import OperationProgress as OperationProgress
from ._viz._progress import Progress as Progress
from ._workflow import Workflow as Workflow
from ._workflow import workflow as workflow
from .events import Event as Event

__all__ = (
    "AccessSettings",
    "Branching",
    "Buffer",
    "BufferKey",
    "BufferSettings",
    "BufferView",
    "BuildError",
    "Builder",
    "Call",
    "CancelSettings",
    "Cancellation",
    "CancellationCause",
    "CancellationPolicy",
    "Chain",
    "CircularCollect",
    "CircularCollectError",
    "CleanupWorkflow",
    "ClosedGate",
    "CollectSettings",
    "Connection",
    "CrossflowError",
    "CrossflowWarning",
    "DaskExecutor",
    "DeficientCollection",
    "DelaySettings",
    "Disposal",
    "DisposalCause",
    "EmptySpread",
    "Ending",
    "Err",
    "ErrorCopy",
    "Event",
    "EventLog",
    "Executor",
    "FilterSettings",
    "Filtered",
    "ForkClone",
    "ForkCloneSettings",
    "ForkOption",
    "ForkResult",
    "GateSettings",
    "Graph",
    "IncompatibleLayout",
    "IncompleteSplit",
    "InputSlot",
    "Interrupted",
    "InvalidArgument",
    "JoinSettings",
    "NestedScopeSettings",
    "Node",
    "NodeSettings",
    "Ok",
    "Operation",
    "OperationKind",
    "OperationProgress",
    "Output",
    "OutputAlreadyConnected",
    "ProcessExecutor",
    "Progress",
    "PushSettings",
    "Result",
    "Retry",
    "Scope",
    "ScopeCancelled",
    "ScopeSettings",
    "Service",
    "ServiceFailed",
    "Session",
    "SessionState",
    "SessionStreams",
    "SplitOutputs",
    "SplitSettings",
    "StaleBufferKey",
    "StreamInputs",
    "StreamOutSettings",
    "StreamOutputs",
    "StreamSender",
    "Streams",
    "Supplanted",
    "ThreadExecutor",
    "TimedOut",
    "Triggered",
    "TrimBranch",
    "TrimBranchSettings",
    "TrimSettings",
    "Trimming",
    "UnawaitedCoroutine",
    "UncopyableMessage",
    "UnpicklableMessage",
    "Unreachable",
    "UnreachableWarning",
    "UnusedStreams",
    "Unzip",
    "UserCancelled",
    "Workflow",
    "WorkflowCancelled",
    "cancel_requested",
    "service",
    "workflow",
)


def _fix_module_names() -> None:
    # tracebacks and reprs say crossflow.Builder, not crossflow._builder.Builder
    for name in __all__:
        obj = globals()[name]
        if isinstance(obj, type) or callable(obj):
            with contextlib.suppress(AttributeError, TypeError):  # aliases refuse it
                obj.__module__ = __name__


_fix_module_names()

if _TYPE_CHECKING:
    from . import diagram as diagram


def __getattr__(name: str) -> object:
    # `cf.diagram` is imported on first use, so `import crossflow` never loads it
    if name == "diagram":
        import importlib

        return importlib.import_module(f"{__name__}.diagram")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
