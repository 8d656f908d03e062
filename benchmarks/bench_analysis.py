"""Timing of the hot paths (plain script: ``python benchmarks/bench_analysis.py``).

Targets: ``pool`` REML with k = 20 at <= 0.3 ms per call; ``pool_many`` DL + HKSJ on
100,000 meta-analyses of k = 10 in <= 1 s.
"""

from __future__ import annotations

import time
import timeit

import numpy as np

from analysis import pool, pool_many


def bench_pool_reml(k: int = 20, number: int = 2000, repeat: int = 5) -> float:
    """Best-of-``repeat`` milliseconds per ``pool(method="REML")`` call."""
    rng = np.random.default_rng(20)
    y = rng.normal(-0.5, 0.4, k)
    v = rng.uniform(0.02, 0.2, k)
    pool(y, v, method="REML")
    times = timeit.repeat(lambda: pool(y, v, method="REML"), number=number, repeat=repeat)
    return min(times) / number * 1e3


def bench_pool_many(m: int = 100_000, k: int = 10, method: str = "DL", hksj: bool = True) -> float:
    """Best-of-3 seconds for ``pool_many`` on an (m, k) problem."""
    rng = np.random.default_rng(10)
    y = rng.normal(-0.5, 0.4, (m, k))
    v = rng.uniform(0.02, 0.2, (m, k))
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        pool_many(y, v, method=method, hksj=hksj)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    """Print the figures."""
    ms = bench_pool_reml()
    print(f"pool REML, k=20:                        {ms:.4f} ms/call (target <= 0.3)")
    secs = bench_pool_many()
    print(f"pool_many DL+HKSJ, 100,000 x k=10:      {secs:.3f} s (target <= 1)")
    secs_reml = bench_pool_many(method="REML", hksj=False)
    print(f"pool_many REML, 100,000 x k=10 (info):  {secs_reml:.3f} s")


if __name__ == "__main__":
    main()
