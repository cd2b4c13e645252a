"""pair_codes beyond the bitmap (sort + neighbours, no hash table) equals the bitmap path."""

import numpy as np
import pytest

from helpers.cohorts import _common


@pytest.mark.parametrize("duplicates", [0, 5_000])
def test_sort_path_equals_bitmap_path(duplicates, monkeypatch):
    rng = np.random.default_rng(4)
    ids = rng.integers(100_001, 100_500, 20_000)
    per = rng.integers(2900, 2960, 20_000)
    ids, per = np.r_[ids, ids[:duplicates]], np.r_[per, per[:duplicates]]
    bitmap = _common.pair_codes(ids, per)
    monkeypatch.setattr(_common, "BITMAP_LIMIT", 10)
    sorted_ = _common.pair_codes(ids, per)
    for a, b in zip(bitmap, sorted_):
        np.testing.assert_array_equal(a, b)
    u, m, p = sorted_
    assert len(m) == len(np.unique(np.c_[ids, per], axis=0)) < len(ids)
    assert (np.diff(m * 1000 + p) > 0).all()
