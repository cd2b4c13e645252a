"""Shared fixtures: small fixed-seed communities generated once per test session.

- ``small_dir`` / ``small_community``: 600 members over 120 days (fast; unit tests).
- ``demo_dir`` / ``demo_community`` / ``demo_truth``: the demo community (default seed and size,
  identical to ``data/raw/demo`` after ``make data``) generated into a temporary folder, for tests
  that check planted truth.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers import data, synth  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _scan_cache(tmp_path_factory):
    """The loader's stored scans (helpers.engine._scan_cache) in a folder of the test run, not
    in the user's cache (notebook kernels started by nbval inherit it)."""
    import os
    old = os.environ.get("COMMUNITY_CACHE_DIR")
    os.environ["COMMUNITY_CACHE_DIR"] = str(tmp_path_factory.mktemp("scan_cache"))
    yield
    if old is None:
        os.environ.pop("COMMUNITY_CACHE_DIR", None)
    else:
        os.environ["COMMUNITY_CACHE_DIR"] = old


@pytest.fixture
def rng():
    return np.random.default_rng(20261122)


@pytest.fixture(scope="session")
def small_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    synth.write_community(folder, n_members=600, days=120, n_groups=12, seed=7)
    return folder


@pytest.fixture(scope="session")
def small_community(small_dir):
    return data.load_community(small_dir)


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    synth.write_community(folder)
    return folder


@pytest.fixture(scope="session")
def demo_community(demo_dir):
    return data.load_community(demo_dir)


@pytest.fixture(scope="session")
def demo_truth(demo_dir):
    return synth.load_truth(demo_dir)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def load_script():
    """``load_script(path, name)``: a script outside the package (``benchmarks/*.py``) imported
    as module ``name``."""
    import importlib.util

    def load(path, name: str):
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    return load
