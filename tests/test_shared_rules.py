"""The shared rules of ``_time``, ``_checks``, ``_format`` and ``_i18n``, tested once."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import _checks, _format, _time
from helpers._i18n import Catalog
from helpers.errors import ParameterError


def test_empty_active_types_is_refused_with_one_message():
    with pytest.raises(ParameterError, match=r"active_types=\[\] names no event type"):
        _checks.active_types([])


def test_unknown_active_type_names_present_types():
    with pytest.raises(ParameterError, match="never occur.*message"):
        _checks.active_types(["purchse"], {"message", "purchase"})


def test_active_mask_categorical_and_text():
    ev = pd.DataFrame({"event_type": pd.Categorical(["message", "purchase", "message"])})
    assert _checks.active_mask(ev, None) is None
    assert _checks.active_mask(ev, "purchase").tolist() == [False, True, False]
    ev2 = ev.assign(event_type=ev["event_type"].astype(str))
    assert _checks.active_mask(ev2, ["message"]).tolist() == [True, False, True]


def test_end_of_observation_is_last_event_unless_given():
    ev = pd.DataFrame({"ts": pd.to_datetime(["2026-03-01 10:00", "2026-03-05 23:30"])
                      .tz_localize("Asia/Shanghai")})
    assert _time.resolve_end(None, ev) == pd.Timestamp("2026-03-05 23:30", tz="Asia/Shanghai")
    assert _time.resolve_end("2026-03-02", ev) == pd.Timestamp("2026-03-02", tz="Asia/Shanghai")
    with pytest.raises(ParameterError, match="no events"):
        _time.resolve_end(None, ev.iloc[:0])
    with pytest.raises(ParameterError, match="not a timestamp"):
        _time.resolve_end("yesterday-ish", ev)


def test_day_length():
    assert _time.DAY_NS == 86_400 * 10**9


@pytest.mark.parametrize("v,expected", [(0.0004, "< 0.001"), (0.00042, "< 0.001"),
                                        (0.0417, "0.042"), (1.0, "> 0.999"),
                                        (float("nan"), "n/a")])
def test_pvalue_format(v, expected):
    assert _format.pvalue(v) == expected


def test_number_formats():
    assert _format.pct(0.3891) == "38.9%"
    assert _format.pp(0.021) == "+2.1 pp"
    assert _format.probability(1.0) == "> 99.9%"
    assert _format.days(float("inf")) == "not reached"
    assert _format.days(float("inf"), language="zh") == "未达到"
    assert _format.number(12345) == "12,345"
    assert _format.interval(0.389, 0.361, 0.418) == "38.9% (95% CI 36.1%–41.8%)"
    assert _format.date("2026-08-17", "zh", prose=True) == "2026年8月17日"


@pytest.mark.parametrize("name", ["<img src=x onerror=alert(1)>邀请码",
                                  '<script>alert("x")</script>打卡', "**VIP** | 群_1 $5"])
def test_escape_md_leaves_no_markup(name):
    out = _format.escape_md(name)
    assert "<" not in out and ">" not in out
    import mistune  # the Markdown renderer nbconvert uses for the HTML reports

    rendered = mistune.create_markdown(plugins=["table", "strikethrough"])(out)
    assert "<img" not in rendered and "<script" not in rendered and "<strong" not in rendered


def test_catalog_fields_checked():
    cat = Catalog({"en": {"a": "{n} x", "b": "y"}, "zh": {"a": "{m} x"}}, name="t")
    problems = cat.check()
    assert any("'b' only in en" in p for p in problems)
    assert any("fields" in p for p in problems)


def test_one_wilson_interval_equals_statsmodels_everywhere():
    import numpy as np
    from statsmodels.stats.proportion import proportion_confint

    from helpers import _stats, cohorts
    from helpers.conversion import _members
    import importlib

    renewal = importlib.import_module("helpers.value.renewal")

    k, n = np.array([0, 3, 17, 40, 5]), np.array([10, 10, 40, 40, 0])
    lo, hi = _stats.wilson(k, n)
    ok = n > 0
    slo, shi = proportion_confint(k[ok], n[ok], method="wilson")
    assert np.allclose(lo[ok], slo, atol=1e-12) and np.allclose(hi[ok], shi, atol=1e-12)
    assert np.isnan(lo[~ok]).all()
    # every caller uses this one function
    assert _members.wilson is _stats.wilson and renewal.wilson is _stats.wilson
    assert np.allclose(cohorts.wilson_interval(k[ok], n[ok])[0], slo, atol=1e-12)
