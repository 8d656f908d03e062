"""Book tooling: build pipeline, staging, glue and results publishing, command line.

report   glue texts, figures and tables into pages; record results for ``results.json``
build    validate, execute what changed, stage, render with Jupyter Book, publish atomically
sandbox  builds in a throw-away copy (integration tests, benchmarks)
cli      ``python -m analysis``

The top layer: may import every other layer; nothing imports it except notebooks.
"""
