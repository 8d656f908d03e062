"""Timing of the statistics hot paths (plain script: ``python benchmarks/bench_analysis.py``).

Targets, checked at the end (exit status 1 if one is missed):

* ``pool`` REML with k = 20: <= 0.2 ms per call (``pool`` is called thousands of times in a
  book build);
* ``pool_many`` DL + Knapp-Hartung on 100,000 meta-analyses of k = 10: <= 0.1 s.

The other lines (every method of ``pool`` and ``pool_many``, tau^2 alone, meta-regression,
trim-and-fill) are for information. Each figure is the best of several repeats, so that other
processes on the machine disturb it as little as possible. This is a benchmark, not a test:
timings depend on the machine and its load.
"""

from __future__ import annotations

import sys
import time
import timeit
from collections.abc import Callable

import numpy as np

from analysis import meta_regression, pool, pool_many, trim_and_fill
from analysis.stats import tau2

POOL_REML_MS = 0.2
POOL_MANY_DL_HKSJ_S = 0.1


def per_call_ms(func: Callable[[], object], number: int = 2000, repeat: int = 7) -> float:
    """Best-of-``repeat`` milliseconds per call of ``func``."""
    func()
    return min(timeit.repeat(func, number=number, repeat=repeat)) / number * 1e3


def _studies(k: int, seed: int = 20) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(-0.5, 0.4, k), rng.uniform(0.02, 0.2, k)


def bench_pool(k: int = 20, method: str = "REML") -> float:
    """Milliseconds per ``pool(method=...)`` call on k studies."""
    y, v = _studies(k)
    return per_call_ms(lambda: pool(y, v, method=method))


def bench_tau2(k: int = 20, method: str = "REML") -> float:
    """Milliseconds per ``tau2.estimate`` call (the engine alone, intercept-only)."""
    y, v = _studies(k)
    return per_call_ms(lambda: tau2.estimate(y, v, method=method))


def bench_meta_regression(k: int = 20, method: str = "REML") -> float:
    """Milliseconds per ``meta_regression`` call with one moderator."""
    y, v = _studies(k)
    x = np.random.default_rng(21).normal(size=k)
    return per_call_ms(lambda: meta_regression(y, v, x, method=method), number=500)


def bench_trim_and_fill(k: int = 20, method: str = "REML") -> float:
    """Milliseconds per ``trim_and_fill`` call."""
    y, v = _studies(k)
    return per_call_ms(lambda: trim_and_fill(y, v, method=method), number=200)


def bench_pool_many(
    m: int = 100_000, k: int = 10, method: str = "DL", hksj: bool = True, repeat: int = 5
) -> float:
    """Best-of-``repeat`` seconds for ``pool_many`` on an (m, k) problem."""
    rng = np.random.default_rng(10)
    y = rng.normal(-0.5, 0.4, (m, k))
    v = rng.uniform(0.02, 0.2, (m, k))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        pool_many(y, v, method=method, hksj=hksj)
        best = min(best, time.perf_counter() - start)
    return best


def _line(label: str, value: str) -> None:
    print(f"{label:<44}{value}")


def main() -> int:
    """Print the figures; return 1 if a target is missed."""
    reml_ms = bench_pool()
    _line("pool REML, k=20:", f"{reml_ms:.4f} ms/call (target <= {POOL_REML_MS})")
    for method in ("DL", "PM", "FE"):
        _line(f"pool {method}, k=20 (info):", f"{bench_pool(method=method):.4f} ms/call")
    for method in ("REML", "PM", "DL"):
        _line(f"tau2.estimate {method}, k=20 (info):", f"{bench_tau2(method=method):.4f} ms/call")
    _line("meta_regression REML, k=20 (info):", f"{bench_meta_regression():.4f} ms/call")
    _line("trim_and_fill REML, k=20 (info):", f"{bench_trim_and_fill():.4f} ms/call")
    many_s = bench_pool_many()
    _line("pool_many DL+HKSJ, 100,000 x k=10:", f"{many_s:.3f} s (target <= {POOL_MANY_DL_HKSJ_S})")
    for method in ("REML", "PM", "FE"):
        secs = bench_pool_many(method=method, hksj=False, repeat=3)
        _line(f"pool_many {method}, 100,000 x k=10 (info):", f"{secs:.3f} s")
    missed = [
        name
        for name, value, target in (
            ("pool REML", reml_ms, POOL_REML_MS),
            ("pool_many DL+HKSJ", many_s, POOL_MANY_DL_HKSJ_S),
        )
        if value > target
    ]
    if missed:
        print("missed target: " + ", ".join(missed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
