"""crossflow's JSON diagrams: load, check, build and run them with Python node builders.

```python
from crossflow import diagram

registry = diagram.Registry()

@registry.node_builder("mul", config=float | None, response=float)
def mul(builder, config):
    return builder.create_node(lambda x: x * (1.0 if config is None else config))

d = diagram.Diagram.from_file("multiply_by_3.json")
problems = d.check(registry)      # every problem at once, [] when sound
wf = d.build(registry)            # a cf.Workflow; raises DiagramError with the same list
wf.run_sync(4)                    # 12.0
```

* `Diagram`: a diagram document (crossflow's schema, version 0.1.x);
* `Registry`: the node and section builders diagrams refer to, and their metadata;
* `Section`: what a section builder returns;
* `Problem` / `DiagramError`: what is wrong with a diagram, with JSON pointers;
* `ImplicitCancel`: the error of a step that reached the diagram's `implicit_cancel`.
"""

from __future__ import annotations

import contextlib

from crossflow._diagram._diagram import Diagram as Diagram
from crossflow._diagram._problems import DiagramError as DiagramError
from crossflow._diagram._problems import ImplicitCancel as ImplicitCancel
from crossflow._diagram._problems import Problem as Problem
from crossflow._diagram._registry import Registry as Registry
from crossflow._diagram._registry import Section as Section

__all__ = (
    "Diagram",
    "DiagramError",
    "ImplicitCancel",
    "Problem",
    "Registry",
    "Section",
)


def _fix_module_names() -> None:
    # reprs and tracebacks say crossflow.diagram.Diagram, not the private module
    for name in __all__:
        obj = globals()[name]
        with contextlib.suppress(AttributeError, TypeError):
            obj.__module__ = __name__


_fix_module_names()
