"""Running code in a real Jupyter kernel, for tests of what notebook users see.

The kernel is ipykernel on this very interpreter (with whatever it has installed,
crossflow included), whatever `python3` kernel the machine may have registered. It
runs in the repository's root, with its own IPython directory, so nothing is read
from or written to the user's IPython or Jupyter settings.

* `make_notebook(*sources)` is a notebook of code cells; `execute_notebook(nb, tmp)`
  runs it top to bottom with nbclient, as "Run all" would, and returns it with its
  outputs.
* `Kernel` keeps one kernel for several cells and can interrupt one while it runs,
  as the stop button does.
* `stdout(outputs)` and `error(outputs)` read a cell's outputs.
"""

from __future__ import annotations

import json
import queue
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
KERNEL_NAME = "crossflow-tests"
TIMEOUT = 60  # seconds: a guard against a hung kernel, never a measurement


def kernel_manager(tmp: Path) -> KernelManager:
    """A manager for an ipykernel of this interpreter; its kernel spec lives in `tmp`."""
    spec = tmp / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [*argv, "--HistoryManager.enabled=False"],
                "display_name": "crossflow tests",
                "language": "python",
                "env": {"IPYTHONDIR": str(tmp / "ipython")},
            }
        ),
        encoding="utf-8",
    )
    specs = KernelSpecManager(kernel_dirs=[str(spec.parent)], ensure_native_kernel=False)
    return KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)


def make_notebook(*sources: str) -> nbformat.NotebookNode:
    """A notebook with one code cell per source."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return notebook


def execute_notebook(
    notebook: nbformat.NotebookNode, tmp: Path, *, allow_errors: bool = False
) -> nbformat.NotebookNode:
    """Run every cell of `notebook` in a fresh kernel, in order; the notebook, with outputs.

    Raises:
        nbclient.exceptions.CellExecutionError: a cell raised and `allow_errors` is false.
    """
    km = kernel_manager(tmp)
    client = NotebookClient(
        notebook,
        km=km,
        timeout=TIMEOUT,
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(ROOT)}},
    )
    # cleanup_kc: shut the kernel down and close the client's sockets afterwards, as
    # nbclient does when it makes the kernel manager itself
    return client.execute(cleanup_kc=True)


def stdout(outputs: Sequence[Mapping[str, Any]]) -> str:
    """Everything a cell printed to its standard output."""
    return "".join(
        str(output["text"])
        for output in outputs
        if output["output_type"] == "stream" and output["name"] == "stdout"
    )


def error(outputs: Sequence[Mapping[str, Any]]) -> tuple[str, str] | None:
    """The name and text of the exception a cell raised, if it raised one."""
    for output in outputs:
        if output["output_type"] == "error":
            return str(output["ename"]), str(output["evalue"])
    return None


class Kernel:
    """One running kernel, to run cells in and interrupt; use it as a context manager."""

    def __init__(self, tmp: Path) -> None:
        self.manager = kernel_manager(tmp)
        self.manager.start_kernel(cwd=str(ROOT))
        self.client = self.manager.blocking_client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=TIMEOUT)

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    def run(self, source: str, *, interrupt_on: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Run one cell and return its outputs once the kernel is idle again.

        Each text of `interrupt_on`, in turn, interrupts the kernel once the cell's
        standard output shows it (as the notebook's stop button does: SIGINT).

        Raises:
            AssertionError: the cell ended before every interrupt was sent.
        """
        msg_id = self.client.execute(source)
        outputs: list[dict[str, Any]] = []
        waiting_for = list(interrupt_on)
        while True:
            try:
                msg = self.client.get_iopub_msg(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"the cell did not end; its outputs: {outputs}") from None
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content["execution_state"] == "idle":
                break
            if kind in ("stream", "error", "execute_result", "display_data"):
                outputs.append(dict(nbformat.v4.output_from_msg(msg)))
            if waiting_for and waiting_for[0] in stdout(outputs):
                waiting_for.pop(0)
                self.manager.interrupt_kernel()
        reply = self.client.get_shell_msg(timeout=TIMEOUT)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert not waiting_for, f"the cell ended before printing {waiting_for[0]!r}: {outputs}"
        return outputs
