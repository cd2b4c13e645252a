"""Community analytics helpers: one concern per module, packages re-export their public names.

Import what you need, e.g. ``from helpers import data, cohorts, survival``. Dependencies run one
way: config/errors → _time/_checks/_stats/_format/_i18n (shared internals) → _tables,
_experiment_tables → data, engine →
cohorts, survival, experiments, exp_metrics, conversion, value → overview → plots → batch.

======================  ====================================================================
module                  what it holds
======================  ====================================================================
``config``              paths and analysis defaults
``errors``              DataError / ParameterError / AnalysisWarning
``_time``               wall-clock times, period codes, end of observation, day length
``_checks``             required columns, alpha, choices, active types, correction vocabulary
``_stats``              the one Wilson interval
``_format``             number/interval/p-value/date formats and escaping of data strings
``_i18n``               message catalogs (zh / en) and notes as data
``_tables``             reading raw table files, coercing ids/timestamps (the loader's internals)
``_experiment_tables``  validation of the experiments and assignments tables
``data``                the data contract: load and validate a dataset (``engine=``)
``engine/``             event-level steps as Ibis expressions on DuckDB / Spark, lazy events
``duck``                thin alias of ``engine`` kept for existing callers
``synth/``              the synthetic community with planted truth
``pseudonym``           salted pseudonyms of member ids
``cohorts/``            retention, growth and lifecycle, layers, fission, report 01
``survival/``           churn table, KM/RMST, log-rank, Cox, time-varying, risk list, report 02
``experiments/``        A/B statistics from summary statistics (Welch, CUPED, clusters, power)
``exp_metrics/``        experiments from raw tables: metrics, decision, segments, report 03
``conversion/``         funnel, time to first purchase, activity review, scorecard, report 04
``value/``              BG/NBD + Gamma-Gamma repeat purchase, sBG renewal
``overview/``           the overview (report 00): the four indicators from the detail reports
``plots/``              plots and reviewer tables, one module per report
``batch/``              ``python -m helpers.batch``: config, execute, html, index, cli
======================  ====================================================================
"""

__all__ = ["config", "errors", "data", "engine", "duck", "synth", "pseudonym", "cohorts",
           "survival", "experiments", "exp_metrics", "conversion", "value", "overview", "plots",
           "batch"]
