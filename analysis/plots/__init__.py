"""Publication plots for the living review: forest, funnel, risk-of-bias, cumulative and PRISMA.

Every public function builds and returns a :class:`matplotlib.figure.Figure` created directly
(not through :mod:`matplotlib.pyplot`), so the figure is not registered with pyplot's global
state: a notebook cell that returns it shows it exactly once, ``myst_nb.glue`` can store it
without a duplicate display, and nothing here calls ``plt.show`` or ``matplotlib.use``.

Modules (one figure each; the names below are re-exported lazily, PEP 562, so importing
``analysis.plots.funnel`` does not import the forest plot and the build's record of the
modules a notebook used stays exact):

forest      ``forest_plot``      RevMan-style forest plot
funnel      ``funnel_plot``      contour-enhanced funnel plot with trim-and-fill overlay
rob         ``rob_plot``         risk-of-bias traffic-light and summary plots
cumulative  ``cumulative_plot``  cumulative meta-analysis plot
specification ``specification_curve`` specification curve with its indicator panel
prisma      ``prisma_flow``      PRISMA 2020 flow diagram
_common     ``PALETTE``, ``alt_text``, ``attach``, ``MIN_TEXT_PT`` and the shared layout,
            text and axis helpers

Accessibility
-------------
* Colours come from the Okabe–Ito colour-blind-safe palette (:data:`PALETTE`), and every
  colour-coded element also carries a redundant cue (marker shape, symbol or hatch), so the
  figures stay readable in grayscale.
* Every figure gets a descriptive alternative text stored in the documented attribute
  ``fig.alt_text``; :func:`alt_text` returns it, e.g. for a MyST figure's ``:alt:`` option.
* Layouts are computed in inches from the measured extents of the text they contain, so text
  never overlaps for 1 to 40 (or more) studies: the figure grows with the number of rows and
  the columns grow with their longest entry.

* Every figure also gets ``fig.plot_data``, a table (pandas DataFrame) of the numbers it
  shows, formatted as the figure shows them, which the book puts under the figure for readers
  who cannot see it (``None`` for a figure without data).
* No text is smaller than :data:`MIN_TEXT_PT` (8.25 pt, 11 CSS px at the natural size at
  which the book shows the figures).

Each figure also gets a small ``fig.plot_info`` dictionary (kind, number of studies, row
labels, ...) that tests and notebooks can inspect.
"""

from __future__ import annotations

from analysis._lazy import lazy_exports

_EXPORTS = {
    "PALETTE": "analysis.plots._common",
    "alt_text": "analysis.plots._common",
    "attach": "analysis.plots._common",
    "MIN_TEXT_PT": "analysis.plots._common",
    "forest_plot": "analysis.plots.forest",
    "funnel_plot": "analysis.plots.funnel",
    "rob_plot": "analysis.plots.rob",
    "cumulative_plot": "analysis.plots.cumulative",
    "prisma_flow": "analysis.plots.prisma",
    "specification_curve": "analysis.plots.specification",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
