"""Doctest fixtures of :mod:`helpers.overview`: the docstring examples run on a small generated
community (``ds``: 600 members over 120 days, 12 groups) and its overview (``report``), so every
example is executed and stays true."""

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="session")
def _overview_example(tmp_path_factory):
    from helpers import data, overview, synth

    folder = tmp_path_factory.mktemp("overview_doctest")
    synth.write_community(folder, n_members=600, days=120, n_groups=12, seed=7)
    ds = data.load_community(folder)
    return ds, overview.overview_report(ds)


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace, _overview_example):
    ds, report = _overview_example
    doctest_namespace.update(ds=ds, report=report)
