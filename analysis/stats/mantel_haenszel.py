"""Mantel-Haenszel pooling of 2x2 tables (risk ratio, odds ratio), fixed and random effects.

Fixed effect (``random=False``, method ``"MH"``) matches metafor's ``rma.mh()``:

* RR: ``R = sum(a n2 / N)``, ``S = sum(c n1 / N)``, ``log RR_MH = log(R / S)`` with the
  Greenland-Robins variance ``sum((n1 n2 (a + c) - a c N) / N^2) / (R S)``.
* OR: ``R = sum(a d / N)``, ``S = sum(b c / N)`` with the Robins-Breslow-Greenland variance.

The MH estimate uses the raw counts (no continuity correction). Cochran's Q is
``sum(w_i (y_i - log MH)^2)`` with the per-study log ratios ``y_i`` and inverse-variance weights
``w_i = 1 / v_i`` computed as :func:`analysis.effect_size` does (0.5 added to all cells of a
study with a zero cell; double-zero studies left out of Q), ``I^2 = 100 max(0, (Q - df) / Q)``.

Random effects (``random=True``, method ``"MH-DL"``) is RevMan 5's random-effects method for
dichotomous data (DerSimonian and Laird, as documented in the RevMan 5 statistical methods
notes, Deeks & Higgins): the heterogeneity statistic is the Q above, computed around the
*Mantel-Haenszel* fixed-effect estimate;
``tau^2 = max(0, (Q - (k - 1)) / (sum(w) - sum(w^2) / sum(w)))`` (the DerSimonian-Laird moment
formula for a given Q, :func:`analysis.stats.tau2.dl_from_q`); the pooled log ratio is
``sum(w*_i y_i) / sum(w*_i)`` with ``w*_i = 1 / (v_i + tau^2)`` and SE ``1 / sqrt(sum(w*_i))``.
(The formula was implemented from the RevMan documentation as recalled; the library search only
confirmed the 0.5 zero-cell correction.)
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from analysis.stats import tau2 as tau2_engine
from analysis.stats._checks import check_level
from analysis.stats.effects import effect_size
from analysis.stats.pooling import PoolResult, _h2, assemble, summarise

__all__ = ["mantel_haenszel"]


def mantel_haenszel(
    e1: ArrayLike,
    n1: ArrayLike,
    e2: ArrayLike,
    n2: ArrayLike,
    measure: str = "RR",
    random: bool = False,
    level: float = 0.95,
) -> PoolResult:
    """Mantel-Haenszel meta-analysis of a risk ratio or odds ratio (log scale).

    Parameters
    ----------
    e1, n1, e2, n2 : array_like
        Events and group sizes in the intervention (1) and control (2) arms.
    measure : {"RR", "OR"}
        Effect measure; ``estimate``, ``ci_low``, ``ci_high`` are on the log scale.
    random : bool
        False: fixed-effect MH (metafor ``rma.mh``). True: RevMan's DerSimonian-Laird random
        effects with Q around the MH estimate (see the module docstring).
    level : float
        Confidence level.

    Returns
    -------
    PoolResult
        ``method`` is ``"MH"`` or ``"MH-DL"``. ``k`` counts all studies for MH (as rma.mh) and
        the studies with an estimable log ratio for MH-DL; ``q``/``q_df``/``i2`` use the
        estimable studies. ``weights`` are the MH weights (``c n1 / N`` for RR, ``b c / N`` for OR)
        or the random-effects weights, in percent, per input study (0 for studies left out).
    """
    key = str(measure).upper()
    if key not in ("RR", "OR"):
        raise ValueError(f"measure must be 'RR' or 'OR', got {measure!r}")
    level = check_level(level)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        es = effect_size(key, e1=e1, n1=n1, e2=e2, n2=n2)  # validates the counts
    a = np.asarray(e1, dtype=float)
    c = np.asarray(e2, dtype=float)
    m1 = np.asarray(n1, dtype=float)
    m2 = np.asarray(n2, dtype=float)
    b, d, big_n = m1 - a, m2 - c, m1 + m2
    if key == "RR":
        wr, ws = a * m2 / big_n, c * m1 / big_n
        r, s = wr.sum(), ws.sum()
        var = ((m1 * m2 * (a + c) - a * c * big_n) / big_n**2).sum() / (r * s)
    else:
        wr, ws = a * d / big_n, b * c / big_n
        r, s = wr.sum(), ws.sum()
        pr = ((a + d) / big_n * wr).sum()
        ps = ((a + d) / big_n * ws).sum()
        qr = ((b + c) / big_n * wr).sum()
        qs = ((b + c) / big_n * ws).sum()
        var = pr / (2 * r**2) + (ps + qr) / (2 * r * s) + qs / (2 * s**2)
    if r <= 0 or s <= 0:
        raise ValueError("Mantel-Haenszel estimate undefined: no events in one of the arms overall")
    est_mh = math.log(r / s)
    for wmsg in caught:
        warnings.warn(
            f"{wmsg.message} (excluded from Q; counts still enter the MH estimate)",
            wmsg.category,
            stacklevel=2,
        )
    y, v = es.yi, es.vi
    k_y = y.size
    if k_y >= 2:
        w = 1.0 / v
        q = float((w * (y - est_mh) ** 2).sum())
        q_df = k_y - 1
        q_p = float(special.chdtrc(q_df, q))
        i2 = 100.0 * max(0.0, (q - q_df) / q) if q > 0 else 0.0
    else:
        q, q_df, q_p, i2 = math.nan, 0, math.nan, math.nan
    if random:
        if k_y == 0:
            raise ValueError("no study has an estimable log ratio")
        if k_y >= 2:
            tau2 = tau2_engine.dl_from_q(q, v)
        else:
            tau2 = 0.0
        res = assemble(y, v, tau2, "DL", False, level, q_stats=(q, q_df, q_p, i2))
        full = np.zeros(es.dropped.size)
        full[es.index] = res.weights
        return PoolResult(**{**res.to_dict(), "method": "MH-DL", "weights": tuple(full.tolist())})
    h2 = _h2(v, 0.0, "FE", q, q_df) if k_y >= 2 else math.nan
    return summarise(
        est_mh,
        math.sqrt(var),
        math.inf,
        0.0,
        level,
        a.size,
        i2=i2,
        h2=h2,
        q=q,
        q_df=q_df,
        q_p=q_p,
        method="MH",
        hksj=False,
        weights=tuple((100.0 * ws / s).tolist()),
    )
