"""The `crossflow` command: run, check and render diagrams, and describe registries.

    crossflow run DIAGRAM REQUEST --registry pkg.module:attr [--backend asyncio|trio]
                  [--events FILE]
    crossflow check DIAGRAM --registry pkg.module:attr [--json]
    crossflow render DIAGRAM [--format svg|mermaid|dot] [-o FILE] [--registry ...]
    crossflow registry --registry pkg.module:attr

Exit status: 0 the response was printed (or the diagram is sound); 1 the workflow was
cancelled (its cause as JSON on stderr); 2 wrong usage (also a diagram file that cannot
be read); 3 the diagram has problems (each listed on stderr).

Everything printed as JSON is valid JSON: numbers JSON has no form for (infinities and
NaN) are written `null`, as crossflow writes them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import IO, Any, NoReturn

from ._text import counted

OK, CANCELLED, USAGE, PROBLEMS = 0, 1, 2, 3


class _UsageError(Exception):
    """Wrong usage: a bad argument, a registry that cannot be loaded."""


def _finite(value: Any, depth: int = 0) -> Any:
    """`value` with every infinity and NaN replaced by `None` (JSON has no such numbers;
    crossflow writes them as `null`)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth > 200:
        return value
    if isinstance(value, dict):
        return {k: _finite(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v, depth + 1) for v in value]
    return value


def json_text(value: Any, *, indent: int | None = None) -> str:
    """`value` as valid JSON text: infinities and NaN as `null`, other objects as text."""
    return json.dumps(_finite(value), indent=indent, allow_nan=False, default=str)


def _write(stream: IO[str], text: str) -> None:
    stream.write(text if text.endswith("\n") else text + "\n")
    stream.flush()


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="crossflow",
        description="Run, check and render crossflow JSON diagrams with Python node builders.",
        epilog="Exit status: 0 success, 1 the workflow was cancelled, 2 wrong usage, "
        "3 the diagram has problems.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    registry_help = "the registry, as MODULE:ATTRIBUTE (e.g. examples.calculator:registry)"

    run = commands.add_parser(
        "run",
        help="run a diagram once and print its response as JSON",
        description="Run a diagram once; the response is printed as JSON on stdout.",
    )
    run.add_argument("diagram", help="the diagram's JSON file")
    run.add_argument(
        "request", help="the request: JSON text, @FILE for a JSON file, or - for stdin"
    )
    run.add_argument("--registry", required=True, help=registry_help)
    run.add_argument(
        "--backend",
        choices=("asyncio", "trio"),
        default="asyncio",
        help="the event loop to run on (default: asyncio)",
    )
    run.add_argument(
        "--events", metavar="FILE", help="write the run's events to FILE, one JSON object per line"
    )

    check = commands.add_parser(
        "check",
        help="list every problem of a diagram",
        description="List every problem of a diagram; exit status 3 when there are any.",
    )
    check.add_argument("diagram", help="the diagram's JSON file")
    check.add_argument("--registry", required=True, help=registry_help)
    check.add_argument(
        "--json", action="store_true", help="print the problems as a JSON array on stdout"
    )

    render = commands.add_parser(
        "render",
        help="draw a diagram's workflow",
        description="Draw the workflow a diagram builds. Without --registry, each node and "
        "section is drawn as a stand-in named after its operation and its builder.",
    )
    render.add_argument("diagram", help="the diagram's JSON file")
    render.add_argument(
        "--format",
        choices=("svg", "mermaid", "dot"),
        default="svg",
        help="the picture's format (default: svg)",
    )
    render.add_argument(
        "-o", "--output", metavar="FILE", help="write the picture to FILE instead of stdout"
    )
    render.add_argument(
        "--registry", help=registry_help + "; without it, builders are drawn as stand-ins"
    )

    describe = commands.add_parser(
        "registry",
        help="print a registry's metadata as JSON",
        description="Print a registry's metadata in crossflow's registry metadata format.",
    )
    describe.add_argument("--registry", required=True, help=registry_help)
    return parser, {"run": run, "check": check, "render": render, "registry": describe}


def load_registry(spec: str) -> Any:
    """The registry named by `MODULE:ATTRIBUTE` (the attribute may be a function making it)."""
    from crossflow.diagram import Registry

    module_name, colon, attribute = spec.partition(":")
    if not colon or not module_name or not attribute:
        raise _UsageError(
            f"--registry takes MODULE:ATTRIBUTE, e.g. examples.calculator:registry; got {spec!r}"
        )
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)  # as `python -m` does: modules of the current directory
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        raise _UsageError(
            f"cannot import {module_name!r} for --registry: {type(error).__name__}: {error}"
        ) from error
    try:
        found = getattr(module, attribute)
    except AttributeError:
        from crossflow._diagram._problems import suggest

        names = [n for n in vars(module) if not n.startswith("_")]
        raise _UsageError(
            f"module {module_name!r} has no attribute {attribute!r}."
            + suggest(attribute, names, "attributes")
        ) from None
    if not isinstance(found, Registry) and callable(found):
        try:
            found = found()
        except Exception as error:
            raise _UsageError(
                f"{spec} is not a crossflow.diagram.Registry, and calling it to make one raised "
                f"{type(error).__name__}: {error}"
            ) from error
    if not isinstance(found, Registry):
        raise _UsageError(
            f"{spec} is {found!r}, not a crossflow.diagram.Registry (or a function returning one)"
        )
    return found


def read_request(text: str) -> Any:
    """The request: JSON text, `@FILE` or `-` (standard input)."""
    source = "the request"
    if text == "-":
        text, source = sys.stdin.read(), "standard input"
    elif text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise _UsageError(f"cannot read the request file {str(path)!r}: {error}") from None
        source = str(path)
    try:
        return json.loads(text, parse_constant=_not_json)
    except json.JSONDecodeError as error:
        raise _UsageError(
            f"{source} is not JSON ({error.msg} at line {error.lineno}, column {error.colno}); "
            'write JSON, e.g. 4, "text" or [1, 2], or @FILE for a JSON file'
        ) from None


def _not_json(constant: str) -> Any:
    raise json.JSONDecodeError(f"{constant} is not a JSON value", constant, 0)


def _load(path: str) -> Any:
    """The diagram in the file at `path`; a file that cannot be read is wrong usage.

    Raises:
        DiagramError: the file is not a JSON diagram (problems, exit status 3).
    """
    from crossflow.diagram import Diagram

    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        raise _UsageError(f"cannot read the diagram file {path!r}: {reason}") from None
    return Diagram.from_json(data, name=file.stem)


def _warned(
    make: Callable[[], Any], source: str | None
) -> tuple[Any, list[warnings.WarningMessage]]:
    """`make()`, with the warnings it issues: unreachable scopes are printed on standard
    error as `DIAGRAM: warning: ...` lines when `source` is given (else dropped); other
    warnings are shown as usual."""
    from crossflow import UnreachableWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = make()
    for warning in caught:
        if issubclass(warning.category, UnreachableWarning):
            if source is not None:
                _write(sys.stderr, f"{source}: warning: {warning.message}")
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return result, caught


def _problems(problems: Sequence[Any], source: str) -> int:
    count = len(problems)
    _write(sys.stderr, f"{source} has {counted(count, 'problem')}:")
    for problem in problems:
        _write(sys.stderr, f"  {problem}")
    return PROBLEMS


class _EventLog:
    """Writes each event of a run as one JSON line."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def __call__(self, event: Any) -> None:
        self.stream.write(json_text(event.to_dict()) + "\n")


def _progress(diagram: Any) -> Callable[[Any], None] | None:
    """The progress line of a long run, on standard error when it is a terminal.

    It receives every event of the run, like `--events`, and stays silent for the first
    second, so quick runs print nothing; output that is not a terminal never gets it.
    """
    if not sys.stderr.isatty():
        return None
    from crossflow._viz._terminal import ProgressLine

    return ProgressLine(sys.stderr)


def _run(args: argparse.Namespace) -> int:
    import anyio

    import crossflow as cf
    from crossflow.diagram import DiagramError

    registry = load_registry(args.registry)
    request = read_request(args.request)
    if args.backend == "trio":
        try:
            import trio  # noqa: F401
        except ImportError:
            raise _UsageError("--backend trio needs the trio package: pip install trio") from None
    try:
        diagram = _load(args.diagram)
        # an unreachable scope is not repeated here: the run's cause says it, and
        # `crossflow check` explains it
        workflow, _ = _warned(lambda: diagram.build(registry), None)
    except DiagramError as error:
        return _problems(error.problems, args.diagram)
    listeners: list[Callable[[Any], None]] = []
    stream: IO[str] | None = None
    if args.events:
        try:
            stream = open(args.events, "w", encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as error:
            raise _UsageError(f"cannot write the events to {args.events!r}: {error}") from None
        listeners.append(_EventLog(stream))
    progress = _progress(diagram)
    if progress is not None:
        listeners.append(progress)

    def on_event(event: Any) -> None:
        for listener in listeners:
            listener(event)

    try:
        response = anyio.run(
            partial(workflow.run, request, on_event=on_event if listeners else None),
            backend=args.backend,
        )
    except cf.WorkflowCancelled as error:
        _write(sys.stderr, json_text(error.cancellation.cause.to_dict()))
        return CANCELLED
    finally:
        if stream is not None:
            stream.close()
    _write(sys.stdout, json_text(response))
    return OK


def _check(args: argparse.Namespace) -> int:
    from crossflow.diagram import DiagramError

    registry = load_registry(args.registry)
    try:
        diagram = _load(args.diagram)
        problems, _ = _warned(lambda: diagram.check(registry), args.diagram)
    except DiagramError as error:
        problems = list(error.problems)
    if args.json:
        _write(sys.stdout, json_text([p.to_dict() for p in problems], indent=2))
        return PROBLEMS if problems else OK
    if problems:
        return _problems(problems, args.diagram)
    _write(sys.stdout, f"{args.diagram}: no problems")
    return OK


def _render(args: argparse.Namespace) -> int:
    from crossflow._diagram._standins import stand_ins
    from crossflow.diagram import DiagramError

    method = {"svg": "to_svg", "mermaid": "to_mermaid", "dot": "to_dot"}[args.format]
    registry = None if args.registry is None else load_registry(args.registry)
    try:
        diagram = _load(args.diagram)
        if registry is None:
            # stand-ins have the diagram's shape only: what they would warn about is theirs
            workflow, _ = _warned(lambda: diagram.build(stand_ins(diagram)), None)
        else:
            workflow, _ = _warned(lambda: diagram.build(registry), args.diagram)
    except DiagramError as error:
        return _problems(error.problems, args.diagram)
    picture = getattr(workflow, method)()
    if args.output:
        try:
            Path(args.output).write_text(picture, encoding="utf-8")
        except OSError as error:
            raise _UsageError(f"cannot write the picture to {args.output!r}: {error}") from None
    else:
        _write(sys.stdout, picture)
    return OK


def _registry(args: argparse.Namespace) -> int:
    registry = load_registry(args.registry)
    _write(sys.stdout, json_text(registry.metadata(), indent=2))
    return OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `crossflow` command with `argv` (default: the process's arguments)."""
    parser, subcommands = _parser()
    args = parser.parse_args(argv)
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "run": _run,
        "check": _check,
        "render": _render,
        "registry": _registry,
    }
    try:
        return commands[args.command](args)
    except _UsageError as error:
        _usage(subcommands.get(args.command, parser), str(error))


def _usage(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    parser.print_usage(sys.stderr)
    _write(sys.stderr, f"{parser.prog}: error: {message}")
    raise SystemExit(USAGE)
