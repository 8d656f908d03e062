"""Tests for analysis.plots: every plot renders for 1-40 studies with no overlapping text."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import dataclasses  # noqa: E402
import itertools  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Polygon  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from analysis import plots  # noqa: E402
from analysis.stats.mantel_haenszel import mantel_haenszel  # noqa: E402
from analysis.stats.pooling import PoolResult, pool  # noqa: E402
from analysis.stats.subgroups import SubgroupResult, subgroups  # noqa: E402

SIZES = (1, 2, 10, 40)
NAMES = [
    "Cladder-Micus 2018 (MBCT)",
    "Wiles 2013 (CoBalT)",
    "Town 2017 (ISTDP)",
    "Fonagy 2015 (Tavistock LTPP)",
    "Eisendrath 2016",
    "Nakagawa 2017",
]
DOMAINS = [
    "Randomisation process",
    "Deviations from intended interventions",
    "Missing outcome data",
    "Measurement of the outcome",
    "Selection of the reported result",
    "Overall",
]


# ---------------------------------------------------------------------------- helpers
@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def labels_for(k: int) -> list[str]:
    return [NAMES[i] if i < len(NAMES) else f"Author{i} {1990 + i % 35}" for i in range(k)]


def continuous(k: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n1, n2 = rng.integers(10, 250, k), rng.integers(10, 250, k)
    m1 = rng.normal(14, 3, k).round(1)
    m2 = (m1 + rng.normal(3, 2, k)).round(1)
    sd1, sd2 = rng.uniform(4, 9, k).round(1), rng.uniform(4, 9, k).round(1)
    sp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2))
    yi = (m1 - m2) / sp
    vi = 1 / n1 + 1 / n2 + yi**2 / (2 * (n1 + n2))
    return pd.DataFrame(
        {
            "label": labels_for(k),
            "yi": yi,
            "vi": vi,
            "m1i": m1,
            "sd1i": sd1,
            "n1i": n1,
            "m2i": m2,
            "sd2i": sd2,
            "n2i": n2,
            "group": rng.choice(["CBT", "Third-wave therapies", "Psychodynamic"], k),
        }
    )


def dichotomous(k: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ai, ci = rng.integers(1, 40, k), rng.integers(1, 40, k)
    n1, n2 = ai + rng.integers(5, 80, k), ci + rng.integers(5, 80, k)
    yi = np.log((ai / n1) / (ci / n2))
    vi = 1 / ai - 1 / n1 + 1 / ci - 1 / n2
    return pd.DataFrame(
        {"label": labels_for(k), "yi": yi, "vi": vi, "ai": ai, "n1i": n1, "ci": ci, "n2i": n2}
    )


def rob_data(k: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cats = ["low", "some concerns", "high"]
    rows = [(s, d, cats[rng.choice(3, p=[0.5, 0.3, 0.2])]) for s in labels_for(k) for d in DOMAINS]
    return pd.DataFrame(rows, columns=["study_id", "domain", "judgement"])


def fit(df: pd.DataFrame, method: str = "REML", hksj: bool = False) -> PoolResult:
    """The fitted result a caller passes to the plots (one study: the study itself)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "heterogeneity ... with one study"
        return pool(df["yi"], df["vi"], method=method, hksj=hksj)


def fit_subgroups(df: pd.DataFrame, method: str = "REML", hksj: bool = False) -> SubgroupResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # one-study subgroups
        return subgroups(df["yi"], df["vi"], df["group"], method=method, hksj=hksj)


def forest_texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def weight_texts(texts: list[str]) -> list[str]:
    """The weight column's cells (``"12.3%"``), top to bottom."""
    return [t for t in texts if re.fullmatch(r"\d+\.\d%", t)]


def visible_texts(fig: Figure) -> tuple[list[Text], object]:
    """Draw ``fig`` and return its drawn, non-empty Text artists and the renderer."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    out: list[Text] = []
    for t in fig.findobj(Text):
        if not t.get_visible() or not t.get_text().strip():
            continue
        # skip tick labels of ticks outside the view interval (not drawn)
        axis = _tick_axis(t, fig)
        if axis is not None and not axis:
            continue
        out.append(t)
    return out, renderer


def _tick_axis(t: Text, fig: Figure) -> bool | None:
    for ax in fig.get_axes():
        for axis, lim in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if t is tick.label1 or t is tick.label2:
                    lo, hi = sorted(lim)
                    loc = tick.get_loc()
                    return (
                        bool(t.get_visible())
                        and lo - 1e-9 * abs(hi - lo) <= loc <= hi + 1e-9 * abs(hi - lo)
                        and (t is tick.label1 and tick.label1.get_visible())
                    )
    return None


def assert_no_overlap(fig: Figure, tol: float = 0.5) -> list[Text]:
    texts, renderer = visible_texts(fig)
    boxes = [(t, t.get_window_extent(renderer)) for t in texts]
    fig_box = fig.bbox
    for t, b in boxes:
        assert b.x0 >= fig_box.x0 - 1 and b.x1 <= fig_box.x1 + 1, f"text off figure: {t!r}"
        assert b.y0 >= fig_box.y0 - 1 and b.y1 <= fig_box.y1 + 1, f"text off figure: {t!r}"
    for (t1, b1), (t2, b2) in itertools.combinations(boxes, 2):
        dx = min(b1.x1, b2.x1) - max(b1.x0, b2.x0)
        dy = min(b1.y1, b2.y1) - max(b1.y0, b2.y0)
        assert not (dx > tol and dy > tol), (
            f"overlapping text: {t1.get_text()!r} {b1} and {t2.get_text()!r} {b2}"
        )
    return texts


def count_labels(fig: Figure, labels: list[str]) -> int:
    wanted = set(labels)
    return sum(1 for t in fig.findobj(Text) if t.get_text() in wanted and t.get_visible())


def check_alt(fig: Figure, k: int) -> str:
    text = plots.alt_text(fig)
    assert text and text == fig.alt_text
    pattern = rf"\b({k} (comparison|stud)|a single comparison\b)" if k == 1 else \
        rf"\b{k} (comparison|stud)"
    assert re.search(pattern, text), text
    return text


def test_forest_alt_names_comparisons_whose_interval_excludes_the_pooled_estimate():
    """The alt text says which comparisons lie away from the pooled estimate (their 95% CI,
    y +/- 1.96 sqrt(v), excludes it), as a sighted reader sees on the plot."""
    yi = np.array([-0.3, -0.25, -0.35, -0.2, -1.6])
    vi = np.array([0.02, 0.03, 0.025, 0.04, 0.03])
    labels = ["A 2001", "B 2002", "C 2003", "D 2004", "Far 2005"]
    fit = pool(yi, vi, method="REML")
    z = 1.959963984540054
    away = [lab for lab, y, v in zip(labels, yi, vi, strict=True)
            if y - z * np.sqrt(v) > fit.estimate or y + z * np.sqrt(v) < fit.estimate]  # fmt: skip
    assert away == ["Far 2005"]  # the example is what it claims to be
    fig = plots.forest_plot(pd.DataFrame({"label": labels, "yi": yi, "vi": vi}), fit, measure="SMD")
    text = check_alt(fig, 5)
    assert "1 of the 5 comparisons has an interval that excludes the pooled estimate: Far 2005." \
        in text
    close = plots.forest_plot(pd.DataFrame({"label": labels[:4], "yi": yi[:4], "vi": vi[:4]}),
                        pool(yi[:4], vi[:4], method="REML"), measure="SMD")  # fmt: skip
    assert "Every comparison's interval includes the pooled estimate." in plots.alt_text(close)


# ---------------------------------------------------------------------------- general
def test_palette_is_okabe_ito():
    assert len(plots.PALETTE) == 8
    assert plots.PALETTE["vermillion"] == "#D55E00"
    assert all(c.startswith("#") and len(c) == 7 for c in plots.PALETTE.values())


def test_alt_text_fallback_for_foreign_figure():
    fig = Figure()
    fig.add_subplot().set_title("Something")
    assert "Something" in plots.alt_text(fig)


def test_overlap_checker_detects_overlap():
    fig = Figure(figsize=(3, 2))
    fig.text(0.5, 0.5, "overlapping")
    fig.text(0.52, 0.5, "text here")
    with pytest.raises(AssertionError, match="overlapping text"):
        assert_no_overlap(fig)


def test_figures_are_not_registered_with_pyplot():
    before = plt.get_fignums()
    df = continuous(3)
    plots.forest_plot(df, fit(df))
    assert plt.get_fignums() == before


FIGURE_MODULES = ("forest", "funnel", "rob", "cumulative", "prisma", "specification")


def imported_after(statement: str) -> set[str]:
    """The ``analysis`` modules a fresh interpreter has imported after running ``statement``."""
    code = (
        f"import sys; {statement}; "
        "print('\\n'.join(m for m in sys.modules if m == 'analysis' or m.startswith('analysis.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


@pytest.mark.parametrize("module", FIGURE_MODULES)
def test_figure_module_imports_no_other_figure_module(module):
    loaded = imported_after(f"import analysis.plots.{module}")
    assert f"analysis.plots.{module}" in loaded
    others = {f"analysis.plots.{m}" for m in FIGURE_MODULES if m != module}
    assert not loaded & others
    # layering: plots may use the statistics core, never the data, review or build layers
    assert not {m for m in loaded if m.split(".")[1:2] in (["evidence"], ["review"], ["book"])}


@pytest.mark.parametrize("module", FIGURE_MODULES)
def test_figure_module_does_not_import_scipy_stats(module):
    # scipy.stats costs ~0.3 s to import and the statistics core avoids it (scipy.special)
    code = f"import sys, analysis.plots.{module}; print('scipy.stats' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_lazy_reexport_imports_only_the_module_needed():
    loaded = imported_after("from analysis.plots import funnel_plot")
    assert "analysis.plots.funnel" in loaded and "analysis.plots.forest" not in loaded
    assert (
        imported_after("import analysis.plots") & {f"analysis.plots.{m}" for m in FIGURE_MODULES}
        == set()
    )
    assert set(plots.__all__) == {
        "MIN_TEXT_PT",
        "PALETTE",
        "alt_text",
        "attach",
        "cumulative_plot",
        "forest_plot",
        "funnel_plot",
        "prisma_flow",
        "rob_plot",
        "specification_curve",
    }
    assert plots.forest_plot.__module__ == "analysis.plots.forest"


# ---------------------------------------------------------------------------- forest
@pytest.mark.parametrize("k", SIZES)
def test_forest_continuous(k):
    df = continuous(k, seed=k)
    fig = plots.forest_plot(df, fit(df), measure="SMD", title="Depression severity")
    assert_no_overlap(fig)
    assert count_labels(fig, list(df["label"])) == k
    assert fig.plot_info["k"] == k
    check_alt(fig, k)
    texts = [t.get_text() for t in fig.findobj(Text)]
    assert any(t.startswith("Total") for t in texts)
    assert ("Prediction interval" in texts) == (k >= 3)
    assert "Favours psychotherapy" in texts and "Favours control" in texts
    assert "IV, Random (REML), 95% CI" in texts


@pytest.mark.parametrize("k", SIZES)
def test_forest_dichotomous_ratio_log_scale(k):
    df = dichotomous(k, seed=10 + k)
    fig = plots.forest_plot(df, fit(df), measure="RR", higher_favours_treatment=True)
    assert fig.get_axes()[0].get_xscale() == "log"
    assert_no_overlap(fig)
    assert count_labels(fig, list(df["label"])) == k
    texts = [t.get_text() for t in fig.findobj(Text)]
    assert "Events" in texts
    # effect text is exponentiated
    i = int(np.argmax(df["yi"]))
    assert any(t.startswith(f"{math.exp(df['yi'][i]):.2f}") for t in texts)
    check_alt(fig, k)


@pytest.mark.parametrize("k", SIZES)
def test_forest_subgroups(k):
    df = continuous(k, seed=20 + k)
    hksj = k > 2
    pooled, sg = fit(df, hksj=hksj), fit_subgroups(df, hksj=hksj)
    fig = plots.forest_plot(df, pooled, subgroups=sg, group="group")
    assert_no_overlap(fig)
    assert count_labels(fig, list(df["label"])) == k
    texts = [t.get_text() for t in fig.findobj(Text)]
    groups = list(dict.fromkeys(df["group"]))
    assert all(g in texts for g in groups)
    assert sum(t.startswith("Subtotal") for t in texts) == len(groups)
    assert any(t.startswith("Test for subgroup differences") for t in texts) == (len(groups) > 1)
    assert fig.plot_info["groups"] == groups
    check_alt(fig, k)


def test_forest_extreme_cis_and_arrays():
    rng = np.random.default_rng(3)
    yi = rng.normal(-0.4, 0.3, 10)
    vi = rng.uniform(0.01, 0.08, 10)
    vi[2], vi[7] = 25.0, 4.0  # very wide intervals
    yi[5] = -6.0  # estimate far outside the default axis
    fig = plots.forest_plot(
        None, pool(yi, vi), yi=yi, vi=vi, label=labels_for(10), measure="g", arms=None
    )
    assert_no_overlap(fig)
    lo, hi = fig.get_axes()[0].get_xlim()
    assert lo < 0 < hi and hi - lo < 20  # axis not blown up by the extreme CIs
    check_alt(fig, 10)


def test_forest_from_confidence_limits_ratio_with_xlim():
    yi = np.log([0.5, 0.8, 1.2, 2.0])
    lo, hi = yi - 0.4, yi + 0.6
    fig = plots.forest_plot(
        None,
        pool(yi, ((hi - lo) / (2 * 1.959964)) ** 2),
        yi=yi,
        vi=None,
        ci_low=lo,
        ci_high=hi,
        label=["A 2001", "B 2002", "C 2003", "D 2004"],
        measure="OR",
        arms=None,
        xlim=(0.1, 10),
    )
    assert fig.get_axes()[0].get_xlim() == pytest.approx((0.1, 10))
    assert_no_overlap(fig)
    texts = [t.get_text() for t in fig.findobj(Text)]
    assert f"{0.5:.2f} [{math.exp(lo[0]):.2f}, {math.exp(hi[0]):.2f}]" in texts
    check_alt(fig, 4)


def test_forest_custom_favours_and_fixed_effect():
    df = continuous(5, seed=5)
    fig = plots.forest_plot(df, fit(df, "FE"), favours=("Favours MBCT", "Favours TAU"))
    texts = [t.get_text() for t in fig.findobj(Text)]
    assert "Favours MBCT" in texts and "Favours TAU" in texts
    assert "IV, Fixed, 95% CI" in texts
    assert_no_overlap(fig)


def test_forest_overall_test_is_t_with_df_under_hksj_else_z():
    df = continuous(8, seed=8)
    hk = fit(df, hksj=True)
    texts = forest_texts(plots.forest_plot(df, hk))
    # Knapp-Hartung: a t test on k - 1 = 7 degrees of freedom
    assert any(
        t.startswith(f"Test for overall effect: t = {abs(hk.stat):.2f}, df = 7 (") for t in texts
    )
    assert "IV, Random (REML), HKSJ, 95% CI" in texts
    z = fit(df)
    texts = forest_texts(plots.forest_plot(df, z))
    assert any(t.startswith(f"Test for overall effect: Z = {abs(z.stat):.2f} (") for t in texts)


def test_forest_names_the_modified_knapp_hartung_method():
    """A result fitted with test="adhoc" is labelled as the modified method (not plain HKSJ)
    and still reports a t test on k - 1 degrees of freedom."""
    df = continuous(8, seed=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ad = pool(df["yi"], df["vi"], method="REML", test="adhoc")
    fig = plots.forest_plot(df, ad)
    texts = forest_texts(fig)
    assert "IV, Random (REML), modified HKSJ, 95% CI" in texts
    assert "IV, Random (REML), HKSJ, 95% CI" not in texts
    assert any(t.startswith("Test for overall effect: t = ") and "df = 7" in t for t in texts)
    assert "random-effects (REML, modified HKSJ)" in plots.alt_text(fig)


def test_forest_draws_the_result_passed_in_not_a_re_pooled_one():
    df = continuous(4, seed=44)
    fitted = fit(df)
    # a result no pooling of these data gives: the plot must show exactly these numbers
    given = dataclasses.replace(
        fitted, estimate=-1.234, ci_low=-1.5, ci_high=-0.9, weights=(10.0, 20.0, 30.0, 40.0)
    )
    fig = plots.forest_plot(df, given, arms=None, prediction_interval=False)
    texts = forest_texts(fig)
    assert "−1.23 [−1.50, −0.90]" in texts
    assert f"{fitted.estimate:.2f}".replace("-", "−") not in " ".join(texts)
    assert weight_texts(texts) == ["10.0%", "20.0%", "30.0%", "40.0%", "100.0%"]
    ax = fig.get_axes()[0]
    (diamond,) = [
        p for p in ax.patches if isinstance(p, Polygon) and p.get_facecolor()[:3] == (0, 0, 0)
    ]
    assert sorted(diamond.get_xy()[:4, 0]) == pytest.approx([-1.5, -1.234, -1.234, -0.9])
    dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert [tuple(ln.get_xdata()) for ln in dashed] == [(-1.234, -1.234)]
    # squares grow with the weights passed in: the last study (40%) has the largest square
    sizes = [ln.get_markersize() for ln in ax.lines if ln.get_marker() == "s"]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


@pytest.mark.parametrize("k", [2, 3, 10])
def test_forest_mantel_haenszel(k):
    df = dichotomous(k, seed=60 + k)
    mh = mantel_haenszel(df["ai"], df["n1i"], df["ci"], df["n2i"], "RR")
    fig = plots.forest_plot(df, mh, measure="RR", higher_favours_treatment=True)
    assert_no_overlap(fig)
    texts = forest_texts(fig)
    assert "M-H, Fixed, 95% CI" in texts
    # Mantel-Haenszel RR weights, w_i = c_i n1_i / N_i (Cochrane Handbook), in percent
    n = df["n1i"] + df["n2i"]
    w = df["ci"] * df["n1i"] / n
    expected_w = [f"{x:.1f}%" for x in 100 * w / w.sum()]
    assert weight_texts(texts) == [*expected_w, "100.0%"]
    iv = fit(df)
    assert expected_w != [f"{x:.1f}%" for x in iv.weights]  # the IV weights would differ
    # the total row shows the MH estimate, sum(a n2 / N) / sum(c n1 / N), and the MH CI
    rr = (df["ai"] * df["n2i"] / n).sum() / w.sum()
    total = f"{rr:.2f} [{math.exp(mh.ci_low):.2f}, {math.exp(mh.ci_high):.2f}]"
    assert total in texts
    iv_total = (
        f"{math.exp(iv.estimate):.2f} [{math.exp(iv.ci_low):.2f}, {math.exp(iv.ci_high):.2f}]"
    )
    assert iv_total != total and iv_total not in texts
    assert any(t.startswith("Test for overall effect: Z = ") for t in texts)
    assert "Mantel-Haenszel fixed-effect" in check_alt(fig, k)


def test_forest_mantel_haenszel_random_label():
    df = dichotomous(6, seed=66)
    mh = mantel_haenszel(df["ai"], df["n1i"], df["ci"], df["n2i"], "OR", random=True)
    texts = forest_texts(plots.forest_plot(df, mh, measure="OR"))
    assert "M-H, Random, 95% CI" in texts
    assert weight_texts(texts)[:-1] == [f"{x:.1f}%" for x in mh.weights]


def test_forest_subgroup_results_are_drawn_as_given():
    df = continuous(12, seed=22)
    sg = fit_subgroups(df)
    texts = forest_texts(plots.forest_plot(df, fit(df), subgroups=sg, group="group"))
    (line,) = [t for t in texts if t.startswith("Test for subgroup differences")]
    assert line.startswith(f"Test for subgroup differences: Q = {sg.q_between:.2f}, df = 2 (")
    for res in sg.values():  # each subtotal shows its own subgroup's fit
        assert (
            f"{res.estimate:.2f} [{res.ci_low:.2f}, {res.ci_high:.2f}]".replace("-", "−") in texts
        )
    # a between-group test and a subtotal that no recomputation gives: drawn as passed
    second = list(sg)[1]
    results = dict(sg.results)
    results[second] = dataclasses.replace(sg[second], estimate=0.123, ci_low=0.05, ci_high=0.2)
    given = dataclasses.replace(sg, results=results, q_between=7.5, df_between=2, p_between=0.0235)
    fig = plots.forest_plot(df, fit(df), subgroups=given, group="group")
    texts = forest_texts(fig)
    assert "Test for subgroup differences: Q = 7.50, df = 2 (p = 0.02)" in texts
    assert "0.12 [0.05, 0.20]" in texts
    assert fig.plot_info["q_between"] == 7.5


def test_forest_rejects_weights_that_do_not_match_the_rows():
    df = continuous(6, seed=6)
    with pytest.raises(ValueError, match="5 weights but the plot has 6 studies"):
        plots.forest_plot(df, fit(df.iloc[:5]))
    sg = fit_subgroups(df)
    g = next(iter(sg))
    results = dict(sg.results)
    results[g] = dataclasses.replace(sg[g], weights=(*sg[g].weights, 1.0))
    with pytest.raises(ValueError, match="subgroups"):
        plots.forest_plot(
            df, fit(df), subgroups=dataclasses.replace(sg, results=results), group="group"
        )


def test_forest_rejects_a_group_missing_from_subgroups():
    df = continuous(12, seed=22)
    sg = fit_subgroups(df)
    missing = next(iter(sg))
    partial = dataclasses.replace(sg, results={g: r for g, r in sg.items() if g != missing})
    with pytest.raises(ValueError, match=f"no fitted result for group.*{missing}"):
        plots.forest_plot(df, fit(df), subgroups=partial, group="group")
    with pytest.raises(ValueError, match="needs both group"):
        plots.forest_plot(df, fit(df), group="group")
    with pytest.raises(ValueError, match="needs both group"):
        plots.forest_plot(df, fit(df), subgroups=sg)


# ---------------------------------------------------------------------------- funnel
@pytest.mark.parametrize("k", SIZES)
def test_funnel(k):
    df = continuous(k, seed=30 + k)
    fig = plots.funnel_plot(df["yi"], df["vi"], fit(df))
    ax = fig.get_axes()[0]
    assert ax.yaxis_inverted()
    assert_no_overlap(fig)
    check_alt(fig, k)


def test_funnel_centre_line_is_the_result_passed_in():
    df = continuous(10, seed=35)
    given = dataclasses.replace(fit(df), estimate=0.5, ci_low=0.25, ci_high=0.75)
    fig = plots.funnel_plot(df["yi"], df["vi"], given, pseudo_ci=False)
    ax = fig.get_axes()[0]
    solid_black = [ln for ln in ax.lines if ln.get_color() == "black" and ln.get_linestyle() == "-"]
    assert [tuple(ln.get_xdata()) for ln in solid_black] == [(0.5, 0.5)]
    assert "estimate 0.50 (95% CI 0.25 to 0.75)" in plots.alt_text(fig)
    with pytest.raises(ValueError, match="weights"):
        plots.funnel_plot(df["yi"], df["vi"], fit(df.iloc[:9]))


def test_funnel_trim_and_fill_result_object():
    from analysis.stats.bias import trim_and_fill

    rng = np.random.default_rng(7)
    vi = rng.uniform(0.01, 0.2, 15)
    yi = -0.3 - 1.5 * np.sqrt(vi) + rng.normal(0, 0.05, 15)  # small-study effect
    tf = trim_and_fill(yi, vi, method="DL")
    fig = plots.funnel_plot(yi, vi, pool(yi, vi, "DL"), trim_fill=tf)
    assert fig.plot_info["k_filled"] == int(np.sum(tf.imputed))
    assert_no_overlap(fig)
    check_alt(fig, 15)


def test_funnel_filled_arrays_and_ratio():
    df = dichotomous(10, seed=4)
    ns = SimpleNamespace(filled_yi=[0.2, 0.4], filled_vi=[0.1, 0.3], estimate=0.1)
    fig = plots.funnel_plot(df["yi"], df["vi"], fit(df), trim_fill=ns, measure="OR")
    assert fig.plot_info["k_filled"] == 2
    assert fig.get_axes()[0].get_xscale() == "log"
    assert "imputed 2" in plots.alt_text(fig)
    assert_no_overlap(fig)


# ---------------------------------------------------------------------------- risk of bias
@pytest.mark.parametrize("k", SIZES)
@pytest.mark.parametrize("kind", ["traffic_light", "summary", "both"])
def test_rob(k, kind):
    rob = rob_data(k, seed=k)
    fig = plots.rob_plot(rob, kind=kind)
    assert_no_overlap(fig)
    if kind != "summary":
        assert count_labels(fig, labels_for(k)) == k
        symbols = [t.get_text() for t in fig.findobj(Text) if t.get_text() in {"+", "?", "−"}]
        assert len(symbols) == k * len(DOMAINS) + 3  # grid + legend
    check_alt(fig, k)


def test_rob_weighted_summary_and_unclear():
    rob = rob_data(6, seed=1)
    rob.loc[rob["judgement"] == "some concerns", "judgement"] = "Unclear"
    weights = {s: w for s, w in zip(labels_for(6), [1, 2, 3, 4, 5, 6], strict=True)}
    fig = plots.rob_plot(rob, kind="summary", weights=weights)
    texts = [t.get_text() for t in fig.findobj(Text)]
    assert "Percentage of weight" in texts and "Unclear" in texts
    assert_no_overlap(fig)
    with pytest.raises(ValueError):
        plots.rob_plot(rob.assign(judgement="maybe"))


# ---------------------------------------------------------------------------- cumulative
@pytest.mark.parametrize("k", SIZES)
def test_cumulative(k):
    from analysis.stats.sensitivity import cumulative

    df = continuous(k, seed=40 + k)
    years = np.arange(2000, 2000 + k)
    res = cumulative(df["yi"], df["vi"], order=years, method="REML", labels=df["label"])
    fig = plots.cumulative_plot(res)
    assert_no_overlap(fig)
    assert len(fig.plot_info["labels"]) == k
    assert count_labels(fig, fig.plot_info["labels"]) == k
    check_alt(fig, k)


# ---------------------------------------------------------------------------- PRISMA
def test_prisma_full_and_no_box_overlap():
    counts = {
        "records_databases": 1523,
        "records_registers": 211,
        "duplicates_removed": 402,
        "automation_excluded": 0,
        "other_removed": 3,
        "records_screened": 1329,
        "records_excluded": 1198,
        "reports_sought": 131,
        "reports_not_retrieved": 4,
        "reports_assessed": 127,
        "reports_excluded": 98,
        "studies_included": 29,
        "reports_included": 34,
    }
    reasons = {"Not treatment-resistant depression": 41, "No psychotherapy arm": 30, "Other": 27}
    fig = plots.prisma_flow(counts, exclusion_reasons=reasons, title="PRISMA 2020 flow diagram")
    assert_no_overlap(fig)
    text = plots.alt_text(fig)
    assert "29" in text and "1523" in text
    ax = fig.get_axes()[0]
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    boxes = [p.get_window_extent() for p in ax.patches if type(p).__name__ == "FancyBboxPatch"]
    for b1, b2 in itertools.combinations(boxes, 2):
        dx = min(b1.x1, b2.x1) - max(b1.x0, b2.x0)
        dy = min(b1.y1, b2.y1) - max(b1.y0, b2.y0)
        assert not (dx > 0.5 and dy > 0.5)


def test_prisma_missing_counts_not_reported():
    fig = plots.prisma_flow({"records_databases": 10, "studies_included": "3"})
    joined = " ".join(t.get_text() for t in fig.findobj(Text)).replace("\N{NO-BREAK SPACE}", " ")
    assert "not reported" in joined
    assert_no_overlap(fig)


# ---------------------------------------------------------------------------- readers first
MINUS = "\N{MINUS SIGN}"


def _value(cell: str) -> float:
    """A ``plot_data`` number (typographic minus) as a float."""
    return float(cell.replace(MINUS, "-"))


def _ci(cell: str) -> tuple[float, float]:
    lo, hi = cell.split(" to ")
    return _value(lo), _value(hi)


def _spec_frame(n: int = 6) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(3)
    est = np.sort(rng.normal(-0.4, 0.2, n))
    df = pd.DataFrame(
        {
            "key": [f"s{i}" for i in range(n)],
            "estimate": est,
            "ci_low": est - 0.3,
            "ci_high": est + 0.3,
            "control": rng.choice(["tau", "any"], n),
        }
    )
    choices = {"control": ("Control", [("tau", "Usual care"), ("any", "Any control")])}
    return df, choices


def _every_kind() -> dict[str, Figure]:
    """One figure of every kind the plots package and the review's figures draw."""
    from analysis.review import figures
    from analysis.stats.bias import trim_and_fill
    from analysis.stats.sensitivity import cumulative

    df = continuous(6, seed=2)
    grouped = continuous(8, seed=3)
    res = cumulative(df["yi"], df["vi"], order=np.arange(6), method="REML", labels=df["label"])
    rng = np.random.default_rng(7)
    vi = rng.uniform(0.01, 0.2, 15)
    yi = -0.3 - 1.5 * np.sqrt(vi) + rng.normal(0, 0.05, 15)
    spec, choices = _spec_frame()
    snap = {"estimates": {"smd": {"estimate": -0.4, "ci_low": -0.6, "ci_high": -0.2,
                                  "measure": "SMD"}}}  # fmt: skip
    comparison = pd.DataFrame({"Definition": ["Any", "Two trials"], "k": [6, 3],
                               "est": [-0.4, -0.3], "lo": [-0.6, -0.7],
                               "hi": [-0.2, 0.1]})  # fmt: skip
    coverage = pd.DataFrame({"k": [3, 6, 12], "DL": [0.85, 0.9, 0.93],
                             "DL + HKSJ": [0.95, 0.95, 0.95]})  # fmt: skip
    return {
        "forest": plots.forest_plot(df, fit(df)),
        "forest_subgroups": plots.forest_plot(
            grouped, fit(grouped), subgroups=fit_subgroups(grouped), group="group"
        ),
        "forest_ratio": plots.forest_plot(dichotomous(5), fit(dichotomous(5)), measure="RR"),
        "funnel": plots.funnel_plot(yi, vi, pool(yi, vi, "DL"),
                                    trim_fill=trim_and_fill(yi, vi, method="DL")),  # fmt: skip
        "rob_traffic_light": plots.rob_plot(rob_data(5), kind="traffic_light"),
        "rob_summary": plots.rob_plot(rob_data(5), kind="summary"),
        "rob_both": plots.rob_plot(rob_data(5), kind="both"),
        "cumulative": plots.cumulative_plot(res),
        "prisma": plots.prisma_flow({"records_databases": 10, "records_screened": 8,
                                     "studies_included": 3},
                                    exclusion_reasons={"Not TRD": 2}),  # fmt: skip
        "specification": plots.specification_curve(spec, choices, highlight="s2"),
        "definition_comparison": figures.definition_comparison_figure(comparison),
        "history": figures.history_figure([("1.0.0", snap), ("current", snap)], ["smd"]),
        "coverage": figures.coverage_figure(coverage),
    }


@pytest.fixture(scope="module")
def every_kind() -> dict[str, Figure]:
    figs = _every_kind()
    yield figs
    plt.close("all")


def test_every_figure_kind_has_plot_data(every_kind):
    for name, fig in every_kind.items():
        data = fig.plot_data
        assert isinstance(data, pd.DataFrame) and len(data) and len(data.columns) > 1, name
        assert list(data.index) == list(range(len(data))), name
        cells = [str(v) for v in data.to_numpy().ravel()]
        assert not any(re.search(r"(^|\s)-\d", c) for c in cells), f"{name}: ASCII minus"
        assert plots.alt_text(fig) == fig.alt_text and not fig.alt_text.startswith("Figure"), name


def test_every_text_is_at_least_11_css_pixels(every_kind):
    """8.25 pt = 11 CSS px at the natural size at which the book shows the figures."""
    assert plots.MIN_TEXT_PT == 8.25
    for name, fig in every_kind.items():
        FigureCanvasAgg(fig).draw()  # legends and tick labels exist once drawn
        small = [(t.get_text(), t.get_fontsize()) for t in fig.findobj(Text)
                 if t.get_text().strip() and t.get_fontsize() < plots.MIN_TEXT_PT]  # fmt: skip
        assert not small, f"{name}: text below {plots.MIN_TEXT_PT} pt: {small[:5]}"


def test_note_figure_has_no_plot_data():
    from analysis.review.figures import note_figure

    fig = note_figure("No data", "Placeholder.")
    assert fig.plot_data is None and plots.alt_text(fig) == "Placeholder."


def test_forest_plot_data_are_the_fitted_numbers():
    df = continuous(7, seed=11)
    fitted = fit(df)
    fig = plots.forest_plot(df, fitted)
    data = fig.plot_data
    studies = data[data["Study"].isin(df["label"])]
    assert list(studies["Study"]) == list(df["label"])  # one row per study, in order
    z = 1.959963984540054
    for (_, row), yi, vi, w in zip(studies.iterrows(), df["yi"], df["vi"], fitted.weights,
                                   strict=True):  # fmt: skip
        assert _value(row["SMD"]) == pytest.approx(yi, abs=0.005)
        lo, hi = _ci(row["95% CI"])
        assert lo == pytest.approx(yi - z * math.sqrt(vi), abs=0.005)
        assert hi == pytest.approx(yi + z * math.sqrt(vi), abs=0.005)
        assert float(row["Weight"].rstrip("%")) == pytest.approx(w, abs=0.05)
        assert int(row["Psychotherapy: Total"]) == df.loc[df["label"] == row["Study"], "n1i"].item()
    total = data[data["Study"] == "Total (95% CI)"]
    assert len(total) == 1 and len(data) == 7 + 1 + 1  # studies, pooled row, prediction interval
    assert _value(total["SMD"].item()) == pytest.approx(fitted.estimate, abs=0.005)
    assert _ci(total["95% CI"].item()) == pytest.approx((fitted.ci_low, fitted.ci_high), abs=0.005)
    assert int(total["Control: Total"].item()) == df["n2i"].sum()
    pi = data[data["Study"] == "Prediction interval"]
    assert _ci(pi["95% CI"].item()) == pytest.approx((fitted.pi_low, fitted.pi_high), abs=0.005)
    assert (data["SMD"].str.contains(MINUS) | ~data["SMD"].str.startswith("-")).all()


def test_forest_plot_data_subgroups_and_ratio_scale():
    df = continuous(8, seed=3)
    sg = fit_subgroups(df)
    data = plots.forest_plot(df, fit(df), subgroups=sg, group="group").plot_data
    for g, res in sg.items():
        sub = data[(data["Subgroup"] == g) & (data["Study"] == "Subtotal (95% CI)")]
        assert _value(sub["SMD"].item()) == pytest.approx(res.estimate, abs=0.005)
        assert len(data[(data["Subgroup"] == g) & data["Study"].isin(df["label"])]) == res.k
    dich = dichotomous(5)
    fitted = fit(dich)
    data = plots.forest_plot(dich, fitted, measure="RR").plot_data
    total = data[data["Study"] == "Total (95% CI)"]
    assert _value(total["RR"].item()) == pytest.approx(math.exp(fitted.estimate), abs=0.005)


def test_funnel_plot_data_has_studies_filled_studies_and_pooled_row():
    from analysis.stats.bias import trim_and_fill

    rng = np.random.default_rng(7)
    vi = rng.uniform(0.01, 0.2, 15)
    yi = -0.3 - 1.5 * np.sqrt(vi) + rng.normal(0, 0.05, 15)
    tf = trim_and_fill(yi, vi, method="DL")
    fitted = pool(yi, vi, "DL")
    names = [f"T{i}" for i in range(15)]
    data = plots.funnel_plot(yi, vi, fitted, trim_fill=tf, labels=names).plot_data
    assert list(data["Point"][:15]) == names
    assert [_value(v) for v in data["SMD"][:15]] == pytest.approx(yi, abs=0.005)
    assert [_value(v) for v in data["Standard error"][:15]] == pytest.approx(np.sqrt(vi), abs=5e-4)
    kf = int(np.sum(tf.imputed))
    assert data["Point"].str.startswith("Imputed").sum() == kf > 0
    pooled_row = data[data["Point"] == "Pooled estimate"]
    assert _value(pooled_row["SMD"].item()) == pytest.approx(fitted.estimate, abs=0.005)


def test_rob_and_prisma_plot_data():
    rob = rob_data(4, seed=2)
    data = plots.rob_plot(rob, kind="traffic_light").plot_data
    assert list(data["Study"]) == labels_for(4) and len(data.columns) == 1 + len(DOMAINS)
    first = rob[(rob["study_id"] == labels_for(4)[0]) & (rob["domain"] == "Overall")]
    assert data.loc[0, "Overall"].lower() == first["judgement"].item()
    summary = plots.rob_plot(rob, kind="summary").plot_data
    assert list(summary["Domain"]) == DOMAINS
    overall = rob[rob["domain"] == "Overall"]["judgement"]
    assert summary.iloc[-1]["Low (% of studies)"] == f"{100 * (overall == 'low').mean():.0f}%"
    prisma = plots.prisma_flow(
        {"records_databases": 1523, "studies_included": 29}, exclusion_reasons={"Not TRD": 41}
    ).plot_data
    rows = dict(zip(prisma["Box"], prisma["Number"], strict=True))
    assert rows["Records identified from: Databases"] == "1523"
    assert rows["Studies included in review"] == "29"
    assert rows["Reports excluded: Not TRD"] == "41"


def test_cumulative_and_specification_plot_data():
    from analysis.stats.sensitivity import cumulative

    df = continuous(5, seed=41)
    res = cumulative(df["yi"], df["vi"], order=np.arange(5), method="REML", labels=df["label"])
    data = plots.cumulative_plot(res).plot_data
    assert len(data) == 5 and list(data["k"]) == ["1", "2", "3", "4", "5"]
    assert [_value(v) for v in data["Cumulative SMD"]] == pytest.approx(res["estimate"], abs=0.005)
    spec, choices = _spec_frame()
    data = plots.specification_curve(spec, choices, highlight="s2").plot_data
    assert list(data["Rank"]) == [str(i) for i in range(1, 7)]
    assert [_value(v) for v in data["SMD"]] == pytest.approx(spec["estimate"], abs=0.005)
    assert set(data["Control"]) <= {"Usual care", "Any control"}
    assert list(data["Primary analysis"]).index("yes") == 2


def test_history_figure_names_estimates_in_words():
    """Panels, alt text and table name each estimate by its recorded label, not its result id."""
    from analysis.review.figures import estimate_name, history_figure

    snap = {"estimates": {"dropout.rr.overall": {
        "label": "Psychotherapy added to usual care vs usual care: dropout (RR)",
        "measure": "RR", "estimate": 0.98, "ci_low": 0.72, "ci_high": 1.31}}}
    old = {"estimates": {"dropout.rr.overall": {
        "measure": "RR", "estimate": 0.99, "ci_low": 0.84, "ci_high": 1.18}}}
    series = [("1.0.0", old), ("1.1.0", snap)]
    assert estimate_name(series, "dropout.rr.overall") == "dropout (RR)"
    assert estimate_name(series, "unknown.id") == "unknown.id"
    fig = history_figure(series, ["dropout.rr.overall"])
    assert "dropout.rr.overall" not in fig.alt_text
    expected = "dropout (RR): 0.99 (0.84 to 1.18) in 1.0.0, 0.98 (0.72 to 1.31) in 1.1.0"
    assert expected in fig.alt_text
    assert set(fig.plot_data["Estimate"]) == {"dropout (RR)"}
    assert fig.get_axes()[0].get_title() == "dropout (RR)"
