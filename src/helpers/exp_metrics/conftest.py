"""Doctest fixtures of :mod:`helpers.exp_metrics`: the docstring examples run on a small
generated community (``ds``: 600 members over 120 days, 12 groups) and its report (``report``
of the member-randomised experiment), so every example is executed and stays true."""

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="session")
def _example_community(tmp_path_factory):
    import warnings

    from helpers import data, exp_metrics, synth

    folder = tmp_path_factory.mktemp("exp_metrics_doctest")
    synth.write_community(folder, n_members=600, days=120, n_groups=12, seed=7)
    ds = data.load_community(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = exp_metrics.analyse_experiment(ds, "exp_checkin_member")
    return ds, report


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace, _example_community):
    import pandas as pd

    from helpers.exp_metrics import METRICS

    ds, report = _example_community
    doctest_namespace.update(ds=ds, report=report, pd=pd, METRICS=METRICS)
