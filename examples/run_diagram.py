"""Run crossflow's JSON diagrams from Python: a registry of node builders, a diagram
checked against it, built into a workflow and run (docs: how-to/diagrams.md)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import crossflow as cf
from crossflow import diagram

# --8<-- [start:registry]
registry = diagram.Registry()


@registry.node_builder(
    "mul",
    config=float | None,
    response=float,
    description="Multiply the input by the config.",
    config_examples=[("Triple it.", 3.0)],
)
def mul(builder: cf.Builder, config: float | None) -> cf.Node[Any, float]:
    factor = 1.0 if config is None else config
    return builder.create_node(lambda x: x * factor, name="mul")


# --8<-- [end:registry]


# --8<-- [start:types]
@dataclasses.dataclass
class Order:
    item: str
    quantity: int = 1


@registry.node_builder("price", request=Order, response=float, config=dict[str, float])
def price(builder: cf.Builder, config: dict[str, float]) -> cf.Node[Order, float]:
    return builder.create_node(lambda order: config[order.item] * order.quantity, name="price")


# --8<-- [end:types]

# --8<-- [start:document]
TRIPLE = {
    "version": "0.1.0",
    "start": "triple",
    "ops": {
        "triple": {
            "type": "node",
            "builder": "mul",
            "config": 3,
            "next": {"builtin": "terminate"},
        }
    },
}
# --8<-- [end:document]

PRICES = {
    "version": "0.1.0",
    "start": "price",
    "on_implicit_error": {"builtin": "terminate"},
    "ops": {
        "price": {
            "type": "node",
            "builder": "price",
            "config": {"tea": 4.0, "mug": 12.0},
            "next": {"builtin": "terminate"},
        }
    },
}

BROKEN = {
    "version": "0.1.0",
    "start": "triple",
    "ops": {
        "triple": {"type": "node", "builder": "mull", "config": "three", "next": "sum"},
    },
}


def main() -> None:
    # --8<-- [start:run]
    triple = diagram.Diagram.from_json(TRIPLE)
    assert triple.check(registry) == []
    workflow = triple.build(registry)
    print(workflow.run_sync(4))  # 12.0
    # --8<-- [end:run]

    # --8<-- [start:typed]
    prices = diagram.Diagram.from_json(PRICES).build(registry)
    print(prices.run_sync({"item": "mug", "quantity": 2}))  # 24.0
    print(prices.run_sync({"quantity": 2}))  # the conversion error, as text
    # --8<-- [end:typed]

    # --8<-- [start:problems]
    for problem in diagram.Diagram.from_json(BROKEN).check(registry):
        print(problem)
    try:
        diagram.Diagram.from_json(BROKEN).build(registry)
    except diagram.DiagramError as error:
        print(f"{len(error.problems)} problems")
    # --8<-- [end:problems]

    # --8<-- [start:file]
    from examples.calculator import registry as calculator

    folder = Path(__file__).parent / "calculator" / "diagrams"
    split_and_join = diagram.Diagram.from_file(folder / "split_and_join.json")
    print(split_and_join.build(calculator).run_sync([123, 456]))  # 16860.0
    # --8<-- [end:file]


if __name__ == "__main__":
    main()
