"""Community analytics helpers: data contract, cohorts, survival, experiments, plots, batch.

Import the modules you need, e.g. ``from helpers import data, cohorts``.
"""

__all__ = ["config", "errors", "data", "synth"]
