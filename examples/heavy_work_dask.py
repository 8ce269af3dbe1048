"""Blocking services on a Dask cluster: an in-process cluster here; the same code runs on
a real one, given a client of its scheduler."""

from __future__ import annotations

from distributed import Client, LocalCluster

import crossflow as cf


def simulate(seed: int) -> float:
    # runs on a Dask worker: the function and its messages are pickled
    value = float(seed)
    for _ in range(100_000):
        value = (value * 1.000001) % 97.0
    return round(value, 3)


def build(client: Client) -> cf.Workflow[list[int], list[float]]:
    @cf.workflow
    def simulations(scope: cf.Scope[list[int], list[float]], builder: cf.Builder) -> None:
        (
            builder.chain(scope.start)
            .spread()
            .then(simulate, executor=cf.DaskExecutor(client), timeout=60.0)
            .collect_all()
            .connect(scope.terminate)
        )

    return simulations


if __name__ == "__main__":
    with (
        LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        print(sorted(build(client).run_sync([1, 2, 3, 4])))
