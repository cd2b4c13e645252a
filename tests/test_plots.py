"""Tests of the cohort plots: they draw what the tables hold, and Chinese labels render."""

from __future__ import annotations

import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from helpers import cohorts, plots
from helpers.errors import ParameterError

CHANNELS = ["海报裂变", "邀请码", "线下活动", "内容营销", "社交广告", "自然流量"]


@pytest.fixture(scope="module")
def tables(small_community):
    ds = small_community
    ret = cohorts.retention(ds.members, ds.events, period="W", by="channel")
    return dict(
        ret=ret,
        one=cohorts.retention(ds.members, ds.events, period="W"),
        curve=cohorts.retention_curve(ret),
        life=cohorts.lifecycle(ds.members, ds.events, period="W"),
        trans=cohorts.layer_transitions(ds.members, ds.events, start="2026-05-01",
                                        end="2026-06-01"),
    )


def _draw_strict(fig):
    """Render the figure with every warning turned into an error (catches "Glyph … missing")."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.canvas.draw()


def test_chinese_labels_render_with_the_packaged_font():
    plots.set_theme()
    fig, ax = plt.subplots()
    ax.bar(CHANNELS, np.arange(6))
    ax.set_title("渠道留存 核心/活跃/潜在/沉睡")
    _draw_strict(fig)
    used = {t.get_fontname() for t in ax.get_xticklabels()}
    assert used == {plots.CJK_FAMILY}


def test_missing_glyph_warning_is_caught_without_the_cjk_font():
    """The check above can fail: with a Latin-only font the same drawing warns."""
    fig, ax = plt.subplots()
    ax.set_title("渠道留存", fontfamily="DejaVu Sans")
    with pytest.raises(UserWarning, match="[Gg]lyph"):
        _draw_strict(fig)


def test_retention_heatmap_blank_unreachable_and_sizes(tables):
    one = tables["one"]
    ax = plots.plot_retention_heatmap(one, max_periods=8)
    _draw_strict(ax.figure)
    mesh = ax.collections[0]
    arr = np.ma.masked_invalid(mesh.get_array())
    n_cohorts = one.cohort.nunique()
    reachable = (one.period_index < 8).sum()
    assert arr.count() == reachable  # drawn cells = reachable cells; the rest blank
    assert arr.size == n_cohorts * 8
    labels = [t.get_text() for t in ax.get_yticklabels()]
    first = one.iloc[0]
    assert labels[0] == f"{first.cohort:%Y-%m-%d}  n={first.cohort_size}"
    with pytest.raises(ParameterError, match="segment"):
        plots.plot_retention_heatmap(tables["ret"])


def test_retention_curves_one_line_and_band_per_segment(tables):
    ax = plots.plot_retention_curves(tables["curve"], hue="channel")
    _draw_strict(ax.figure)
    n = tables["curve"].channel.nunique()
    assert len(ax.lines) == n and len(ax.collections) == n
    legend = {t.get_text() for t in ax.get_legend().get_texts()}
    assert legend == set(tables["curve"].channel)
    g = tables["curve"][tables["curve"].channel == sorted(legend)[0]].sort_values("period_index")
    np.testing.assert_allclose(ax.lines[0].get_ydata(), g.rate)
    with pytest.raises(ParameterError, match="hue"):
        plots.plot_retention_curves(tables["curve"], hue="city")


def test_retention_axes_name_the_period_unit(tables):
    ax = plots.plot_retention_heatmap(tables["one"], max_periods=8, period="W")
    assert ax.get_xlabel().startswith("weeks since joining")
    ax = plots.plot_retention_curves(tables["curve"], hue="channel", period="M")
    assert ax.get_xlabel().startswith("months since joining")
    assert plots.plot_retention_curves(tables["curve"]).get_xlabel().startswith("period index")
    with pytest.raises(ParameterError, match="period"):
        plots.plot_retention_curves(tables["curve"], period="Q")
    plt.close("all")


def test_lifecycle_bars_dormant_below_zero(tables):
    life = tables["life"]
    ax = plots.plot_lifecycle(life)
    _draw_strict(ax.figure)
    heights = np.array([p.get_height() for p in ax.patches])
    n_periods = life.period.nunique()
    assert len(heights) == 4 * n_periods
    dormant = heights[-n_periods:]
    np.testing.assert_array_equal(-dormant, life[life.status == "dormant"].members.to_numpy())
    assert (heights[:-n_periods] >= 0).all()


def test_layer_transition_heatmap(tables):
    ax = plots.plot_layer_transitions(tables["trans"])
    _draw_strict(ax.figure)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(cohorts.LAYERS)
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 16
    first = tables["trans"].iloc[0]
    assert texts[0] == f"{first.share:.0%}\n({first.members})"


def test_plots_use_given_axes_and_leave_inputs(tables):
    before = tables["one"].copy()
    fig, axes = plt.subplots(1, 2)
    assert plots.plot_retention_heatmap(tables["one"], ax=axes[0]) is axes[0]
    assert plots.plot_retention_curves(tables["curve"], ax=axes[1], hue="channel") is axes[1]
    pd.testing.assert_frame_equal(tables["one"], before)
    assert matplotlib.get_backend().lower() == "agg"


def test_show_table_formats_for_reviewers(tables):
    g = pd.DataFrame({"period": pd.date_range("2026-03-02", periods=60, freq="W-MON",
                                              tz="Asia/Shanghai"),
                      "new_members": np.arange(60), "stickiness": np.linspace(0.3, 0.5, 60),
                      "mean_daily_active": np.linspace(1, 2, 60)})
    g.loc[3, "stickiness"] = np.nan
    before = g.copy()
    html = plots.show_table(g, percent=["stickiness"], max_rows=50).to_html()
    pd.testing.assert_frame_equal(g, before)                       # data untouched
    assert "2026-03-02<" in html and "00:00:00" not in html and "+08:00" not in html
    assert "30.0%" in html and "NaN" not in html and "nan" not in html
    assert "1.02<" in html                                         # 2 decimals
    assert "First 50 of 60 rows" in html and html.count("<tr>") == 51
    # a retention matrix: timestamps in the index, every cell a share, unreached cells blank
    m = cohorts.retention_matrix(tables["one"])
    html = plots.show_table(m, percent=True).to_html()
    assert "00:00:00" not in html and "NaN" not in html and "%" in html
    with pytest.raises(ParameterError, match="not in the table"):
        plots.show_table(g, percent=["nope"])
    # short Chinese labels stay on one line; long texts may wrap
    t = pd.DataFrame({"channel": ["社交广告", "海报裂变"], "note": ["x" * 40, "y"]})
    html = plots.show_table(t).to_html()
    assert html.count("white-space: nowrap") == 1


def test_plots_speak_the_report_language(tables):
    """Issue 14: titles, axes and legends in Chinese, drawn with the packaged font."""
    plots.set_theme()
    ax = plots.plot_retention_heatmap(tables["one"], max_periods=8, period="W", language="zh")
    _draw_strict(ax.figure)
    assert ax.get_xlabel().startswith("入群后的周数") and "同期群" in ax.get_ylabel()
    ax = plots.plot_retention_curves(tables["curve"], hue="channel", period="W", language="zh")
    _draw_strict(ax.figure)
    assert ax.get_legend().get_title().get_text() == "渠道" and "留存率" in ax.get_ylabel()
    ax = plots.plot_lifecycle(tables["life"], language="zh")
    _draw_strict(ax.figure)
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"新增", "持续活跃", "回流", "沉默"}
    ax = plots.plot_layer_transitions(tables["trans"], language="zh")
    _draw_strict(ax.figure)
    assert ax.get_xlabel() == "期末所在层"
    with pytest.raises(ParameterError, match="language"):
        plots.plot_lifecycle(tables["life"], language="fr")


def test_cohort_table_headers_in_words(tables):
    m = cohorts.retention_matrix(tables["one"], complete_only=True)
    html = plots.cohort_table(m.iloc[:, :4], language="zh", period="W").to_html()
    assert "第 0 周" in html and "同期群人数" in html and "cohort_size" not in html
    life = plots.cohort_table(tables["life"].assign(status=tables["life"].status.astype(str)),
                              language="en", max_rows=None).to_html()
    assert "still running" in life and "True" not in life and "False" not in life


def test_data_names_are_plain_text_in_plots_and_layers_in_words(tables):
    curve = tables["curve"].assign(channel=tables["curve"].channel.where(
        tables["curve"].channel != tables["curve"].channel.iloc[0], "$5 会员"))
    ax = plots.plot_retention_curves(curve, hue="channel")
    _draw_strict(ax.figure)  # no mathtext error, no missing glyph
    assert r"\$5 会员" in {t.get_text() for t in ax.get_legend().get_texts()}
    assert ax.lines[0].get_color() == plots.channel_colour("$5 会员")
    mix = pd.DataFrame({"layer": pd.Categorical(list(cohorts.LAYERS), list(cohorts.LAYERS)),
                        "members": [1, 2, 3, 4], "share": [0.1, 0.2, 0.3, 0.4]})
    zh = plots.cohort_table(mix, language="zh").to_html()
    assert all(w in zh for w in ("核心成员", "活跃成员", "潜在成员", "沉睡成员", "占当前成员比例"))
    assert "core (核心)" in plots.cohort_table(mix, language="en").to_html()
