"""Community analytics helpers: data contract, cohorts, survival, experiments, plots, batch.

Import the modules you need, e.g. ``from helpers import data, cohorts``. Dependencies run one way:
config/errors → data → synth, cohorts, survival, experiments → plots → batch.
"""

__all__ = ["config", "errors", "data", "synth", "cohorts", "survival", "experiments",
           "exp_metrics", "plots", "batch"]
