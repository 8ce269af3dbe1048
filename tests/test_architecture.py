"""The package's import graph: no cycles, and the layers import one way.

The graph is read from the source (every `import` and `from ... import`, module level or
inside functions), leaving out imports under `if TYPE_CHECKING:`, which only type
checkers follow.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "crossflow"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)  # the `else` branch does run
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_graph() -> dict[str, set[str]]:
    """module -> the crossflow modules it imports (at any depth, outside TYPE_CHECKING)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    prefix = ".".join(base + ([node.module] if node.module else []))
                else:
                    prefix = node.module or ""
                targets = [prefix] + [f"{prefix}.{alias.name}" for alias in node.names]
            for target in targets:
                # `from . import x` may name a module or an attribute: keep what exists
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and target.startswith("crossflow"):
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_import_cycles() -> None:
    """No module of crossflow imports, directly or not, one that imports it back."""
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


# Bottom to top: a module may import its own layer and the layers below it, never above.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "values",
        (
            "crossflow._version",
            "crossflow._text",
            "crossflow._errors",
            "crossflow._display",
            "crossflow._state",
            "crossflow._policy",
            "crossflow._results",
            "crossflow._arguments",
            "crossflow._settings",
            "crossflow._buffers",
            "crossflow._instructions",
            "crossflow._causes",
            "crossflow._ending",
            "crossflow.events",
            "crossflow._eventlog",
            "crossflow._keys",
            "crossflow._streams",
            "crossflow._executor",
        ),
    ),
    ("model", ("crossflow._model", "crossflow._analysis")),
    (
        "building",
        (
            "crossflow._handles",
            "crossflow._callables",
            "crossflow._services",
            "crossflow._providers",
            "crossflow._checks",
            "crossflow._operation_handles",
            "crossflow._draft",
            "crossflow._chain",
            "crossflow._builder",
            "crossflow._build",
        ),
    ),
    ("pictures", ("crossflow._viz",)),
    ("runtime", ("crossflow._runtime",)),
    ("front", ("crossflow._workflow", "crossflow._session", "crossflow._notebook")),
    ("diagrams", ("crossflow._diagram", "crossflow.diagram")),
    ("package", ("crossflow",)),
    ("tools", ("crossflow.testing", "crossflow._cli", "crossflow.__main__")),
]
# pictures and the runtime are side by side: neither may import the other
APART = {("pictures", "runtime"), ("runtime", "pictures")}


def layer_of(module: str) -> str:
    best = ("", "")
    for layer, prefixes in LAYERS:
        for prefix in prefixes:
            inside = module == prefix or (prefix != "crossflow" and module.startswith(prefix + "."))
            if inside and len(prefix) > len(best[1]):
                best = (layer, prefix)
    assert best[0], f"{module} belongs to no layer: add it to LAYERS in {__file__}"
    return best[0]


def test_layers_import_one_way() -> None:
    """Values at the bottom, then the graph model, building, the runtime and the pictures,
    the Workflow/Session front, diagrams, and the tools: imports only point down."""
    order = {layer: i for i, (layer, _) in enumerate(LAYERS)}
    wrong = []
    for module, targets in sorted(import_graph().items()):
        here = layer_of(module)
        for target in sorted(targets):
            there = layer_of(target)
            if order[there] > order[here] or (here, there) in APART:
                wrong.append(f"{module} ({here}) imports {target} ({there})")
    assert not wrong, "imports that point up:\n" + "\n".join(wrong)


def _private_uses(path: Path, attributes: bool) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("crossflow._"):
            yield f"{path.name}:{node.lineno}: imports {node.module}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("crossflow._"):
                    yield f"{path.name}:{node.lineno}: imports {alias.name}"
        elif attributes and isinstance(node, ast.Attribute):
            name = node.attr
            if name.startswith("_") and not name.startswith("__"):
                yield f"{path.name}:{node.lineno}: reads .{name}"


def test_benchmarks_and_examples_use_only_the_public_api() -> None:
    """The benchmarks and examples are run by users and outside the suite: they import no
    private module of crossflow, and the benchmarks read no private attribute, so a change
    inside the package cannot break them unnoticed."""
    root = Path(__file__).resolve().parent.parent
    found = [
        *(u for p in sorted((root / "benchmarks").glob("*.py")) for u in _private_uses(p, True)),
        *(u for p in sorted((root / "examples").rglob("*.py")) for u in _private_uses(p, False)),
    ]
    assert not found, "\n".join(found)
