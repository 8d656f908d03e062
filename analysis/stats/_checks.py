"""Shared input checks for the statistical modules (private)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray


def as_float_1d(name: str, values: ArrayLike, *, allow_nan: bool = False) -> NDArray[np.float64]:
    """Convert ``values`` to a 1-D float array, rejecting NaN/inf (unless ``allow_nan``).

    Raises
    ------
    ValueError
        If the input is not 1-D, not numeric or contains non-finite values; the message
        names the argument and the first offending position.
    """
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric") from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if allow_nan:
        bad &= ~np.isnan(arr)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} contains a non-finite value ({arr[pos]}) at position {pos}")
    return arr


def same_length(**arrays: Sequence[float] | NDArray[np.float64]) -> int:
    """Check that all arrays have the same length and return it."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{n}={v}" for n, v in lengths.items())
        raise ValueError(f"inputs have mismatched lengths: {detail}")
    return next(iter(lengths.values())) if lengths else 0


def require_positive(name: str, arr: NDArray[np.float64]) -> None:
    """Raise ValueError naming the first position where ``arr <= 0``."""
    bad = ~(arr > 0)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be > 0; got {arr[pos]} at position {pos}")


def require_at_least(name: str, arr: NDArray[np.float64], minimum: float) -> None:
    """Raise ValueError naming the first position where ``arr < minimum``."""
    bad = arr < minimum
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be >= {minimum}; got {arr[pos]} at position {pos}")


def require_integer(name: str, arr: NDArray[np.float64]) -> None:
    """Raise ValueError naming the first non-integer position."""
    bad = arr != np.round(arr)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be whole numbers; got {arr[pos]} at position {pos}")


def check_level(level: float) -> float:
    """Validate a confidence level in (0, 1)."""
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    return level


def check_yi_vi(yi: ArrayLike, vi: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate effect sizes and sampling variances (finite, equal length, vi > 0, k >= 1)."""
    y = as_float_1d("yi", yi)
    v = as_float_1d("vi", vi)
    same_length(yi=y, vi=v)
    if y.size == 0:
        raise ValueError("at least one study is required")
    require_positive("vi", v)
    return y, v
