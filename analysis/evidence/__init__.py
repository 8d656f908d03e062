"""Evidence layer: the trial database in ``data/`` (schema, validation, loading, selection).

schema      files, columns, types, allowed values and ranges (one definition)
validation  every problem with file, row, column and rule
textrules   text rules by column kind: no markup, no control characters, http(s) URLs
yamlio      the one YAML parser (``version.yml``), shared by the validator and the build
dates       the review's clock, ISO dates, the earliest plausible trial year
paths       where the data are and their version hash
loading     typed DataFrames (``load_trials``)
selection   choosing the rows an analysis uses (outcome hierarchy, TRD definitions, shared arms)
protocol    the review protocol (``protocol.yml``): loading and validation
ipd         participant-level datasets (data/ipd/<trial>/mapping.yml) -> generated arm-level rows

May import the statistics core, never the review or book layers.
"""

from __future__ import annotations

from analysis._lazy import lazy_exports

_EXPORTS = {
    "load_trials": "analysis.evidence.loading",
    "Trials": "analysis.evidence.loading",
    "validate": "analysis.evidence.validation",
    "Problem": "analysis.evidence.validation",
    "DataValidationError": "analysis.evidence.validation",
    "find_data_dir": "analysis.evidence.paths",
    "data_version": "analysis.evidence.paths",
    "SCHEMAS": "analysis.evidence.schema",
    "CSV_FILES": "analysis.evidence.schema",
    "INSTRUMENT_RANGES": "analysis.evidence.schema",
    "load_protocol": "analysis.evidence.protocol",
    "Protocol": "analysis.evidence.protocol",
    "release_problems": "analysis.evidence.validation",
    "data_files": "analysis.evidence.paths",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
