"""Book tooling: build pipeline, staging, glue and results publishing, command line.

report      glue texts, figures and tables into pages; record results for ``results.json``
html        the one place that turns data text into HTML (escaped, deterministic tables and
            figures, each in a named scroll region)
theme       Sphinx extension: icons as inline SVG (no Font Awesome script), per-page scripts
            (MathJax only with math), accessible names for the theme's controls
tables      Sphinx extension: glued tables (names ``tbl-*``) numbered as tables
launch      Sphinx extension: launch buttons only on pages with a notebook to open
build       the pipeline: validate, execute what changed, stage, render, publish atomically
discovery   the notebooks of ``_toc.yml`` and expanded templates
cache       cache keys and the decision to reuse a cached execution
execution   executing notebooks into the cache (nbclient, papermill's parameters, time limit)
kernels     fresh kernels forked from a warm process (``ForkServer``, ``ForkKernelManager``)
forkserver  the warm process itself (run as a script, never imported as a module)
tracking    recording the data files, data folders and ``analysis`` modules a notebook reads
results     the results the notebooks published, one per id
staging     the source tree Jupyter Book renders
site        rendering with Jupyter Book and publishing ``_build/html`` (an atomic symlink)
errors      ``BuildError``
sandbox     builds in a throw-away copy (integration tests, benchmarks)
cli         ``python -m analysis``

The top layer: may import every other layer; nothing imports it except notebooks.
"""
