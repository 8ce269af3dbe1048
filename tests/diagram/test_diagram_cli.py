"""The `crossflow` command, run as a subprocess (`python -m crossflow`): its outputs and
exit statuses (API §7: 0 response, 1 cancelled, 2 wrong usage, 3 problems)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from diagram_support import CALCULATOR, ROOT

REGISTRY = "examples.calculator:registry"


def crossflow(
    *args: str, stdin: str | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "crossflow", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def diagram_file(tmp_path: Path, document: object) -> str:
    path = tmp_path / "diagram.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def test_run_prints_the_response() -> None:
    """`crossflow run multiply_by_3.json 4` prints `12.0` and exits 0 (§13.6)."""
    result = crossflow("run", str(CALCULATOR / "multiply_by_3.json"), "4", "--registry", REGISTRY)
    assert (result.returncode, result.stdout, result.stderr) == (0, "12.0\n", "")


def test_run_request_from_a_file_and_from_stdin(tmp_path: Path) -> None:
    """The request may be `@FILE` or `-` (standard input)."""
    request = tmp_path / "request.json"
    request.write_text("[123, 456]", encoding="utf-8")
    split = str(CALCULATOR / "split_and_join.json")
    from_file = crossflow("run", split, f"@{request}", "--registry", REGISTRY)
    assert (from_file.returncode, from_file.stdout) == (0, "16860.0\n")
    from_stdin = crossflow("run", split, "-", "--registry", REGISTRY, stdin="[10, -123]")
    assert (from_stdin.returncode, from_stdin.stdout) == (0, "-230.0\n")


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_run_countdown_prints_its_lines(backend: str) -> None:
    """countdown prints each step, then the response, on either backend."""
    result = crossflow(
        "run", str(CALCULATOR / "countdown.json"), "3", "--registry", REGISTRY, "--backend", backend
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Subtracting one: 3",
        "Subtracting one: 2.0",
        "Subtracting one: 1.0",
        "0.0",
    ]


def test_run_fibonacci_streams_then_answers() -> None:
    """fibonacci prints its sequence from its stream, then the serialized `Ok(())`."""
    result = crossflow("run", str(CALCULATOR / "fibonacci.json"), "5", "--registry", REGISTRY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["0", "1", "1", "2", "3", "5", '{"Ok": null}']


def test_events_are_written_as_json_lines(tmp_path: Path) -> None:
    """`--events FILE` writes every event of the run as one JSON object per line, from
    `SessionStarted` to `Terminated` (S9.2)."""
    events = tmp_path / "events.jsonl"
    result = crossflow(
        "run",
        str(CALCULATOR / "multiply_by_3.json"),
        "4",
        "--registry",
        REGISTRY,
        "--events",
        str(events),
    )
    assert result.returncode == 0, result.stderr
    kinds = [json.loads(line)["kind"] for line in events.read_text(encoding="utf-8").splitlines()]
    assert kinds[0] == "SessionStarted"
    assert "Terminated" in kinds
    assert "OperationStarted" in kinds


def test_cancelled_run_exits_1_with_its_cause(tmp_path: Path) -> None:
    """A cancelled run exits 1 and prints its cause as JSON on stderr (S11.2: the cancel
    builtin's value is the message as text)."""
    path = diagram_file(tmp_path, {"version": "0.1.0", "start": {"builtin": "cancel"}, "ops": {}})
    result = crossflow("run", path, '"stop now"', "--registry", REGISTRY)
    assert result.returncode == 1
    assert result.stdout == ""
    cause = json.loads(result.stderr)
    assert cause["kind"] == "Triggered"
    assert cause["value"] == "stop now"


def test_problems_exit_3(tmp_path: Path) -> None:
    """A diagram with problems exits 3 and lists each problem on stderr, for `run` and
    for `check`."""
    path = diagram_file(
        tmp_path,
        {
            "version": "0.1.0",
            "start": "a",
            "ops": {"a": {"type": "node", "builder": "mull", "next": "b"}},
        },
    )
    for command in ("run", "check"):
        args = [command, path, "4"] if command == "run" else [command, path]
        result = crossflow(*args, "--registry", REGISTRY)
        assert result.returncode == 3
        lines = result.stderr.splitlines()
        assert lines[0] == f"{path} has 2 problems:"
        assert lines[1].startswith("  /ops/a/builder [a]: no node builder named 'mull'")
        assert "Did you mean 'mul'?" in lines[1]
        assert lines[2].startswith("  /ops/a/next [a]: there is no operation named 'b'")


def test_check_sound_diagram_and_json_output(tmp_path: Path) -> None:
    """`check` exits 0 for a sound diagram; `--json` prints the problems as JSON."""
    sound = crossflow("check", str(CALCULATOR / "clone_from_buffer.json"), "--registry", REGISTRY)
    assert sound.returncode == 0
    assert "no problems" in sound.stdout
    scripts = crossflow(
        "check", str(CALCULATOR / "python_script_nodes.json"), "--registry", REGISTRY, "--json"
    )
    assert scripts.returncode == 3
    problems = json.loads(scripts.stdout)
    assert [p["operation"] for p in problems] == [
        "left_stream",
        "right_stream",
        "success_when_equal",
    ]


def test_registry_prints_metadata() -> None:
    """`crossflow registry` prints the registry's metadata as JSON."""
    result = crossflow("registry", "--registry", REGISTRY)
    assert result.returncode == 0, result.stderr
    metadata = json.loads(result.stdout)
    assert sorted(metadata["nodes"]) == [
        "add", "delay_ms", "div", "fibonacci", "greater_than", "less_than", "mul", "print", "sub",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "x.json", "{oops", "--registry", REGISTRY], "the request is not JSON"),
        (
            ["run", "x.json", "4", "--registry", "examples.calculator"],
            "--registry takes MODULE:ATTRIBUTE",
        ),
        (
            ["check", "x.json", "--registry", "no_such_module:registry"],
            "cannot import 'no_such_module'",
        ),
        (["registry", "--registry", "examples.calculator:registr"], "Did you mean 'registry'?"),
        (["registry", "--registry", "examples.calculator:make_registry"], None),
        (["registry", "--registry", "json:dumps"], "not a crossflow.diagram.Registry"),
        (["run", "x.json"], "the following arguments are required"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str | None) -> None:
    """Wrong usage exits 2 with a message saying what was wrong (a registry may also be a
    function that makes one)."""
    result = crossflow(*args)
    if message is None:
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 2
    assert message in result.stderr


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "svg"])
def test_render_writes_a_picture(fmt: str, tmp_path: Path) -> None:
    """`render` writes the workflow's picture in the format asked for (API §7, §8)."""
    out = tmp_path / f"picture.{fmt}"
    result = crossflow(
        "render",
        str(CALCULATOR / "split_and_join.json"),
        "--format",
        fmt,
        "-o",
        str(out),
        "--registry",
        REGISTRY,
    )
    assert result.returncode == 0, result.stderr
    picture = out.read_text(encoding="utf-8")
    expected = {"mermaid": "flowchart TB", "dot": "digraph ", "svg": "<svg "}[fmt]
    assert picture.startswith(expected)
    if fmt == "svg":
        import xml.etree.ElementTree as ET

        ET.fromstring(picture)  # well-formed


def test_render_prints_to_stdout() -> None:
    """`render` without `-o` prints the picture."""
    result = crossflow(
        "render", str(CALCULATOR / "multiply_by_3.json"), "--format", "mermaid", "--registry",
        REGISTRY,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("flowchart TB")


def strict_json(text: str) -> object:
    """`text` parsed as JSON, refusing what JSON has not (Infinity, NaN)."""

    def refuse(constant: str) -> object:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_numbers_json_has_no_form_for_are_null(tmp_path: Path) -> None:
    """The command always prints valid JSON: a response that overflows to infinity is
    written `null` (as crossflow's serde_json writes it), in the response and in the
    event log."""
    events = tmp_path / "events.jsonl"
    result = crossflow(
        "run", str(CALCULATOR / "multiply_by_3.json"), "1e308", "--registry", REGISTRY,
        "--events", str(events),
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (0, "null\n"), result.stderr
    for line in events.read_text(encoding="utf-8").splitlines():
        strict_json(line)
    divide = diagram_file(
        tmp_path,
        {"version": "0.1.0", "start": "d",
         "ops": {"d": {"type": "node", "builder": "div", "next": {"builtin": "terminate"}}}},
    )  # fmt: skip
    result = crossflow("run", divide, "[1, 0]", "--registry", REGISTRY)
    assert (result.returncode, result.stdout) == (0, "null\n"), result.stderr


def test_a_request_must_be_json() -> None:
    """`NaN` or `Infinity` is not JSON: a usage error, as any text that is not JSON."""
    result = crossflow("run", str(CALCULATOR / "multiply_by_3.json"), "NaN", "--registry", REGISTRY)
    assert result.returncode == 2
    assert "the request is not JSON" in result.stderr


def test_implicit_error_cause_has_the_whole_text(tmp_path: Path) -> None:
    """S11.3: a run cancelled by a transform's error prints the cause naming the diagram's
    operation, with the whole error text (not shortened)."""
    path = diagram_file(
        tmp_path,
        {"version": "0.1.0", "start": "t",
         "ops": {"t": {"type": "transform", "cel": "request.x",
                       "next": {"builtin": "terminate"}}}},
    )  # fmt: skip
    result = crossflow("run", path, "5", "--registry", REGISTRY)
    assert result.returncode == 1
    cause = strict_json(result.stderr)
    assert isinstance(cause, dict)
    assert (cause["kind"], cause["operation"]) == ("ServiceFailed", "t")
    assert cause["error"]["type"] == "ImplicitCancel"
    message = cause["error"]["message"]
    assert message.startswith("transform 't' failed: ") and len(message) > 200
    assert "chars)" not in message


UNREACHABLE = {
    "version": "0.1.0",
    "start": "mul",
    "ops": {"mul": {"type": "node", "builder": "mul", "next": {"builtin": "dispose"}}},
}


def test_unreachable_diagram_is_a_warning_line(tmp_path: Path) -> None:
    """`check` reports a diagram that can never finish as a warning line naming its
    operations, and exits 0 (it has no problem); `render` prints the same line; `run`
    prints only its cause. No Python warning (with its source line) is printed."""
    path = diagram_file(tmp_path, UNREACHABLE)
    check = crossflow("check", path, "--registry", REGISTRY)
    assert check.returncode == 0
    assert check.stdout == f"{path}: no problems\n"
    (line,) = check.stderr.splitlines()
    assert line.startswith(f"{path}: warning: the diagram 'diagram' can never finish")
    assert '\'mul\' sends "next" to {"builtin": "dispose"}' in line
    render = crossflow("render", path, "--format", "dot", "--registry", REGISTRY)
    assert render.returncode == 0
    assert render.stderr.splitlines() == [line]
    run = crossflow("run", path, "4", "--registry", REGISTRY)
    assert run.returncode == 1
    assert strict_json(run.stderr) == {
        "kind": "Unreachable", "scope": "diagram", "disposals": [], "omitted": 0,
    }  # fmt: skip
    for result in (check, render, run):
        assert "UnreachableWarning" not in result.stderr
        assert "sys.exit" not in result.stderr


def test_missing_diagram_file_is_wrong_usage(tmp_path: Path) -> None:
    """A diagram file that cannot be read is wrong usage (exit 2), with the usage of the
    subcommand; a file that is not a diagram has problems (exit 3)."""
    missing = str(tmp_path / "missing.json")
    for args in (["check", missing], ["run", missing, "4"], ["render", missing]):
        result = crossflow(*args, "--registry", REGISTRY)
        assert result.returncode == 2
        lines = result.stderr.splitlines()
        assert lines[0].startswith(f"usage: crossflow {args[0]} ")
        assert lines[-1] == (
            f"crossflow {args[0]}: error: cannot read the diagram file {missing!r}: "
            "No such file or directory"
        )
    not_json = tmp_path / "broken.json"
    not_json.write_text("{", encoding="utf-8")
    assert crossflow("check", str(not_json), "--registry", REGISTRY).returncode == 3


def test_usage_errors_show_the_subcommands_usage() -> None:
    """An error found after the arguments were read (a registry that cannot be loaded)
    prints the usage of the subcommand, not of `crossflow`."""
    result = crossflow("registry", "--registry", "no_such_module:registry")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].startswith("usage: crossflow registry ")
    assert "crossflow registry: error: cannot import 'no_such_module'" in result.stderr


@pytest.mark.parametrize("name", ["clone_from_buffer.json", "fibonacci.json"])
def test_render_without_a_registry_draws_stand_ins(name: str) -> None:
    """Without `--registry`, `render` draws the diagram's structure: each node a stand-in
    named after its operation and its builder (API §7)."""
    result = crossflow("render", str(CALCULATOR / name), "--format", "mermaid")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    document = json.loads((CALCULATOR / name).read_text(encoding="utf-8"))
    for op_id, op in document["ops"].items():
        if op["type"] == "node":
            assert f"{op_id} ({op['builder']})" in result.stdout
