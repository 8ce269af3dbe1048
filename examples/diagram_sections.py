"""A section builder for crossflow's JSON diagrams: it exposes named inputs and outputs
that a diagram's `section` operation connects to (docs: reference/diagram.md)."""

from __future__ import annotations

from typing import Any

import crossflow as cf
from crossflow import diagram

registry = diagram.Registry()


# --8<-- [start:section]
@registry.section_builder("add_one", inputs={"value": int}, outputs={"added": int})
def add_one(builder: cf.Builder, config: Any, *, name: str) -> diagram.Section:
    node: cf.Node[int, int] = builder.create_node(lambda i: i + 1, name=f"{name}/add")
    return diagram.Section(inputs={"value": node.input}, outputs={"added": node.output})


# --8<-- [end:section]

# --8<-- [start:document]
DOCUMENT = {
    "version": "0.1.0",
    "start": {"plus": "value"},
    "ops": {
        "plus": {
            "type": "section",
            "builder": "add_one",
            "connect": {"added": {"builtin": "terminate"}},
        }
    },
}
# --8<-- [end:document]


def main() -> None:
    # --8<-- [start:run]
    workflow = diagram.Diagram.from_json(DOCUMENT).build(registry)
    print(workflow.run_sync(41))  # 42
    print([operation.name for operation in workflow.graph.operations])
    # --8<-- [end:run]


if __name__ == "__main__":
    main()
