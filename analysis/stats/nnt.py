"""Numbers needed to treat.

Sign convention: the returned NNT is **positive for benefit (NNTB)** and **negative for harm
(NNTH; its absolute value is the number needed to treat for one additional person to be
harmed)**; ``inf`` when the effect is null (no difference in event rates).

From a standardised mean difference (Furukawa & Leucht, 2011), with control event rate
``cer`` of a *good* event (e.g. response) and ``d`` the SMD oriented so that positive favours
the intervention::

    NNT = 1 / (Phi(d + Phi^-1(cer)) - cer)

Our SMDs are intervention minus control on symptom scales, so psychotherapy that lowers
symptoms gives a *negative* SMD: with ``smd_lower_is_better=True`` (default) ``d = -smd``.
If ``cer`` is the rate of a *bad* event (e.g. relapse) pass ``event_is_good=False``; the
intervention event rate is then ``Phi(Phi^-1(cer) - d)`` and NNT = ``1 / (cer - eer)``.

From a risk ratio (ratio scale) and control risk: ``eer = cer * rr`` and
``NNT = 1 / (eer - cer) = 1 / (cer (rr - 1))`` for a good event, ``1 / (cer (1 - rr))`` for a
bad event.
"""

from __future__ import annotations

import math

from scipy import special

__all__ = ["nnt", "nnt_from_counts", "risk_with_intervention"]


def risk_with_intervention(ratio: float, cer: float, measure: str = "RR") -> float:
    """The intervention group's risk implied by a ratio and the control risk ``cer``.

    ``"RR"``: ``cer * rr`` (capped at 1); ``"OR"``: ``or * cer / (1 - cer + or * cer)``
    (Cochrane Handbook 15.4.4). ``ratio`` is on the ratio scale (> 0), ``cer`` in [0, 1].
    """
    if not (ratio > 0 and 0.0 <= cer <= 1.0):
        raise ValueError(f"need ratio > 0 and 0 <= cer <= 1, got {ratio!r}, {cer!r}")
    key = str(measure).upper()
    if key == "RR":
        return min(1.0, cer * ratio)
    if key == "OR":
        return ratio * cer / (1.0 - cer + ratio * cer)
    raise ValueError(f"measure must be 'RR' or 'OR', got {measure!r}")


def _inv(diff: float) -> float:
    return math.inf if diff == 0 else 1.0 / diff


def nnt(
    smd: float | None = None,
    *,
    cer: float,
    rr: float | None = None,
    smd_lower_is_better: bool = True,
    event_is_good: bool = True,
) -> float:
    """Number needed to treat from an SMD (Furukawa & Leucht) or from a risk ratio.

    Parameters
    ----------
    smd : float, optional
        Standardised mean difference (intervention minus control). Give exactly one of
        ``smd`` and ``rr``.
    cer : float
        Control event rate, in (0, 1).
    rr : float, optional
        Risk ratio (intervention / control) on the ratio scale, > 0.
    smd_lower_is_better : bool
        True (default) when a negative SMD favours the intervention (symptom scales).
    event_is_good : bool
        True when the event counted by ``cer`` (and ``rr``) is desirable, e.g. response or
        remission; False for relapse, dropout, adverse events.

    Returns
    -------
    float
        Positive = NNTB, negative = NNTH, ``inf`` for no effect.
    """
    if (smd is None) == (rr is None):
        raise ValueError("give exactly one of smd and rr")
    cer = float(cer)
    if not 0.0 < cer < 1.0:
        raise ValueError(f"cer must be in (0, 1), got {cer}")
    if smd is not None:
        d = float(smd)
        if not math.isfinite(d):
            raise ValueError("smd must be finite")
        if smd_lower_is_better:
            d = -d
        if d == 0:
            return math.inf
        if event_is_good:
            eer = float(special.ndtr(d + special.ndtri(cer)))
            return _inv(eer - cer)
        eer = float(special.ndtr(special.ndtri(cer) - d))
        return _inv(cer - eer)
    ratio = float(rr)  # type: ignore[arg-type]
    if not (ratio > 0 and math.isfinite(ratio)):
        raise ValueError(f"rr must be a positive finite ratio, got {rr}")
    diff = cer * (ratio - 1.0)
    return _inv(diff if event_is_good else -diff)


def nnt_from_counts(e1: float, n1: float, e2: float, n2: float) -> tuple[float, float, float]:
    """NNT for a desirable event from arm counts: ``1 / (e1/n1 - e2/n2)``, with a 95% CI.

    The interval inverts the Wald 95% interval of the risk difference (Altman 1998): bounds are
    ``1 / upper`` and ``1 / lower``; a bound is ``inf`` when the risk-difference interval
    reaches 0 or below on that side. Returns ``(nnt, ci_low, ci_high)``; ``nnt`` is ``inf``
    when the risk difference is 0 or negative (no benefit).
    """
    p1, p2 = e1 / n1, e2 / n2
    rd = p1 - p2
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    z = float(special.ndtri(0.975))
    lo, hi = rd - z * se, rd + z * se

    def inverse(x: float) -> float:
        return math.inf if x <= 0 else 1.0 / x

    return inverse(rd), inverse(hi), inverse(lo)
