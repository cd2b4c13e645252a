"""Community analytics helpers: data contract, cohorts, survival, experiments, plots, batch.

Import the modules you need, e.g. ``from helpers import data, cohorts``. Dependencies run one way:
config/errors → data → synth, cohorts, survival, experiments → plots → batch; ``duck`` holds
the DuckDB engine and plain-SQL references of the event-level aggregations (benchmarks, scale).
"""

__all__ = ["config", "errors", "data", "synth", "cohorts", "survival", "experiments",
           "exp_metrics", "duck", "plots", "batch"]
