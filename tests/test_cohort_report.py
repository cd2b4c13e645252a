"""Tests of report 01 (helpers.cohorts.report and the cohorts plots it draws): issues 11, 14, 15.

Each test reads the report as a reviewer would: what the executive summary, the section notes,
the reader tables and the figures say on the demo, on thin exports and on hostile names.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_cohorts import hand, small  # noqa: F401  (fixtures shared with the cohorts tests)

from helpers import cohorts, plots
from helpers.cohorts._messages import CATALOG

TZ = "Asia/Shanghai"

@pytest.fixture(scope="module")
def demo_report(demo_community):
    ds = demo_community
    return cohorts.cohort_report(ds.members, ds.events)


def test_report_catalogs_have_both_languages():
    assert CATALOG.check() == []
    assert plots.PLOT_LABELS.check() == []


def test_layers_are_of_current_members_and_leavers_are_apart(demo_community, demo_report):
    """Issue 15 item 8: the old summary said "of 5000 members" (leavers in the layers)."""
    ds, rep = demo_community, demo_report
    end = ds.events.ts.max()
    joined = ds.members.joined_at <= end
    left = joined & ds.members.left_at.notna() & (ds.members.left_at <= end)
    assert rep.layers.current == int((joined & ~left).sum()) == rep.members_end
    assert rep.layers.left == int(left.sum()) > 0
    assert rep.layers.table["members"].sum() == rep.layers.current
    assert list(rep.layers.table["layer"]) == list(cohorts.LAYERS)  # 核心 → 沉睡
    text = cohorts.render_summary(rep, "en")
    layer_line = next(x for x in text.splitlines() if "**Member layers**" in x)
    assert f"{rep.layers.current:,} current members" in layer_line
    assert f"{rep.layers.left:,} members who left" in layer_line
    assert f"of {len(ds.members)} members" not in text


def test_members_at_the_end_is_one_count_everywhere(demo_report):
    """Issue 15 item 11: one definition of members at the end, the same in every place."""
    rep = demo_report
    n = f"{rep.members_end:,}"
    for lang in ("en", "zh"):
        text = cohorts.render_summary(rep, lang)
        assert text.splitlines()[0].count(n) == 1
        assert n in next(x for x in text.splitlines() if "分层" in x or "layers" in x)
    assert rep.growth["members_end"].iloc[-1] == rep.members_end


def test_d7_and_week_one_are_explained(demo_report):
    rep = demo_report
    assert rep.period_one is not None and rep.period_one > 2 * rep.n_day.query("day == 7").rate.item()
    en = cohorts.render_summary(rep, "en")
    assert "D7 counts members active on the 7th day" in en
    assert f"({100 * rep.period_one:.1f}% over complete cohorts)" in en
    assert "7 日留存只看入群后第 7 天" in cohorts.render_summary(rep, "zh")


def _n_day_by(rows):
    nd = pd.DataFrame(rows, columns=["channel", "day", "eligible", "retained"])
    lo, hi = cohorts.wilson_interval(nd.retained, nd.eligible)
    return nd.assign(rate=nd.retained / nd.eligible, ci_low=lo, ci_high=hi)


def test_best_segment_only_where_intervals_do_not_overlap(demo_report):
    """Issue 15 item 11: the demo's top D30 channel overlaps others, so nobody is 'best'."""
    rep = demo_report
    at = rep.n_day_by.query("day == 30").sort_values("rate")
    top = at.iloc[-1]
    assert (top.ci_low <= at.iloc[:-1].ci_high).any()  # the demo case: overlapping intervals
    line = next(x for x in cohorts.render_summary(rep, "en").splitlines() if "**By channel**" in x)
    assert "best" not in line.replace("best or worst", "") and top.channel in line
    bottom = at.iloc[0]
    assert bottom.ci_high < top.ci_low  # the extremes are apart, though neither from every other
    assert "these two differ beyond chance" in line and bottom.channel in line
    g = rep.growth
    clear = _n_day_by([("邀请码", 30, 1000, 600), ("海报裂变", 30, 1000, 300),
                       ("自然流量", 30, 1000, 310)])
    text = cohorts.summary_markdown(growth_table=g, n_day=rep.n_day, n_day_by=clear)
    assert "best 邀请码" in text and "Lowest beyond chance" not in text
    close = _n_day_by([("邀请码", 30, 1000, 420), ("海报裂变", 30, 1000, 400),
                       ("自然流量", 30, 1000, 390)])
    text = cohorts.summary_markdown(growth_table=g, n_day=rep.n_day, n_day_by=close)
    assert "the 95% intervals overlap, so no channel is best or worst beyond chance" in text
    low = _n_day_by([("邀请码", 30, 1000, 600), ("海报裂变", 30, 1000, 580),
                     ("自然流量", 30, 1000, 200)])
    text = cohorts.summary_markdown(growth_table=g, n_day=rep.n_day, n_day_by=low)
    assert "Lowest beyond chance: 自然流量" in text and "best 邀请码" not in text


def test_partial_periods_are_marked_everywhere(demo_report):
    """Issue 15 item 9: the running week is hatched in the heatmap, blank in the matrix, hatched
    and named in the lifecycle chart, and the K-factor is that of the last complete month."""
    rep = demo_report
    t = rep.retention
    shown = t.loc[t.period_index < 12]
    ax = plots.plot_retention_heatmap(t, max_periods=12, period="W")
    hatched = [p for p in ax.patches if p.get_gid() == "partial"]
    assert len(hatched) == int((~shown.complete).sum()) > 0
    assert ax.get_legend() is not None
    mat = cohorts.retention_matrix(t, complete_only=True)
    partial = t.loc[~t.complete]
    for c, k in zip(partial.cohort, partial.period_index):
        assert np.isnan(mat.xs(c, level="cohort")[k].iloc[0])
    assert mat.notna().to_numpy().sum() == int(t.complete.sum())
    ax = plots.plot_lifecycle(rep.lifecycle)
    last = rep.lifecycle.period.nunique() - 1
    n = rep.lifecycle.period.nunique()
    bars = ax.patches
    assert all(bars[i * n + last].get_hatch() for i in range(4))
    assert not any(bars[i * n].get_hatch() for i in range(4))
    assert ax.get_xticklabels()[-1].get_text().endswith("(running)")
    en = cohorts.render_summary(rep, "en")
    assert "K-factor in the last complete month (July 2026)" in en
    assert "(August 2026 is still running and left out)" in en
    assert "possibly partial" not in en
    f = rep.fission
    assert f["complete"].tolist()[-1] is False or not f["complete"].iloc[-1]


def test_lifecycle_ticks_curves_layers_and_channel_colours(demo_report, small_community):
    """Issue 15 item 14."""
    rep = demo_report
    ax = plots.plot_lifecycle(rep.lifecycle)
    ax.figure.canvas.draw()
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert ticks and not any(t.startswith(("-", "−")) for t in ticks)
    ax = plots.plot_retention_curves(rep.curve, hue="channel", max_periods=12)
    assert max(max(line.get_xdata()) for line in ax.lines) == 11
    for line in ax.lines:
        assert line.get_color() == plots.channel_colour(line.get_label())
    tr = cohorts.layer_transitions(*(lambda d: (d.members, d.events))(small_community))
    ax = plots.plot_layer_transitions(tr.sample(frac=1, random_state=1))
    assert [t.get_text() for t in ax.get_yticklabels()] == list(cohorts.LAYERS)
    # one colour per channel name, whatever the other names and their order
    a = plots.channel_palette(["海报裂变", "邀请码", "Z-partner"])
    b = plots.channel_palette(["Z-partner", "自然流量", "A-new", "邀请码"])
    assert a["邀请码"] == b["邀请码"] and a["Z-partner"] == b["Z-partner"]
    assert plots.channel_colour("海报裂变") == "#4C72B0"


_INTERNAL = ["DESIGN.md", "helpers.", "cohorts.", "member_layers", "joined_at", "referrer_id",
             "active_types", "cohort_size", "new_members", "True", "False", "§"]


def test_reviewer_text_has_no_internal_references(demo_report):
    """Issue 15 items 12 and 15: formats from _format, no internal names or flags."""
    import re

    rep = demo_report
    for lang in ("en", "zh"):
        text = cohorts.render_summary(rep, lang)
        for word in _INTERNAL:
            assert word not in text, (lang, word)
        assert not re.search(r"(?<![A-Za-z])(nan|None|inf|n/a)(?![A-Za-z])", text)
        assert f"{rep.members_end:,}" in text  # thousands separators
        for kind in (rep.growth, rep.n_day_table, rep.layers.table, rep.fission):
            html = plots.cohort_table(kind, language=lang).to_html()
            for word in ("cohort_size", "new_members", "members_end", "referral_share",
                         "ci_low", "True", "False", "mean_daily_active", "median_recency"):
                assert word not in html, (lang, word)
    zh = cohorts.render_summary(rep, "zh")
    assert "7 日留存" in zh and "置信区间" in zh and "核心成员" in zh


def test_data_strings_are_escaped_in_the_summary(small):
    members, events, until = small
    hostile = "<img src=x onerror=alert(1)>邀请码"
    m = members.assign(channel=np.where(members.channel == members.channel.iloc[0], hostile,
                                        "**VIP** | 群_1"))
    rep = cohorts.cohort_report(m, events, observed_until=until)
    nd = rep.n_day_by.assign(eligible=1000, retained=np.where(rep.n_day_by.channel == hostile,
                                                              900, 100))
    lo, hi = cohorts.wilson_interval(nd.retained, nd.eligible)
    rep2 = cohorts.build_report(growth_table=rep.growth, n_day=rep.n_day, period="W",
                                n_day_by=nd.assign(rate=nd.retained / nd.eligible, ci_low=lo,
                                                   ci_high=hi))
    for lang in ("en", "zh"):
        text = cohorts.render_summary(rep2, lang)
        assert "<img" not in text and "&lt;img src=x onerror=alert\\(1\\)&gt;邀请码" in text
        assert "\\*\\*VIP\\*\\* \\| 群\\_1" in text


def _thin(small_dir, tmp_path, *, kind):
    """A thin, valid export (issue 11): text ids, one channel, no group, no referrer, purchases
    only; ``kind`` also makes it a single cohort or a very short history."""
    members = pd.read_csv(small_dir / "members.csv", dtype=str)
    events = pd.read_csv(small_dir / "events.csv", dtype=str)
    members = members.assign(member_id="u" + members.member_id, channel="自然流量", group_id="")
    members = members.drop(columns=["referrer_id", "left_at"])
    events = events.assign(member_id="u" + events.member_id)
    events = events.loc[events.event_type == "purchase", ["member_id", "ts", "event_type", "amount"]]
    start = pd.Timestamp(members.joined_at.min())
    if kind == "single_cohort":
        members["joined_at"] = str(start)
        events = events.loc[pd.to_datetime(events.ts) > start]
    elif kind == "short":
        cut = start + pd.Timedelta(days=9)
        members = members.loc[pd.to_datetime(members.joined_at) <= cut]
        events = events.loc[(pd.to_datetime(events.ts) <= cut)
                            & events.member_id.isin(members.member_id)]
    folder = tmp_path / kind
    folder.mkdir()
    members.to_csv(folder / "members.csv", index=False)
    events.to_csv(folder / "events.csv", index=False)
    return folder


@pytest.mark.parametrize("kind", ["single_cohort", "short"])
def test_thin_exports_give_a_report_in_words(small_dir, tmp_path, kind):
    import re
    import warnings

    from helpers import data

    ds = data.load_community(_thin(small_dir, tmp_path, kind=kind))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rep = cohorts.cohort_report(ds.members, ds.events)
        for lang in ("en", "zh"):
            text = cohorts.render_summary(rep, lang)
            assert not re.search(r"(?<![A-Za-z])(nan|None|inf|NaN)(?![A-Za-z])", text)
            assert cohorts.render_note(rep, "fission", lang)
    assert "fission" in rep.skipped and "one_segment" in rep.skipped
    en = cohorts.render_summary(rep, "en")
    skipped = next(x for x in en.splitlines() if "**Skipped**" in x)
    assert "referral figures (裂变)" in skipped and "Fission" not in en
    assert ("all members joined in one week" in en) == (kind == "single_cohort")
    assert ("D30 not measurable yet" in en) == (kind == "short")


def test_notebook_in_chinese_on_a_thin_export(small_dir, tmp_path):
    """Issues 11 and 14: 01 renders a Chinese report on a thin export with only `dataset` set;
    no traceback, warning stream, nan/None/inf or internal name in any output."""
    import re

    import nbformat
    import papermill as pm

    from helpers import config

    folder = _thin(small_dir, tmp_path, kind="single_cohort")
    out = tmp_path / "zh.ipynb"
    pm.execute_notebook(str(config.NOTEBOOKS_DIR / "01_cohort_retention.ipynb"), str(out),
                        parameters=dict(dataset=str(folder)), kernel_name="python3",
                        cwd=str(tmp_path), progress_bar=False)
    nb = nbformat.read(out, as_version=4)
    texts = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            assert o.output_type not in ("stream", "error"), o
            texts += [v for k, v in o.get("data", {}).items() if k in ("text/markdown", "text/html")]
    text = re.sub(r"<style.*?</style>", "", "\n".join(texts), flags=re.S)
    assert not re.search(r"(?<![A-Za-z])(nan|NaN|None|inf|True|False)(?![A-Za-z])", text)
    assert "已跳过" in text and "裂变" in text and "当前成员" in text
    for c in nb.cells:
        if c.cell_type == "markdown":
            assert set(c.metadata.get("tags", [])) & {"lang-zh", "lang-en"}
            for word in ("DESIGN.md", "helpers.", "cohorts.", "`"):
                assert word not in c.source, (c.id, word)


def test_layer_transitions_of_current_members_with_leavers_apart(demo_community, demo_report):
    """Issue 15 item 8 for the transition matrix: members who left are not 'dormant'."""
    ds, rep = demo_community, demo_report
    t0, t1 = rep.transition_window
    cur = cohorts.current_members(ds.members, t0) & cohorts.current_members(ds.members, t1)
    assert rep.transitions["members"].sum() == int(cur.sum())
    every = cohorts.layer_transitions(ds.members, ds.events, start=t0, end=t1)
    left_by_start = int(((ds.members.joined_at <= t0) & ~cohorts.current_members(ds.members, t0))
                        .sum())
    assert every["members"].sum() == rep.transitions["members"].sum() + rep.transition_left \
        + left_by_start
    assert rep.transition_left > 0
    note = cohorts.render_note(rep, "transitions", "en")
    assert f"{int(cur.sum()):,} members" in note and f"the {rep.transition_left:,} who left" in note


def test_layers_and_the_report_are_the_same_on_lazy_events(small_dir):
    """engine="duckdb": member_layers and the whole report 01 give the pandas numbers."""
    from helpers import data

    pytest.importorskip("ibis")
    a = data.load_community(small_dir, engine="pandas")
    b = data.load_community(small_dir, engine="duckdb")
    end = a.events.ts.max() - pd.Timedelta(days=11, hours=5)
    for kw in ({}, {"as_of": end, "active_types": ["message"]}):
        pd.testing.assert_frame_equal(cohorts.member_layers(b.members, b.events, **kw),
                                      cohorts.member_layers(a.members, a.events, **kw),
                                      check_exact=False, rtol=1e-9, atol=1e-9)
    ra, rb = (cohorts.cohort_report(d.members, d.events) for d in (a, b))
    for lang in ("en", "zh"):
        assert cohorts.render_summary(rb, lang) == cohorts.render_summary(ra, lang)
    pd.testing.assert_frame_equal(rb.transitions, ra.transitions)


def test_a_window_without_members_says_so_in_words(hand):
    """An end of observation before every join: the summary, tables and plots say so in words."""
    members, events, _ = hand
    rep = cohorts.cohort_report(members, events, observed_until="2026-02-01")
    assert rep.members_end is None and rep.fission is not None and rep.fission.empty
    assert cohorts.render_summary(rep, "en") == "_No members or events in the selected window._"
    assert "没有成员" in cohorts.render_summary(rep, "zh")
    ax = plots.plot_retention_heatmap(rep.retention, language="zh")
    assert "没有可绘制的数据" in ax.texts[0].get_text()
    for draw in (plots.plot_lifecycle, plots.plot_retention_curves):
        assert "Nothing to draw" in draw(rep.lifecycle if draw is plots.plot_lifecycle
                                         else rep.curve).texts[0].get_text()
    assert "No rows" in plots.cohort_table(rep.growth).data


def test_shares_on_colour_bars_are_percentages_like_the_cells(demo_report, small_community):
    """Issue 15 item 12 (units): the heatmap cells read '84%', so their colour bar reads 0%–100%,
    not 0.0–1.0; the same for the layer-transition matrix."""
    ax = plots.plot_retention_heatmap(demo_report.retention, max_periods=12, period="W")
    ax.figure.canvas.draw()
    bar = ax.collections[0].colorbar.ax
    ticks = [t.get_text() for t in bar.get_yticklabels() if t.get_text()]
    assert ticks and all(t.endswith("%") for t in ticks), ticks
    assert "100%" in ticks and "0%" in ticks
    tr = cohorts.layer_transitions(*(lambda d: (d.members, d.events))(small_community))
    ax = plots.plot_layer_transitions(tr)
    ax.figure.canvas.draw()
    ticks = [t.get_text() for t in ax.collections[0].colorbar.ax.get_yticklabels()
             if t.get_text()]
    assert ticks and all(t.endswith("%") for t in ticks), ticks
    counts = plots.plot_layer_transitions(tr, value="members")
    counts.figure.canvas.draw()
    ticks = [t.get_text() for t in counts.collections[0].colorbar.ax.get_yticklabels()
             if t.get_text()]
    assert ticks and not any(t.endswith("%") for t in ticks)


def test_a_k_factor_with_no_members_at_the_start_reads_as_a_dash(demo_report):
    """Issue 11/15 (no blank cells): the first month has no members at its start, so it has no
    K-factor; the table says so with '—' (as report 02's tables do), it is not left blank. The
    retention matrix keeps its blank cells (not reached yet)."""
    f = demo_report.fission
    assert np.isnan(f["k_factor"].iloc[0])
    html = plots.cohort_table(f, language="zh", period="M").to_html()
    row = html.split("<tr>")[2]  # the first body row
    assert "2026年3月" in row and "—" in row
    mat = cohorts.retention_matrix(demo_report.retention, complete_only=True)
    assert "—" not in plots.cohort_table(mat, language="zh").to_html()
