"""Bake a pie: a workflow of three steps, built as one chain."""

import crossflow as cf


# --8<-- [start:services]
def chop(apples: int) -> list[str]:
    """Cut every apple into four slices."""
    return [f"slice {n}" for n in range(apples * 4)]


def bake(slices: list[str]) -> str:
    """Bake the slices into a pie."""
    return f"an apple pie with {len(slices)} slices"


# --8<-- [end:services]
# --8<-- [start:workflow]
@cf.workflow
def pie(scope: cf.Scope[int, str], builder: cf.Builder) -> None:
    builder.chain(scope.start).then(chop).then(bake).map(str.capitalize).connect(scope.terminate)


# --8<-- [end:workflow]
if __name__ == "__main__":
    print(pie.run_sync(3))
