"""W10 floor: the same 1,000 tiny functions submitted with client.submit and gathered with
client.gather from plain code, on the same kind of in-process Dask cluster."""

from _common import REPEATS, W10_CALLS, check, now, w10_cluster, w10_emit, w10_tiny

if __name__ == "__main__":
    cluster, client = w10_cluster()
    with cluster, client:
        times = []
        for i in range(REPEATS + 1):
            t = now()
            futures = [client.submit(w10_tiny, x, pure=False) for x in range(W10_CALLS)]
            result = client.gather(futures)
            del futures
            elapsed = now() - t
            check(sorted(result) == list(range(1, W10_CALLS + 1)), "wrong result")
            if i:
                times.append(elapsed)
    w10_emit("floor: dask", "client.submit + client.gather", times)
